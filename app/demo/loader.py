"""The one reader of the demo's content: the files under ``app/demo/data/``.

- ``organisation.toml``: departments (with their heads) and users;
- ``documents/NN-key.md``: one controlled document each, created in file-name order
  (procedures before their forms), ``key`` naming it elsewhere in the data. A TOML header
  between two ``+++`` lines gives its type, department (or parent for a form), titles,
  flags and the ``[[steps]]`` of its story; the body follows;
- ``external.toml``, ``distribution.toml``, ``records.toml``, ``risks.toml``,
  ``nonconformities.toml``: the register of external documents, the distribution plan,
  the record types with their records, the risk-point register, the nonconformities.

A body is a small subset of Markdown, one line per block:

``## text``       a heading
``- text``        a bulleted paragraph
``| a | b |``     a table row; consecutive rows make one table whose first row is the
                  header; a ``|---|---|`` line under the header is skipped
anything else     a paragraph (numbered steps are written with their numbers: ``4.1 …``)

Blank lines only separate blocks. The modules beside this one play the content through
the services; nothing here touches the database.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data"
# Every demo user's password (``qdms demo-logins`` prints it).
DEMO_PASSWORD = "Demo-2026!"  # noqa: S105 - printed by `make run`; demo data only

# ("h", text) | ("p", text) | ("li", text) | ("table", rows): rows of cells, header first
Block = tuple[str, str | tuple[tuple[str, ...], ...]]

_FRONT_MATTER = re.compile(r"\A\+\+\+\n(.*?)\n\+\+\+\n(.*)\Z", re.DOTALL)
_SEPARATOR = re.compile(r"^\|(\s*:?-+:?\s*\|)+$")
OUTCOMES = (
    "effective",
    "future",
    "awaiting_review",
    "awaiting_approval",
    "rejected",
    "draft",
    "cancelled",
)


@dataclass(frozen=True)
class Step:
    """One revision of a document's story and how far through the workflow it gets.

    ``outcome``: effective | future (approved, effective in ten days) | awaiting_review |
    awaiting_approval | rejected (by the first reviewer, with ``comment``) | draft | cancelled.
    ``edits`` are (old, new) text replacements, cumulative over the story.
    """

    summary: str
    reason: str
    author: str
    approvers: tuple[str, ...]
    reviewers: tuple[str, ...] = ()
    outcome: str = "effective"
    change_type: str = "minor"
    days_ago: int = 0
    comment: str | None = None
    edits: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class DemoDocument:
    key: str
    type_code: str
    title: str
    body: tuple[Block, ...]
    steps: tuple[Step, ...]
    title_en: str | None = None
    department: str | None = None  # None for forms: they belong to the parent's department
    parent: str | None = None
    training_required: bool = False
    confidentiality: str = "internal"
    review_interval_months: int | None = None
    withdraw_reason: str | None = None
    confirm_review: str | None = None  # the periodic-review comment, confirmed today


def _read_toml(name: str) -> dict:
    with (DATA / name).open("rb") as f:
        return tomllib.load(f)


def organisation() -> dict:
    return _read_toml("organisation.toml")


def external() -> dict:
    return _read_toml("external.toml")


def distribution() -> dict:
    return _read_toml("distribution.toml")


def records() -> dict:
    return _read_toml("records.toml")


def risks() -> dict:
    return _read_toml("risks.toml")


def kpis() -> dict:
    return _read_toml("kpis.toml")


def nonconformities() -> dict:
    return _read_toml("nonconformities.toml")


def audits() -> dict:
    return _read_toml("audits.toml")


def complaints() -> dict:
    return _read_toml("complaints.toml")


def step(data: dict) -> Step:
    """A step from its TOML table (a document's ``[[steps]]`` or the distribution's)."""
    if data.get("outcome", "effective") not in OUTCOMES:
        raise ValueError(f"unknown outcome {data['outcome']!r}; one of {', '.join(OUTCOMES)}")
    lists = {k: tuple(data.get(k, ())) for k in ("reviewers", "approvers")}
    edits = tuple((old, new) for old, new in data.get("edits", ()))
    return Step(**{**data, **lists, "edits": edits})


def documents(folder: Path = DATA / "documents") -> tuple[DemoDocument, ...]:
    """Every demo document, in creation order; a form's ``parent`` names an earlier one."""
    out: list[DemoDocument] = []
    for path in sorted(folder.glob("*.md")):
        number, _, key = path.stem.partition("-")  # 09-f_change.md: f_change, made 9th
        if not (number.isdigit() and key):
            raise ValueError(f"{path.name}: a document file is named NN-key.md")
        match = _FRONT_MATTER.match(path.read_text(encoding="utf-8"))
        if match is None:
            raise ValueError(f"{path.name}: expected a +++ TOML header +++ and a body")
        try:
            header = tomllib.loads(match.group(1))
            steps = tuple(step(s) for s in header.pop("steps"))
            doc = DemoDocument(key=key, body=parse_body(match.group(2)), steps=steps, **header)
        except (tomllib.TOMLDecodeError, TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"{path.name}: {exc}") from exc
        if doc.parent and doc.parent not in {d.key for d in out}:
            raise ValueError(f"{path.name}: parent {doc.parent!r} must come first")
        out.append(doc)
    return tuple(out)


def parse_body(text: str) -> tuple[Block, ...]:
    """The blocks of a document body written in the syntax above."""
    blocks: list[Block] = []
    rows: list[tuple[str, ...]] | None = None  # the table being read
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("|") and rows is not None:
            blocks.append(("table", tuple(rows)))
            rows = None
        if not line:
            continue
        if line.startswith("## "):
            blocks.append(("h", line[3:]))
        elif line.startswith("- "):
            blocks.append(("li", line[2:]))
        elif line.startswith("|"):
            if rows is None:
                rows = []
            elif len(rows) == 1 and _SEPARATOR.match(line):
                continue
            if not line.endswith("|") or len(line) < 2:
                raise ValueError(f"a table row starts and ends with |: {line!r}")
            rows.append(tuple(cell.strip() for cell in line[1:-1].split("|")))
        else:
            blocks.append(("p", line))
    if rows is not None:
        blocks.append(("table", tuple(rows)))
    return tuple(blocks)


def reviews() -> dict:
    return _read_toml("reviews.toml")
