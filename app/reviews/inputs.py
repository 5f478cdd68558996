"""The inputs of a management review (ISO 9001 9.3.2), compiled from live data into plain
data that is frozen as the review's snapshot.

Each feature is read through its own ``queries.py`` (SQL aggregates); nothing here writes.
A section is ``{"key", "clause", "title", "figures", "tables", "charts", "text"}``:

- ``figures``: ``{"key", "label", "value", "previous", "unit"}`` — ``previous`` is the same
  figure over the period of the same length just before (``None`` where a comparison
  makes no sense, e.g. a count at the time of asking);
- ``tables``: ``{"key", "title", "columns", "rows", "translate"}`` — ``translate`` lists
  the columns whose cells are message ids (statuses, categories) rather than data;
- ``charts``: ``{"key", "kind" ("bars"), "title", "labels", "translate_labels",
  "series": [{"name", "values"}]}`` — numbers and labels only: the SVG is drawn from the
  snapshot each time (``app.reviews.display``), so a frozen report never changes.

Labels, titles and column names are English message ids, translated when shown (the
snapshot stays language-neutral); data (department names, statements) is as written.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app, has_request_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit_trail import labels
from app.audits import queries as audit_queries
from app.audits.models import VERDICTS
from app.capa import queries as capa_queries
from app.capa.models import CAUSE_CATEGORIES, SOURCES
from app.complaints import queries as complaint_queries
from app.complaints.models import CHANNELS, STEPS
from app.distribution import queries as distribution_queries
from app.documents import queries as document_queries
from app.errors import N_
from app.extensions import local_today
from app.kpis import queries as kpi_queries
from app.kpis.models import Kpi
from app.people.models import Department
from app.records import queries as record_queries
from app.reviews.models import CATEGORIES, ManagementReview, ReviewDecision
from app.risks import queries as risk_queries
from app.risks.models import BAND_LABELS, LIKELIHOOD_LABELS, SEVERITY_LABELS

SNAPSHOT_VERSION = 1
SECTIONS = (
    ("a", "9.3.2 a", N_("Status of actions from previous management reviews")),
    ("b", "9.3.2 b", N_("Changes in external and internal issues")),
    ("c1", "9.3.2 c1", N_("Customer satisfaction and feedback from relevant interested parties")),
    ("c2", "9.3.2 c2", N_("The extent to which quality objectives have been met")),
    ("c3", "9.3.2 c3", N_("Process performance and conformity of products and services")),
    ("c4", "9.3.2 c4", N_("Nonconformities and corrective actions")),
    ("c5", "9.3.2 c5", N_("Monitoring and measurement results")),
    ("c6", "9.3.2 c6", N_("Audit results")),
    ("c7", "9.3.2 c7", N_("The performance of external providers")),
    ("d", "9.3.2 d", N_("The adequacy of resources")),
    ("e", "9.3.2 e", N_("The effectiveness of actions taken to address risks and opportunities")),
    ("f", "9.3.2 f", N_("Opportunities for improvement")),
    ("document_control", "7.5", N_("Document control")),
)
SECTION_KEYS = frozenset(key for key, _, _ in SECTIONS)
# the narratives' keys, as the trail names them
labels.register_fields({key: title for key, _, title in SECTIONS}, kind="management_review")
DECISION_STATUSES = {"open": N_("Open"), "done": N_("Done"), "overdue": N_("Overdue")}


def previous_period(start: date, end: date) -> tuple[date, date]:
    """The period of the same length that ends the day before ``start``."""
    prev_end = start - timedelta(days=1)
    return prev_end - (end - start), prev_end


def _fig(key: str, label: str, value, previous=None, unit: str = "") -> dict:
    return {"key": key, "label": label, "value": value, "previous": previous, "unit": unit}


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _section(key: str, **content) -> dict:
    clause, title = next((c, t) for k, c, t in SECTIONS if k == key)
    return {
        "key": key,
        "clause": clause,
        "title": title,
        "figures": content.get("figures", []),
        "tables": content.get("tables", []),
        "charts": content.get("charts", []),
        "text": content.get("text"),
        "note": content.get("note"),
    }


def _bars(key: str, title: str, labels, series, *, translate_labels=False) -> dict:
    return {
        "key": key,
        "kind": "bars",
        "title": title,
        "labels": list(labels),
        "translate_labels": translate_labels,
        "series": [{"name": name, "values": list(values)} for name, values in series],
    }


def _table(key: str, title: str, columns, rows, *, translate=()) -> dict:
    return {
        "key": key,
        "title": title,
        "columns": list(columns),
        "rows": [list(row) for row in rows],
        "translate": list(translate),
    }


# The sections -------------------------------------------------------------------------------


def section_a(session: Session, r: ManagementReview, today: date) -> dict:
    """Every decision of the earlier reviews, with its status now (open ones carried from any
    earlier review, done ones of the previous review and those done since)."""
    earlier = select(ManagementReview.id).where(
        ManagementReview.id != r.id, ManagementReview.period_end <= r.period_end
    )
    rows = session.execute(
        select(ReviewDecision, ManagementReview.number)
        .join(ManagementReview, ManagementReview.id == ReviewDecision.review_id)
        .where(ReviewDecision.review_id.in_(earlier))
        .order_by(ManagementReview.period_end, ReviewDecision.seq)
    ).all()
    table = []
    done = overdue = 0
    for d, number in rows:
        status = "overdue" if d.is_overdue(today) else d.status
        done += d.status == "done"
        overdue += status == "overdue"
        table.append(
            [
                f"{number}-D{d.seq:02d}",
                d.text,
                CATEGORIES[d.category],
                d.owner.full_name if d.owner else "",
                d.due_date.isoformat() if d.due_date else "",
                DECISION_STATUSES[status],
                d.evidence or "",
            ]
        )
    total = len(table)
    return _section(
        "a",
        figures=[
            _fig("actions", N_("Actions from previous reviews"), total),
            _fig("done", N_("Done"), done),
            _fig("open", N_("Open"), total - done),
            _fig("overdue", N_("Overdue"), overdue),
            _fig("done_rate", N_("Completion"), _pct(done, total), unit="%"),
        ],
        tables=[
            _table(
                "actions",
                N_("Actions from previous reviews"),
                [
                    N_("Decision no."),
                    N_("Review decision"),
                    N_("Decision category"),
                    N_("Owner"),
                    N_("Due date"),
                    N_("Status"),
                    N_("Evidence"),
                ],
                table,
                translate=(2, 5),
            )
        ],
        charts=[
            _bars(
                "status",
                N_("Actions from previous reviews"),
                [N_("Done"), N_("Open"), N_("Overdue")],
                [(N_("Actions"), [done, total - done - overdue, overdue])],
                translate_labels=True,
            )
        ]
        if total
        else [],
    )


def _dept_names(session: Session) -> dict[str, str]:
    return dict(session.execute(select(Department.code, Department.name)).all())


def section_c3(session, cur_nc, prev_nc, cur_rec, prev_rec, names) -> dict:
    codes = sorted(set(cur_nc.by_department) | set(cur_rec.by_department))
    rows = [
        [
            names.get(code, code),
            cur_nc.by_department.get(code, 0),
            prev_nc.by_department.get(code, 0),
            cur_rec.by_department.get(code, 0),
            prev_rec.by_department.get(code, 0),
        ]
        for code in codes
    ]
    return _section(
        "c3",
        figures=[
            _fig("records", N_("Records completed"), cur_rec.completed, prev_rec.completed),
            _fig("ncs", N_("Nonconformities reported"), cur_nc.opened, prev_nc.opened),
            _fig(
                "ncs_per_1000",
                N_("Nonconformities per 1,000 records"),
                round(1000 * cur_nc.opened / cur_rec.completed, 1) if cur_rec.completed else None,
                round(1000 * prev_nc.opened / prev_rec.completed, 1)
                if prev_rec.completed
                else None,
            ),
        ],
        tables=[
            _table(
                "departments",
                N_("Process performance by department"),
                [
                    N_("Department"),
                    N_("Nonconformities"),
                    N_("Previous period"),
                    N_("Records completed"),
                    N_("Previous period"),
                ],
                rows,
            )
        ],
        charts=[
            _bars(
                "ncs_by_department",
                N_("Nonconformities by department"),
                [names.get(c, c) for c in codes],
                [
                    (N_("This period"), [cur_nc.by_department.get(c, 0) for c in codes]),
                    (N_("Previous period"), [prev_nc.by_department.get(c, 0) for c in codes]),
                ],
            )
        ],
    )


def _nc_counts(cur, prev, opened: str) -> list[dict]:
    """Opened, closed, open at the end and major: the NC figures c4 (all NCs) and c7 (the
    suppliers') share."""
    return [
        _fig("opened", opened, cur.opened, prev.opened),
        _fig("closed", N_("Closed"), cur.closed, prev.closed),
        _fig(
            "open_at_end",
            N_("Open at the end of the period"),
            cur.open_at_end,
            prev.open_at_end,
        ),
        _fig("major", N_("Major"), cur.major, prev.major),
    ]


def section_c4(cur, prev) -> dict:
    verified = cur.verified_effective + cur.verified_not_effective
    prev_verified = prev.verified_effective + prev.verified_not_effective
    causes = list(cur.root_causes.items())[:6]
    return _section(
        "c4",
        figures=[
            *_nc_counts(cur, prev, N_("Opened")),
            _fig("overdue", N_("Actions overdue"), cur.actions_overdue, prev.actions_overdue),
            _fig(
                "effective",
                N_("Verified effective"),
                cur.verified_effective,
                prev.verified_effective,
            ),
            _fig(
                "not_effective",
                N_("Verified not effective"),
                cur.verified_not_effective,
                prev.verified_not_effective,
            ),
            _fig(
                "effectiveness",
                N_("Effectiveness rate"),
                _pct(cur.verified_effective, verified),
                _pct(prev.verified_effective, prev_verified),
                unit="%",
            ),
        ],
        tables=[
            _table(
                "sources",
                N_("Nonconformities by source"),
                [N_("Source"), N_("This period"), N_("Previous period")],
                [
                    [SOURCES[s], cur.by_source.get(s, 0), prev.by_source.get(s, 0)]
                    for s in SOURCES
                    if cur.by_source.get(s) or prev.by_source.get(s)
                ],
                translate=(0,),
            ),
            _table(
                "root_causes",
                N_("Top root-cause categories"),
                [N_("Cause category"), N_("Nonconformities")],
                [[CAUSE_CATEGORIES.get(c, c), n] for c, n in causes],
                translate=(0,),
            ),
        ],
        charts=[
            _bars(
                "root_causes",
                N_("Top root-cause categories"),
                [CAUSE_CATEGORIES.get(c, c) for c, _ in causes],
                [(N_("Nonconformities"), [n for _, n in causes])],
                translate_labels=True,
            ),
            _bars(
                "flow",
                N_("Nonconformities opened and closed"),
                [N_("Opened"), N_("Closed"), N_("Open at the end of the period")],
                [
                    (N_("This period"), [cur.opened, cur.closed, cur.open_at_end]),
                    (N_("Previous period"), [prev.opened, prev.closed, prev.open_at_end]),
                ],
                translate_labels=True,
            ),
        ],
    )


def section_c5(cur, prev) -> dict:
    return _section(
        "c5",
        figures=[_fig("records", N_("Records completed"), cur.completed, prev.completed)],
        tables=[
            _table(
                "record_types",
                N_("Records completed by type"),
                [N_("Form"), N_("Name"), N_("Records completed")],
                [list(row) for row in cur.by_type],
            )
        ],
        charts=[
            _bars(
                "record_types",
                N_("Records completed by type"),
                [code for code, _, _ in cur.by_type],
                [(N_("Records completed"), [n for _, _, n in cur.by_type])],
            )
        ]
        if cur.by_type
        else [],
    )


def section_c6(cur, prev) -> dict:
    grades = [g for g in VERDICTS if g not in ("conforming", "na")]
    return _section(
        "c6",
        figures=[
            _fig("planned", N_("Audits planned"), cur.planned, prev.planned),
            _fig("completed", N_("Audits completed"), cur.completed, prev.completed),
            _fig(
                "completion",
                N_("Programme completion"),
                _pct(cur.completed, cur.planned),
                _pct(prev.completed, prev.planned),
                unit="%",
            ),
            _fig(
                "findings",
                N_("Findings"),
                sum(cur.findings_by_grade.values()),
                sum(prev.findings_by_grade.values()),
            ),
        ],
        tables=[
            _table(
                "grades",
                N_("Findings by grade"),
                [N_("Grade"), N_("This period"), N_("Previous period")],
                [
                    [VERDICTS[g], cur.findings_by_grade.get(g, 0), prev.findings_by_grade.get(g, 0)]
                    for g in grades
                ],
                translate=(0,),
            ),
            _table(
                "clauses",
                N_("Nonconformity findings by clause"),
                [N_("Clause"), N_("Findings")],
                [[c, n] for c, n in list(cur.findings_by_clause.items())[:10]],
            ),
        ],
        charts=[
            _bars(
                "grades",
                N_("Findings by grade"),
                [VERDICTS[g] for g in grades],
                [
                    (N_("This period"), [cur.findings_by_grade.get(g, 0) for g in grades]),
                    (N_("Previous period"), [prev.findings_by_grade.get(g, 0) for g in grades]),
                ],
                translate_labels=True,
            )
        ],
    )


def section_c7(cur, prev, names) -> dict:
    codes = sorted(cur.by_department)
    return _section(
        "c7",
        figures=[
            *_nc_counts(cur, prev, N_("Supplier nonconformities")),
        ],
        tables=[
            _table(
                "departments",
                N_("Supplier nonconformities by department"),
                [N_("Department"), N_("Nonconformities")],
                [[names.get(c, c), cur.by_department[c]] for c in codes],
            )
        ],
    )


def section_e(cur) -> dict:
    heat = [[LIKELIHOOD_LABELS[5 - i], *row] for i, row in enumerate(cur.heat_map)]
    return _section(
        "e",
        figures=[
            _fig("risk_points", N_("Risk points"), cur.total),
            _fig("critical", N_("Critical risk"), cur.by_band.get("critical", 0)),
            _fig("high", N_("High risk"), cur.by_band.get("high", 0)),
            _fig("reviews_done", N_("Periodic reviews done"), cur.reviews_done),
            _fig("reviews_overdue", N_("Periodic reviews overdue"), cur.reviews_overdue),
            _fig("hits", N_("Risks that occurred (links)"), cur.hits),
        ],
        tables=[
            _table(
                "heat_map",
                N_("Heat map: risk points by likelihood and severity"),
                [N_("Likelihood"), *(SEVERITY_LABELS[s] for s in range(1, 6))],
                heat,
                translate=(0,),
            ),
            _table(
                "hits",
                N_("Risk points that occurred most"),
                [N_("Risk point"), N_("Process"), N_("Links")],
                [list(row) for row in cur.top_hits],
            ),
        ],
        charts=[
            _bars(
                "bands",
                N_("Risk points by band"),
                [BAND_LABELS[b] for b in BAND_LABELS],
                [(N_("Risk points"), [cur.by_band.get(b, 0) for b in BAND_LABELS])],
                translate_labels=True,
            )
        ],
    )


def section_f(audits, prev_audits, improvements: int, prev_improvements: int) -> dict:
    ofis = audits.findings_by_grade.get("ofi", 0)
    return _section(
        "f",
        figures=[
            _fig(
                "ofis",
                N_("Opportunities for improvement from audits"),
                ofis,
                prev_audits.findings_by_grade.get("ofi", 0),
            ),
            _fig("improvement_actions", N_("Improvement actions"), improvements, prev_improvements),
        ],
        tables=[
            _table(
                "ofis",
                N_("Opportunities for improvement from audits"),
                [N_("Audit"), N_("Clause"), N_("Finding")],
                [list(row) for row in audits.ofis],
            )
        ],
    )


def section_document_control(docs, prev_docs, dist, prev_dist) -> dict:
    return _section(
        "document_control",
        figures=[
            _fig(
                "revisions_issued",
                N_("Revisions issued"),
                docs.revisions_issued,
                prev_docs.revisions_issued,
            ),
            _fig("effective_documents", N_("Documents in force"), docs.effective_documents),
            _fig("overdue_reviews", N_("Periodic reviews overdue"), docs.overdue_reviews),
            _fig(
                "acknowledgements",
                N_("Acknowledgements due"),
                dist.acknowledgements_due,
                prev_dist.acknowledgements_due,
            ),
            _fig(
                "acknowledgement_rate",
                N_("Acknowledgement completion"),
                _pct(dist.acknowledgements_done, dist.acknowledgements_due),
                _pct(prev_dist.acknowledgements_done, prev_dist.acknowledgements_due),
                unit="%",
            ),
            _fig("recalls", N_("Outstanding recalls"), dist.recalls_outstanding),
        ],
        charts=[
            _bars(
                "revisions",
                N_("Revisions issued"),
                [N_("This period"), N_("Previous period")],
                [(N_("Revisions issued"), [docs.revisions_issued, prev_docs.revisions_issued])],
                translate_labels=True,
            )
        ],
    )


SERVQUAL_DIMENSIONS = {
    "tangibles": N_("Tangibles"),
    "reliability": N_("Reliability"),
    "responsiveness": N_("Responsiveness"),
    "assurance": N_("Assurance"),
    "empathy": N_("Empathy"),
}


def _servqual(session: Session, start: date, end: date) -> dict[str, tuple[float | None, int]]:
    """The SERVQUAL means of the survey records filed in [start, end]: the survey record
    type and fields are those the KPIs read (``servqual_<dimension>`` sources); one pass
    over each survey type's records for all its dimensions."""
    wanted: dict[str, dict[str, str]] = {}  # record type → {dimension: field}
    for kpi in session.scalars(
        select(Kpi).where(Kpi.source.like("servqual_%"), Kpi.is_active.is_(True))
    ):
        dimension = kpi.source.removeprefix("servqual_")
        params = kpi.params
        if params.get("record_type"):
            fields = wanted.setdefault(params["record_type"], {})
            fields.setdefault(dimension, params.get("field") or dimension)
    out: dict[str, tuple[float | None, int]] = {}
    for record_type, fields in wanted.items():
        means = record_queries.number_field_means(
            session, record_type, sorted(set(fields.values())), start, end + timedelta(days=1)
        )
        for dimension, field in fields.items():
            out.setdefault(dimension, means[field])
    return out


def section_c1(session: Session, start, end, p_start, p_end) -> dict:
    """Complaints (by category and channel), commitment fulfilment, follow-up satisfaction
    and the SERVQUAL survey means, this period against the previous one."""
    cur = complaint_queries.figures(session, start, end + timedelta(days=1))
    prev = complaint_queries.figures(session, p_start, p_end + timedelta(days=1))
    names = complaint_queries.category_names(session)
    sq, p_sq = _servqual(session, start, end), _servqual(session, p_start, p_end)
    categories = sorted(
        set(cur.by_category) | set(prev.by_category), key=lambda c: -cur.by_category.get(c, 0)
    )
    channels = [c for c in CHANNELS if cur.by_channel.get(c) or prev.by_channel.get(c)]

    def sat(f):
        return round(f.satisfaction_sum / f.satisfaction_count, 2) if f.satisfaction_count else None

    figures = [
        _fig("received", N_("Complaints received"), cur.received, prev.received),
        _fig("resolved", N_("Complaints resolved"), cur.resolved, prev.resolved),
        _fig(
            "first_contact",
            N_("First-contact resolution"),
            _pct(cur.first_contact, cur.resolved),
            _pct(prev.first_contact, prev.resolved),
            unit="%",
        ),
        _fig(
            "commitment",
            N_("Service-commitment fulfilment"),
            _pct(cur.commitment_cases_met, cur.commitment_cases),
            _pct(prev.commitment_cases_met, prev.commitment_cases),
            unit="%",
        ),
        _fig("satisfaction", N_("Mean follow-up satisfaction"), sat(cur), sat(prev)),
        _fig("breaches", N_("Commitment clocks breached"), cur.breaches, prev.breaches),
        _fig("repeats", N_("Repeat complaints"), cur.repeats, prev.repeats),
    ]
    for dim, label in SERVQUAL_DIMENSIONS.items():
        if dim in sq or dim in p_sq:
            figures.append(
                _fig(
                    f"servqual_{dim}", label, sq.get(dim, (None, 0))[0], p_sq.get(dim, (None, 0))[0]
                )
            )
    return _section(
        "c1",
        figures=figures,
        tables=[
            _table(
                "categories",
                N_("Complaints by category"),
                [N_("Category"), N_("This period"), N_("Previous period")],
                [
                    [names.get(c, c), cur.by_category.get(c, 0), prev.by_category.get(c, 0)]
                    for c in categories
                ],
            ),
            _table(
                "channels",
                N_("Complaints by channel"),
                [N_("Channel"), N_("This period"), N_("Previous period")],
                [
                    [CHANNELS[c], cur.by_channel.get(c, 0), prev.by_channel.get(c, 0)]
                    for c in channels
                ],
                translate=(0,),
            ),
            _table(
                "clocks",
                N_("Service commitments by recovery step"),
                [N_("Recovery step"), N_("Decided"), N_("Met"), N_("Rate")],
                [
                    [
                        STEPS.get(step, step),
                        n,
                        cur.clocks_met.get(step, 0),
                        _pct(cur.clocks_met.get(step, 0), n),
                    ]
                    for step, n in cur.clocks_due.items()
                ],
                translate=(0,),
            ),
        ],
        charts=[
            _bars(
                "categories",
                N_("Complaints by category"),
                [names.get(c, c) for c in categories],
                [
                    (N_("This period"), [cur.by_category.get(c, 0) for c in categories]),
                    (N_("Previous period"), [prev.by_category.get(c, 0) for c in categories]),
                ],
            ),
            _bars(
                "channels",
                N_("Complaints by channel"),
                [CHANNELS[c] for c in channels],
                [
                    (N_("This period"), [cur.by_channel.get(c, 0) for c in channels]),
                    (N_("Previous period"), [prev.by_channel.get(c, 0) for c in channels]),
                ],
                translate_labels=True,
            ),
        ],
    )


def _kpi_summaries(session: Session, start: date, end: date):
    # kpi_summaries names the KPIs in the reader's language and needs a request for it;
    # a compile from the command line, the demo or a benchmark has none: it then reads
    # them in the organisation's language (a request context made for that alone)
    if has_request_context():
        return kpi_queries.kpi_summaries(session, start, end)
    language = current_app.config["QDMS_DEFAULT_LANGUAGE"].replace("_", "-")
    with current_app.test_request_context(headers={"Accept-Language": language}):
        return kpi_queries.kpi_summaries(session, start, end)


KPI_STATUSES = {
    "green": N_("Met"),
    "amber": N_("Warning"),
    "red": N_("Missed"),
    "none": N_("No data"),
}


def section_c2(session: Session, start, end) -> dict:
    """Every active KPI: its last 12 periods up to the review's end (as the KPI dashboard
    shows them), met / missed; the trend (drawn with ``app.kpis.queries.kpi_trend`` from
    the frozen values) of each KPI missed, and the KPIs by status."""
    summaries = _kpi_summaries(session, start, end)
    counts = {status: 0 for status in KPI_STATUSES}
    rows, charts = [], []
    for k in summaries:
        latest = k.latest
        counts[k.status] += 1
        with_data = [v for v in k.values if v.value is not None]
        rows.append(
            [
                k.code,
                k.name,
                k.department or "",
                kpi_queries.format_value(latest.value, k.unit) if latest else "—",
                kpi_queries.format_value(latest.target, k.unit)
                if latest and latest.target is not None
                else "—",
                KPI_STATUSES[k.status],
                f"{sum(v.status == 'green' for v in with_data)}/{len(with_data)}",
            ]
        )
        if k.status != "red":
            continue  # the trends of the KPIs missed (the table lists all, with warnings)
        charts.append(
            {
                "key": k.code,
                "kind": "kpi_trend",
                "title": f"{k.code} {k.name}",
                "kpi": {
                    "code": k.code,
                    "name": k.name,
                    "unit": k.unit,
                    "direction": k.direction,
                    "department": k.department,
                    "objective": k.objective,
                    "values": [
                        [v.period, v.value, v.target, v.warning, v.status, v.frozen]
                        for v in k.values
                    ],
                },
            }
        )
    return _section(
        "c2",
        figures=[
            _fig("kpis", N_("KPIs"), len(summaries)),
            _fig("met", N_("Met"), counts["green"]),
            _fig("warning", N_("Warning"), counts["amber"]),
            _fig("missed", N_("Missed"), counts["red"]),
            _fig("no_data", N_("No data"), counts["none"]),
            _fig(
                "met_rate",
                N_("KPIs met"),
                _pct(counts["green"], len(summaries) - counts["none"]),
                unit="%",
            ),
        ],
        tables=[
            _table(
                "kpis",
                N_("Quality objectives and KPIs"),
                [
                    N_("Code"),
                    N_("KPI"),
                    N_("Department"),
                    N_("Latest value"),
                    N_("Target"),
                    N_("Status"),
                    N_("Periods met"),
                ],
                rows,
                translate=(5,),
            ),
        ],
        charts=[
            _bars(
                "statuses",
                N_("KPIs by status"),
                [KPI_STATUSES[k] for k in KPI_STATUSES],
                [(N_("KPIs"), [counts[k] for k in KPI_STATUSES])],
                translate_labels=True,
            ),
            *charts,
        ]
        if summaries
        else [],
    )


def _not_connected(key: str) -> dict:
    return _section(
        key,
        note=N_(
            "This input has no data source in this installation yet; the meeting "
            "records it in the narrative."
        ),
    )


# Extra sources: inputs a later feature provides (complaints, KPIs) register here: a key
# and a function (session, start, end, previous start, previous end) → section content.
EXTRA_SOURCES: dict[str, object] = {}


def compile_all(session: Session, r: ManagementReview, previous: ManagementReview | None) -> dict:
    """Every input of 9.3.2 (a–f) and document control for ``r``'s period, each compared
    with the period of the same length before."""
    start, end = r.period_start, r.period_end
    p_start, p_end = previous_period(start, end)
    today = local_today()
    names = _dept_names(session)
    nc, p_nc = (
        capa_queries.nc_figures(session, start, end),
        capa_queries.nc_figures(session, p_start, p_end),
    )
    sup, p_sup = (
        capa_queries.nc_figures(session, start, end, source="supplier"),
        capa_queries.nc_figures(session, p_start, p_end, source="supplier"),
    )
    rec, p_rec = (
        record_queries.record_figures(session, start, end),
        record_queries.record_figures(session, p_start, p_end),
    )
    aud, p_aud = (
        audit_queries.audit_figures(session, start, end),
        audit_queries.audit_figures(session, p_start, p_end),
    )
    docs, p_docs = (
        document_queries.document_figures(session, start, end),
        document_queries.document_figures(session, p_start, p_end),
    )
    dist, p_dist = (
        distribution_queries.distribution_figures(session, start, end),
        distribution_queries.distribution_figures(session, p_start, p_end),
    )
    sections = {
        "a": section_a(session, r, today),
        "c1": section_c1(session, start, end, p_start, p_end),
        "c2": section_c2(session, start, end),
        "b": _section("b", text=r.external_issues or ""),
        "c3": section_c3(session, nc, p_nc, rec, p_rec, names),
        "c4": section_c4(nc, p_nc),
        "c5": section_c5(rec, p_rec),
        "c6": section_c6(aud, p_aud),
        "c7": section_c7(sup, p_sup, names),
        "d": _section("d", text=r.resources or ""),
        "e": section_e(risk_queries.risk_figures(session, start, end)),
        "f": section_f(
            aud,
            p_aud,
            capa_queries.improvement_actions(session, start, end),
            capa_queries.improvement_actions(session, p_start, p_end),
        ),
        "document_control": section_document_control(docs, p_docs, dist, p_dist),
    }
    for key, build in EXTRA_SOURCES.items():
        sections[key] = _section(key, **build(session, start, end, p_start, p_end))
    return {
        "version": SNAPSHOT_VERSION,
        "review": r.number,
        "period": [start.isoformat(), end.isoformat()],
        "previous_period": [p_start.isoformat(), p_end.isoformat()],
        "previous_review": previous.number if previous else None,
        "compiled_on": today.isoformat(),
        "sections": [sections.get(key) or _not_connected(key) for key, _, _ in SECTIONS],
    }
