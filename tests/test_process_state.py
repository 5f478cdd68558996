"""Process-wide state is set up once per app, not at import: the app's session carries the
listeners, the app owns its PDF worker pool (started at the first layout, shut down with
the app), and a worker never runs the caller's main module again."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap
from pathlib import Path

from sqlalchemy import event
from sqlalchemy.orm import Session

from app import create_app
from app.audit_trail import services as audit
from app.extensions import db
from app.pdf import worker
from app.search import sync
from app.unit_of_work import _run

ROOT = Path(__file__).resolve().parent.parent


def test_listeners_are_on_the_apps_sessions_not_every_session(app):
    """Are the index queue, the history guard and the after-commit work bound to the app's
    sessions, while a Session made elsewhere in the process is left alone?"""
    for listener, name in (
        (sync._collect, "after_flush"),
        (audit._guard_history, "before_flush"),
        (_run, "after_commit"),
    ):
        assert event.contains(db.session, name, listener), listener
        assert not event.contains(Session, name, listener), listener


def test_the_app_owns_its_pdf_pool(tmp_path, make_docx):
    """Does each app get its own worker pool, started only by the first layout and shut
    down when the app goes?"""
    config = {
        "TESTING": True,
        "SECRET_KEY": "x",
        "QDMS_INSTANCE_DIR": str(tmp_path / "instance"),
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "QDMS_PDF_WORKERS": 1,
    }
    app = create_app(config)
    pool = worker.pool_for(app)
    assert pool is not None and pool is not worker.pool_for(create_app(config))
    assert pool._executor is None  # nothing started by creating the app
    with app.app_context():
        layout = worker.lay_out_docx(make_docx(("受控文件",))).result()
    assert layout.in_worker and pool._executor is not None
    del app
    gc.collect()
    assert pool._executor is None  # shut down with its app


SCRIPT = """
# no `if __name__ == "__main__"` guard, on purpose
import os
import sys

with open(sys.argv[1], "a") as marker:
    marker.write(f"{os.getpid()}\\n")

import docx, io
from app import create_app
from app.pdf import worker

document = docx.Document()
document.add_paragraph("服务补救程序")
data = io.BytesIO()
document.save(data)
app = create_app({
    "TESTING": True,
    "SECRET_KEY": "x",
    "QDMS_INSTANCE_DIR": sys.argv[2],
    "SQLALCHEMY_DATABASE_URI": "sqlite:///" + sys.argv[2] + "/x.sqlite3",
    "QDMS_PDF_WORKERS": 1,
})
with app.app_context():
    layout = worker.lay_out_docx(data.getvalue()).result()
print("in worker:", layout.in_worker, "pages:", layout.rendered.pages)
"""


def test_a_script_without_a_main_guard_runs_once(tmp_path):
    """Does a script that imports the app without a main guard run once, its layout done
    in a worker process (the worker does not import the caller's __main__ again)?"""
    script = tmp_path / "check.py"
    script.write_text(textwrap.dedent(SCRIPT))
    marker = tmp_path / "runs.txt"
    (tmp_path / "instance").mkdir()
    result = subprocess.run(
        [sys.executable, str(script), str(marker), str(tmp_path / "instance")],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "in worker: True pages: 1" in result.stdout, result.stdout + result.stderr[-2000:]
    assert len(marker.read_text().split()) == 1, marker.read_text()
