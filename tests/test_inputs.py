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
    all) with a page, not a database overflow?"""
    for url in LISTS:
        joiner = "&" if "?" in url else "?"
        for page in (BIG, "100000000000000", "-3", "¹", "x"):
            response = officer.get(f"{url}{joiner}page={page}")
            assert response.status_code == 200, (url, page, response.status_code)


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
    token = client.csrf_token("/documents/new")
    parts = [("csrf_token", token.encode()), ("title", b"x")]
    body = b"".join(
        b'--b\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (k.encode(), v)
        for k, v in parts
    )
    body += b'--b\r\nContent-Disposition: form-data; name="file"; filename="big.docx"\r\n\r\n'
    body += b"PK" + b"0" * (2 * 1024 * 1024) + b"\r\n--b--\r\n"
    response = client.post(
        "/documents/new", data=body, headers=ZH, content_type="multipart/form-data; boundary=b"
    )
    assert response.status_code == 413
    html = response.get_data(as_text=True)
    assert "上传的文件超过允许的大小" in html
    assert 'name="lang"' in html  # the whole page, language switch included
