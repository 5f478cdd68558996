"""Fixtures in layers: backend → app → client / runner → login_as; small factories.

Every test runs twice, on SQLite and on PostgreSQL. Each backend gets one migrated
template per session (a file, or a PostgreSQL template database) and each test a fresh
copy of it, so tests are isolated and the schema always comes from the real migrations.
PostgreSQL tests are skipped when no server answers on 127.0.0.1:5432, unless
QDMS_REQUIRE_POSTGRES=1 (CI), which turns that into a failure.
"""

from __future__ import annotations

import contextvars
import os
import queue
import re
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy
from flask.testing import FlaskClient
from playwright.sync_api import expect

from app import create_app
from app.extensions import db

# Browser tests: on the 2-core CI machine under load a navigation can take longer than
# Playwright's 5 s default; a real failure still fails, later.
expect.set_options(timeout=15_000)

PG_ADMIN_URL = os.environ.get("QDMS_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PASSWORD = "correct-horse-9"
BACKENDS = ["sqlite", "postgresql"]


def _pg_admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=5)


def _pg_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _migrate(config: dict) -> None:
    from flask_migrate import upgrade

    app = create_app(config)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _base_config(root) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        # one audit key for the migrated templates and every test's app (the chain head
        # sealed at migration must verify in the test's copy)
        "QDMS_AUDIT_KEY": "test-audit-key",
        "QDMS_INSTANCE_DIR": str(root / "instance"),
        "QDMS_DOCS_STORE": str(root / "docs_store"),
        "QDMS_INDEX_DIR": str(root / "index"),
        "QDMS_DEFAULT_LANGUAGE": "en",
        # Index writes after each commit are tested in test_search*.py, which switch them
        # on; elsewhere they only cost time (the queue rows are still written, and a
        # search builds the index from the database on first use).
        "QDMS_SEARCH_AFTER_COMMIT": False,
        # the tests' indexes are small: a search waits for the rebuild it starts
        "QDMS_SEARCH_REBUILD_WAIT": 120.0,
        # Real argon2id, cheaper than production so the suite stays fast.
        "QDMS_ARGON2_TIME_COST": 1,
        "QDMS_ARGON2_MEMORY_KIB": 8192,
        # No sync to disk per commit (SQLite; PostgreSQL: synchronous_commit off per test
        # database): a test needs no durability across a power cut, and a sync costs 3 ms
        # (SQLite) to 10-20 ms (PostgreSQL) per commit on the shared machine.
        "QDMS_SQLITE_SYNCHRONOUS": "NORMAL",
        # An uploaded .docx is laid out after its commit (its printed page count) where a
        # test looks at the count (test_pdf.py, test_unit_of_work.py); elsewhere a layout
        # only costs a PDF worker 0.5-1 s per revision made.
        "QDMS_LAY_OUT_UPLOADS": False,
        # The KPI dashboard shows values of before while it recomputes behind when computing
        # took longer than this the last time: on a loaded machine a small test's could, and
        # its next look would show the value of before. Tests see the latest values, except
        # test_kpi_live_cache.py's, which sets it to 0.
        "QDMS_KPI_INLINE_MS": 60_000,
    }


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    root = tmp_path_factory.mktemp("sqlite-template")
    path = root / "template.sqlite3"
    _migrate({**_base_config(root), "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    return path


class _Databases:
    """The tests' PostgreSQL databases: copied from the template one test ahead, and
    dropped in the background, those waiting together.

    ``DROP DATABASE`` waits for a checkpoint of the whole server: 1–3 s on the shared
    2-core machine; ``CREATE DATABASE … TEMPLATE`` takes 0.1–0.3 s. A test waits for
    neither: the copy for the next test is made while this one runs, and drops requested
    together share one checkpoint. ``close()`` (end of the session) waits for the last
    ones."""

    def __init__(self, template: str) -> None:
        self._template = template
        self._to_drop: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._errors: list[str] = []
        self._creator = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pg-create")
        self._next = self._creator.submit(self._create)
        self._dropper = threading.Thread(target=self._drop_all, name="pg-drop", daemon=True)
        self._dropper.start()

    def take(self) -> str:
        """A fresh copy of the template (made ahead), and the next one started."""
        name = self._next.result()
        self._next = self._creator.submit(self._create)
        return name

    def drop(self, name: str) -> None:
        self._to_drop.put(name)

    def close(self) -> None:
        self._creator.shutdown(wait=True)
        self.drop(self._next.result())
        self._to_drop.put(None)
        self._dropper.join()
        assert not self._errors, "databases not dropped: " + "; ".join(self._errors)

    def _create(self) -> str:
        name = f"qdms_t_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
            # no sync to disk per commit: see _base_config
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        return name

    def _drop_one(self, name: str) -> None:
        try:
            with _pg_admin() as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except Exception as exc:  # reported by close(), at the end of the session
            self._errors.append(f"{name}: {exc}")

    def _drop_all(self) -> None:
        with ThreadPoolExecutor(max_workers=8, thread_name_prefix="pg-drop") as pool:
            while True:
                batch = [self._to_drop.get()]
                while not self._to_drop.empty():
                    batch.append(self._to_drop.get())
                list(pool.map(self._drop_one, [name for name in batch if name is not None]))
                if None in batch:
                    return


@pytest.fixture(scope="session")
def pg_template(tmp_path_factory):
    try:
        conn = _pg_admin()
    except Exception as exc:  # any connection failure means "no server here"
        if os.environ.get("QDMS_REQUIRE_POSTGRES") == "1":
            pytest.fail(f"PostgreSQL is required (QDMS_REQUIRE_POSTGRES=1) but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    name = f"qdms_tpl_{uuid.uuid4().hex[:10]}"
    conn.execute(f'CREATE DATABASE "{name}"')
    root = tmp_path_factory.mktemp("pg-template")
    _migrate({**_base_config(root), "SQLALCHEMY_DATABASE_URI": _sqlalchemy_url(_pg_url(name))})
    yield name
    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


@pytest.fixture(scope="session")
def pg_databases(pg_template):
    databases = _Databases(pg_template)
    yield databases
    databases.close()


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


class SeededTemplate:
    """The demo organisation seeded once per backend and session: its database (a file,
    or a PostgreSQL template database) and its files."""

    def __init__(self, database: str, root) -> None:
        self.database, self.root = database, root


def _seed_demo(root, url: str) -> None:
    """Seed as `make run` does on a first start: `qdms demo --first-start`."""
    app = create_app({**_base_config(root), "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["demo", "--first-start"])
        assert result.exit_code == 0 and result.output.startswith("demo: added"), result.output
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_demo(sqlite_template, tmp_path_factory) -> SeededTemplate:
    root = tmp_path_factory.mktemp("sqlite-demo")
    path = root / "demo.sqlite3"
    shutil.copyfile(sqlite_template, path)
    _seed_demo(root, f"sqlite:///{path}")
    return SeededTemplate(str(path), root)


@pytest.fixture(scope="session")
def pg_demo(pg_template, tmp_path_factory):
    root = tmp_path_factory.mktemp("pg-demo")
    name = f"qdms_demo_{uuid.uuid4().hex[:10]}"
    with _pg_admin() as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"')
    _seed_demo(root, _sqlalchemy_url(_pg_url(name)))
    yield SeededTemplate(name, root)
    with _pg_admin() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def demo(backend, request) -> SeededTemplate:
    """Ask for this fixture and the test's database starts as a copy of the seeded demo
    organisation, with its files (seeding takes 20–30 s; copying it, well under one)."""
    return request.getfixturevalue(f"{'pg' if backend == 'postgresql' else 'sqlite'}_demo")


class Snapshots:
    """Set-ups that many tests of a module share and that cost seconds (test_search.py's
    library of effective documents and its index): the first test to need one on a
    backend builds it through its fixtures as usual and leaves a copy of the database, the
    files and the index (:meth:`take`); the next ones start from that copy. A test marked
    ``own_setup`` builds its own (one that needs the index as a rebuild leaves it). A module names
    such fixtures in ``SNAPSHOTS``; each calls :meth:`restored` first."""

    def __init__(self, root) -> None:
        self.root = root
        self._made: dict[tuple, SeededTemplate] = {}

    @staticmethod
    def _key(request, backend: str) -> tuple | None:
        if request.node.get_closest_marker("own_setup"):
            return None
        names = getattr(request.module, "SNAPSHOTS", ())
        name = next((n for n in names if n in request.fixturenames), None)
        return (request.module.__name__, name, backend) if name else None

    def source(self, request, backend: str):
        """The snapshot this test starts from, if its set-up has one already."""
        key = self._key(request, backend)
        return self._made.get(key) if key else None

    def restored(self, request) -> bool:
        return request.node.stash.get(_RESTORED, False)

    def take(self, request, url: str, app_config: dict) -> None:
        if self._key(request, "sqlite") is None:  # own_setup
            return
        """Copy the test's database, files and index, set up and committed, for the next
        tests. Every connection to the database is closed first (PostgreSQL copies only a
        database nobody is connected to); the test's session starts again afterwards."""
        backend = "sqlite" if url.startswith("sqlite") else "postgresql"
        key = self._key(request, backend)
        root = self.root / f"{key[0]}-{key[1]}-{backend}"
        db.session.remove()
        db.engine.dispose()
        if backend == "sqlite":
            import sqlite3

            database = str(root / "snapshot.sqlite3")
            root.mkdir(parents=True)
            source = sqlite3.connect(url.removeprefix("sqlite:///"))
            with sqlite3.connect(database) as target:
                source.backup(target)
            source.close()
        else:
            name = url.rsplit("/", 1)[1]
            database = f"qdms_snap_{uuid.uuid4().hex[:10]}"
            with _pg_admin() as conn:
                conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                conn.execute(f'CREATE DATABASE "{database}" TEMPLATE "{name}"')
        shutil.copytree(app_config["QDMS_DOCS_STORE"], root / "docs_store")
        shutil.copytree(app_config["QDMS_INDEX_DIR"], root / "index")
        self._made[key] = SeededTemplate(database, root)

    def close(self) -> None:
        for key, made in self._made.items():
            if key[2] == "postgresql":
                with _pg_admin() as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{made.database}" WITH (FORCE)')


_RESTORED = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def snapshots(tmp_path_factory):
    made = Snapshots(tmp_path_factory.mktemp("snapshots"))
    yield made
    made.close()


@pytest.fixture
def database_url(backend, request, tmp_path, snapshots):
    """A fresh, migrated database for one test (the seeded demo's, for a test that asks
    for ``demo``; a snapshot's, for one whose set-up has one: see Snapshots); dropped
    afterwards."""
    seeded = request.getfixturevalue("demo") if "demo" in request.fixturenames else None
    seeded = seeded or snapshots.source(request, backend)
    request.node.stash[_RESTORED] = seeded is not None and "demo" not in request.fixturenames
    if backend == "sqlite":
        template = seeded.database if seeded else request.getfixturevalue("sqlite_template")
        path = tmp_path / "qdms.sqlite3"
        shutil.copyfile(template, path)
        yield f"sqlite:///{path}"
        return
    databases = request.getfixturevalue("pg_databases")
    if seeded:
        name = f"qdms_t_{uuid.uuid4().hex[:12]}"
        with _pg_admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{seeded.database}"')
            conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
        yield _sqlalchemy_url(_pg_url(name))
        databases.drop(name)
        return
    name = databases.take()
    yield _sqlalchemy_url(_pg_url(name))
    databases.drop(name)


def bypass_history_triggers(session) -> None:
    """Tamper as a superuser would: on PostgreSQL, switch off (for this transaction) the
    triggers that refuse UPDATE and DELETE of events and signatures, so a test can show
    that what they would have refused is still detected."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sqlalchemy.text("SET LOCAL session_replication_role = replica"))


class QdmsClient(FlaskClient):
    """A test client that can fetch a CSRF token the way a browser gets one: from a page.

    Each request runs in an empty context, so it gets its own application context (and
    so its own ``g`` and database session) exactly as in production, even though the test
    itself holds one open. Afterwards the test's session is rolled back, so objects the
    test holds are reloaded with what the request committed (tests commit their own
    set-up before making requests).
    """

    def open(self, *args, **kwargs):
        if self._inside_request:  # a redirect being followed: already isolated
            return super().open(*args, **kwargs)
        self._inside_request = True
        try:
            response = contextvars.Context().run(super().open, *args, **kwargs)
        finally:
            self._inside_request = False
        db.session.rollback()
        return response

    _inside_request = False

    def csrf_token(self, page: str = "/login") -> str:
        html = self.get(page, follow_redirects=True).get_data(as_text=True)
        match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def form_post(self, url: str, data: dict | None = None, **kwargs):
        data = {"csrf_token": self.csrf_token(), **(data or {})}
        return self.post(url, data=data, **kwargs)


@pytest.fixture
def app_config(tmp_path, database_url, request, snapshots, backend) -> dict:
    if snapshots.restored(request):
        made = snapshots.source(request, backend)
        shutil.copytree(made.root / "docs_store", tmp_path / "docs_store", copy_function=os.link)
        shutil.copytree(made.root / "index", tmp_path / "index")
    elif "demo" in request.fixturenames:
        # the demo's files, linked not copied: the store only ever adds files (written to
        # a temporary name, then renamed), so a test cannot change the template's
        seeded = request.getfixturevalue("demo")
        shutil.copytree(seeded.root / "docs_store", tmp_path / "docs_store", copy_function=os.link)
    return {**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": database_url}


@pytest.fixture
def app(app_config):
    app = create_app(app_config)
    app.test_client_class = QdmsClient
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app) -> QdmsClient:
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def make_department(app):
    from app.people import services

    def make(code: str = "CS", name: str = "客户服务部"):
        dept = services.create_department(db.session, None, code, name)
        db.session.commit()
        return dept

    return make


@pytest.fixture
def make_user(app, make_department):
    from app.people import services
    from app.people.models import Department

    def make(username: str = "alice", roles=("staff",), department: str | None = "CS", **kw):
        dept = None
        if department:
            dept = db.session.scalar(db.select(Department).where(Department.code == department))
            dept = dept or make_department(department, f"Department {department}")
        user = services.create_user(
            db.session,
            None,
            username=username,
            full_name=kw.pop("full_name", username.title()),
            password=kw.pop("password", PASSWORD),
            roles=list(roles),
            department=dept,
            **kw,
        )
        db.session.commit()
        return user

    return make


@pytest.fixture
def login_as(client, make_user):
    """Log ``client`` in through the real login form, creating the user if needed."""
    from app.people.models import User

    def login(username: str = "alice", roles=("staff",), **kw):
        if db.session.scalar(db.select(User).where(User.username == username)) is None:
            make_user(username, roles=roles, **kw)
        response = client.form_post(
            "/login", {"username": username, "password": kw.get("password", PASSWORD)}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return login


@pytest.fixture
def api_token(app, make_user):
    """A bearer token for a (new) user with the given roles."""
    from app.auth import services as auth
    from app.people.models import User

    def token(username: str = "apiuser", roles=("staff",)) -> dict:
        user = db.session.scalar(db.select(User).where(User.username == username))
        user = user or make_user(username, roles=roles)
        value = auth.create_token(db.session, None, user, "test")
        db.session.commit()
        return {"Authorization": f"Bearer {value}"}

    return token


@pytest.fixture
def make_docx():
    """A real .docx made with python-docx: body, a table, a header and a footer."""

    def make(body=("服务补救程序",), table=None, header=None, footer=None) -> bytes:
        import io

        import docx

        document = docx.Document()
        for text in body:
            document.add_paragraph(text)
        if table:
            t = document.add_table(rows=len(table), cols=len(table[0]))
            for r, row in enumerate(table):
                for c, value in enumerate(row):
                    t.cell(r, c).text = value
        if header:
            document.sections[0].header.paragraphs[0].text = header
        if footer:
            document.sections[0].footer.paragraphs[0].text = footer
        out = io.BytesIO()
        document.save(out)
        return out.getvalue()

    return make


@pytest.fixture(scope="session")
def pdf_bytes():
    """A real two-page PDF with extractable English text (rendered by WeasyPrint)."""
    from weasyprint import HTML

    html = (
        "<p>Customer complaint handling procedure</p>"
        "<p style='break-before: page'>Service recovery follow-up</p>"
    )
    return HTML(string=html).write_pdf()


@pytest.fixture
def store(app):
    from app import storage

    return storage.get_store(app)


@pytest.fixture
def make_document(app, make_user, store, make_docx):
    """A document of ``type_code`` (and optionally its first revision, made effective)."""
    from app.documents import services
    from app.people.models import Department, User
    from app.uploads import check_upload

    def make(
        type_code="QP",
        department="CS",
        title="客户投诉处理程序",
        parent=None,
        effective=False,
        author=None,
        **kw,
    ):
        author = author or db.session.scalar(db.select(User).where(User.username == "author"))
        author = author or make_user("author", roles=("author", "staff"))
        dept = db.session.scalar(db.select(Department).where(Department.code == department))
        doc = services.create_document(
            db.session,
            author,
            type_code=type_code,
            title=title,
            department=dept,
            parent_number=parent,
            **kw,
        )
        if effective:
            approver = db.session.scalar(db.select(User).where(User.username == "approver"))
            approver = approver or make_user("approver", roles=("approver",), department="QA")
            upload = check_upload(make_docx((title,)), "source.docx", max_bytes=10**7)
            rev = services.add_revision(
                db.session,
                author,
                doc,
                store,
                change_summary="首次发布",
                change_reason="新文件",
                upload=upload,
            )
            services.submit(db.session, author, rev, reviewers=[], approvers=[approver])
            services.approve(db.session, approver, rev, password=PASSWORD)
        db.session.commit()
        return doc

    return make
