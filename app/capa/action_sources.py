"""Other features' actions in the shared "My actions" list (page and ``GET /actions``).

"My actions" is every open action of a person: the NC actions kept here and the actions
of features built on top of capa (the management review's outputs). capa imports none of
them: each registers an ``ActionSource`` once at start-up (``register``), and the list
asks every registered source for one person's rows (``rows_for``). A row is plain data:
what the list shows, where the action lives and where its "done" form posts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class ActionRow:
    source: str  # the source's name: "management_review"
    id: int  # the action's id within its source
    reference: str  # what the list names it by: MR-2026-01-D01
    type: str  # a code of the source (the review's decision category)
    type_label: str  # its message id, translated when shown
    text: str
    owner: str  # username
    due_date: date | None
    status: str  # open | done
    overdue: bool
    evidence: str | None = None
    done_by: str | None = None
    done_at: datetime | None = None
    endpoint: str = ""  # the page of the object the action belongs to
    endpoint_args: dict = field(default_factory=dict)
    done_endpoint: str = ""  # where the "done" form (evidence) posts
    done_args: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ActionSource:
    name: str
    label: str  # message id: "Management review"
    # session, owner, status (open | overdue | done), today → the owner's rows
    rows: Callable[[Session, object, str, date], list[ActionRow]]


SOURCES: dict[str, ActionSource] = {}


def register(source: ActionSource) -> None:
    """Add a source to "My actions" (idempotent: registering again replaces it)."""
    SOURCES[source.name] = source


def rows_for(session: Session, owner, status: str, today: date) -> list[ActionRow]:
    """Every registered source's rows for ``owner``, soonest due first (done: latest
    done first)."""
    rows = [row for s in SOURCES.values() for row in s.rows(session, owner, status, today)]
    if status == "done":
        return sorted(rows, key=lambda r: r.done_at or datetime.min, reverse=True)
    return sorted(rows, key=lambda r: (r.due_date or date.max, r.reference))
