"""The record plan (记录清单) as a register: CSV, .xlsx and PDF. Flask-side."""

from __future__ import annotations

from flask_babel import gettext

from app.i18n import current_language
from app.records.models import CONFIDENTIALITY, MEDIA, RETENTION_FROM, RecordType
from app.tables import Table, send_table


def plan_table(types: list[RecordType], counts: dict[int, int]) -> Table:
    language = current_language()
    return Table(
        title=gettext("Record plan"),
        filename="record-plan",
        headers=[
            gettext("Code"),
            gettext("Name"),
            gettext("Owning department"),
            gettext("Retention"),
            gettext("Storage medium"),
            gettext("Storage location"),
            gettext("Confidentiality"),
            gettext("Form version"),
            gettext("Records"),
            gettext("Status"),
        ],
        rows=[
            [
                t.code,
                t.name_in(language),
                t.department.name_in(language),
                f"{gettext('%(years)s years', years=t.retention_years)} "
                f"{gettext(RETENTION_FROM[t.retention_from])}",
                gettext(MEDIA[t.medium]),
                t.location or "",
                gettext(CONFIDENTIALITY[t.confidentiality]),
                t.schema.version,
                counts.get(t.id, 0),
                gettext("Active") if t.is_active else gettext("Retired"),
            ]
            for t in types
        ],
        widths={"A": 20, "B": 32, "C": 16, "D": 22, "E": 14, "F": 24, "G": 12},
    )


def plan_download(types: list[RecordType], counts: dict[int, int], fmt: str):
    return send_table(plan_table(types, counts), fmt)
