"""Rendered PDFs kept in ``docs_store/pdf-cache``: derived data, safe to delete.

A key is the SHA-256 of everything that went into the PDF (as canonical JSON) and the
template version, so a changed input or template is a different key, never a stale hit.
Writes are atomic (temp file + rename); a half-written or unreadable entry is a miss.

Each entry ends with a seal: an HMAC, with the audit key (``use_key``, set from
``QDMS_AUDIT_KEY`` by ``app.pdf.init_app``), of its key and its bytes. An entry whose seal
does not match (a file replaced in the cache: a forged body inside a genuine cover) is
logged, removed and rendered again; ``check`` lists them for ``qdms check``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import re
import shutil
import tempfile
from pathlib import Path

from app.pdf.render import TEMPLATE_VERSION

log = logging.getLogger(__name__)

_KEY: list[bytes] = []  # the audit key of this process, at most one
_SEAL = re.compile(rb"\n%qdms-seal ([0-9a-f]{64})\n\Z")
_ENTRY = re.compile(r"^[0-9a-f]{64}$")


def use_key(key: str | bytes) -> None:
    """Seal cache entries with ``key`` (the app's QDMS_AUDIT_KEY)."""
    _KEY[:] = [key.encode("utf-8") if isinstance(key, str) else bytes(key)]


def _seal(key: str, data: bytes) -> str:
    if not _KEY:
        raise RuntimeError("the PDF cache's key is not set (app.pdf.cache.use_key)")
    message = f"pdf-cache:{key}:{hashlib.sha256(data).hexdigest()}".encode()
    return hmac.new(_KEY[0], message, hashlib.sha256).hexdigest()


class PdfCache:
    def __init__(self, store_root: str | os.PathLike):
        self.root = Path(store_root) / "pdf-cache"

    @staticmethod
    def key(*parts) -> str:
        payload = json.dumps(
            [TEMPLATE_VERSION, *parts], sort_keys=True, ensure_ascii=False, default=str
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.pdf"

    def get(self, key: str) -> bytes | None:
        """The cached PDF, or None: absent, incomplete, or not matching its seal (then
        logged and removed, so the caller renders it again)."""
        path = self._path(key)
        try:
            stored = path.read_bytes()
        except FileNotFoundError:
            return None
        data = self._verified(key, stored)
        if data is None:
            log.warning("PDF cache entry %s does not match its seal: removed, rendered again", key)
            path.unlink(missing_ok=True)
        return data

    @staticmethod
    def _verified(key: str, stored: bytes) -> bytes | None:
        match = _SEAL.search(stored)
        if match is None:
            return None
        data = stored[: match.start()]
        if not (data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")):
            return None
        sealed = hmac.compare_digest(match.group(1).decode(), _seal(key, data))
        return data if sealed else None

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.write(f"\n%qdms-seal {_seal(key, data)}\n".encode())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def check(self) -> tuple[int, list[str]]:
        """Every entry against its seal (``qdms check``): how many were checked, and the
        keys of those that do not match (they are rendered again when next asked for)."""
        checked, bad = 0, []
        for path in sorted(self.root.glob("*/*.pdf")):
            key = path.stem
            if not _ENTRY.match(key):
                continue
            checked += 1
            try:
                stored = path.read_bytes()
            except FileNotFoundError:  # removed meanwhile (a destruction clears the cache)
                continue
            if self._verified(key, stored) is None:
                bad.append(key)
        return checked, bad

    def clear(self) -> None:
        """Forget every rendered PDF (after a destruction: a PDF may hold what was
        destroyed). Entries are derived data; they are rendered again when asked for."""
        shutil.rmtree(self.root, ignore_errors=True)
