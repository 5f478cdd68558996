"""Who may see and keep the quality objectives and KPIs (docs/adr/0047).

- Reading (objectives, KPIs, their values, trends, the dashboard, the KPI report):
  everyone signed in. Objectives are to be communicated (ISO 9001 6.2.1 g) and every
  department works towards the organisation's and its own.
- Managing (objectives, KPIs, targets, entering and importing any value, closing a
  period, amending a frozen value, raising an NC for a KPI below target): quality
  officers.
- Entering and importing values: also the head of a KPI's department, for that
  department's *entered* KPIs and open periods — the figures are theirs to report;
  closing, amending and targets stay with the officers, who check them.
"""

from __future__ import annotations

from app.kpis.models import Kpi
from app.risks.permissions import headed_departments
from app.security import signed_in

__all__ = ["headed_departments"]


def _officer(user) -> bool:
    return signed_in(user) and user.has_role("officer")


def can_view_kpis(user) -> bool:
    """Objectives, KPIs, values, trends, the dashboard and the KPI report."""
    return signed_in(user)


def can_manage_kpis(user) -> bool:
    """Define objectives and KPIs, set targets, close periods, amend frozen values, raise
    an NC for a KPI below target: officers."""
    return _officer(user)


def heads_department_of(user, kpi: Kpi) -> bool:
    return (
        signed_in(user)
        and kpi.department is not None
        and kpi.department.head_id is not None
        and kpi.department.head_id == user.id
    )


def can_enter_value(user, kpi: Kpi) -> bool:
    """Enter a value of an entered KPI: officers, and the head of the KPI's department."""
    return kpi.is_entered and (_officer(user) or heads_department_of(user, kpi))


def can_import_values(user) -> bool:
    """Use the import at all (each row is then checked with ``can_enter_value``):
    officers and department heads."""
    return _officer(user) or bool(headed_departments(user))
