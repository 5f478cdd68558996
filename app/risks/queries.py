"""Read-only questions other features ask of the risks feature: the KPIs and the management
review read it through these functions and nothing else (they import this module; it
imports none of them). Each function takes the session and plain arguments and returns
plain data: numbers, dicts, small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.extensions import local_day_start
from app.risks.models import BANDS, RiskLink, RiskPoint, RiskReview


@dataclass(frozen=True)
class RiskFigures:
    """The risk-point register over a period (management review 9.3.2 e)."""

    total: int
    by_band: dict[str, int]
    heat_map: tuple[tuple[int, ...], ...]  # [likelihood 5..1][severity 1..5] → risk points
    reviews_done: int  # periodic reviews recorded in the period
    reviews_overdue: int  # review date before the period's end
    hits: int  # links made in the period (an NC, complaint or finding where a risk occurred)
    top_hits: tuple[tuple[str, str, int], ...]  # (number, process, links), most first


def risk_figures(session: Session, start: date, end: date, *, top: int = 5) -> RiskFigures:
    lo = local_day_start(start)
    hi = local_day_start(end + timedelta(days=1))
    cells = session.execute(
        select(RiskPoint.likelihood, RiskPoint.severity, func.count()).group_by(
            RiskPoint.likelihood, RiskPoint.severity
        )
    ).all()
    grid = {(lk, sv): count for lk, sv, count in cells}
    by_band = {band: 0 for band in BANDS}
    for (lk, sv), count in grid.items():
        score = lk * sv
        for band, (low, high) in BANDS.items():
            if low <= score <= high:
                by_band[band] += count
    reviews = session.scalar(
        select(func.count())
        .select_from(RiskReview)
        .where(RiskReview.reviewed_on >= start, RiskReview.reviewed_on <= end)
    )
    overdue = session.scalar(
        select(func.count()).select_from(RiskPoint).where(RiskPoint.review_date < end)
    )
    n = func.count().label("n")
    hit_rows = session.execute(
        select(RiskPoint.number, RiskPoint.process, n)
        .join(RiskLink, RiskLink.risk_point_id == RiskPoint.id)
        .where(RiskLink.created_at >= lo, RiskLink.created_at < hi)
        .group_by(RiskPoint.number, RiskPoint.process)
        .order_by(n.desc(), RiskPoint.number)
    ).all()
    return RiskFigures(
        total=sum(grid.values()),
        by_band=by_band,
        heat_map=tuple(
            tuple(grid.get((lk, sv), 0) for sv in range(1, 6)) for lk in range(5, 0, -1)
        ),
        reviews_done=reviews or 0,
        reviews_overdue=overdue or 0,
        hits=sum(count for _, _, count in hit_rows),
        top_hits=tuple(tuple(row) for row in hit_rows[:top]),
    )
