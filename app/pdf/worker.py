"""Document bodies laid out in worker processes, outside the web worker.

Laying out a 20-page .docx is the one slow, memory-hungry step of printing (~1.3 s and
~150 MB for mammoth + WeasyPrint; measured in benchmarks/pdf.py). It runs here, in a
process of its own:

- the web worker stays small: WeasyPrint's layout memory is never returned to the
  operating system by the process that allocated it, and a process that exits after one
  layout returns all of it;
- the request that prints lays out the cover and the page overlay at the same time, on
  the other core (``documents.printing``);
- the child never collects garbage: it exits after its one layout, so the cycles of the
  layout tree are never walked (a collection of them costs ~0.1–0.3 s in the web worker).

The processes are forked by a ``forkserver`` that has imported WeasyPrint and mammoth and
laid out a page with Chinese text once (``app.pdf.warm``): a child starts warm in a few
milliseconds, and the forkserver itself holds no threads, locks or database connections
(forking the threaded web worker itself would copy them). One idle child is kept
forked ahead of need by ``ProcessPoolExecutor`` (``max_tasks_per_child=1``).

``QDMS_PDF_WORKERS`` sets how many bodies lay out at once (default: the number of cores, at
most 2); ``0`` lays them out in the calling process. A pool that cannot start or breaks
logs a warning and the layout runs in the calling process: printing never fails for it.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import resource
import threading
import time
import weakref
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import context as mp_context
from multiprocessing import popen_forkserver, spawn

from flask import current_app, has_app_context

from app import docx_io
from app.pdf.render import Rendered, paused_gc, render_plain

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Layout:
    """A laid-out body and what it cost where it ran (seconds per step, peak memory)."""

    rendered: Rendered
    seconds: dict[str, float] = field(default_factory=dict)
    peak_kib: int = 0
    in_worker: bool = False


def _peak_kib() -> int:
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


def docx_body(data: bytes, in_worker: bool = False) -> Layout:
    """A .docx laid out for print (templates/pdf/body.html). Flask-free; runs in a worker
    process, or in the caller when there is none."""
    seconds = {}
    with paused_gc():  # mammoth and the layout build large trees (see render.paused_gc)
        started = time.perf_counter()
        html = docx_io.to_print_html(data)
        seconds["html"] = time.perf_counter() - started
        started = time.perf_counter()
        rendered = render_plain("body.html", {"body": html})
        seconds["layout"] = time.perf_counter() - started
        del html
    return Layout(rendered, seconds, _peak_kib(), in_worker)


def _exit_with_parent() -> None:
    """In a worker process, at its start: exit as soon as the process that asked for it
    is gone. A worker forked ahead waits on its task queue forever otherwise, and keeps
    the forkserver alive with it (seen after stopping ``qdms run``)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=watch, name="qdms-pdf-parent-watch", daemon=True).start()


def _in_child(data: bytes) -> Layout:
    gc.disable()  # the process exits after this one task: nothing to collect
    return docx_body(data, in_worker=True)


def default_workers() -> int:
    return min(2, os.cpu_count() or 1)


# -- launching workers without the caller's __main__ ------------------------------------
# multiprocessing hands every child the caller's main module to import again (as
# ``__mp_main__``), so a script that imports the app without an ``if __name__ ==
# "__main__"`` guard ran again in every worker. The children here need only this module:
# they are launched without it.

_LAUNCH = threading.Lock()


def _without_main(prepare):
    def preparation_data(name):
        data = prepare(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    return preparation_data


class _Popen(popen_forkserver.Popen):
    def _launch(self, process_obj):
        with _LAUNCH:  # the swap is module-wide: one launch at a time
            prepare = spawn.get_preparation_data
            spawn.get_preparation_data = _without_main(prepare)
            try:
                super()._launch(process_obj)
            finally:
                spawn.get_preparation_data = prepare


class _Process(mp_context.ForkServerProcess):
    @staticmethod
    def _Popen(process_obj):
        return _Popen(process_obj)


class _Context(mp_context.ForkServerContext):
    Process = _Process


class Pool:
    """One app's worker processes (``QDMS_PDF_WORKERS``; 0: lay out in the calling
    process): started at the first layout, shut down with the app (``pdf.init_app``)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = default_workers() if workers is None else workers
        self._executor: ProcessPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def configure(self, workers: int) -> None:
        with self._lock:
            if workers != self.workers:
                self._shutdown()
                self.workers = workers

    def shutdown(self) -> None:
        with self._lock:
            self._shutdown()

    def _shutdown(self) -> None:
        if self._executor is not None and self._pid == os.getpid():
            # wait=True, in a thread of its own so that nobody waits: Python 3.11's
            # shutdown(wait=False) drops the executor's process list while its manager
            # thread may still be replacing a worker (max_tasks_per_child), which then
            # fails with a TypeError in that thread
            threading.Thread(
                target=self._executor.shutdown,
                kwargs={"wait": True, "cancel_futures": True},
                name="qdms-pdf-pool-shutdown",
                daemon=True,
            ).start()
        self._executor = None

    def context(self) -> _Context:
        """The multiprocessing context of the workers: forked by the warm forkserver."""
        context = _Context()
        context.set_forkserver_preload(["app.pdf.warm"])
        return context

    def executor(self) -> ProcessPoolExecutor | None:
        if self.workers <= 0:
            return None
        with self._lock:
            if self._executor is None or self._pid != os.getpid():
                self._executor = ProcessPoolExecutor(
                    self.workers,
                    mp_context=self.context(),
                    max_tasks_per_child=1,
                    initializer=_exit_with_parent,
                )
                self._pid = os.getpid()
            return self._executor

    def broken(self, executor: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._executor is executor:
                self._shutdown()


def init_app(app) -> Pool:
    """The app's pool, shut down when the app goes (or the process ends)."""
    workers = app.config.get("QDMS_PDF_WORKERS")
    pool = app.extensions["qdms_pdf_pool"] = Pool(None if workers is None else int(workers))
    weakref.finalize(app, pool.shutdown)
    return pool


def pool_for(app) -> Pool | None:
    return app.extensions.get("qdms_pdf_pool")


def _current_pool() -> Pool | None:
    """The pool of the app in the caller's context; none outside one (a script that lays
    out without an app lays out in its own process)."""
    return pool_for(current_app) if has_app_context() else None


class Pending:
    """A body being laid out; ``result()`` waits for it (falling back to laying it out
    here if the worker process failed)."""

    def __init__(self, data: bytes, future: Future | None, executor=None, pool=None):
        self._data = data
        self._future = future
        self._executor = executor
        self._pool = pool
        self._layout: Layout | None = None

    def done(self) -> bool:
        return self._layout is not None or (self._future is not None and self._future.done())

    def result(self) -> Layout:
        if self._layout is None:
            if self._future is not None:
                try:
                    self._layout = self._future.result()
                except (BrokenProcessPool, OSError) as exc:
                    log.warning("PDF worker process failed (%s): laying out here", exc)
                    self._pool.broken(self._executor)
            if self._layout is None:
                self._layout = docx_body(self._data)
        return self._layout


def lay_out_docx(data: bytes) -> Pending:
    """Start laying out a .docx body in a worker process of the app's pool; returns at
    once (without a pool or workers the layout happens when the result is asked for)."""
    pool = _current_pool()
    executor = pool.executor() if pool is not None else None
    if executor is None:
        return Pending(data, None)
    try:
        return Pending(data, executor.submit(_in_child, data), executor, pool)
    except (BrokenProcessPool, OSError, RuntimeError) as exc:
        log.warning("PDF worker processes unavailable (%s): laying out here", exc)
        pool.broken(executor)
        return Pending(data, None)


# -- reading an uploaded .docx with limits ----------------------------------------------
# python-docx reads a whole part into one XML tree: a .docx whose document.xml inflates to
# 210 MB took 53 s and 1 GB in the web worker (issue 20). Uploads are read in a process of
# their own, forked warm like the layouts above, under a time limit (killed when it runs
# out) and a memory limit (``RLIMIT_AS``): a hostile file costs one short-lived child, never
# the web worker. ``app.uploads`` turns the failures into answers.


@dataclass(frozen=True)
class DocxReading:
    text: str
    page_count: int | None


class ReadFailed(Exception):
    """A .docx could not be read within the limits: ``reason`` is ``"time"``,
    ``"memory"`` or ``"damaged"``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


def _read_docx(data: bytes) -> DocxReading:
    return DocxReading(docx_io.extract_text(docx_io.open_docx(data)), docx_io.page_count(data))


def _vm(field: str) -> int:
    """``VmSize`` or ``VmPeak`` of this process, in bytes."""
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) * 1024
    return 0


def _read_in_child(conn, data: bytes, memory_bytes: int) -> None:
    limit = 0
    if memory_bytes:
        # what the warm process already maps, plus what reading may take
        limit = _vm("VmSize") + memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (limit, resource.getrlimit(resource.RLIMIT_AS)[1]))
    try:
        result = ("ok", _read_docx(data))
    except MemoryError:
        result = ("memory", "")
    except Exception as exc:  # python-docx and lxml raise many kinds on malformed files
        # lxml reports a refused allocation as a syntax error ("unknown error")
        near_limit = limit and _vm("VmPeak") > limit - 64 * 1024 * 1024
        result = ("memory" if near_limit else "damaged", f"{type(exc).__name__}: {exc}"[:300])
    conn.send(result)
    conn.close()


_READERS = threading.BoundedSemaphore(max(2, os.cpu_count() or 1))


def read_docx(
    data: bytes, *, seconds: float, memory_mb: int, in_process: bool = False
) -> DocxReading:
    """The text and saved page count of a .docx, read in a child process of the app's pool
    within ``seconds`` and ``memory_mb`` (beyond what the warm child already holds); in
    the calling process, without limits, when ``in_process`` (trusted files) or there is
    no pool or it has no workers.
    Raises :class:`ReadFailed`. At most one reading per core runs at once; a reading that
    cannot start within ``seconds`` fails as ``"time"``."""
    pool = None if in_process else _current_pool()
    if pool is None or pool.workers <= 0:
        try:
            return _read_docx(data)
        except MemoryError as exc:
            raise ReadFailed("memory") from exc
        except Exception as exc:  # as in _read_in_child
            raise ReadFailed("damaged", f"{type(exc).__name__}: {exc}"[:300]) from exc
    deadline = time.monotonic() + seconds
    if not _READERS.acquire(timeout=seconds):
        raise ReadFailed("time", "every reader busy")
    try:
        context = pool.context()
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(
            target=_read_in_child, args=(sender, data, memory_mb * 1024 * 1024), daemon=True
        )
        process.start()
        sender.close()
        try:
            if not receiver.poll(max(deadline - time.monotonic(), 0.1)):
                raise ReadFailed("time", f"over {seconds} s")
            status, value = receiver.recv()
        except EOFError as exc:  # the child died: the kernel refused it memory
            raise ReadFailed("memory", f"exit code {process.exitcode}") from exc
        finally:
            receiver.close()
            if process.is_alive():
                process.kill()
            process.join(5)
    finally:
        _READERS.release()
    if status != "ok":
        raise ReadFailed(status, value)
    return value
