"""Rendered PDFs kept in ``docs_store/pdf-cache``: derived data, safe to delete.

A key is the SHA-256 of everything that went into the PDF (as canonical JSON) and the
template version, so a changed input or template is a different key, never a stale hit.
Writes are atomic (temp file + rename); a half-written or unreadable entry is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

from app.pdf.render import TEMPLATE_VERSION


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
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        return data if data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF") else None

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def clear(self) -> None:
        """Forget every rendered PDF (after a destruction: a PDF may hold what was
        destroyed). Entries are derived data; they are rendered again when asked for."""
        shutil.rmtree(self.root, ignore_errors=True)
