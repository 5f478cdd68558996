"""Scheduled work of the KPIs for `qdms sweep` (docs/adr/0047).

- The rule "below target for N consecutive periods" is evaluated for every active KPI up
  to its last ended period; where a run has no NC yet, the quality officers are mailed
  once (dedupe key per KPI and period) with the offer to raise it from the KPI's page.
  The sweep does not open the NC itself: whether a run of figures is a nonconformity is
  the officer's judgement (a known cause may already be in hand).
- The sweep does not close periods: closing freezes the values, and entered figures often
  arrive days after the period ends. Officers are reminded instead, from the 10th day of
  the following month (quarter), while the last ended period is still open.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from app.errors import N_
from app.kpis import periods as P
from app.kpis import services
from app.kpis.models import Kpi, KpiBreach
from app.notifications import services as mail
from app.people.models import User, UserRole

CLOSE_REMINDER_DAY = 10


@dataclass
class KpiSweep:
    runs: list[str]  # "CODE period": runs below target without an NC yet
    reminders: int


def _officers(session: Session) -> list[User]:
    return list(
        session.scalars(
            select(User).where(
                User.is_active.is_(True),
                User.id.in_(select(UserRole.user_id).where(UserRole.role == "officer")),
            )
        )
    )


def sweep(session: Session, today: date) -> KpiSweep:
    """Evaluate the run rule of every active KPI and queue the officers' mails."""
    officers = _officers(session)
    kpis = session.scalars(
        select(Kpi)
        .where(Kpi.is_active.is_(True))
        .options(selectinload(Kpi.targets), selectinload(Kpi.department))
        .order_by(Kpi.code)
    ).all()
    raised = {(b.kpi_id, b.period) for b in session.scalars(select(KpiBreach))}
    report = KpiSweep([], 0)
    messages = []
    for kpi in kpis:
        last = P.containing(today, kpi.period_kind).previous()
        if (kpi.id, str(last)) in raised or services.breach_run(session, kpi, last) is None:
            continue
        report.runs.append(f"{kpi.code} {last}")
        for officer in officers:
            messages.append(
                {
                    "recipient": officer,
                    "kind": "kpi_below_target",
                    "subject": N_("KPI below target: %(code)s %(name)s"),
                    "body": N_(
                        "%(code)s %(name)s has been below target in each of the last "
                        "%(n)s periods up to %(period)s. Open the KPI's page to raise a "
                        "nonconformity, or note why none is needed."
                    ),
                    "object_ref": kpi.ref,
                    "dedupe_key": f"kpi_below_target:{kpi.code}:{last}:{officer.id}",
                    "params": {
                        "code": kpi.code,
                        "name": kpi.name,
                        "n": kpi.breach_periods,
                        "period": str(last),
                    },
                }
            )
    if today.day >= CLOSE_REMINDER_DAY:
        for kind in sorted({k.period_kind for k in kpis}):
            last = P.containing(today, kind).previous()
            if today < last.end.replace(day=CLOSE_REMINDER_DAY) or services.is_closed(
                session, last
            ):
                continue
            for officer in officers:
                messages.append(
                    {
                        "recipient": officer,
                        "kind": "kpi_period_open",
                        "subject": N_("KPI period to close: %(period)s"),
                        "body": N_(
                            "The period %(period)s has ended and is still open. When its "
                            "entered values are in, close it so that its values are frozen."
                        ),
                        "object_ref": f"kpi_period:{last}",
                        "dedupe_key": f"kpi_period_open:{last}:{officer.id}",
                        "params": {"period": str(last)},
                    }
                )
    report.reminders = mail.queue_each(session, messages) if messages else 0
    return report
