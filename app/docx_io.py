"""The python-docx / mammoth adapter: the only module that imports them.

- ``extract_text``: paragraphs, tables (also nested), headers and footers, in order.
- ``page_count``: the page count Word saved in docProps/app.xml, if any (python-docx
  cannot paginate; the PDF renderer stores the true count later).
- ``make_template``: a new .docx with the header table filled in (number, title,
  revision, department) and a standard procedure outline.
- ``to_html``: the body as HTML for reading in the browser (mammoth); ``to_print_html``
  the same for the PDF, each table given the column widths its author set in Word.
"""

from __future__ import annotations

import io
import re
import zipfile

import docx
import mammoth
from docx.document import Document as DocxDocument
from docx.oxml import parse_xml
from docx.shared import Pt
from docx.table import Table
from docx.text.paragraph import Paragraph


def open_docx(data: bytes) -> DocxDocument:
    return docx.Document(io.BytesIO(data))


def _block_text(container) -> list[str]:
    out: list[str] = []
    for block in container.iter_inner_content():
        if isinstance(block, Paragraph):
            if block.text.strip():
                out.append(block.text)
        elif isinstance(block, Table):
            out.extend(_table_text(block))
    return out


def _table_text(table: Table) -> list[str]:
    out: list[str] = []
    for row in table.rows:
        cells: list[str] = []
        seen: set[int] = set()
        for cell in row.cells:
            if id(cell._tc) in seen:  # merged cells repeat
                continue
            seen.add(id(cell._tc))
            cells.append(" ".join(_block_text(cell)))
        line = " | ".join(c for c in cells if c.strip())
        if line:
            out.append(line)
    return out


def extract_text(document: DocxDocument) -> str:
    parts: list[str] = []
    for section in document.sections:
        for part in (section.header, section.first_page_header):
            if not part.is_linked_to_previous:
                parts.extend(_block_text(part))
    parts.extend(_block_text(document))
    for section in document.sections:
        for part in (section.footer, section.first_page_footer):
            if not part.is_linked_to_previous:
                parts.extend(_block_text(part))
    # Headers repeated across sections add nothing to search.
    seen: set[str] = set()
    unique = [p for p in parts if not (p in seen or seen.add(p))]
    return "\n".join(unique)


def page_count(data: bytes) -> int | None:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        try:
            app_xml = zf.read("docProps/app.xml").decode("utf-8", "replace")
        except KeyError:
            return None
    match = re.search(r"<(?:\w+:)?Pages>(\d+)</(?:\w+:)?Pages>", app_xml)
    return int(match.group(1)) if match else None


OUTLINE = [
    ("1 目的 Purpose", ""),
    ("2 适用范围 Scope", ""),
    ("3 职责 Responsibilities", ""),
    ("4 程序 Procedure", ""),
    ("5 相关文件 Related documents", ""),
    ("6 记录 Records", ""),
]


def make_template(*, number: str, title: str, label: str, department: str) -> bytes:
    """A new .docx whose header table already names the document and revision."""
    document = docx.Document()
    header = document.sections[0].header
    table = header.add_table(rows=2, cols=4, width=document.sections[0].page_width)
    table.style = "Table Grid"
    cells = [
        ("文件编号 No.", number),
        ("版本 Rev.", label),
        ("文件名称 Title", title),
        ("部门 Dept.", department),
    ]
    for i, (name, value) in enumerate(cells):
        row, col = divmod(i, 2)
        table.cell(row, col * 2).text = name
        table.cell(row, col * 2 + 1).text = value
    heading = document.add_heading(title, level=1)
    heading.runs[0].font.size = Pt(16)
    for head, body in OUTLINE:
        document.add_heading(head, level=2)
        document.add_paragraph(body)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# Word's Title and Subtitle paragraph styles are not in mammoth's default map, so a
# document's title came out as body text: the title is a heading, the subtitle a lead line.
STYLE_MAP = """
p[style-name='Title'] => h1.doc-title:fresh
p[style-name='Subtitle'] => p.doc-subtitle:fresh
"""


def to_html(data: bytes) -> str:
    """The body as HTML (headings, lists, tables, images as data URIs), for the browser."""
    return mammoth.convert_to_html(io.BytesIO(data), style_map=STYLE_MAP).value


def to_print_html(data: bytes) -> str:
    """The body as HTML for the PDF: ``to_html`` with each table given Word's column
    widths (inline styles, which the browser view's Content-Security-Policy refuses)."""
    return _with_column_widths(to_html(data), table_grids(data))


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def table_grids(data: bytes) -> list[list[int]]:
    """The column widths (twips) of every table of the body, in document order (nested
    tables after the cell that holds them, as mammoth writes them)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        root = parse_xml(zf.read("word/document.xml"))
    grids = []
    for table in root.iter(f"{_W}tbl"):
        grid = table.find(f"{_W}tblGrid")
        widths = [] if grid is None else [g.get(f"{_W}w") for g in grid.findall(f"{_W}gridCol")]
        grids.append([int(w) if w and w.isdigit() else 0 for w in widths])
    return grids


def _with_column_widths(html: str, grids: list[list[int]]) -> str:
    """Give each ``<table>`` the widths of Word's grid as a ``<colgroup>`` and the class
    ``grid``: the PDF lays those tables out with ``table-layout: fixed`` — the columns the
    author drew, as Word prints them, and without measuring every cell's content first
    (a third of a table-heavy layout). Tables mammoth wrote differently from the .docx
    (their count differs) or without a usable grid keep the automatic layout."""
    if html.count("<table>") != len(grids):
        return html
    widths = iter(grids)

    def columns(match: re.Match) -> str:
        grid = next(widths)
        total = sum(grid)
        if not grid or 0 in grid:
            return match.group(0)
        cols = "".join(f'<col style="width: {w * 100 / total:.2f}%">' for w in grid)
        return f'<table class="grid"><colgroup>{cols}</colgroup>'

    return re.sub("<table>", columns, html)
