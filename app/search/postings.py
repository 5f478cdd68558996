"""Compiled postings: each segment's posting lists of the searched fields, decoded once
and kept beside the segment as flat arrays that every process maps into memory.

Whoosh stores a posting list as zlib-compressed pickles of 128 postings (document
numbers, weights and positions together), so reading one costs about 0.6 µs a posting
however it is read: a common word in a 100,000-item index is 50,000 postings, 30 ms, for
every query that has not met it before (docs/PERFORMANCE.md). A Whoosh segment never
changes, so its posting lists can be decoded once, when it is written, into

    <segment id>.qdms-ids      int32 document numbers (within the segment), term after term
    <segment id>.qdms-weights  float32 weights (term frequency × field boost), aligned
    <segment id>.qdms-terms    pickle: {(field, text): (start, count)}, written last

which ``numpy.memmap`` reads without decoding (the page cache is shared by every worker
process). Positions stay in Whoosh's files: only phrases need them, for few documents.

``compile_segments`` runs after every commit (``qdms reindex``, the sync after a
database commit) for the segments that have no compiled postings yet, and removes those of
segments merged away. A segment without them (being compiled, or compiled by an older
qdms) is read from Whoosh's blocks instead: same results, slower.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
import zlib
from collections import OrderedDict
from pathlib import Path

import numpy as np
from whoosh.filedb.filestore import FileStorage

log = logging.getLogger(__name__)

FIELDS = ("number", "title", "body")
_SUFFIXES = (".qdms-ids", ".qdms-weights", ".qdms-terms")
FORMAT = 1  # bump when the layout changes: older files are recompiled


def read_term(reader, field: str, text: str | bytes, values: bool = False):
    """One posting list of one segment, deleted documents included: (document numbers
    as a sorted int32 array, float32 weights, and the encoded values (positions) when
    ``values``, else None). Whoosh's blocks are unpickled whole, not walked a posting at
    a time."""
    try:
        matcher = reader.postings(field, text)
    except Exception:  # TermNotFound, or a field this segment lacks
        return np.empty(0, np.int32), np.empty(0, np.float32), [] if values else None
    raw = getattr(matcher, "child", matcher)  # without the deletions wrapper
    id_parts, weight_parts, value_parts = [], [], []
    blocks = hasattr(raw, "_read_data") and hasattr(raw, "_next_block") and not raw._byteids
    if blocks and values and not (raw._fixedsize is None or raw._fixedsize < 0):
        blocks = False  # fixed-size values (not those of the searched fields)
    if blocks:
        while raw.is_active():
            data = raw._postfile.get(raw._dataoffset, raw._nextoffset - raw._dataoffset)
            ids, weights, vals = pickle.loads(  # noqa: S301 (our own index files)
                zlib.decompress(data) if raw._compression else data
            )
            block = np.cumsum(ids, dtype=np.int64)  # each block's gaps start from 0
            id_parts.append(block)
            if weights is None or isinstance(weights, float):
                weight_parts.append(np.full(len(block), 1.0 if weights is None else weights))
            else:
                weight_parts.append(np.asarray(weights, dtype=np.float32))
            if values:
                value_parts.extend(vals)
            raw._next_block()
    else:  # an inlined single posting, or another codec: one posting at a time
        ids_list, weights_list = [], []
        while raw.is_active():
            ids_list.append(raw.id())
            weights_list.append(raw.weight())
            if values:
                value_parts.append(raw.value())
            raw.next()
        id_parts.append(np.asarray(ids_list, dtype=np.int64))
        weight_parts.append(np.asarray(weights_list, dtype=np.float32))
    ids = np.concatenate(id_parts).astype(np.int32) if id_parts else np.empty(0, np.int32)
    weights = (
        np.concatenate(weight_parts).astype(np.float32) if weight_parts else np.empty(0, np.float32)
    )
    return ids, weights, (value_parts if values else None)


def _paths(folder: Path, segment_id: str) -> tuple[Path, Path, Path]:
    return tuple(folder / f"{segment_id}{suffix}" for suffix in _SUFFIXES)  # type: ignore[return-value]


def compile_segment(reader, folder: Path) -> int:
    """Write the compiled postings of the segment ``reader`` reads; returns the number
    of postings. Files are written under temporary names and renamed, the terms file
    last: a reader sees all three or none."""
    segment_id = reader.segment().segment_id()
    final = _paths(folder, segment_id)
    tmp = [p.with_name(f"{p.name}.{os.getpid()}.tmp") for p in final]
    terms: dict[tuple[str, str], tuple[int, int]] = {}
    start = 0
    try:
        with open(tmp[0], "wb") as ids_out, open(tmp[1], "wb") as weights_out:
            for field in FIELDS:
                if field not in reader.schema:
                    continue
                for text in reader.lexicon(field):
                    ids, weights, _ = read_term(reader, field, text)
                    ids_out.write(ids.tobytes())
                    weights_out.write(weights.tobytes())
                    terms[(field, text.decode("utf-8"))] = (start, len(ids))
                    start += len(ids)
        with open(tmp[2], "wb") as terms_out:
            pickle.dump({"format": FORMAT, "terms": terms}, terms_out, protocol=5)
        for src, dst in zip(tmp, final, strict=True):
            os.replace(src, dst)
    finally:
        for path in tmp:
            path.unlink(missing_ok=True)
    return start


def compile_segments(folder: Path, max_docs: int | None = None) -> int:
    """Compile the segments of the index in ``folder`` that have no compiled postings;
    remove the files of segments no longer in it. Returns the number of segments
    compiled; segments of more than ``max_docs`` documents are left for later. Called
    after a commit: a failure here is logged, never raised (searches
    fall back to Whoosh's blocks).

    The index is opened without memory-mapping: reading every posting through a map
    would leave the whole postings file resident in this process (10 s and 940 MB peak
    for 100,000 items mapped; 86 MB read)."""
    folder = Path(folder)
    compiled = 0
    try:
        ix = FileStorage(str(folder), supports_mmap=False).open_index()
        segments = ix._segments()  # the table of contents only: no segment opened
        live = {seg.segment_id() for seg in segments}
        todo = {
            seg.segment_id()
            for seg in segments
            if (max_docs is None or seg.doc_count_all() <= max_docs)
            and not _paths(folder, seg.segment_id())[2].exists()
        }
        if todo:  # most commits: one new small segment; none after a no-op
            with ix.reader() as reader:
                for r, _offset in reader.leaf_readers():
                    if r.segment() is not None and r.segment().segment_id() in todo:
                        compile_segment(r, folder)
                        compiled += 1
        for path in folder.iterdir():
            name = path.name
            if name.endswith(_SUFFIXES) and name.rsplit(".", 1)[0] not in live:
                path.unlink(missing_ok=True)  # a process still mapping it keeps its pages
    except Exception as exc:  # see the docstring: the index itself is committed
        log.warning("search: compiling postings failed (searches read Whoosh's blocks): %s", exc)
    return compiled


class Compiled:
    """The compiled postings of one segment, mapped read-only."""

    def __init__(self, folder: Path, segment_id: str):
        ids_path, weights_path, terms_path = _paths(folder, segment_id)
        with open(terms_path, "rb") as fh:
            header = pickle.load(fh)  # noqa: S301 (our own index files)
        if header.get("format") != FORMAT:
            raise ValueError(f"compiled postings of format {header.get('format')}")
        self.terms: dict[tuple[str, str], tuple[int, int]] = header["terms"]
        total = sum(count for _start, count in self.terms.values())
        self.ids = np.memmap(ids_path, dtype=np.int32, mode="r") if total else None
        self.weights = np.memmap(weights_path, dtype=np.float32, mode="r") if total else None
        if total and (len(self.ids) != total or len(self.weights) != total):
            raise ValueError("compiled postings of the wrong length")

    def get(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        start, count = self.terms.get((field, text), (0, 0))
        if not count:
            return np.empty(0, np.int32), np.empty(0, np.float32)
        return self.ids[start : start + count], self.weights[start : start + count]


_OPEN: OrderedDict[tuple[str, str], Compiled | None] = OrderedDict()
_OPEN_MAX = 64
_lock = threading.Lock()


def compiled_for(folder: Path | None, segment_id: str) -> Compiled | None:
    """The compiled postings of a segment, or None when it has none (yet): a missing one
    is looked for again on the next call."""
    if folder is None:
        return None
    key = (str(folder), segment_id)
    with _lock:
        if key in _OPEN:
            _OPEN.move_to_end(key)
            return _OPEN[key]
    try:
        found = Compiled(Path(folder), segment_id)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, pickle.UnpicklingError, EOFError) as exc:
        log.warning("search: compiled postings of %s unreadable: %s", segment_id, exc)
        found = None
    with _lock:
        _OPEN[key] = found
        while len(_OPEN) > _OPEN_MAX:
            _OPEN.popitem(last=False)
    return found
