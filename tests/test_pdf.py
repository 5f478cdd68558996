"""PDF output (issue 5): prints of revisions read back with pypdf, pdftotext and pdffonts."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.audit_trail.models import Event
from app.distribution import services as distribution
from app.documents import services as documents
from app.extensions import db
from app.people.models import User
from app.uploads import check_upload

from .conftest import PASSWORD


@pytest.fixture
def app_config(app_config):
    """Uploads laid out after their commit, as in production (conftest switches it off)."""
    return {**app_config, "QDMS_LAY_OUT_UPLOADS": True}


def _reader(data: bytes) -> PdfReader:
    assert data.startswith(b"%PDF-"), data[:200]
    return PdfReader(io.BytesIO(data))


def _pages_text(data: bytes) -> list[str]:
    return [page.extract_text() or "" for page in _reader(data).pages]


def _pdftotext(data: bytes, tmp_path) -> str:
    path = tmp_path / "out.pdf"
    path.write_bytes(data)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def _embedded_fonts(data: bytes, tmp_path) -> list[tuple[str, str]]:
    """(font name, embedded yes/no) for every font pdffonts lists."""
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    out = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines()[2:]:
        parts = line.split()
        # name, type words…, encoding, emb, sub, uni, object, id
        rows.append((parts[0], parts[-5]))
    return rows


@pytest.fixture
def org(app, make_user, make_document):
    """An effective QP-CS-001 A/0 issued to the archive (2 paper copies, custodian
    ``keeper``) and electronically to ``reader``; an officer who prints."""
    officer = make_user("officer", roles=("officer",), department="QA", language="en")
    make_user("keeper", roles=("staff",), department="CS", full_name="Kim Keeper")
    make_user("reader", roles=("staff",), department="CS", language="en")
    make_user("wang", roles=("staff",), department="CS", full_name="王读者", language="zh_CN")
    doc = make_document(effective=True)
    distribution.issue(
        db.session,
        officer,
        doc.current_revision,
        distribution=distribution.parse_distribution(
            db.session,
            [
                {"location": "档案室", "custodian": "keeper", "medium": "paper", "copies": 2},
                {"user": "reader", "medium": "electronic"},
            ],
        ),
    )
    db.session.commit()
    return {"doc": doc, "officer": officer}


def _supersede(doc, make_docx, store, body=("第二版正文",), table=None):
    author = db.session.scalar(select(User).where(User.username == "author"))
    approver = db.session.scalar(select(User).where(User.username == "approver"))
    rev = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="第二版：增加回访",
        change_reason="改进",
        change_type="major",
        upload=check_upload(make_docx(body, table=table), "b.docx", max_bytes=10**7),
    )
    documents.submit(db.session, author, rev, reviewers=[], approvers=[approver])
    documents.approve(db.session, approver, rev, password=PASSWORD)
    db.session.commit()
    return rev


def test_controlled_copy_cover_footer_watermark_metadata(app, org, login_as):
    """The officer's controlled copy: cover fields, Page 1 of N … N of N, the copy number
    and the CONTROLLED COPY watermark on every page, metadata, and the print recorded."""
    app.config["QDMS_ORGANISATION"] = "Acme Service Co."
    client = login_as("officer")
    response = client.get("/documents/QP-CS-001/revisions/A0/pdf?copy=C02")
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/pdf"
    assert "QP-CS-001-A0-C02.pdf" in response.headers["Content-Disposition"]
    pages = _pages_text(response.data)
    n = len(pages)
    assert n == 2  # the cover and the one-page body
    cover = pages[0]
    for field in (
        "Acme Service Co.",
        "QP-CS-001",
        "客户投诉处理程序",
        "A/0",
        "Effective",
        "CONTROLLED COPY C02",
        "QP-CS-001-A0-C02",
        "档案室",
        "Kim Keeper",
        "Prepared",
        "Author",
        "Approver",
        "Revision history",
        "首次发布",
    ):
        assert field in cover, field
    assert org["doc"].current_revision.effective_date.isoformat() in cover
    assert "UNCONTROLLED" not in cover
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of {n}" in text
        assert "QP-CS-001-A0-C02" in text  # the running header names the copy
        assert "受控副本" in text and "CONTROLLED" in text and "C02" in text
    assert "客户投诉处理程序" in pages[1]  # the body
    meta = _reader(response.data).metadata
    assert meta.title == "QP-CS-001 A/0 客户投诉处理程序"
    assert meta.author == "Acme Service Co."
    assert meta.subject == "QP-CS-001-A0-C02"
    assert meta.creation_date is not None
    printed = db.session.scalars(
        select(Event).where(
            Event.object_ref == "copy:QP-CS-001-A0-C02", Event.action == "copy_printed"
        )
    ).all()
    assert len(printed) == 1


def test_uncontrolled_print_in_chinese_is_extractable_with_cjk_font(org, login_as, tmp_path):
    """A reader's Download PDF in 中文: 第 X 页 共 Y 页, 非受控文件 with who printed it,
    the Chinese text extractable and a Noto CJK font embedded."""
    client = login_as("wang")
    response = client.get("/documents/QP-CS-001/revisions/A0/pdf")
    assert response.status_code == 200, response.text
    pages = _pages_text(response.data)
    n = len(pages)
    assert f"第 1 页 共 {n} 页" in pages[0]
    assert f"第 {n} 页 共 {n} 页" in pages[-1]
    assert "非受控文件" in pages[0] and "王读者" in pages[0]
    for text in pages:
        assert "非受控文件" in text and "UNCONTROLLED" in text
        assert "受控副本" not in text
    layout = _pdftotext(response.data, tmp_path)
    assert "客户投诉处理程序" in layout  # copy-paste gives the characters
    fonts = _embedded_fonts(response.data, tmp_path)
    cjk = [name for name, emb in fonts if "NotoSansCJK" in name.replace("-", "")]
    assert cjk, fonts
    assert all(emb == "yes" for _, emb in fonts), fonts
    # no print of an uncontrolled copy is an audit event; the cover names the printer
    assert not db.session.scalars(select(Event).where(Event.action == "copy_printed")).all()


def test_superseded_revision_prints_obsolete_and_its_copies_no_longer(
    org, login_as, make_docx, store
):
    """After B/0 takes over, A/0 prints as OBSOLETE / 作废 and its copies cannot be printed
    as controlled copies (their recall is open); B/0 prints uncontrolled."""
    _supersede(org["doc"], make_docx, store)
    client = login_as("officer")
    response = client.get("/documents/QP-CS-001/revisions/A0/pdf")
    assert response.status_code == 200
    pages = _pages_text(response.data)
    for text in pages:
        assert "作废" in text and "OBSOLETE" in text
        assert "UNCONTROLLED" not in text
    assert "Superseded" in pages[0]
    refused = client.get("/documents/QP-CS-001/revisions/A0/pdf?copy=C01")
    assert refused.status_code == 409
    assert "no longer in force" in refused.text
    current = _pages_text(client.get("/documents/QP-CS-001/revisions/B0/pdf").data)
    assert "UNCONTROLLED" in current[0] and "B/0" in current[0]
    assert "第二版：增加回访" in current[0] and "首次发布" in current[0]  # history


def test_draft_prints_as_draft(app, make_document, login_as, make_docx, store):
    """A draft's print says DRAFT / 草稿, never uncontrolled or controlled."""
    doc = make_document()
    author = db.session.scalar(select(User).where(User.username == "author"))
    documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="初稿",
        change_reason="新文件",
        upload=check_upload(make_docx(("草稿正文",)), "a.docx", max_bytes=10**7),
    )
    db.session.commit()
    client = login_as("author")
    pages = _pages_text(client.get(f"/documents/{doc.number}/revisions/A0/pdf").data)
    assert all("草稿" in text and "DRAFT" in text for text in pages)


def test_pdf_source_is_stamped_page_by_page(
    app, make_document, make_user, login_as, store, pdf_bytes
):
    """A revision uploaded as PDF keeps its own pages, each stamped with the header, the
    footer and the watermark, after our cover."""
    doc = make_document()
    author = db.session.scalar(select(User).where(User.username == "author"))
    approver = make_user("approver", roles=("approver",), department="QA")
    rev = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="扫描件",
        change_reason="外来格式",
        upload=check_upload(pdf_bytes, "scan.pdf", max_bytes=10**7),
    )
    documents.submit(db.session, author, rev, reviewers=[], approvers=[approver])
    documents.approve(db.session, approver, rev, password=PASSWORD)
    db.session.commit()
    assert rev.page_count == 2
    client = login_as("reader", roles=("staff",), department="CS", language="en")
    response = client.get(f"/documents/{doc.number}/revisions/A0/pdf")
    assert response.status_code == 200
    pages = _pages_text(response.data)
    assert len(pages) == 3
    assert "Customer complaint handling procedure" in pages[1]
    assert "Service recovery follow-up" in pages[2]
    for number, text in enumerate(pages, start=1):
        assert f"Page {number} of 3" in text
        assert f"{doc.number} 客户投诉处理程序" in text
        assert "UNCONTROLLED" in text


def test_controlled_copy_is_cached_and_the_cache_is_safe_to_delete(app, org, login_as, monkeypatch):
    """The same copy printed twice reuses the stored PDF; deleting the cache only costs a
    new rendering."""
    import shutil

    from app import pdf

    client = login_as("officer")
    first = client.get("/documents/QP-CS-001/revisions/A0/pdf?copy=C01")
    assert first.status_code == 200
    cache_dir = os.path.join(app.config["QDMS_DOCS_STORE"], "pdf-cache")
    cached = [f for _, _, files in os.walk(cache_dir) for f in files]
    assert len(cached) == 2  # the laid-out body and this copy

    def no_rendering(*args, **kwargs):
        raise AssertionError("rendered again")

    monkeypatch.setattr(pdf, "render_pdf", no_rendering)
    second = client.get("/documents/QP-CS-001/revisions/A0/pdf?copy=C01")
    assert second.status_code == 200
    assert second.data == first.data
    monkeypatch.undo()

    shutil.rmtree(cache_dir)
    third = client.get("/documents/QP-CS-001/revisions/A0/pdf?copy=C01")
    assert third.status_code == 200
    assert "QP-CS-001-A0-C01" in _pages_text(third.data)[0]
    assert len(db.session.scalars(select(Event).where(Event.action == "copy_printed")).all()) == 3


def test_who_may_print_what(org, login_as, client, api_token):
    """Controlled copies are the officer's; readers get uncontrolled prints; a copy that is
    electronic, unknown or of another revision is refused clearly; the API agrees."""
    officer = login_as("officer")
    electronic = officer.get("/documents/QP-CS-001/revisions/A0/pdf?copy=C03")
    assert electronic.status_code == 409 and "electronic copy" in electronic.text
    assert officer.get("/documents/QP-CS-001/revisions/A0/pdf?copy=C09").status_code == 404
    assert officer.get("/documents/QP-CS-001/revisions/B0/pdf").status_code == 404

    headers = api_token("officer")
    api = client.get(
        "/api/v1/documents/QP-CS-001/revisions/A0/pdf?copy=QP-CS-001-A0-C01", headers=headers
    )
    assert api.status_code == 200 and api.mimetype == "application/pdf"
    assert "QP-CS-001-A0-C01" in _pages_text(api.data)[0]
    refused = client.get("/api/v1/documents/QP-CS-001/revisions/A0/pdf?copy=C03", headers=headers)
    assert refused.status_code == 409 and refused.get_json()["error"]
    reader = api_token("reader")
    denied = client.get("/api/v1/documents/QP-CS-001/revisions/A0/pdf?copy=C01", headers=reader)
    assert denied.status_code == 403
    officer.form_post("/logout")
    as_reader = login_as("reader")
    assert as_reader.get("/documents/QP-CS-001/revisions/A0/pdf?copy=C01").status_code == 403
    assert as_reader.get("/documents/QP-CS-001/revisions/A0/pdf").status_code == 200


def test_page_count_is_the_printed_layout(app, make_document, make_docx, store):
    """A .docx revision stores the page count of its printed body, not Word's guess."""
    from app.documents.printing import body

    doc = make_document()
    author = db.session.scalar(select(User).where(User.username == "author"))
    long_text = [f"第 {i} 段：本程序规定了客户投诉的接收、记录、调查和关闭。" for i in range(160)]
    rev = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="长文件",
        change_reason="测试",
        upload=check_upload(make_docx(long_text), "long.docx", max_bytes=10**7),
    )
    db.session.commit()
    laid_out = body(store, rev).result()
    assert laid_out.pages >= 3
    assert rev.page_count == laid_out.pages


@pytest.fixture
def layouts(monkeypatch) -> list:
    """Every body layout a print waits for (``app.pdf.worker.Layout``), in order."""
    from app.pdf import worker

    seen = []
    result = worker.Pending.result

    def recording(pending):
        seen.append(result(pending))
        return seen[-1]

    monkeypatch.setattr(worker.Pending, "result", recording)
    return seen


def test_body_is_laid_out_in_a_worker_process_and_checked_against_the_guess(
    app, org, login_as, layouts
):
    """The body lays out in a worker process (not this one) while the cover and overlay
    lay out here, from the page count stored at upload; when that count is wrong (e.g. the
    print template changed since), the overlay is laid out again from the real body."""
    import shutil

    rev = org["doc"].current_revision
    true_count = rev.page_count
    client = login_as("officer")
    shutil.rmtree(os.path.join(app.config["QDMS_DOCS_STORE"], "pdf-cache"))
    first = client.get("/documents/QP-CS-001/revisions/A0/pdf")
    assert first.status_code == 200
    assert layouts and layouts[-1].in_worker
    assert layouts[-1].peak_kib > 0 and layouts[-1].seconds["layout"] > 0
    pages = _pages_text(first.data)
    assert f"Page {true_count + 1} of {true_count + 1}" in pages[-1]

    rev.page_count = true_count + 3  # a stale guess
    db.session.commit()
    shutil.rmtree(os.path.join(app.config["QDMS_DOCS_STORE"], "pdf-cache"))
    second = client.get("/documents/QP-CS-001/revisions/A0/pdf")
    pages = _pages_text(second.data)
    assert len(pages) == true_count + 1
    assert f"Page {true_count + 1} of {true_count + 1}" in pages[-1]


def test_worker_processes_end_with_the_process_that_started_them(tmp_path, make_docx):
    """A web worker stopped (SIGTERM: no clean-up runs) leaves no PDF worker process or
    forkserver behind."""
    import signal
    import textwrap
    import time

    script = tmp_path / "starter.py"
    script.write_text(
        textwrap.dedent(
            """
            import sys, threading, time
            from app import create_app
            from app.pdf import worker
            app = create_app({
                "TESTING": True, "SECRET_KEY": "x", "QDMS_INSTANCE_DIR": sys.argv[2],
                "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[2] + "/x.sqlite3",
            })
            def lay_out():  # as a request thread of the web server does
                with app.app_context():
                    layout = worker.lay_out_docx(open(sys.argv[1], "rb").read()).result()
                print("in worker" if layout.in_worker else "here", flush=True)
            if __name__ == "__main__":
                threading.Thread(target=lay_out).start()
                time.sleep(120)
            """
        )
    )
    docx = tmp_path / "a.docx"
    docx.write_bytes(make_docx(("正文",)))
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    (tmp_path / "instance").mkdir()
    starter = subprocess.Popen(
        [sys.executable, str(script), str(docx), str(tmp_path / "instance")],
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
    )

    def children(pids: set[int]) -> set[int]:
        found = set()
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                if int(stat.rsplit(")", 1)[1].split()[1]) in pids:
                    found.add(int(entry))
        return found

    def running(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    try:
        assert starter.stdout.readline().strip() == "in worker"
        forkserver = children({starter.pid})
        spawned = forkserver | children(forkserver)
        assert len(spawned) >= 2  # the forkserver and the worker forked ahead
    finally:
        starter.send_signal(signal.SIGTERM)
        starter.wait()
        starter.stdout.close()
    deadline = time.monotonic() + 15
    while any(running(p) for p in spawned) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in spawned if running(p)]


def test_without_worker_processes_the_body_lays_out_here(app, org, login_as, layouts, monkeypatch):
    """QDMS_PDF_WORKERS=0, and a worker pool that cannot start, both lay the body out in
    the calling process: the same pages, no error."""
    import shutil
    from concurrent.futures.process import BrokenProcessPool

    from app.pdf import worker

    client = login_as("officer")
    cache = os.path.join(app.config["QDMS_DOCS_STORE"], "pdf-cache")

    def print_once():
        shutil.rmtree(cache, ignore_errors=True)
        response = client.get("/documents/QP-CS-001/revisions/A0/pdf?copy=C02")
        assert response.status_code == 200
        return _pages_text(response.data)

    in_worker = print_once()
    assert layouts[-1].in_worker
    pool = worker.pool_for(app)
    pool.configure(0)
    try:
        here = print_once()
        assert not layouts[-1].in_worker
    finally:
        pool.configure(worker.default_workers())
    assert len(here) == len(in_worker) and "QP-CS-001-A0-C02" in here[-1]

    class Broken:
        def submit(self, *args):
            raise BrokenProcessPool("a worker died")

    monkeypatch.setattr(pool, "executor", lambda: Broken())
    broken = print_once()
    assert not layouts[-1].in_worker
    assert len(broken) == len(in_worker)


def test_fetcher_loads_only_our_static_files():
    """No file: or network URL and no path out of static/ reaches the renderer."""
    from app.pdf import StaticOnlyFetcher, html_to_pdf

    fetcher = StaticOnlyFetcher()
    assert b"Noto Sans CJK SC" in fetcher("static:pdf/print.css").read()
    for url in (
        "file:///etc/passwd",
        "http://127.0.0.1:5432/",
        "https://example.com/logo.png",
        "static:../app/config.py",
        "static:/../../etc/passwd",
    ):
        with pytest.raises(ValueError):
            fetcher(url)
    pixel = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
        "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    assert fetcher(pixel).read().startswith(b"\x89PNG")
    # a document pointing at the server's files still renders, without them
    rendered = html_to_pdf(
        '<p>正文</p><img src="file:///etc/passwd"><img src="http://example.com/x.png">'
    )
    assert rendered.pages == 1
    assert "root:" not in "".join(_pages_text(rendered.data))


def test_start_up_warns_when_no_cjk_font(app_config, monkeypatch, caplog):
    """Without Noto CJK the app starts and says what to install."""
    from app import create_app
    from app.pdf import render

    monkeypatch.setattr(render, "cjk_font_available", lambda: False)
    with caplog.at_level("WARNING", logger="app.pdf.render"):
        create_app(app_config)
    assert "fonts-noto-cjk" in caplog.text


RICH_BODY = (
    "1 目的 Purpose",
    "规定客户投诉从接收到关闭的处理要求，确保每一项投诉在承诺时间内得到答复。",
    "2 适用范围 Scope",
    "适用于客户服务部通过电话、邮件、网站和现场收到的所有投诉。",
    "3 职责 Responsibilities",
    "客户服务代表负责在一个工作日内登记投诉；部门负责人负责调查和答复；质量管理部监督执行。",
    "4 程序 Procedure",
    "4.1 接收与登记：记录客户、日期、渠道和投诉内容，并给出编号。",
    "4.2 调查与答复：五个工作日内完成调查，必要时提出纠正措施。",
    "4.3 关闭与回访：答复后七日内回访，确认客户满意后关闭。",
)
RICH_TABLE = [
    ["步骤 Step", "责任人 Owner", "时限 Time limit", "记录 Record"],
    ["登记 Register", "客户服务代表", "1 个工作日", "QP-CS-001-F01 投诉登记表"],
    ["调查 Investigate", "部门负责人", "5 个工作日", "QP-CS-001-F02 调查报告"],
    ["回访 Follow up", "客户服务代表", "7 天", "QP-CS-001-F03 回访记录"],
]


@pytest.mark.parametrize("language", ["zh_CN", "en"])
def test_pages_render_to_png(app, org, login_as, tmp_path, language, make_docx, store):
    """pdftoppm turns the cover and the body into images with ink on them (the README's
    pictures come from here: set QDMS_SAVE_PDF_IMAGES=docs/images to keep them)."""
    from PIL import Image

    rev = _supersede(org["doc"], make_docx, store, body=RICH_BODY, table=RICH_TABLE)
    distribution.issue(
        db.session,
        org["officer"],
        rev,
        distribution=distribution.parse_distribution(
            db.session, [{"location": "客服前台", "custodian": "keeper", "medium": "paper"}]
        ),
    )
    db.session.commit()
    paper = next(c for c in distribution.distribution_of(db.session, rev) if c.medium == "paper")
    if language == "zh_CN":
        data = login_as("wang").get("/documents/QP-CS-001/revisions/B0/pdf").data
    else:
        url = f"/documents/QP-CS-001/revisions/B0/pdf?copy={paper.copy_no}"
        data = login_as("officer").get(url).data
    path = tmp_path / "print.pdf"
    path.write_bytes(data)
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / "page")], check=True)
    images = sorted(tmp_path.glob("page-*.png"))
    assert len(images) == len(_reader(data).pages)
    for image_path in images:
        with Image.open(image_path) as image:
            assert image.size in ((496, 702), (497, 702))  # A4 at 60 dpi
            grey = image.convert("L")
            dark = sum(grey.histogram()[:128])
            assert dark > 150, image_path  # text, not an empty page
    keep = os.environ.get("QDMS_SAVE_PDF_IMAGES")
    if keep:
        for kind, number in (("cover", "1"), ("body", "2")):
            target = os.path.join(keep, f"pdf-{kind}-{language.split('_')[0]}")
            options = ["-r", "80", "-png", "-singlefile", "-f", number, "-l", number]
            subprocess.run(["pdftoppm", *options, str(path), target], check=True)


def _register_pages(response) -> list[str]:
    assert response.status_code == 200, response.text
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].endswith(".pdf")
    return _pages_text(response.data)


def test_registers_as_pdf(org, login_as, client, api_token, make_docx, store):
    """The master list, distribution register, recall register and acknowledgement matrix
    download as PDFs with their rows, the reader's name and Page X of Y."""
    _supersede(org["doc"], make_docx, store)  # opens the recall of A/0's paper copies
    officer = login_as("officer")
    master = _register_pages(officer.get("/master-list?format=pdf"))
    assert "Master document list" in master[0] and "QP-CS-001" in master[0]
    assert "Effective" in master[0] and "Officer" in master[0]
    assert f"Page 1 of {len(master)}" in master[0]
    meta = _reader(officer.get("/master-list?format=pdf").data).metadata
    assert meta.title == "Master document list" and meta.author == "qdms"
    assert meta.subject == "Effective" and meta.creation_date is not None

    copies = _register_pages(officer.get("/copies?format=pdf&document=QP-CS-001"))
    text = " ".join(" ".join(copies).split())  # cells wrap
    assert "Distribution register" in text
    for copy_no in ("QP-CS-001-A0-C01", "QP-CS-001-A0-C02", "QP-CS-001-A0-C03"):
        assert copy_no in text
    assert "Recall open" in text and "Kim Keeper" in text

    recalls = _register_pages(officer.get("/recalls?format=pdf"))
    assert "Recall register" in recalls[0]
    assert "QP-CS-001-A0-C01" in recalls[0] and "QP-CS-001-A0-C03" not in recalls[0]

    matrix = _register_pages(officer.get("/acknowledgements/matrix?format=pdf"))
    assert "Acknowledgement matrix" in matrix[0]

    api = client.get("/api/v1/master-list?format=pdf&status=all", headers=api_token("officer"))
    assert "QP-CS-001" in _register_pages(api)[0]
    bad = officer.get("/copies?format=doc")
    assert bad.status_code == 400 and "json, csv, xlsx or pdf" in bad.text


def test_register_pdf_in_chinese_spans_pages(app, login_as, make_document):
    """A long register in 中文 repeats its header row and numbers 第 X 页 共 Y 页."""
    for i in range(70):
        make_document(title=f"服务规范第{i}号", effective=False)
    client = login_as("wang", roles=("officer",), department="QA", language="zh_CN")
    pages = _register_pages(client.get("/master-list?format=pdf&status=all"))
    n = len(pages)
    assert n >= 2
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页 共 {n} 页" in text
        assert "受控文件清单" in text or "文件清单" in text
        assert "编号" in text  # the header row on every page
    assert "服务规范第69号" in "".join(pages)


def test_upload_survives_a_layout_failure(app, make_document, make_docx, store, monkeypatch):
    """When the print layout fails on a .docx, the upload still succeeds with Word's count."""
    from app.documents import printing

    def broken(*args, **kwargs):
        raise RuntimeError("layout engine failure")

    monkeypatch.setattr(printing, "docx_page_count", broken)
    doc = make_document()
    author = db.session.scalar(select(User).where(User.username == "author"))
    rev = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="初稿",
        change_reason="新文件",
        upload=check_upload(make_docx(("正文",)), "a.docx", max_bytes=10**7),
    )
    db.session.commit()
    assert rev.status == "draft" and rev.file_sha256
    assert rev.page_count == 1  # what docProps/app.xml says (python-docx's template: 1)


def test_docx_images_lists_and_tables_reach_the_print(app, make_document, store, tmp_path):
    """The body keeps a .docx's headings, lists, tables and images (mammoth → WeasyPrint)."""
    import docx
    from PIL import Image

    from app.documents.printing import body

    picture = tmp_path / "flow.png"
    Image.new("RGB", (120, 60), (20, 90, 160)).save(picture)
    document = docx.Document()
    document.add_heading("4 程序 Procedure", level=1)
    document.add_paragraph("登记投诉", style="List Number")
    document.add_paragraph("调查原因", style="List Number")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(1, 1).text = "责任人", "客户服务代表"
    document.add_picture(str(picture))
    out = io.BytesIO()
    document.save(out)
    doc = make_document()
    author = db.session.scalar(select(User).where(User.username == "author"))
    rev = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="图文",
        change_reason="测试",
        upload=check_upload(out.getvalue(), "flow.docx", max_bytes=10**7),
    )
    db.session.commit()
    laid_out = body(store, rev).result()
    page = _reader(laid_out.data).pages[0]
    text = page.extract_text()
    for words in ("4 程序 Procedure", "登记投诉", "调查原因", "责任人", "客户服务代表"):
        assert words in text
    assert len(page.images) == 1


def test_print_html_keeps_the_column_widths_drawn_in_word():
    """Does the PDF lay a table out with the column widths set in Word (3:1 here), while
    the browser view carries no inline style (its CSP refuses them)?"""
    import docx
    from docx.shared import Cm

    from app import docx_io

    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.columns[0].width, table.columns[1].width = Cm(12), Cm(4)
    table.cell(0, 0).text, table.cell(0, 1).text = "步骤", "负责人"
    out = io.BytesIO()
    document.save(out)
    data = out.getvalue()
    printed = docx_io.to_print_html(data)
    assert '<table class="grid"><colgroup>' in printed
    assert '<col style="width: 75.00%"><col style="width: 25.00%">' in printed
    assert "style=" not in docx_io.to_html(data)


def test_words_title_and_subtitle_styles_are_a_heading_in_preview_and_print(
    app, make_document, store, login_as, client
):
    """Are a .docx's Title and Subtitle paragraphs (Word's styles) a heading and a lead line
    in the revision preview and in the PDF body (larger than body text), not body text?"""
    import docx

    from app import docx_io
    from app.documents.printing import body

    document = docx.Document()
    document.add_paragraph("顾客投诉处理程序", style="Title")
    document.add_paragraph("Customer complaint procedure", style="Subtitle")
    document.add_paragraph("本程序规定投诉的受理与处理。")
    out = io.BytesIO()
    document.save(out)
    html = docx_io.to_print_html(out.getvalue())
    assert '<h1 class="doc-title">顾客投诉处理程序</h1>' in html
    assert '<p class="doc-subtitle">Customer complaint procedure</p>' in html

    doc = make_document()
    author = db.session.scalar(select(User).where(User.username == "author"))
    rev = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="标题样式",
        change_reason="测试",
        upload=check_upload(out.getvalue(), "title.docx", max_bytes=10**7),
    )
    db.session.commit()
    login_as("author")
    preview = client.get(f"/documents/{doc.number}/revisions/A0").get_data(as_text=True)
    assert '<h1 class="doc-title">顾客投诉处理程序</h1>' in preview

    sizes: dict[str, float] = {}

    def visit(text, cm, tm, font, size):
        if text.strip():
            sizes.setdefault(text.strip(), abs(size * tm[3] * cm[3]))

    _reader(body(store, rev).result().data).pages[0].extract_text(visitor_text=visit)
    title = next(v for k, v in sizes.items() if "顾客投诉处理程序" in k)
    text = next(v for k, v in sizes.items() if "本程序规定" in k)
    assert title >= 1.5 * text, sizes
