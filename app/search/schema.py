"""The index's schema: one set of fields for every kind of item (its own module so that
the index and the check of Whoosh's private format in ``postings`` both build it)."""

from __future__ import annotations

from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from app.search.analysis import QdmsAnalyzer, TermPositions


def make_schema() -> Schema:
    """One schema for every kind of item (a revision, an external document, a record …)."""
    text = QdmsAnalyzer()
    schema = Schema(
        uid=ID(unique=True, stored=True),  # "document:<revision id>", "external:<id>", …
        kind=ID(stored=True, sortable=True),
        number=TEXT(analyzer=text, stored=True, field_boost=4.0),
        title=TEXT(analyzer=text, stored=True, field_boost=2.5),
        body=TEXT(analyzer=text, stored=True),
        type=ID(stored=True, sortable=True),
        department=ID(stored=True, sortable=True),
        status=ID(stored=True, sortable=True),
        year=ID(stored=True, sortable=True),
        date=DATETIME(stored=True, sortable=True),
        label=STORED(),  # a revision's label, a record's type … shown with the result
        url=STORED(),
        # Permission filtering (app.search.query._allowed):
        live=ID(),  # "1": shown by default (effective revision, current external …)
        history=ID(),  # "1": shown with include_history (superseded, obsolete, withdrawn …)
        scope=KEYWORD(),  # "all", or "dept:<id>" / "user:<id>" when confidential
    )
    for name in ("number", "title", "body"):
        schema[name].format = TermPositions(field_boost=schema[name].format.field_boost)
    return schema
