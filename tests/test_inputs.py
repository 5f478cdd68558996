"""Hostile input (issue 20, points 7, 8, 9 and 11): whatever a caller sends — a page past
any list, an id beyond the database's integer, NUL characters, lone surrogates, JSON
nested 100,000 deep, a body over the limit, a .docx that inflates to gigabytes, a PDF
with JavaScript, a "picture" that is something else — the answer is a 4xx in the user's
language, never a 500, on pages and API alike and on both databases."""

from __future__ import annotations

import pytest

BIG = "99999999999999999999"  # beyond a 64-bit integer
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}

# every HTML list that pages (a page number past a 64-bit OFFSET was a 500)
LISTS = [
    "/documents",
    "/records",
    "/external",
    "/retention/",
    "/retention/destructions",
    "/copies",
    "/acknowledgements/matrix?by=person",
    "/admin/outbox",
    "/audit-trail",
    "/search?q=procedure",
]


@pytest.fixture
def officer(client, login_as, make_document):
    make_document(effective=True)
    return login_as("officer", roles=("officer", "admin"))


def test_html_lists_answer_any_page_number(officer):
    """Does every HTML list answer a page number beyond any integer (or not a number at
    all) with a page, and the records' year filter beyond any year with a 400, never a
    database overflow?"""
    for url in LISTS:
        joiner = "&" if "?" in url else "?"
        for page in (BIG, "100000000000000", "-3", "¹", "x"):
            response = officer.get(f"{url}{joiner}page={page}")
            assert response.status_code == 200, (url, page, response.status_code)
    for year in (BIG, "-1", "10000"):
        assert officer.get(f"/records?year={year}").status_code == 400, year


def test_path_ids_beyond_the_integer_or_in_other_digits_are_404(officer, api_token):
    """Is an id in a path that no row can have (above 2^31 − 1, or written with a
    non-ASCII digit like ¹) a 404 on pages and in the API, never a 500?"""
    for url in (
        f"/retention/holds/{BIG}/lift",
        "/retention/holds/2147483648/lift",
        f"/external/EXT-0001/editions/{BIG}/file",
        f"/acknowledgements/{BIG}",
        "/acknowledgements/2147483648",
        "/acknowledgements/¹",
        f"/retention/destructions/{BIG}",
        "/retention/destructions/¹",
    ):
        assert officer.get(url).status_code == 404, url
    headers = api_token("officer2", roles=("officer",))
    for url in (
        f"/api/v1/acknowledgements/{BIG}",
        f"/api/v1/legal-holds/{BIG}",
        "/api/v1/destructions/¹",
        f"/api/v1/destructions/{BIG}",
    ):
        response = officer.get(url, headers=headers)
        assert response.status_code == 404, url
        assert response.get_json()["error"]["code"] == "not_found"


def test_nul_in_query_strings_forms_and_paths_is_refused_in_the_users_language(officer):
    """Is a NUL character in a query string or a form field a 400 naming the field in the
    user's language (and in a path a 404), on every page, instead of PostgreSQL's 500?"""
    for url in (
        "/documents?q=a%00b",
        "/records?q=%00",
        "/records?type=%00",
        "/external?q=%00",
        "/audit-trail?object=%00",
        "/search?q=%00",
    ):
        response = officer.get(url, headers=ZH)
        assert response.status_code == 400, url
        assert "无法保存的字符" in response.get_data(as_text=True), url
    for url in ("/documents/A%00B", "/records/%00", "/external/%00", "/records/new/%00"):
        assert officer.get(url).status_code == 404, url
    response = officer.form_post("/external/new", {"reference": "ISO\x009001", "title": "x"})
    assert response.status_code == 400
    assert "cannot be stored" in response.get_data(as_text=True)


def test_hostile_json_is_a_400_in_the_error_shape(client, api_token):
    """Do NUL characters and lone surrogates (however deep), a list where text is
    expected, 1e400 and JSON nested 100,000 deep each get a 400 in the error shape and the
    caller's language, never a 500?"""
    headers = {**api_token("officer", roles=("officer",)), "Content-Type": "application/json"}
    deep = "[" * 100_000 + "]" * 100_000
    cases = [
        ("/api/v1/external-documents", deep),
        ("/api/v1/documents", '{"title": "a\\u0000b", "type": "QP", "department": "CS"}'),
        ("/api/v1/documents", '{"title": "\\ud800", "type": "QP", "department": "CS"}'),
        ("/api/v1/documents", '{"title": ["x"], "type": "QP", "department": "CS"}'),
        ("/api/v1/documents", '{"title": "x", "type": "QP", "department": 1e400}'),
        ("/api/v1/legal-holds", '{"kind": "record", "key": {"a": ["\\udfff"]}, "reason": "r"}'),
    ]
    for url, body in cases:
        response = client.post(url, data=body, headers={**headers, **ZH})
        assert response.status_code == 400, (url, body[:40], response.status_code)
        error = response.get_json()["error"]
        assert error["code"] == "validation_failed", error
        assert any("\u4e00" <= ch <= "\u9fff" for ch in error["message"]), error
        if "\\u0000" in body or "\\ud800" in body:  # the field named, in the same words
            assert error["fields"]["title"] == "含有无效字符", error
    response = client.get("/api/v1/documents?q=%00", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"q": "invalid character"}


def test_an_upload_over_the_limit_on_a_form_is_a_413_page_in_the_users_language(
    app, client, login_as, make_department
):
    """Does a form upload over QDMS_MAX_UPLOAD_MB get the 413 page in the user's language
    (it was a blank 500: the page's language form read the body again)?"""
    app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
    login_as("author", roles=("author", "staff"))
    fields = {"csrf_token": client.csrf_token("/documents/new"), "title": "x"}
    body = _multipart(fields, b"PK" + b"0" * (2 * 1024 * 1024))
    response = client.post(
        "/documents/new", data=body, headers=ZH, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "上传的文件超过允许的大小" in html
    assert 'name="lang"' in html  # the whole page, language switch included


# -- point 7: a .docx that inflates ---------------------------------------------------------


def _inflating_docx(xml_mb: float) -> bytes:
    """A valid .docx whose document.xml holds ``xml_mb`` MB of short, different paragraphs:
    it compresses ~30 times (under the ratio limit), and python-docx needs minutes and
    hundreds of MB to read 10 MB of it."""
    import io
    import zipfile

    import docx

    base = io.BytesIO()
    docx.Document().save(base)
    source = zipfile.ZipFile(io.BytesIO(base.getvalue()))
    paragraphs, size, i = [], 0, 0
    while size < xml_mb * 1024 * 1024:
        paragraph = b"<w:p><w:r><w:t>%d</w:t></w:r></w:p>" % (i * 7919 % 1000003)
        paragraphs.append(paragraph)
        size, i = size + len(paragraph), i + 1
    head, tail = source.read("word/document.xml").split(b"<w:body>")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for info in source.infolist():
            body = source.read(info.filename)
            if info.filename == "word/document.xml":
                body = head + b"<w:body>" + b"".join(paragraphs) + tail
            zf.writestr(info.filename, body)
    return out.getvalue()


@pytest.fixture
def draft_target(app, backend, make_document, api_token, login_as):
    """A document an author may add a revision to (by page and by API), on one backend:
    reading an upload involves no database."""
    if backend != "sqlite":
        pytest.skip("reading an upload is the same on both backends")
    doc = make_document()
    headers = api_token("author", roles=("author", "staff"))
    client = login_as("author")
    return doc.number, headers, client


def _multipart(fields: dict, data: bytes) -> bytes:
    """A multipart body of ``fields`` and ``file`` (built here: the test client spools a
    large file to a temporary file that a refused request leaves open)."""
    parts = [
        b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (name.encode(), value.encode())
        for name, value in fields.items()
    ]
    parts.append(
        b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.docx"\r\n\r\n'
        + data
        + b"\r\n--b--\r\n"
    )
    return b"".join(parts)


def _upload_by_page(client, number, data):
    url = f"/documents/{number}/revisions/new"
    fields = {
        "csrf_token": client.csrf_token(url),
        "change_type": "major",
        "change_summary": "new",
        "change_reason": "why",
        "source": "upload",
    }
    body = _multipart(fields, data)
    return client.post(url, data=body, headers=ZH, content_type="multipart/form-data; boundary=b")


def _upload_by_api(client, number, headers, data):
    return client.post(
        f"/api/v1/documents/{number}/revisions",
        data=_multipart({"change_summary": "new"}, data),
        headers={**headers, **ZH},
        content_type="multipart/form-data; boundary=b",
    )


def test_a_docx_that_unpacks_beyond_the_cap_is_a_413_in_the_users_language(app, draft_target):
    """Is a .docx that unpacks to more than QDMS_DOCX_MAX_UNCOMPRESSED_MB (under the ratio
    limit, so the old check let it through) refused with 413 in the user's language, by
    page and by API, before anything parses it?"""
    number, headers, client = draft_target
    app.config["QDMS_DOCX_MAX_UNCOMPRESSED_MB"] = 1
    data = _inflating_docx(2)
    response = _upload_by_page(client, number, data)
    assert response.status_code == 413
    assert "解压后超过 1 MB" in response.get_data(as_text=True)
    response = _upload_by_api(client, number, headers, data)
    assert response.status_code == 413
    error = response.get_json()["error"]
    assert error["code"] == "too_large" and error["fields"] == {"file": "太大"}, error
    assert "解压后超过 1 MB" in error["message"]


def test_a_docx_too_slow_or_too_big_to_read_is_a_400_and_costs_only_a_worker(
    app, draft_target, make_docx
):
    """Is a .docx that python-docx cannot read within QDMS_DOCX_READ_SECONDS, or within
    QDMS_DOCX_READ_MEMORY_MB, refused with 400 in the user's language once the limit is
    reached (read in a worker process that is killed), and does the next upload work?"""
    import time

    number, headers, client = draft_target
    app.config["QDMS_DOCX_READ_SECONDS"] = 2.0
    from app.pdf import worker

    worker.read_docx(make_docx(("warm",)), seconds=120, memory_mb=1024)  # forkserver up
    data = _inflating_docx(3)  # ~60 s to read here
    started = time.monotonic()
    response = _upload_by_api(client, number, headers, data)
    assert time.monotonic() - started < 15
    assert response.status_code == 400
    assert "超出本服务器的限制" in response.get_json()["error"]["message"]

    app.config.update(QDMS_DOCX_READ_SECONDS=120.0, QDMS_DOCX_READ_MEMORY_MB=60)
    response = _upload_by_page(client, number, _inflating_docx(10))
    assert response.status_code == 400
    assert "超出本服务器的限制" in response.get_data(as_text=True)

    app.config["QDMS_DOCX_READ_MEMORY_MB"] = 1024
    response = _upload_by_api(client, number, headers, make_docx(("服务补救程序",)))
    assert response.status_code == 201, response.get_json()


# -- point 11: lengths, PDFs that run code, pictures that are something else ---------------


def test_a_100000_character_value_is_a_400_on_pages_and_api(officer, api_token):
    """Is a 100,000-character title a 400 in the user's language on the page and in the
    API, and any query or form value longer than MAX_VALUE_CHARS too (a search for it was
    run)?"""
    long = "标" * 100_000
    response = officer.form_post("/documents/new", {"title": long, "type": "QP"}, headers=ZH)
    assert response.status_code == 400
    headers = api_token("officer2", roles=("officer",))
    body = {"title": long, "type": "QP", "department": "CS"}
    response = officer.post("/api/v1/documents", json=body, headers={**headers, **ZH})
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"]["title"] == "太长"
    for url in (f"/documents?q={long}", f"/search?q={long}"):
        response = officer.get(url, headers=ZH)
        assert response.status_code == 400, url
        assert "超过 50000 个字符" in response.get_data(as_text=True)
    response = officer.get(f"/api/v1/documents?q={long}", headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"]["fields"] == {"q": "too long"}


def _pdf_with_javascript(pdf_bytes) -> bytes:
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DictionaryObject, NameObject, TextStringObject

    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes))
    action = DictionaryObject(
        {
            NameObject("/S"): NameObject("/JavaScript"),
            NameObject("/JS"): TextStringObject("app.alert('hello');"),
        }
    )
    writer.root_object[NameObject("/OpenAction")] = writer._add_object(action)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _pdf_with_launch_link(pdf_bytes) -> bytes:
    """A link whose action launches a program, in a compressed object stream."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import (
        ArrayObject,
        DictionaryObject,
        NameObject,
        NumberObject,
        TextStringObject,
    )

    writer = PdfWriter(clone_from=io.BytesIO(pdf_bytes))
    action = DictionaryObject(
        {NameObject("/S"): NameObject("/Launch"), NameObject("/F"): TextStringObject("calc")}
    )
    link = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Annot"),
            NameObject("/Subtype"): NameObject("/Link"),
            NameObject("/Rect"): ArrayObject([NumberObject(0)] * 4),
            NameObject("/A"): action,
        }
    )
    writer.add_annotation(0, link)
    writer.compress_identical_objects()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_a_pdf_with_javascript_or_a_launch_action_is_refused(draft_target, pdf_bytes):
    """Is a PDF that carries JavaScript or a launch action refused, as a document's file
    (by API, in the user's language) and as a record's scan, while the plain PDF passes?"""
    from app.errors import ValidationFailed
    from app.uploads import check_scan, check_upload

    number, headers, client = draft_target
    for hostile in (_pdf_with_javascript(pdf_bytes), _pdf_with_launch_link(pdf_bytes)):
        with pytest.raises(ValidationFailed, match="JavaScript"):
            check_scan(hostile, "scan.pdf", max_bytes=10**7)
        with pytest.raises(ValidationFailed, match="JavaScript"):
            check_upload(hostile, "source.pdf", max_bytes=10**7)
    response = _upload_by_api(client, number, headers, _pdf_with_javascript(pdf_bytes))
    assert response.status_code == 400
    assert "JavaScript" in response.get_json()["error"]["message"]
    assert "不接受" in response.get_json()["error"]["message"]
    assert check_scan(pdf_bytes, "scan.pdf", max_bytes=10**7).kind == "pdf"


def test_a_scan_is_stored_as_only_an_image():
    """Is a JPEG or PNG scan decoded and encoded again, so that bytes hidden after it (a
    zip, a page) and its metadata are not stored, and is a file that only starts like a
    picture, or holds more pixels than MAX_SCAN_PIXELS, refused?"""
    import io

    from PIL import Image

    from app.errors import ValidationFailed
    from app.uploads import check_scan

    out = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "secret description"  # ImageDescription
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, "JPEG", exif=exif)
    payload = b"PK\x03\x04<html><script>alert(1)</script></html>"
    polyglot = out.getvalue()[:-2] + payload + b"\xff\xd9"
    stored = check_scan(polyglot, "scan.jpg", max_bytes=10**7)
    assert stored.kind == "jpg" and b"<script>" not in stored.data
    assert b"secret description" not in stored.data
    with Image.open(io.BytesIO(stored.data)) as image:
        assert image.format == "JPEG" and image.size == (40, 30)

    png = io.BytesIO()
    Image.new("P", (10, 10)).save(png, "PNG")
    assert check_scan(png.getvalue() + payload, "a.png", max_bytes=10**7).data.endswith(
        b"IEND\xaeB`\x82"
    )
    fake_png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"<html>" * 50 + b"\x00\x00\x00\x00IEND"
    fake_jpeg = b"\xff\xd8\xff\xe0" + b"<html>" * 50 + b"\xff\xd9"
    for fake in (fake_png, fake_jpeg):
        with pytest.raises(ValidationFailed, match="damaged"):
            check_scan(fake, "scan", max_bytes=10**7)
    huge = io.BytesIO()
    Image.new("1", (10_000, 7_000)).save(huge, "PNG")  # 70 M pixels in a few kB
    with pytest.raises(ValidationFailed, match="million pixels"):
        check_scan(huge.getvalue(), "huge.png", max_bytes=10**7)
