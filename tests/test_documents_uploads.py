"""Source files are checked by content: .docx and .pdf only, intact, within the limit."""

from __future__ import annotations

import io
import zipfile

import pytest

from app import docx_io
from app.errors import ValidationFailed
from app.uploads import check_upload, clean_file_name

LIMIT = 10 * 1024 * 1024


def test_docx_text_includes_body_tables_headers_and_footers(make_docx):
    """Does extraction find paragraphs, table cells, header and footer text?"""
    data = make_docx(
        body=("为规范客户投诉处理，实施服务补救。", "Corrective action follows."),
        table=[["步骤", "时限"], ["道歉", "24小时"]],
        header="QP-CS-001 客户投诉处理程序",
        footer="受控文件",
    )
    checked = check_upload(data, "程序.docx", max_bytes=LIMIT)
    assert checked.kind == "docx"
    for expected in ("实施服务补救", "Corrective action", "道歉 | 24小时", "QP-CS-001", "受控文件"):
        assert expected in checked.text


def test_pdf_text_and_page_count(pdf_bytes):
    """Does a PDF give its page count and text?"""
    checked = check_upload(pdf_bytes, "scan.pdf", max_bytes=LIMIT)
    assert checked.kind == "pdf" and checked.page_count == 2
    assert "Customer complaint handling" in checked.text


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03" + b"\x00" * 200,  # a Windows executable renamed to .docx
        b"just some text, renamed",
        b"\x89PNG\r\n\x1a\n" + b"\x00" * 50,
    ],
)
def test_other_content_is_refused_whatever_the_name(data):
    """Is a renamed .exe (or any non-Word, non-PDF content) refused?"""
    with pytest.raises(ValidationFailed) as err:
        check_upload(data, "procedure.docx", max_bytes=LIMIT)
    assert err.value.fields == {"file": "invalid"}
    assert "Only Word (.docx) and PDF files are accepted." in str(err.value)


def test_corrupt_docx_is_refused_with_a_clear_message(make_docx):
    """Is a truncated .docx refused as damaged?"""
    data = make_docx()
    with pytest.raises(ValidationFailed) as err:
        check_upload(data[: len(data) // 2], "x.docx", max_bytes=LIMIT)
    assert "damaged" in str(err.value)


def _zip(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return out.getvalue()


def test_a_zip_that_is_not_word_is_refused():
    """Is an ordinary zip archive refused?"""
    with pytest.raises(ValidationFailed):
        check_upload(_zip({"readme.txt": b"hello"}), "a.docx", max_bytes=LIMIT)


def test_zip_bomb_and_path_tricks_are_refused():
    """Are a highly compressed bomb and '../' entry names refused before parsing?"""
    bomb = _zip({"[Content_Types].xml": b"<x/>", "word/document.xml": b"0" * 20_000_000})
    with pytest.raises(ValidationFailed):
        check_upload(bomb, "a.docx", max_bytes=LIMIT)
    tricky = _zip(
        {"[Content_Types].xml": b"<x/>", "word/document.xml": b"<x/>", "../../evil.sh": b"rm -rf /"}
    )
    with pytest.raises(ValidationFailed):
        check_upload(tricky, "a.docx", max_bytes=LIMIT)


def test_word_structure_with_broken_xml_is_refused():
    """Is a zip with Word's file names but broken XML refused as damaged?"""
    fake = _zip({"[Content_Types].xml": b"<not xml", "word/document.xml": b"<also not"})
    with pytest.raises(ValidationFailed) as err:
        check_upload(fake, "a.docx", max_bytes=LIMIT)
    assert "damaged" in str(err.value)


def test_oversized_and_empty_files_are_refused(make_docx):
    """Is a file over the limit refused naming the limit, and an empty file refused?"""
    with pytest.raises(ValidationFailed) as err:
        check_upload(make_docx(), "a.docx", max_bytes=1024 * 1024 // 100)
    assert err.value.fields == {"file": "too large"}
    with pytest.raises(ValidationFailed):
        check_upload(b"", "a.docx", max_bytes=LIMIT)


def test_file_names_are_cleaned():
    """Are paths, control characters and wrong suffixes removed from a file name?"""
    assert clean_file_name("C:\\Users\\x\\程序 v2.doc", "docx") == "程序 v2.docx"
    assert clean_file_name("../../etc/passwd", "pdf") == "passwd.pdf"
    assert clean_file_name("a\x00b\nc.pdf", "pdf") == "abc.pdf"
    assert clean_file_name(None, "docx") == "document.docx"


def test_template_has_the_header_table_filled_in():
    """Does the generated template's header name number, title, revision and department?"""
    data = docx_io.make_template(
        number="QP-CS-001", title="客户投诉处理程序", label="A/0", department="客户服务部"
    )
    checked = check_upload(data, "t.docx", max_bytes=LIMIT)
    for expected in ("QP-CS-001", "客户投诉处理程序", "A/0", "客户服务部", "目的"):
        assert expected in checked.text
    assert "<h1>" in docx_io.to_html(data) or "<h2>" in docx_io.to_html(data)
