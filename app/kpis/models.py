"""Quality objectives (质量目标) and their KPIs (指标), docs/adr/0047.

- ``Objective``: one objective of a year, for a department or the whole organisation,
  with the plan ISO 9001 6.2.2 asks for (what, resources, who, when, how evaluated).
- ``Kpi``: what is measured, its unit, direction, period kind (month or quarter) and its
  source: ``entered`` (a value per period) or a computed source (``app.kpis.sources``).
- ``KpiTarget``: the target and warning threshold of one period, or of a whole year
  (``2026``) as the default for its periods.
- ``KpiValue``: the value of one period: entered, or computed and stored when the period
  was closed (``frozen``). A frozen value never changes; ``KpiAmendment`` rows (signed,
  with a reason) stand beside it and the latest one is the value shown.
- ``KpiPeriodClose``: a closed period (``2026-03``, ``2026-Q1``); one row per period, so
  of two parallel closings one inserts it and the other gets a 409.
- ``KpiBreach``: the NC opened because a KPI stayed below target for its run of
  periods; the NC links back with ``kpi:CODE``.
"""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.capa import models as capa_models
from app.capa.models import Nonconformity
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.kpis.sources import SOURCES
from app.names import in_language
from app.people.models import Department, User
from app.signatures.models import MEANINGS, Signature

DIRECTIONS = {"higher": N_("Higher is better"), "lower": N_("Lower is better")}
PERIOD_KINDS = {"month": N_("Monthly"), "quarter": N_("Quarterly")}
STATUSES = {
    "green": N_("On target"),
    "amber": N_("Warning"),
    "red": N_("Below target"),
    "none": N_("No data"),
}
DEFAULT_BREACH_PERIODS = 3

# The signature of an amendment of a frozen value (registered here, beside the feature)
MEANINGS.setdefault("kpi_value_amended", N_("Frozen KPI value amended"))
# An NC raised by a KPI reads "KPI CS-FCR" in its links
capa_models.LINK_KINDS.setdefault("kpi", N_("KPI"))

labels.register_kind(
    "kpi", labels.Kind(pattern=N_("KPI %(name)s"), endpoint="kpis.detail", arg="code")
)
labels.register_kind("objective", labels.Kind(pattern=N_("quality objective %(name)s")))
labels.register_kind("kpi_period", labels.Kind(pattern=N_("KPI period %(name)s")))
labels.register_actions(
    {
        "objective_created": (N_("Objective set"), N_("%(actor)s set %(object)s")),
        "kpi_created": (N_("KPI defined"), N_("%(actor)s defined %(object)s")),
        "objective_updated": (N_("Objective changed"), N_("%(actor)s changed %(object)s")),
        "objective_withdrawn": (
            N_("Objective withdrawn"),
            N_("%(actor)s withdrew %(object)s"),
        ),
        "objective_reactivated": (
            N_("Objective reinstated"),
            N_("%(actor)s reinstated %(object)s"),
        ),
        "kpi_updated": (N_("KPI changed"), N_("%(actor)s changed %(object)s")),
        "kpi_deactivated": (N_("KPI deactivated"), N_("%(actor)s deactivated %(object)s")),
        "kpi_reactivated": (N_("KPI reactivated"), N_("%(actor)s reactivated %(object)s")),
        "kpi_targets_set": (
            N_("KPI targets set"),
            N_("%(actor)s set the targets of %(object)s"),
        ),
        "kpi_value_entered": (
            N_("KPI value entered"),
            N_("%(actor)s entered the value of %(object)s for %(period)s"),
        ),
        "kpi_value_amended": (
            N_("Frozen KPI value amended"),
            N_("%(actor)s amended the frozen value of %(object)s for %(period)s"),
        ),
        "kpi_values_imported": (
            N_("KPI values imported"),
            N_("%(actor)s imported KPI values"),
        ),
        "kpi_period_closed": (
            N_("KPI period closed"),
            N_("%(actor)s closed %(object)s and froze its values"),
        ),
        "kpi_breach_nc": (
            N_("Nonconformity raised for a KPI"),
            N_("A nonconformity was raised for %(object)s below target"),
        ),
    }
)


def _source_words(value, key, ctx) -> str:
    """A KPI's source as people read it: "Entered", or the computed source's title."""
    source = SOURCES.get(str(value))
    if source is not None:
        return ctx.gettext(source.title)
    return ctx.gettext(N_("Entered")) if value == "entered" else str(value)


_FIELDS = {
    "code": N_("Code"),
    "name": N_("Name"),
    "name_en": N_("English name"),
    "unit": N_("Unit"),
    "direction": labels.coded(N_("Direction"), DIRECTIONS),
    "period_kind": labels.coded(N_("Period"), PERIOD_KINDS),
    "source": labels.Field(N_("Source"), format=_source_words),
    "params": labels.internal(N_("Source parameters")),
    "department": labels.department(N_("Department")),
    "objective": N_("Objective"),
    "breach_periods": N_("Periods below target before an NC"),
    "targets": N_("Targets"),
    "target": N_("Target"),
    "warning": N_("Warning threshold"),
    "period": N_("Period"),
    "value": N_("Value"),
    "previous": N_("Previous value"),
    "reason": N_("Reason"),
    "values": N_("Values"),
    "count": N_("Count"),
    "nonconformity": N_("Nonconformity"),
    "year": N_("Year"),
    "title": N_("Title"),
    "what": N_("What will be done"),
    "resources": N_("Resources"),
    "who": N_("Who is responsible"),
    "when": N_("When it will be completed"),
    "evaluation": N_("How results are evaluated"),
    "kpis": N_("KPIs"),
}
for _kind in ("kpi", "objective", "kpi_period"):
    labels.register_fields(_FIELDS, kind=_kind)


class Objective(db.Model):
    """A quality objective of one year, for a department (or the organisation when
    ``department_id`` is empty), with its 6.2.2 plan."""

    __tablename__ = "quality_objective"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    title: Mapped[str] = mapped_column(String(300))
    what: Mapped[str] = mapped_column(Text)
    resources: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(Text)
    when: Mapped[str] = mapped_column(Text)
    evaluation: Mapped[str] = mapped_column(Text)
    # False: withdrawn (with a reason, audited); hidden from the default list and not
    # offered to KPIs, its history kept (docs/adr/0049)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department | None] = relationship()
    created_by: Mapped[User] = relationship()
    kpis: Mapped[list[Kpi]] = relationship(back_populates="objective", order_by="Kpi.code")

    def __repr__(self) -> str:
        return f"<Objective {self.year} {self.id}>"

    @property
    def ref(self) -> str:
        return f"objective:{self.year}-{self.id}"

    def audit_state(self) -> dict:
        return {
            "year": self.year,
            "department": self.department.code if self.department else None,
            "title": self.title,
            "what": self.what,
            "resources": self.resources,
            "who": self.who,
            "when": self.when,
            "evaluation": self.evaluation,
            "kpis": [k.code for k in self.kpis],
        }


class Kpi(db.Model):
    """One KPI: code, names, unit, direction, period kind and source."""

    __tablename__ = "kpi"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str | None] = mapped_column(String(200))
    unit: Mapped[str] = mapped_column(String(20), default="")
    direction: Mapped[str] = mapped_column(String(8))
    period_kind: Mapped[str] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(60))
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    department_id: Mapped[int | None] = mapped_column(ForeignKey("department.id"), index=True)
    objective_id: Mapped[int | None] = mapped_column(ForeignKey("quality_objective.id"), index=True)
    breach_periods: Mapped[int] = mapped_column(Integer, default=DEFAULT_BREACH_PERIODS)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department | None] = relationship()
    objective: Mapped[Objective | None] = relationship(back_populates="kpis")
    created_by: Mapped[User] = relationship()
    targets: Mapped[list[KpiTarget]] = relationship(
        back_populates="kpi", order_by="KpiTarget.period"
    )

    def __repr__(self) -> str:
        return f"<Kpi {self.code}>"

    @property
    def ref(self) -> str:
        return f"kpi:{self.code}"

    @property
    def params(self) -> dict:
        return json.loads(self.params_json or "{}")

    @property
    def is_entered(self) -> bool:
        return self.source == "entered"

    def name_in(self, language: str | None) -> str:
        return in_language(self.name, self.name_en, language)

    def audit_state(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "name_en": self.name_en,
            "unit": self.unit,
            "direction": self.direction,
            "period_kind": self.period_kind,
            "source": self.source,
            "params": self.params,
            "department": self.department.code if self.department else None,
            "breach_periods": self.breach_periods,
        }


class KpiTarget(db.Model):
    """The target and warning threshold of a period (``2026-03``, ``2026-Q1``) or of a
    year (``2026``: the default of its periods)."""

    __tablename__ = "kpi_target"
    __table_args__ = (UniqueConstraint("kpi_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"), index=True)
    period: Mapped[str] = mapped_column(String(8))
    target: Mapped[float] = mapped_column(Float)
    warning: Mapped[float | None] = mapped_column(Float)

    kpi: Mapped[Kpi] = relationship(back_populates="targets")

    def __repr__(self) -> str:
        return f"<KpiTarget {self.kpi_id} {self.period}>"


class KpiValue(db.Model):
    """The value of one KPI in one period. An entered value of an open period may be
    replaced (audited); once ``frozen`` the row never changes (amendments stand beside)."""

    __tablename__ = "kpi_value"
    __table_args__ = (UniqueConstraint("kpi_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"))
    period: Mapped[str] = mapped_column(String(8), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id"))
    entered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    frozen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    kpi: Mapped[Kpi] = relationship()
    entered_by: Mapped[User | None] = relationship()
    amendments: Mapped[list[KpiAmendment]] = relationship(
        back_populates="kpi_value", order_by="KpiAmendment.id"
    )

    def __repr__(self) -> str:
        return f"<KpiValue {self.kpi_id} {self.period} {self.value}>"

    @property
    def current(self) -> float | None:
        """The value shown: the latest amendment's, else the value itself."""
        return self.amendments[-1].value if self.amendments else self.value


class KpiAmendment(db.Model):
    """A signed correction of a frozen value, with its reason."""

    __tablename__ = "kpi_amendment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_value_id: Mapped[int] = mapped_column(ForeignKey("kpi_value.id"), index=True)
    value: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    signature_id: Mapped[int] = mapped_column(ForeignKey("signature.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    kpi_value: Mapped[KpiValue] = relationship(back_populates="amendments")
    user: Mapped[User] = relationship()
    signature: Mapped[Signature] = relationship()

    def __repr__(self) -> str:
        return f"<KpiAmendment {self.kpi_value_id} {self.value}>"


class KpiPeriodClose(db.Model):
    """A closed period: its values are frozen. One row per period."""

    __tablename__ = "kpi_period_close"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    period: Mapped[str] = mapped_column(String(8), unique=True)
    closed_by_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    closed_by: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<KpiPeriodClose {self.period}>"


class KpiBreach(db.Model):
    """A run of periods below target that raised an NC (one per KPI and last period)."""

    __tablename__ = "kpi_breach"
    __table_args__ = (UniqueConstraint("kpi_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kpi_id: Mapped[int] = mapped_column(ForeignKey("kpi.id"), index=True)
    period: Mapped[str] = mapped_column(String(8))
    periods: Mapped[int] = mapped_column(Integer)
    nc_id: Mapped[int] = mapped_column(ForeignKey("nonconformity.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    kpi: Mapped[Kpi] = relationship()
    nc: Mapped[Nonconformity] = relationship()

    def __repr__(self) -> str:
        return f"<KpiBreach {self.kpi_id} {self.period}>"
