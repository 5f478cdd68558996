"""The computed KPI sources: each a small named function over live data.

A source takes the session, the period's half-open date range [start, end), the KPI's
department code (None: the organisation) and its parameters, and returns the period's
value, or ``None`` when the period has no data (no complaint received, no NC closed, no
survey filed, …): a rate of nothing is not 0 % nor 100 %. Counts (complaints received,
overdue actions, overdue reviews) are 0 when nothing is counted — zero overdue actions is
a measurement, not a gap.

Sources read the other features only through their ``queries.py``. A period that has not
begun has no data; snapshot sources (overdue actions, overdue reviews) count as of the
period's end, or today for the current period.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.orm import Session

from app.audits import queries as audits
from app.capa import queries as capa
from app.complaints import queries as complaints
from app.distribution import queries as distribution
from app.documents import queries as documents
from app.errors import N_, ValidationFailed
from app.extensions import local_today
from app.records import queries as records

SERVQUAL = {
    "tangibles": N_("Tangibles"),
    "reliability": N_("Reliability"),
    "responsiveness": N_("Responsiveness"),
    "assurance": N_("Assurance"),
    "empathy": N_("Empathy (SERVQUAL)"),
}

# session, start, end, department code, parameters, memo (figures shared by the sources
# computed together: one dict per batch, e.g. a dashboard) → the value or None
Compute = Callable[[Session, date, date, "str | None", dict, dict], "float | None"]


@dataclass(frozen=True)
class Source:
    name: str
    title: str  # message id
    unit: str
    direction: str  # the usual direction: higher | lower
    compute: Compute
    params: tuple[str, ...] = field(default=())  # parameters a KPI may (or must) give
    required: tuple[str, ...] = field(default=())
    # the kinds of recorded objects (audit trail object kinds) whose changes may move the
    # value: a live value is reused until one of them changes (services.live_versions)
    reads: tuple[str, ...] = field(default=())


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def _mean(total: float, count: int) -> float | None:
    return round(total / count, 2) if count else None


def _snapshot_day(end: date) -> date:
    return min(end, local_today())


# Nonconformities, documents, acknowledgements, audits ---------------------------------


def nc_closure_days(session, start, end, department, params, memo):
    """The median number of days from report to closure of the NCs closed in the period."""
    days = capa.closure_days(session, start, end, department=department)
    return round(statistics.median(days), 1) if days else None


def capa_overdue_actions(session, start, end, department, params, memo):
    """Corrective actions overdue at the period's end (today for the current period)."""
    return float(capa.overdue_action_count(session, _snapshot_day(end), department=department))


def documents_overdue_reviews(session, start, end, department, params, memo):
    """Documents in force whose periodic review is overdue (a snapshot: frozen at close)."""
    return float(documents.overdue_review_count(session, _snapshot_day(end), department=department))


def acknowledgement_completion(session, start, end, department, params, memo):
    """Of the read-and-understood tasks due in the period, the share signed (%)."""
    due, done = distribution.acknowledgement_completion(session, start, end, department=department)
    return _rate(done, due)


def audit_programme_completion(session, start, end, department, params, memo):
    """Of the audits planned to end in the period, the share carried out (%)."""
    planned, held = audits.programme_completion(session, start, end, department=department)
    return _rate(held, planned)


# Complaints ---------------------------------------------------------------------------


def _figures(session, start, end, department, params, memo) -> complaints.ComplaintFigures:
    """The complaint figures of [start, end) for ``department`` and the KPI's category: the
    period's groups are read once (``memo``) for every KPI and department that asks."""
    key = ("complaints", start, end)
    if key not in memo:
        memo[key] = complaints.figure_groups(session, start, end)
    return memo[key].select(department, params.get("category"))


def complaint_first_contact_resolution(session, start, end, department, params, memo):
    """Of the complaints received in the period, the share resolved at first contact (%)."""
    f = _figures(session, start, end, department, params, memo)
    return _rate(f.first_contact, f.received)


def complaint_commitment_fulfilment(session, start, end, department, params, memo):
    """Overall: of the complaints received in the period with a decided commitment clock,
    the share whose every decided clock was met (%). With ``step``: of that commitment's
    decided clocks, the share met (%)."""
    f = _figures(session, start, end, department, params, memo)
    step = params.get("step")
    if step:
        return _rate(f.clocks_met.get(step, 0), f.clocks_due.get(step, 0))
    return _rate(f.commitment_cases_met, f.commitment_cases)


def complaint_satisfaction(session, start, end, department, params, memo):
    """The mean follow-up satisfaction (1–5) of the complaints received in the period."""
    f = _figures(session, start, end, department, params, memo)
    return _mean(f.satisfaction_sum, f.satisfaction_count)


def complaint_count(session, start, end, department, params, memo):
    """Complaints received in the period (of one category with ``category``): a count.
    Read from the figures of all categories (``by_category``), so the counts of every
    category share one reading."""
    figures = _figures(session, start, end, department, {}, memo)
    category = params.get("category")
    return float(figures.by_category.get(category, 0) if category else figures.received)


def _servqual(dimension: str) -> Compute:
    def compute(session, start, end, department, params, memo):
        values = records.number_field_values(
            session,
            params["record_type"],
            params.get("field") or dimension,
            start,
            end,
            department=department,
        )
        return _mean(sum(values), len(values))

    compute.__name__ = f"servqual_{dimension}"
    compute.__doc__ = f"The mean {dimension} score of the survey records filed in the period."
    return compute


SOURCES: dict[str, Source] = {}
COMPLAINT_KINDS = ("complaint", "complaint_category", "complaint_settings", "department")


def register(source: Source) -> None:
    SOURCES[source.name] = source


for _source in (
    Source(
        "complaint_first_contact_resolution",
        N_("Complaints resolved at first contact"),
        "%",
        "higher",
        complaint_first_contact_resolution,
        params=("category",),
        reads=COMPLAINT_KINDS,
    ),
    Source(
        "complaint_commitment_fulfilment",
        N_("Service commitments fulfilled"),
        "%",
        "higher",
        complaint_commitment_fulfilment,
        params=("category", "step"),
        reads=COMPLAINT_KINDS,
    ),
    Source(
        "complaint_satisfaction",
        N_("Mean follow-up satisfaction"),
        "",
        "higher",
        complaint_satisfaction,
        params=("category",),
        reads=COMPLAINT_KINDS,
    ),
    Source(
        "complaint_count",
        N_("Complaints received"),
        "",
        "lower",
        complaint_count,
        params=("category",),
        reads=COMPLAINT_KINDS,
    ),
    Source(
        "nc_closure_days",
        N_("NC closure time (median days)"),
        "d",
        "lower",
        nc_closure_days,
        reads=("nonconformity", "department"),
    ),
    Source(
        "capa_overdue_actions",
        N_("Overdue corrective actions"),
        "",
        "lower",
        capa_overdue_actions,
        reads=("nonconformity", "department"),
    ),
    Source(
        "documents_overdue_reviews",
        N_("Overdue periodic reviews of documents"),
        "",
        "lower",
        documents_overdue_reviews,
        reads=("document", "department"),
    ),
    Source(
        "acknowledgement_completion",
        N_("Acknowledgement completion rate"),
        "%",
        "higher",
        acknowledgement_completion,
        reads=("acknowledgement", "acknowledgements", "copy", "document", "user", "department"),
    ),
    Source(
        "audit_programme_completion",
        N_("Audit programme completion"),
        "%",
        "higher",
        audit_programme_completion,
        reads=("audit", "department"),
    ),
):
    register(_source)
for _dimension, _title in SERVQUAL.items():
    register(
        Source(
            f"servqual_{_dimension}",
            _title,
            "",
            "higher",
            _servqual(_dimension),
            params=("record_type", "field"),
            required=("record_type",),
            reads=("record", "record_type", "department"),
        )
    )


def servqual_title(name: str) -> str | None:
    """The dimension's message id for a SERVQUAL source (None for the others)."""
    return SERVQUAL.get(name.removeprefix("servqual_")) if name.startswith("servqual_") else None


def clean_params(session: Session, name: str, raw: dict | None) -> dict:
    """The source's parameters, checked (a 400 naming ``params.<key>``)."""
    source = SOURCES[name]
    raw = raw or {}
    unknown = set(raw) - set(source.params)
    if unknown:
        key = sorted(unknown)[0]
        raise ValidationFailed(
            N_("This source takes no parameter %(name)s."),
            fields={f"params.{key}": N_("invalid")},
            name=key,
        )
    cleaned = {}
    for key in source.params:
        value = raw.get(key)
        value = value.strip() if isinstance(value, str) else value
        if value in (None, ""):
            if key in source.required:
                raise ValidationFailed(
                    N_("This source needs the parameter %(name)s."),
                    fields={f"params.{key}": N_("required")},
                    name=key,
                )
            continue
        if not isinstance(value, str) or len(value) > 80:
            raise ValidationFailed(
                N_("The parameter %(name)s is not valid."),
                fields={f"params.{key}": N_("invalid")},
                name=key,
            )
        cleaned[key] = value
    if "category" in cleaned:
        cleaned["category"] = cleaned["category"].upper()
        if cleaned["category"] not in complaints.category_names(session):
            raise ValidationFailed(
                N_("No complaint category %(code)s."),
                fields={"params.category": N_("invalid")},
                code=cleaned["category"],
            )
    if "step" in cleaned and cleaned["step"] not in complaints.commitment_steps():
        raise ValidationFailed(
            N_("No service commitment step %(step)s."),
            fields={"params.step": N_("invalid")},
            step=cleaned["step"],
        )
    if "record_type" in source.params and "record_type" in cleaned:
        cleaned["record_type"] = cleaned["record_type"].upper()
        dimension = name.removeprefix("servqual_")
        wanted = cleaned.get("field") or dimension
        if wanted not in records.number_fields(session, cleaned["record_type"]):
            raise ValidationFailed(
                N_("The record type %(code)s has no number field %(field)s."),
                fields={"params.field": N_("invalid")},
                code=cleaned["record_type"],
                field=wanted,
            )
    return cleaned


def compute(
    session: Session,
    name: str,
    start: date,
    end: date,
    department: str | None,
    params: dict,
    memo: dict | None = None,
) -> float | None:
    """The value of source ``name`` for [start, end): None before the period begins.
    ``memo``: a dict shared by the values computed together (figures read once)."""
    if start > local_today():
        return None
    return SOURCES[name].compute(
        session, start, end, department, params, {} if memo is None else memo
    )
