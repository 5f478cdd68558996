"""Names kept in two languages: the Chinese name is required, the English one optional.

Departments, document types, record types and document titles carry both; the English UI,
PDFs printed in English, exports and mail to English readers use the English name and
fall back to the Chinese one where none was given. Plain Python (services and models use
it; templates call it through the ``local`` filter of ``app/__init__.py``).
"""

from __future__ import annotations

from dataclasses import dataclass


def in_language(chinese: str | None, english: str | None, language: str | None) -> str:
    """The name to show a reader of ``language`` (``en`` or ``zh_CN``)."""
    if language == "en":
        return english or chinese or ""
    return chinese or english or ""


@dataclass(frozen=True)
class Bilingual:
    """A name in both languages, for text rendered later in a reader's language (mail is
    written in each recipient's language): ``notifications.queue`` picks the right one."""

    chinese: str
    english: str | None = None

    def pick(self, language: str | None) -> str:
        return in_language(self.chinese, self.english, language)

    name_in = pick  # what the ``local`` template filter asks for

    def __str__(self) -> str:
        return self.chinese
