"""Load through a real web server: requests per second and latency under concurrent users.

Issue 20, acceptance point 5. A security and reliability probe measured qdms under gunicorn
with 2 workers on PostgreSQL and 8 concurrent connections: the document list at 60 req/s
(p95 175 ms), search at 104 req/s (p95 97 ms), the PDF print at 2.7 req/s. These figures
must not get worse; this script measures them again.

It builds a throw-away instance (temporary instance dir and docs store, a new PostgreSQL
database that it creates and drops — or SQLite with ``--sqlite``), migrates it with the real
migrations and seeds the realistic documents of ``benchmarks/documents.py`` (imported, not
copied: people through the services, ``--documents``/``--revisions`` by bulk insert with
their signatures and audit trail). Then a few documents are written the way a person would:
registered, a real .docx uploaded (laid out as the demo's, a few pages of Chinese), submitted
and approved through ``app.documents.services``, so their effective revisions have a stored
file to print. ``qdms reindex`` builds the search index in a subprocess.

Then ``gunicorn -w WORKERS wsgi:app`` (the production entry point) is started on a free
loopback port with the instance given in ``QDMS_*`` environment variables, and the script
waits for it to answer. Each connection is a thread with its own ``requests`` session,
logged in through the real ``/login`` form (CSRF token read from the page) — half as the
quality officer, half as a CS staff member by default (``--users``) — or, for the API, with
a bearer token. One endpoint at a time, every connection sends requests back to back: a
warm-up (``--warmup`` seconds, untimed: the first PDF of a fresh worker imports and starts
its layout pool), then ``--seconds`` timed. A request counts when it completes inside the
timed window; it is an error when the answer is not a 200 of the expected kind (HTML, JSON
with ``items``, a PDF) or the request fails. Endpoints:

- the document list, ``/documents`` (page 1);
- the search page, ``/search?q=…`` and the API, ``/api/v1/search?q=…``: Chinese words
  that occur in the generated text, in turn;
- the PDF, ``/documents/<number>/revisions/<label>/pdf``: an uncontrolled print of one of
  the real effective revisions, in turn (the body is laid out once and cached; each print
  stamps a new cover and footer for its reader).

The table gives per endpoint the requests counted, req/s, p50/p95/max latency as the client
sees it (loopback HTTP included), errors, and the probe's figure as the target. The client
runs on the same machine and takes CPU from the server (its share is printed). The load
average before and after each endpoint is printed: the machine may be shared.

    .venv/bin/python benchmarks/load.py                      # PostgreSQL; 6 minutes at load 15
    .venv/bin/python benchmarks/load.py --sqlite --seconds 10
    .venv/bin/python benchmarks/load.py \\
        --database-url postgresql://postgres@127.0.0.1:5432/qdms_bench_load

Exits 1 when an endpoint answered with an error or something failed to run; a missed target
is reported, not an error.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.documents import (  # noqa: E402
    PASSWORD,
    SENTENCES,
    TOPICS_ZH,
    Instance,
    _machine,
    seed_documents,
    size_problem,
)

# The server of the default database: a new database is created there and dropped.
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/"
# Words of the generated text (documents.py) and of the real documents below.
SEARCH_WORDS = ["投诉", "纠正措施", "培训", "保密", "巡检", "备份"]
# The probe's figures (issue 20): req/s at least, p95 ms at most (None: not given).
TARGETS = {
    "document list": (60.0, 175.0),
    "search page": (104.0, 97.0),
    "search API": (104.0, 97.0),
    "PDF (uncontrolled print)": (2.7, None),
}
LIST_ROW = r'<td><a href="/documents/[^"/]+"><code>'  # a row of the document list
REAL_DOCUMENTS = [  # type, title: registered, uploaded and approved through the services
    ("QP", "客户投诉处理程序（负载测试）"),
    ("WI", "热线中心服务补救作业指导书（负载测试）"),
    ("SP", "呼叫中心质检服务规范（负载测试）"),
]


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--revisions", type=int, default=6000)
    parser.add_argument("--seconds", type=float, default=20.0, help="timed load per endpoint")
    parser.add_argument("--warmup", type=float, default=3.0, help="untimed load per endpoint")
    parser.add_argument("--connections", type=int, default=8, help="concurrent connections")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument(
        "--users",
        default="officer,cs_staff1",
        help="who the connections log in as, in turn (comma-separated usernames of the "
        "generated people: officer, cs_staff1, cs_author1, …)",
    )
    parser.add_argument(
        "--endpoints",
        default="list,search,api,pdf",
        help="which to load, comma-separated: list, search, api, pdf",
    )
    database = parser.add_mutually_exclusive_group()
    database.add_argument(
        "--database-url",
        default=DEFAULT_PG,
        help="postgresql://USER@HOST:PORT/NAME: create the database NAME (it must not "
        "exist; without NAME a random one), use it and drop it at the end "
        f"(default: {DEFAULT_PG})",
    )
    database.add_argument(
        "--sqlite", action="store_true", help="SQLite in the temporary instance dir instead"
    )
    parser.add_argument("--seed", type=int, default=2026, help="random seed of the data")
    parser.add_argument("--keep", action="store_true", help="keep the instance and database")
    args = parser.parse_args(argv)
    problem = size_problem(args.documents, args.revisions)
    if problem:
        parser.error(problem)
    if not args.sqlite and not args.database_url.startswith("postgresql://"):
        parser.error("--database-url takes a postgresql:// URL (or use --sqlite)")
    if args.connections < 1 or args.workers < 1 or args.seconds <= 0 or args.warmup < 0:
        parser.error("--connections and --workers at least 1, --seconds above 0")
    args.users = [u.strip() for u in args.users.split(",") if u.strip()]
    if not args.users:
        parser.error("--users names at least one user")
    args.endpoints = [e.strip() for e in args.endpoints.split(",") if e.strip()]
    unknown = set(args.endpoints) - {"list", "search", "api", "pdf"}
    if unknown or not args.endpoints:
        parser.error(f"unknown endpoints: {', '.join(sorted(unknown)) or '(none)'}")
    return args


# The instance and its data --------------------------------------------------------------


def _docx_body(rng: random.Random, title: str) -> list[tuple[str, object]]:
    """Six sections of Chinese prose with a table: a procedure of a few pages."""
    body: list[tuple[str, object]] = []
    for n, heading in enumerate(["目的", "范围", "职责", "工作程序", "记录", "相关文件"], 1):
        body.append(("h", f"{n}. {heading}"))
        for _ in range(rng.randint(3, 6)):
            sentences = rng.sample(SENTENCES, 3)
            body.append(("p", "".join(s.format(t=rng.choice(TOPICS_ZH)) for s in sentences)))
        if heading == "职责":
            rows = [("岗位", "职责", "记录")]
            rows += [(f"岗位{i}", rng.choice(TOPICS_ZH), f"{title}记录表") for i in range(1, 6)]
            body.append(("table", tuple(rows)))
    return body


def _real_documents(app, rng: random.Random) -> list[tuple[str, str]]:
    """Register, upload, submit and approve ``REAL_DOCUMENTS`` through the services (CS:
    author ``cs_author1``, approver ``cs_head``); their (number, path label)."""
    from sqlalchemy import select

    from app.demo.documents import build_docx
    from app.documents import services
    from app.extensions import db
    from app.people.models import Department, User
    from app.storage import get_store
    from app.uploads import check_upload

    store = get_store(app)
    users = {u.username: u for u in db.session.scalars(select(User))}
    author, approver = users["cs_author1"], users["cs_head"]
    dept = db.session.scalar(select(Department).where(Department.code == "CS"))
    out = []
    for type_code, title in REAL_DOCUMENTS:
        doc = services.create_document(
            db.session, author, type_code=type_code, title=title, department=dept
        )
        data = build_docx(
            number=doc.number,
            title=title,
            label="A/0",
            department=dept.name,
            body=_docx_body(rng, title),
            history=[("A/0", "首次发布", author.full_name)],
        )
        upload = check_upload(data, f"{doc.number} {title}.docx", max_bytes=50 * 1024 * 1024)
        revision = services.add_revision(
            db.session,
            author,
            doc,
            store,
            change_summary="首次发布",
            change_reason="新文件",
            upload=upload,
        )
        services.submit(db.session, author, revision, reviewers=[], approvers=[approver])
        services.approve(db.session, approver, revision, password=PASSWORD)
        if revision.status != "effective":
            raise SystemExit(f"{doc.number} {revision.label} is {revision.status}, not effective")
        db.session.commit()
        out.append((doc.number, revision.path_label))
    return out


def _environment(instance: Instance) -> dict:
    """The instance as ``QDMS_*`` variables, for ``qdms`` and gunicorn."""
    config = instance.config()
    env = dict(os.environ)
    env.update(
        {
            "PYTHONPATH": str(ROOT),  # this checkout's app, whatever the venv points at
            "QDMS_INSTANCE_DIR": config["QDMS_INSTANCE_DIR"],
            "QDMS_DOCS_STORE": config["QDMS_DOCS_STORE"],
            "QDMS_INDEX_DIR": config["QDMS_INDEX_DIR"],
            "QDMS_DATABASE_URL": config["SQLALCHEMY_DATABASE_URI"],
            "QDMS_SECRET_KEY": config["SECRET_KEY"],
            "QDMS_DEFAULT_LANGUAGE": config["QDMS_DEFAULT_LANGUAGE"],
            # the hashes of the seeded users are cheap; new ones would be too
            "QDMS_ARGON2_TIME_COST": str(config["QDMS_ARGON2_TIME_COST"]),
            "QDMS_ARGON2_MEMORY_KIB": str(config["QDMS_ARGON2_MEMORY_KIB"]),
        }
    )
    return env


def _tool(name: str) -> str:
    path = Path(sys.executable).parent / name
    if path.exists():
        return str(path)
    found = shutil.which(name)
    if not found:
        raise SystemExit(
            f"{name} not found: run this with the project's venv (pip install -e .[dev])"
        )
    return found


def _reindex(instance: Instance) -> str:
    log = instance.root / "reindex.log"
    with open(log, "w") as out:
        proc = subprocess.run(  # noqa: S603 - the project's own command
            [_tool("qdms"), "reindex"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=_environment(instance),
            cwd=ROOT,
            check=False,
        )
    output = log.read_text(errors="replace").strip()
    if proc.returncode != 0:
        raise SystemExit(f"qdms reindex failed ({proc.returncode}):\n{output[-3000:]}")
    return output.splitlines()[-1]


# The server ------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """``gunicorn -w WORKERS -b 127.0.0.1:PORT wsgi:app`` on the instance; ``stop`` ends it."""

    def __init__(self, instance: Instance, workers: int):
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = instance.root / "gunicorn.log"
        self.command = [
            _tool("gunicorn"),
            "-w",
            str(workers),
            "-b",
            f"127.0.0.1:{self.port}",
            "--chdir",
            str(ROOT),
            "--error-logfile",
            str(self.log),
            "wsgi:app",
        ]
        self.proc = subprocess.Popen(  # noqa: S603 - gunicorn from the venv, fixed arguments
            self.command,
            env=_environment(instance),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def wait_ready(self, timeout: float = 120.0) -> float:
        import requests

        started = time.perf_counter()
        while time.perf_counter() - started < timeout:
            if self.proc.poll() is not None:
                raise SystemExit(f"gunicorn exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                # the workers import the app after the port is open: the first answer waits
                if requests.get(self.base + "/login", timeout=timeout).status_code == 200:
                    return time.perf_counter() - started
            except requests.ConnectionError:
                pass  # not listening yet
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer in {timeout:.0f} s:\n{self.log_tail()}")

    def log_tail(self) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the workers finish and exit
            try:
                self.proc.wait(timeout=35)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# The load -------------------------------------------------------------------------------


def login(base: str, username: str):
    """A ``requests`` session logged in through the real form (CSRF token from the page)."""
    import requests

    session = requests.Session()
    html = session.get(base + "/login", timeout=30).text
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    if not match:
        raise SystemExit("no CSRF token on the login page")
    response = session.post(
        base + "/login",
        data={"csrf_token": match.group(1), "username": username, "password": PASSWORD},
        allow_redirects=False,
        timeout=30,
    )
    if response.status_code != 302 or "/login" in response.headers.get("Location", ""):
        raise SystemExit(f"login as {username} failed: {response.status_code}")
    return session


@dataclass
class Endpoint:
    name: str
    urls: list[str]  # taken in turn
    kind: str  # html, json or pdf: what a good answer is
    api: bool = False  # bearer token instead of the login session


def answer_problem(kind: str, response) -> str | None:
    """What is wrong with an answer, or None."""
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    content_type = response.headers.get("Content-Type", "")
    if kind == "html" and not content_type.startswith("text/html"):
        return f"not HTML: {content_type}"
    if kind == "pdf" and not response.content.startswith(b"%PDF-"):
        return "not a PDF"
    if kind == "json":
        try:
            if "items" not in response.json():
                return "JSON without items"
        except ValueError:
            return "not JSON"
    return None


@dataclass
class Run:
    endpoint: Endpoint
    latencies: list[float] = field(default_factory=list)  # ms, timed window, good answers
    errors: int = 0  # timed window
    warmup_errors: int = 0
    examples: dict[str, int] = field(default_factory=dict)  # error → count
    seconds: float = 0.0
    client_cpu: float = 0.0  # share of one core used by this process
    server_cpu: float = 0.0  # CPU seconds of the server in the timed window
    db_cpu: float = 0.0  # of which the database's backends
    load_before: str = ""
    load_after: str = ""

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request counted."""
        return self.server_cpu * 1000 / self.count if self.count else float("nan")

    @property
    def db_ms(self) -> float:
        """Of which the database's backends."""
        return self.db_cpu * 1000 / self.count if self.count else float("nan")

    def percentile(self, q: int) -> float:
        if not self.latencies:
            return float("nan")
        if len(self.latencies) == 1:
            return self.latencies[0]
        return statistics.quantiles(self.latencies, n=100, method="inclusive")[q - 1]


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


class ServerCpu:
    """CPU time used by the server: gunicorn's process tree (its workers and their PDF
    layout pools) and, on PostgreSQL, the backends connected to the benchmark's database —
    read from /proc, so it does not depend on what else the machine is running."""

    def __init__(self, root_pid: int, database: str | None):
        self.root_pid = root_pid
        self.database = database
        self.tick = os.sysconf("SC_CLK_TCK")

    def snapshot(self) -> dict[int, tuple[int, bool]]:
        """pid → (user + system clock ticks, whether a database backend) of every server
        process now."""
        stats, children = {}, {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                stat = (entry / "stat").read_text()
                cmdline = (
                    (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                )
            except OSError:
                continue  # ended meanwhile
            fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)"
            pid = int(entry.name)
            stats[pid] = int(fields[11]) + int(fields[12])  # utime + stime
            children.setdefault(int(fields[1]), []).append(pid)
            if (
                self.database
                and cmdline.startswith("postgres: ")
                and (f" {self.database} " in cmdline)
            ):
                children.setdefault(-1, []).append(pid)  # a backend of our database
        backends = children.get(-1, [])
        out = {pid: (stats[pid], True) for pid in backends}
        todo = [self.root_pid]
        while todo:
            pid = todo.pop()
            if pid in stats and pid not in out:
                out[pid] = (stats[pid], False)
                todo.extend(children.get(pid, []))
        return out

    def seconds(self, before: dict, after: dict) -> tuple[float, float]:
        """CPU seconds of the app (gunicorn's tree) and of the database between two
        snapshots (a process that ended in between is lost)."""
        app = db = 0
        for pid, (ticks, backend) in after.items():
            used = ticks - before.get(pid, (0, backend))[0]
            if backend:
                db += used
            else:
                app += used
        return app / self.tick, db / self.tick


def run_load(
    endpoint: Endpoint, sessions: list, warmup: float, seconds: float, cpu: ServerCpu
) -> Run:
    """Every session sends requests back to back for ``warmup + seconds``; the requests
    completed in the last ``seconds`` count, and the server's CPU time in them."""
    run = Run(endpoint, seconds=seconds, load_before=_loadavg())
    lock = threading.Lock()
    barrier = threading.Barrier(len(sessions) + 1)
    window: list[float] = []  # start, end of the timed window, set when all threads are ready

    def worker(index: int, session) -> None:
        import requests

        barrier.wait()
        start, end = window
        i = index
        while True:
            began = time.perf_counter()
            if began >= end:
                return
            url = endpoint.urls[i % len(endpoint.urls)]
            i += 1
            try:
                response = session.get(url, timeout=120, allow_redirects=False)
                error = answer_problem(endpoint.kind, response)
            except requests.RequestException as exc:
                error = type(exc).__name__
            done = time.perf_counter()
            if done > end:
                return  # finished after the window: not counted either way
            with lock:
                if done < start:
                    run.warmup_errors += error is not None
                elif error is None:
                    run.latencies.append((done - began) * 1000)
                else:
                    run.errors += 1
                if error is not None:
                    run.examples[error] = run.examples.get(error, 0) + 1

    threads = [
        threading.Thread(target=worker, args=(i, s), daemon=True) for i, s in enumerate(sessions)
    ]
    for thread in threads:
        thread.start()
    client = time.process_time()
    now = time.perf_counter()
    window[:] = [now + warmup, now + warmup + seconds]
    barrier.wait()
    time.sleep(max(0.0, window[0] - time.perf_counter()))
    before = cpu.snapshot()
    time.sleep(max(0.0, window[1] - time.perf_counter()))
    app_s, db_s = cpu.seconds(before, cpu.snapshot())
    run.server_cpu, run.db_cpu = app_s + db_s, db_s
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - now
    run.client_cpu = (time.process_time() - client) / wall
    run.load_after = _loadavg()
    return run


def endpoints(base: str, chosen: list[str], pdfs: list[tuple[str, str]]) -> list[Endpoint]:
    from urllib.parse import quote

    words = [quote(w) for w in SEARCH_WORDS]
    catalogue = {
        "list": Endpoint("document list", [f"{base}/documents"], "html"),
        "search": Endpoint("search page", [f"{base}/search?q={w}" for w in words], "html"),
        "api": Endpoint("search API", [f"{base}/api/v1/search?q={w}" for w in words], "json", True),
        "pdf": Endpoint(
            "PDF (uncontrolled print)",
            [f"{base}/documents/{n}/revisions/{label}/pdf" for n, label in pdfs],
            "pdf",
        ),
    }
    return [catalogue[name] for name in chosen]


def content_problem(ep: Endpoint, response) -> str | None:
    """What the first answers must show: documents in the list, a search that finds."""
    if ep.name == "document list" and not re.search(LIST_ROW, response.text):
        return "no document in the list"
    if ep.name == "search page" and 'id="search-rebuilding"' in response.text:
        return "search is being rebuilt"
    if ep.name == "search API" and not response.json()["total"]:
        return "nothing found"
    return None


def check_answers(base: str, browsers: dict, tokens: dict, eps: list[Endpoint]) -> None:
    """One request per URL and user before the load: each answers as it should, the list
    shows documents and the search finds something (not "search is being rebuilt")."""
    import requests

    for username, browser in browsers.items():
        api = requests.Session()
        api.headers["Authorization"] = f"Bearer {tokens[username]}"
        for ep in eps:
            for url in ep.urls:
                response = (api if ep.api else browser).get(url, timeout=120, allow_redirects=False)
                error = answer_problem(ep.kind, response) or content_problem(ep, response)
                if error:
                    raise SystemExit(f"{username} GET {url}: {error}")


# Report ---------------------------------------------------------------------------------


def _target(run: Run) -> tuple[str, str]:
    rate, p95 = TARGETS[run.endpoint.name]
    text = f"≥ {rate:g} req/s" + (f", p95 ≤ {p95:g} ms" if p95 else "")
    met = run.count and run.rate >= rate and (p95 is None or run.percentile(95) <= p95)
    return text, "met" if met else "MISSED"


def _bound(cores: int, cpu_ms: float) -> str:
    return f"{cores * 1000 / cpu_ms:.1f} req/s" if cpu_ms > 0 else "?"


def table(runs: list[Run]) -> str:
    cores = os.cpu_count() or 1
    lines = [
        "| endpoint | requests | req/s | p50 ms | p95 ms | max ms | errors "
        f"| server CPU ms/req (of which db) | {cores} cores ÷ CPU | client CPU "
        "| load before → after | target (probe) | |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|---|",
    ]
    for r in runs:
        target, met = _target(r)
        lines.append(
            f"| {r.endpoint.name} | {r.count} | {r.rate:.1f} | {r.percentile(50):.0f} "
            f"| {r.percentile(95):.0f} | {max(r.latencies, default=float('nan')):.0f} "
            f"| {r.errors} | {r.cpu_ms:.1f} ({r.db_ms:.1f}) | {_bound(cores, r.cpu_ms)} "
            f"| {r.client_cpu:.0%} | {r.load_before} → {r.load_after} | {target} | {met} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    args = _parse_args(argv)
    import requests
    from flask_migrate import upgrade
    from sqlalchemy import func, select

    from app import create_app
    from app.auth import services as auth
    from app.extensions import db
    from app.people.models import User

    instance = Instance(None if args.sqlite else args.database_url, args.keep)
    rng = random.Random(args.seed)
    server = None
    app = None
    try:
        started = time.perf_counter()
        # Nothing is indexed while seeding: `qdms reindex` builds the index afterwards.
        app = create_app({**instance.config(), "QDMS_SEARCH_AFTER_COMMIT": False})
        with app.app_context():
            upgrade()
            gen = seed_documents(rng, args.documents, args.revisions)
            pdfs = _real_documents(app, rng)
            missing = set(args.users) - {u.username for u in db.session.scalars(select(User))}
            if missing:
                raise SystemExit(f"no such users: {', '.join(sorted(missing))}")
            tokens = {}
            for username in args.users:
                user = db.session.scalar(select(User).where(User.username == username))
                tokens[username] = auth.create_token(db.session, None, user, "load benchmark")
            db.session.commit()
            version = db.session.scalar(select(func.version())) if instance.pg_name else None
            db.session.remove()
            db.engine.dispose()
        counts = {**gen.counts, "real documents": len(pdfs)}
        del gen
        seeded = time.perf_counter()
        print(
            f"seeded in {seeded - started:.0f} s: "
            + ", ".join(f"{v:,} {k}" for k, v in counts.items()),
            file=sys.stderr,
        )
        print(_reindex(instance), file=sys.stderr)

        server = Server(instance, args.workers)
        ready = server.wait_ready()
        print(f"{' '.join(server.command[1:])}: answering after {ready:.1f} s", file=sys.stderr)
        browsers = {u: login(server.base, u) for u in args.users}
        eps = endpoints(server.base, args.endpoints, pdfs)
        check_answers(server.base, browsers, tokens, eps)

        cpu = ServerCpu(server.proc.pid, instance.pg_name)
        runs = []
        for ep in eps:
            sessions = []
            for i in range(args.connections):
                username = args.users[i % len(args.users)]
                if ep.api:
                    session = requests.Session()
                    session.headers["Authorization"] = f"Bearer {tokens[username]}"
                else:
                    session = login(server.base, username)
                sessions.append(session)
            print(f"{ep.name}: {args.warmup:g} s warm-up, {args.seconds:g} s …", file=sys.stderr)
            run = run_load(ep, sessions, args.warmup, args.seconds, cpu)
            for session in sessions:
                session.close()
            runs.append(run)
            print(
                f"  {run.count} requests, {run.rate:.1f} req/s, p95 {run.percentile(95):.0f} ms, "
                f"{run.errors} errors",
                file=sys.stderr,
            )

        backend = instance.backend
        if version:
            backend += " " + version.split(" on ")[0].removeprefix("PostgreSQL ")
        print()
        print(
            f"qdms load benchmark — gunicorn {args.workers} workers (sync) on {backend}, "
            f"{args.connections} connections as {', '.join(args.users)} in turn; "
            f"{counts['documents']:,} documents, {counts['revisions']:,} revisions"
        )
        print(f"{date.today().isoformat()}, {_machine()}, load average {_loadavg()}")
        print(
            f"{args.warmup:g} s warm-up then {args.seconds:g} s per endpoint; latency as the "
            "client sees it (loopback HTTP); server CPU = gunicorn's processes and the "
            "database's backends, per request counted; cores ÷ CPU = the rate that CPU allows "
            "with the machine to itself (an estimate: contention inflates CPU time too); "
            "client CPU = this process's share of one core"
        )
        print()
        print(table(runs))
        errors = [(r, e, n) for r in runs for e, n in r.examples.items()]
        if errors:
            print()
            for r, error, n in errors:
                print(f"- {r.endpoint.name}: {error} × {n} (warm-up included)")
        if any(r.warmup_errors for r in runs):
            print(
                "(errors during warm-up: "
                + ", ".join(f"{r.endpoint.name} {r.warmup_errors}" for r in runs if r.warmup_errors)
                + ")"
            )
        return 1 if any(r.errors or not r.count for r in runs) else 0
    finally:
        if server is not None:
            server.stop()
        if app is not None:
            try:
                with app.app_context():
                    db.engine.dispose()
            except Exception as exc:  # the app may be half set up
                print(f"cleanup: could not dispose of the engine: {exc}", file=sys.stderr)
        instance.close()


if __name__ == "__main__":
    sys.exit(main())
