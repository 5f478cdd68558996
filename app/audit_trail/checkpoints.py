"""Checkpoints of the chain head, kept outside the database.

At every ``qdms sweep`` the chain head (the newest event's number and hash, and where the
keyed events start) is written, sealed with the audit key, as one line appended to
``audit/checkpoints.jsonl`` in docs_store, and mailed to the quality officers. ``qdms
verify`` reads the file back: every checkpoint must name an event of the chain as it is
now, so a trail rewritten whole (every later hash recomputed, or the newest events
removed and the head moved back) no longer matches the file, nor the officers' mail.
Flask-free: callers pass the file's path.
"""

from __future__ import annotations

import hmac
import json
import os
from pathlib import Path

from sqlalchemy.orm import Session

from app.audit_trail.models import ChainHead
from app.audit_trail.services import Checkpoint, mac
from app.extensions import utcnow

FILE = Path("audit") / "checkpoints.jsonl"


def path_in(store_root: str | os.PathLike) -> Path:
    """Where the checkpoints of the trail live under the docs_store root."""
    return Path(store_root) / FILE


def write(session: Session, path: Path) -> Checkpoint:
    """Append a sealed checkpoint of the chain head as it is in ``session``'s snapshot
    (committed data only: call it outside a transaction that appends), fsynced; when the
    head has not moved since the newest checkpoint, that one (nothing is written)."""
    head = session.get(ChainHead, 1)
    found, _problems = read(path)
    if found and (found[-1].seq, found[-1].hash) == (head.last_seq, head.last_hash):
        return found[-1]
    payload = {
        "seq": head.last_seq,
        "hash": head.last_hash,
        "keyed_from": head.keyed_from,
        "written_at": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    line = json.dumps({**payload, "mac": mac("checkpoint", payload)}, sort_keys=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
    with os.fdopen(fd, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return Checkpoint(**payload, where=f"{path.name} line {_count_lines(path)}")


def read(path: Path) -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints in ``path`` whose seal is right, and one problem per line that is
    not (edited, or not written with this instance's audit key). No file: none."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return [], []
    found, problems = [], []
    for number, line in enumerate(lines, start=1):
        where = f"{path.name} line {number}"
        try:
            data = json.loads(line)
            payload = {k: data[k] for k in ("seq", "hash", "keyed_from", "written_at")}
            sealed = hmac.compare_digest(str(data["mac"]), mac("checkpoint", payload))
        except (ValueError, KeyError, TypeError):
            sealed = False
        if not sealed:
            problems.append(f"checkpoint {where} was altered: its seal does not match")
            continue
        found.append(Checkpoint(**payload, where=where))
    return found, problems


def _count_lines(path: Path) -> int:
    with path.open("rb") as fh:
        return sum(1 for _ in fh)
