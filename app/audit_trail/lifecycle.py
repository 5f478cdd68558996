"""An object's lifecycle: a transition table and the one place its status changes.

Nonconformities and audits share it (documents keep their own ``_move``, which does more):
the table is checked, the time stamped, and the change written to the trail.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from app.audit_trail import services as audit
from app.errors import N_, InvalidTransition
from app.extensions import utcnow


@dataclass(frozen=True)
class Lifecycle:
    """``transitions``: action → (the statuses it may start from, the status it ends in);
    ``statuses`` and ``action_labels``: their words (message ids); ``events``: action →
    the trail's event; ``stamps``: status → the column stamped with the time it is reached."""

    transitions: Mapping[str, tuple[frozenset[str], str]]
    statuses: Mapping[str, str]
    action_labels: Mapping[str, str]
    events: Mapping[str, str]
    stamps: Mapping[str, str]

    def move(
        self,
        session: Session,
        actor,
        obj,
        action: str,
        *,
        reason: str | None = None,
        after: dict | None = None,
    ) -> None:
        """The only place ``obj``'s status changes (``obj`` has ``status``, ``number`` and
        ``ref``): refused with InvalidTransition outside the table."""
        sources, target = self.transitions[action]
        if obj.status not in sources:
            raise InvalidTransition(
                N_("%(number)s is %(status)s; it cannot be %(action)s."),
                number=obj.number,
                status=self.statuses[obj.status],
                action=self.action_labels[action],
            )
        before = obj.status
        obj.status = target
        if target in self.stamps:
            setattr(obj, self.stamps[target], utcnow())
        session.flush()
        audit.record(
            session,
            actor,
            obj.ref,
            self.events[action],
            before={"status": before},
            after={"status": target, **(after or {})},
            reason=reason,
        )
