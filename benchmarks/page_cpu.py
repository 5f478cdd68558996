"""CPU time per request of the document list and the search page, in process.

Issue 20, acceptance point 5: ``benchmarks/load.py`` measures these pages under gunicorn, but
its req/s and latency follow whatever else the machine runs. This script measures what a
change to the code can move and a busy machine moves little: the CPU time this process
spends per request (``time.process_time``), through ``app.test_client()``, on the same data
as ``load.py`` (``seed_documents`` at 2,000 documents / 6,000 revisions plus its three real
documents, indexed by ``qdms reindex``). On PostgreSQL the database's CPU is not counted
(another process), but the statements per request are.

Scenarios, each ``--requests`` timed after ``--warmup`` untimed, alternating the users:
``/documents`` (page 1) as in ``load.py``, and ``/search?q=…`` over ``load.py``'s Chinese
words. ``--profile`` prints cProfile's top functions by cumulative time for each scenario.
``--dump DIR`` writes every distinct answer (CSRF tokens blanked) so two versions of the code
can be compared with ``diff -r``. Each scenario runs ``--rounds`` times; the cheapest round
is reported. On a shared machine even CPU time moves by ±20 % from minute to minute:
``--compare CHECKOUT`` measures another checkout's app (e.g. ``git archive main``, its
translations compiled) on the same instance in alternate rounds and prints the ratio.

    .venv/bin/python benchmarks/page_cpu.py                  # SQLite, ~1 minute
    .venv/bin/python benchmarks/page_cpu.py --keep           # keep the instance, then:
    .venv/bin/python benchmarks/page_cpu.py --reuse /tmp/qdms-bench-documents-XXXX
    .venv/bin/python benchmarks/page_cpu.py --database-url postgresql://postgres@127.0.0.1:5432/
    .venv/bin/python benchmarks/page_cpu.py --reuse DIR --compare /tmp/main-export --rounds 6

Exits 1 when an answer is not a 200 or something failed to run.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import pstats
import random
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.documents import (  # noqa: E402
    Instance,
    QueryCounter,
    _login,
    _machine,
    seed_documents,
)
from benchmarks.load import SEARCH_WORDS, _real_documents, _reindex  # noqa: E402

SCENARIOS = {
    "list": ["/documents"],  # page 1, as load.py
    "search": [f"/search?q={quote(w)}" for w in SEARCH_WORDS],
}
CSRF = re.compile(r'(name="csrf_token" type="hidden" value=")[^"]+"')


def _parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--revisions", type=int, default=6000)
    parser.add_argument("--requests", type=int, default=200, help="timed requests a round")
    parser.add_argument(
        "--rounds", type=int, default=3, help="rounds a scenario: the cheapest round counts"
    )
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--users", default="officer,cs_staff1")
    parser.add_argument("--database-url", help="postgresql://…: a new database (else SQLite)")
    parser.add_argument("--reuse", help="the instance dir a --keep run left (not re-seeded)")
    parser.add_argument("--keep", action="store_true", help="keep the instance and database")
    parser.add_argument("--profile", action="store_true", help="print cProfile's top functions")
    parser.add_argument("--dump", help="write each distinct answer into this directory")
    parser.add_argument(
        "--compare",
        metavar="CHECKOUT",
        help="also measure the app of another checkout (e.g. a `git archive` of main) on the "
        "same instance, in alternate rounds, and print the ratio (needs --reuse)",
    )
    parser.add_argument("--serve", metavar="CHECKOUT", help=argparse.SUPPRESS)  # --compare's
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    if (args.compare or args.serve) and not args.reuse:
        parser.error("--compare measures an instance a --keep run left: give --reuse")
    args.users = [u.strip() for u in args.users.split(",") if u.strip()]
    return args


class _Reused(Instance):
    """An instance a ``--keep`` run left: its dir, and its database URL saved there."""

    def __init__(self, root: str):  # no database is created: it exists
        self.root = Path(root)
        self.keep = True
        self.url = (self.root / "database-url").read_text().strip()
        self.pg_name = self.url.rsplit("/", 1)[1] if self.url.startswith("postgresql") else None
        self.pg_admin_url = None


def _seed(instance: Instance, args) -> None:
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app({**instance.config(), "QDMS_SEARCH_AFTER_COMMIT": False})
    with app.app_context():
        upgrade()
        rng = random.Random(args.seed)
        seed_documents(rng, args.documents, args.revisions)
        _real_documents(app, rng)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    (instance.root / "database-url").write_text(instance.url)
    print(_reindex(instance), file=sys.stderr)


def measure(clients, counter, urls, args, dump: Path | None, name: str):
    """CPU ms per request (mean and median), statements per request, over ``args.requests``
    requests cycling through ``urls`` and the users' clients."""
    cpu, statements = [], []
    profiler = cProfile.Profile() if args.profile else None
    seen = set()
    for i in range(args.warmup + args.requests):
        client = clients[i % len(clients)]
        url = urls[(i // len(clients)) % len(urls)]
        counter.count = 0
        if profiler and i >= args.warmup:
            profiler.enable()
        start = time.process_time()
        response = client.get(url)
        used = time.process_time() - start
        if profiler:
            profiler.disable()
        if response.status_code != 200:
            raise SystemExit(f"GET {url}: {response.status_code}")
        if i >= args.warmup:
            cpu.append(used * 1000)
            statements.append(counter.count)
        if dump is not None and (i % len(clients), url) not in seen:
            seen.add((i % len(clients), url))
            body = CSRF.sub(r'\1"', response.get_data(as_text=True))
            (dump / f"{name}-{i % len(clients)}-{len(seen):02d}.html").write_text(body)
    out = {
        "mean": statistics.fmean(cpu),
        "median": statistics.median(cpu),
        "statements": (min(statements), max(statements)),
    }
    if profiler:
        text = io.StringIO()
        pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(45)
        out["profile"] = text.getvalue()
    return out


def serve(args) -> int:
    """``--compare``'s side: the app of checkout ``args.serve`` on the instance; measures a
    round of the scenario named on each line of stdin and answers its mean CPU ms."""
    sys.path.insert(0, str(Path(args.serve).resolve()))  # its ``app``, not this one's
    from app import create_app
    from app.extensions import db

    app = create_app(_Reused(args.reuse).config())
    with app.app_context():
        counter = QueryCounter(db.engine)
    clients = [_login(app, u) for u in args.users]
    gc.collect()
    print("ready", flush=True)
    for line in sys.stdin:
        r = measure(clients, counter, SCENARIOS[line.strip()], args, None, line.strip())
        print(f"{r['mean']:.4f}", flush=True)
    return 0


def compare(args) -> int:
    """This checkout's app and ``args.compare``'s, each in a process of its own, measured
    in alternate rounds (which goes first alternates too), so that the machine's other
    work weighs on both alike; the ratio of each round's pair, and its median."""
    sides = {"this": str(ROOT), "other": args.compare}
    procs = {}
    for side, checkout in sides.items():
        command = [sys.executable, __file__, "--serve", checkout, "--reuse", args.reuse]
        command += ["--requests", str(args.requests), "--warmup", str(args.warmup)]
        command += ["--users", ",".join(args.users)]
        procs[side] = subprocess.Popen(  # noqa: S603 - this script
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=checkout
        )
    for proc in procs.values():
        while (line := proc.stdout.readline()) and line.strip() != "ready":
            pass
    means = {(side, name): [] for side in sides for name in SCENARIOS}
    for i in range(args.rounds):
        for name in SCENARIOS:
            for side in list(sides) if i % 2 == 0 else list(sides)[::-1]:
                procs[side].stdin.write(name + "\n")
                procs[side].stdin.flush()
                means[side, name].append(float(procs[side].stdout.readline()))
    for proc in procs.values():
        proc.stdin.close()
        proc.wait()
    print(
        f"qdms page CPU, this checkout vs {args.compare} — {args.rounds} alternate rounds of "
        f"{args.requests} requests; CPU ms a request; {_machine()}"
    )
    for name in SCENARIOS:
        this, other = means["this", name], means["other", name]
        ratio = statistics.median(t / o for t, o in zip(this, other, strict=True))
        print(
            f"{name:7} this: min {min(this):.1f} median {statistics.median(this):.1f} | "
            f"other: min {min(other):.1f} median {statistics.median(other):.1f} | "
            f"this / other: {ratio:.2f} (median of the rounds' ratios), "
            f"{min(this) / min(other):.2f} (of the minima)"
        )
    return 0


def main(argv=None) -> int:
    args = _parse_args(argv)
    if args.serve:
        return serve(args)
    if args.compare:
        return compare(args)
    from app import create_app
    from app.extensions import db

    instance = _Reused(args.reuse) if args.reuse else Instance(args.database_url, args.keep)
    app = None
    try:
        if not args.reuse:
            _seed(instance, args)
        app = create_app(instance.config())
        with app.app_context():
            counter = QueryCounter(db.engine)
        clients = [_login(app, u) for u in args.users]
        dump = Path(args.dump) if args.dump else None
        if dump is not None:
            dump.mkdir(parents=True, exist_ok=True)
        scenarios = SCENARIOS
        gc.collect()
        results, rounds = {}, {name: [] for name in scenarios}
        for _ in range(args.rounds):  # the pages in turn: a busy spell hits both alike
            for name, urls in scenarios.items():
                r = measure(clients, counter, urls, args, dump, name)
                rounds[name].append(r["mean"])
                if name not in results or r["mean"] < results[name]["mean"]:
                    results[name] = r
            dump = None  # the first round's answers are enough
        backend = "PostgreSQL" if instance.pg_name else "SQLite"
        print(
            f"qdms page CPU — {backend}, {args.documents:,} documents, as "
            f"{', '.join(args.users)} in turn, {args.requests} requests after {args.warmup}; "
            f"{_machine()}"
        )
        for name, r in results.items():
            print(
                f"{name:7} CPU {r['mean']:.1f} ms a request (median {r['median']:.1f}; rounds "
                + " / ".join(f"{m:.1f}" for m in rounds[name])
                + f"), statements {r['statements'][0]}–{r['statements'][1]}"
            )
            if "profile" in r:
                print(r["profile"])
        print(json.dumps({n: round(r["mean"], 2) for n, r in results.items()}))
        return 0
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        instance.close()


if __name__ == "__main__":
    sys.exit(main())
