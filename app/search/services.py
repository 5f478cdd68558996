"""Searching, as the UI and the API call it (Flask-free).

Guarantees:

- A reader finds only what they may open: officers, auditors and administrators
  everything; everyone else effective revisions of documents their confidentiality allows
  (or that were issued to them) and the external register. The filter runs inside the
  search, so paging and facet counts never reveal anything else.
- ``include_history`` adds what is no longer in force — superseded and obsolete
  revisions, withdrawn external documents — never work in progress (drafts, revisions in
  review or approved but not yet effective are not in the search at all). It is for
  officers and auditors (and administrators); anyone else asking gets a
  ``PermissionDenied``.
- The kinds a search may be narrowed to are those of the registered record builders
  (``registry.kinds``); another kind is a ``ValidationFailed``.
- An index that is missing, of an older schema or unreadable is rebuilt (logged) in the
  background, outside the caller's transaction; the search waits a little for it
  (``rebuild_wait``; None: until it is done) and otherwise says that search is being
  rebuilt (503).
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.errors import N_, PermissionDenied, ValidationFailed
from app.search import query, registry, sync
from app.search.index import IndexStore
from app.security import sees_everything

MAX_QUERY = 500
MAX_PER_PAGE = 100
SORTS = ("relevance", "date")


def may_include_history(user) -> bool:
    return sees_everything(user)


def scopes_for(user) -> list[str] | None:
    """The ``scope`` terms ``user`` may see; None: everything."""
    if sees_everything(user):
        return None
    scopes = ["all", f"user:{user.id}"]
    if user.department_id is not None:
        scopes.append(f"dept:{user.department_id}")
    return scopes


def search(
    session: Session,
    store: IndexStore,
    user,
    text: str,
    *,
    include_history: bool = False,
    selected: dict[str, str] | None = None,
    page: int = 1,
    per_page: int = 20,
    sort: str = "relevance",
    rebuild_wait: float | None = None,
) -> query.Results:
    text = (text or "").strip()
    if len(text) > MAX_QUERY:
        raise ValidationFailed(
            N_("The search text is too long (at most %(max)s characters)."),
            fields={"q": N_("invalid")},
            max=MAX_QUERY,
        )
    if page < 1 or not 1 <= per_page <= MAX_PER_PAGE:
        raise ValidationFailed(N_("Unknown page."), fields={"page": N_("invalid")})
    if sort not in SORTS:
        raise ValidationFailed(N_("Unknown sort order."), fields={"sort": N_("invalid")})
    selected = {k: v for k, v in (selected or {}).items() if v}
    unknown = set(selected) - set(query.FACETS)
    if unknown:
        raise ValidationFailed(
            N_("Unknown filter."), fields=dict.fromkeys(sorted(unknown), N_("invalid"))
        )
    if "kind" in selected and selected["kind"] not in registry.kinds():
        raise ValidationFailed(N_("Unknown kind."), fields={"kind": N_("invalid")})
    if include_history and not may_include_history(user):
        raise PermissionDenied(N_("Only quality officers and auditors may search the history."))
    sync.ensure_index(session, store, wait=rebuild_wait)
    filters = query.Filters(scopes_for(user), include_history, selected)
    return query.run(store.searcher(), text, filters, page=page, per_page=per_page, sort=sort)


def exact_match(session: Session, user, text: str) -> str | None:
    """The URL of the item whose number ``text`` is exactly, if ``user`` may open it: a
    number typed into the search box opens its item (each builder says how, ``exact``)."""
    for builder in registry.builders():
        if builder.exact is not None and (url := builder.exact(session, user, text)):
            return url
    return None
