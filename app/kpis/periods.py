"""KPI periods: a month ``2026-03`` or a quarter ``2026-Q1``, with its half-open date range
[start, end). Plain values, no database."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from app.errors import N_, ValidationFailed

KINDS = {"month": N_("Month"), "quarter": N_("Quarter")}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
MIN_YEAR, MAX_YEAR = 2000, 2100


@dataclass(frozen=True, order=True)
class Period:
    year: int
    index: int  # month 1–12, or quarter 1–4
    kind: str  # month | quarter

    def __str__(self) -> str:
        return (
            f"{self.year}-Q{self.index}"
            if self.kind == "quarter"
            else f"{self.year}-{self.index:02d}"
        )

    @property
    def start(self) -> date:
        month = self.index if self.kind == "month" else 3 * self.index - 2
        return date(self.year, month, 1)

    @property
    def end(self) -> date:
        """The first day after the period."""
        return self.next().start

    def next(self) -> Period:
        last = 12 if self.kind == "month" else 4
        if self.index == last:
            return Period(self.year + 1, 1, self.kind)
        return Period(self.year, self.index + 1, self.kind)

    def previous(self) -> Period:
        last = 12 if self.kind == "month" else 4
        if self.index == 1:
            return Period(self.year - 1, last, self.kind)
        return Period(self.year, self.index - 1, self.kind)


def parse(text: str | None, kind: str | None = None, field: str = "period") -> Period:
    """``2026-03`` or ``2026-Q1`` (a bad one, or one of the other kind when ``kind`` is
    given: a 400 naming ``field``)."""
    raw = (text or "").strip().upper()
    found = None
    if m := _MONTH.match(raw):
        if 1 <= int(m[2]) <= 12:
            found = Period(int(m[1]), int(m[2]), "month")
    elif m := _QUARTER.match(raw):
        found = Period(int(m[1]), int(m[2]), "quarter")
    if found is None or not MIN_YEAR <= found.year <= MAX_YEAR:
        raise ValidationFailed(
            N_("A period is written 2026-03 (a month) or 2026-Q1 (a quarter)."),
            fields={field: N_("invalid")},
        )
    if kind is not None and found.kind != kind:
        raise ValidationFailed(
            N_("This KPI is measured per %(kind)s: write the period like %(example)s."),
            fields={field: N_("invalid")},
            kind=KINDS[kind],
            example="2026-03" if kind == "month" else "2026-Q1",
        )
    return found


def containing(day: date, kind: str) -> Period:
    """The period of ``kind`` that ``day`` falls in."""
    if kind == "quarter":
        return Period(day.year, (day.month - 1) // 3 + 1, "quarter")
    return Period(day.year, day.month, "month")


def between(first: Period, last: Period) -> list[Period]:
    """The periods from ``first`` to ``last``, both included (empty when reversed)."""
    out, current = [], first
    while current <= last and len(out) < 1200:
        out.append(current)
        current = current.next()
    return out


def last_n(last: Period, n: int) -> list[Period]:
    """The ``n`` periods up to and including ``last``, oldest first."""
    if n <= 0:
        return []
    out = [last]
    while len(out) < n:
        out.append(out[-1].previous())
    return out[::-1]


def of_year(year: int, kind: str) -> list[Period]:
    return [Period(year, i, kind) for i in range(1, (12 if kind == "month" else 4) + 1)]
