"""The search page (one box in the header of every page → /search)."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Blueprint, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from app.errors import N_
from app.extensions import db
from app.i18n import current_language, translate_error
from app.names import in_language
from app.people.models import Department
from app.search import query, registry, services, sync
from app.search.analysis import CJK

bp = Blueprint("search", __name__)

PER_PAGE = 20


def _int(name: str, default: int) -> int:
    try:
        return max(1, int(request.args.get(name, default)))
    except ValueError:
        return default


@bp.get("/search")
@login_required
def index():
    text = request.args.get("q", "").strip()[: services.MAX_QUERY]
    may_history = services.may_include_history(current_user)
    include_history = may_history and request.args.get("include_history") == "1"
    sort = request.args.get("sort") if request.args.get("sort") in services.SORTS else "relevance"
    selected = {f: request.args[f] for f in query.FACETS if request.args.get(f)}
    if text and not selected and request.args.get("exact") != "0":
        url = services.exact_match(db.session, current_user, text)
        if url is not None:
            return redirect(url)
    results, rebuilding = None, None
    if text:
        try:
            results = services.search(
                db.session,
                sync.store_for(current_app),
                current_user,
                text,
                include_history=include_history,
                selected=selected,
                page=_int("page", 1),
                per_page=PER_PAGE,
                sort=sort,
                rebuild_wait=current_app.config["QDMS_SEARCH_REBUILD_WAIT"],
            )
        except sync.SearchRebuilding as err:  # the page says so and keeps the query
            rebuilding = translate_error(err)
    page = render_template(
        "search/index.html",
        rebuilding=rebuilding,
        q=text,
        results=results,
        selected=selected,
        include_history=include_history,
        may_history=may_history,
        sort=sort,
        link=_linker(),
        labels=_facet_labels(),
        facet_titles=FACET_TITLES,
        tips=_tips(text) if results is not None and not results.total else {},
    )
    return page, 503 if rebuilding else 200


def _tips(text: str) -> dict[str, bool]:
    """What an empty result suggests trying, from what was typed (the template words it;
    the history and filter tips depend on the reader and the page)."""
    return {
        "fewer": len(text.split()) > 1,
        "unquote": '"' in text,
        "chinese": bool(CJK.search(text)),
        "number": bool(re.search(r"\d", text)),
    }


def _linker():
    """``link(**changes)``: this search with some parameters changed (None removes one),
    back to page 1 unless a page is given. The URL ``url_for("search.index", **args)``
    gives, from the path and the other parameters worked out once: a page has some
    thirty links (facets, pages, the suggestion), and a ``url_for`` each cost almost a
    tenth of the page."""
    path = url_for("search.index")
    current = {k: v for k, v in request.args.items() if k != "page"}

    def link(**changes) -> str:
        args = dict(current)
        for name, value in changes.items():
            if value is None:
                args.pop(name, None)
            else:
                args[name] = value
        # encoded as Werkzeug encodes the query of a URL it builds (werkzeug.urls._urlencode;
        # tests/test_page_cost.py compares the two)
        return f"{path}?{urlencode(list(args.items()), safe=QUERY_SAFE)}" if args else path

    return link


QUERY_SAFE = "!$'()*,/:;?@"


FACET_TITLES = {
    "kind": N_("Kind"),
    "type": N_("Type"),
    "department": N_("Department"),
    "status": N_("Status"),
    "year": N_("Year"),
}


def _facet_labels() -> dict:
    """Facet values (codes) → what the reader sees, in their language: each kind's name,
    types and statuses as its builder states them (app/search/registry.py)."""
    language = current_language()
    builders = registry.builders()
    types, statuses = {}, {}
    for b in builders:
        if b.type_labels is not None:
            types.update(b.type_labels(db.session, language))
        statuses.update(b.statuses)
    return {
        "kind": _Translated(registry.kinds()),
        "type": types,
        "department": {  # Department.name_in on the columns
            code: in_language(name, en, language)
            for code, name, en in db.session.execute(
                select(Department.code, Department.name, Department.name_en)
            )
        },
        "status": _Translated(statuses),
        "year": {},
    }


class _Translated:
    """Codes → messages (``N_``), each translated at its first ``get`` (all the page
    asks of a facet's labels): a page shows a few of the twenty-odd kinds and statuses,
    and translating them all cost twenty gettext calls a request."""

    def __init__(self, messages: dict[str, str]):
        self._messages = messages
        self._translated: dict[str, str] = {}

    def get(self, code: str, default: str | None = None) -> str | None:
        if code not in self._translated:
            if code not in self._messages:
                return default
            self._translated[code] = _(self._messages[code])
        return self._translated[code]
