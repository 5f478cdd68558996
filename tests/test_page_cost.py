"""The document list and the search page stay cheap (issue 20's load figures) and show
what they showed: statements per request that do not grow with the rows, and the
shortcuts they take (plain rows, URLs built from a prefix, one translations lookup per
render) giving what the slower ways gave."""

from __future__ import annotations

import re
from urllib.parse import quote

from flask import render_template_string, session, url_for
from flask_babel import gettext, ngettext, pgettext, refresh
from sqlalchemy import event

from app.documents.models import Document
from app.extensions import db
from app.search.routes import _linker
from app.web import url_builder

LIST_ROW = re.compile(r'<td><a href="/documents/[^"]+"><code>')


class _Statements:
    """The SQL statements the engine sends while the block runs."""

    def __init__(self):
        self.sent: list[str] = []

    def _on_execute(self, conn, cursor, statement, *args):
        self.sent.append(statement)

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self._on_execute)
        return self

    def __exit__(self, *exc):
        event.remove(db.engine, "before_cursor_execute", self._on_execute)


def _list(client) -> tuple[int, int]:
    """Rows shown and statements sent by one request of the document list."""
    client.get("/documents")  # once before: the first request of a session warms up
    with _Statements() as statements:
        response = client.get("/documents")
    assert response.status_code == 200
    return len(LIST_ROW.findall(response.get_data(as_text=True))), len(statements.sent)


def test_the_document_list_sends_a_few_statements_whatever_the_rows(
    client, login_as, make_document
):
    """Does the document list send at most 6 statements as an officer (7 as staff, whose
    navigation bar asks whether they head a department), for 1 row as for 25?"""
    make_document(effective=True, title="一号文件")
    officer = login_as("olga", roles=("officer",), department="QA")
    assert _list(officer) == (1, 6)
    client.form_post("/logout")
    staff = login_as("sam", roles=("staff",))
    assert _list(staff) == (1, 7)
    for i in range(24):
        make_document(type_code="WI", title=f"作业指导书{i}", effective=i % 6 == 0)
    assert _list(staff) == (5, 7)  # effective ones only
    client.form_post("/logout")
    officer = login_as("olga")
    assert _list(officer) == (25, 6)


def _cells(page: str, number: str) -> list[str]:
    row = re.search(rf"<tr>\s*<td><a href=\"/documents/{number}\">.*?</tr>", page, re.S)
    cells = re.findall(r"<td[^>]*>(.*?)</td>", row[0], re.S)
    return [re.sub(r"\s+", " ", c).strip() for c in cells]


def test_a_list_row_shows_the_document_as_before(client, login_as, make_document):
    """Does a row show the number (linked), the title in the reader's language, the
    confidential badge, the department, the current revision with its effective date,
    the review due date and the status badge?"""
    doc = make_document(
        effective=True,
        title="客户投诉处理程序",
        title_en="Complaint Handling",
        confidentiality="confidential",
    )
    draft = make_document(type_code="WI", title="草稿")
    doc = db.session.get(Document, doc.id)
    revision = doc.current_revision
    officer = login_as("olga", roles=("officer",), department="QA", language="en")
    page = officer.get("/documents").get_data(as_text=True)
    cells = _cells(page, doc.number)
    assert cells == [
        f'<a href="/documents/{doc.number}"><code>{doc.number}</code></a>',
        'Complaint Handling <span class="badge text-bg-danger">Confidential</span>',
        "CS",
        f"{revision.major}/{revision.minor}",
        revision.effective_date.isoformat(),
        doc.review_due_date.isoformat(),
        '<span class="badge text-bg-success status-effective">Effective</span>',
    ]
    cells = _cells(page, draft.number)
    assert cells[1:] == [
        "草稿",  # no English title: the Chinese one
        "CS",
        "—",
        "—",
        "—",
        '<span class="badge text-bg-secondary status-draft">Draft</span>',
    ]


def test_url_builder_gives_what_url_for_gives(app):
    """Does ``url_builder`` build the URL ``url_for`` builds, for plain document numbers
    and for values that need quoting?"""
    values = ["QP-CS-001", "WI-QA-012.1", "a~b_c", "a b", "文件-1", "x/y", "50%", "a?b#c", "é"]
    with app.test_request_context("/documents"):
        build = url_builder("documents.show", "number")
        for value in values:
            assert build(value) == url_for("documents.show", number=value), value


def test_search_links_give_what_url_for_gives(app):
    """Does the search page's ``link`` give the URL ``url_for`` gives for the same
    parameters (page dropped, changes applied, None removing one), quoting included?"""
    query = "q=" + quote('投诉 "服务 补救" a&b=c/d+e') + "&type=QP&page=3&sort=date&x=%2F%3F%40"
    changes = [{}, {"q": "纠正措施"}, {"type": None}, {"page": 2}, {"department": "CS"}]
    changes += [{"include_history": "1", "sort": None}, {"q": None, "type": None, "x": None}]
    with app.test_request_context(f"/search?{query}"):
        from flask import request

        link = _linker()
        for change in changes:
            args = {k: v for k, v in request.args.items() if k != "page"}
            args.update(change)
            args = {k: v for k, v in args.items() if v is not None}
            assert link(**change) == url_for("search.index", **args), change


def test_templates_translate_as_flask_babel(app):
    """Do ``_``, ``gettext``, ``ngettext`` and ``pgettext`` in a template give Flask-Babel's
    translations (escaped and formatted as before) in each language?"""
    source = (
        "{{ _('Documents') }}|{{ gettext('Search') }}|"
        "{{ ngettext('%(num)s result', '%(num)s results', 3) }}|"
        "{{ pgettext('verb: file a record', 'File') }}|{{ _('%(total)s documents', total='<b>') }}"
    )
    rendered = {}
    for language in ("zh_CN", "en"):
        with app.test_request_context("/"):
            session["lang"] = language
            refresh()  # the test's app context outlives the request: forget its locale
            expected = "|".join(
                [
                    gettext("Documents"),
                    gettext("Search"),
                    ngettext("%(num)s result", "%(num)s results", 3),
                    pgettext("verb: file a record", "File"),
                    gettext("%(total)s documents", total="&lt;b&gt;"),
                ]
            )
            rendered[language] = render_template_string(source)
            assert rendered[language] == expected, language
    assert rendered["zh_CN"].startswith("文件|搜索|") and rendered["en"].startswith("Documents|")
