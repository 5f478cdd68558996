"""Compiled postings: each segment's posting lists of the searched fields, decoded once
and kept beside the segment as flat arrays that every process maps into memory — and the
segment's Chinese bigrams, which Whoosh does not index at all.

Whoosh stores a posting list as zlib-compressed pickles of 128 postings (document
numbers, weights and positions together), so reading one costs about 0.6 µs a posting
however it is read: a common word in a 100,000-item index is 50,000 postings, 30 ms, for
every query that has not met it before (measured in issue 6). A Whoosh segment never
changes, so its posting lists can be decoded once, when it is written, into

    <segment id>.qdms-ids        int32 document numbers (within the segment), posting
                                 after posting: the words' term after term, then the
                                 bigrams' section after section, key after key
    <segment id>.qdms-starts     int64, one more than postings: posting g's positions are
                                 positions[starts[g]:starts[g + 1]] (a word's weight is
                                 their count × its field's boost)
    <segment id>.qdms-positions  int32 positions, posting after posting
    <segment id>.qdms-gramkeys   uint32 bigram keys (first character << 16 | second),
                                 sorted within each section of documents
    <segment id>.qdms-gramterms  int64, one more than keys: the first posting of each key
    <segment id>.qdms-terms      pickle: {(field, text): (first posting, count)}, the
                                 bigram sections and the fields' boosts; written last

which ``numpy.memmap`` reads without decoding (the page cache is shared by every worker
process): a term query slices the ids, a phrase gathers the positions of its candidates
(``Postings.positions_at``) and matches them with array operations (``query._Segment``).

**Bigrams** (``query.Substring``: any Chinese string of two or more characters of a title
or text is found): every pair of adjacent Han characters of the stored title and text, at
the offset of its first character in ``title + "\n" + text``. Whoosh would index them a
posting at a time in Python (the index took four times as long); here they are computed
from the stored text with numpy, a section of documents at a time (``_gram_sections``:
memory stays bounded), sorted by key. A key's postings are its slices in every section,
in document order.

``compile_segments`` runs after every commit (``qdms reindex``, the sync after a
database commit) for the segments that have no compiled postings yet, and removes those of
segments merged away. A segment without them (being compiled, or compiled by an older
qdms) is read from Whoosh's blocks, its strings found by reading its stored text: same
results, slower.

**Whoosh's private format.** Reading blocks, lengths and segments uses Whoosh internals
(``PRIVATE``); whoosh-reloaded is pinned to the version they were written against, and
``private_ok`` checks once per process, on a small index in a temporary folder, that
they are there and read what Whoosh's public matchers read. If not, it logs a warning and
the search is answered by Whoosh's own matchers and scorer (``query``), and nothing is
compiled.
"""

from __future__ import annotations

import importlib
import logging
import os
import pickle
import tempfile
import threading
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.filedb.filestore import FileStorage

from app.search.schema import make_schema

log = logging.getLogger(__name__)

FIELDS = ("number", "title", "body", "grams")
_SUFFIXES = (
    ".qdms-ids",
    ".qdms-starts",
    ".qdms-positions",
    ".qdms-gramkeys",
    ".qdms-gramterms",
    ".qdms-terms",
)
_OLD_SUFFIXES = (".qdms-weights",)  # format 1: removed with their segment's other files
FORMAT = 2  # bump when the layout changes: older files are recompiled

# What app.search reads of whoosh-reloaded 2.7.5 beyond its public API (checked by
# ``private_ok``): a posting list's blocks, the lengths column, deletions, segments.
PRIVATE = {
    "whoosh.codec.whoosh3": ("LENGTHS_COLUMN", "_lenfield"),
    "whoosh.codec.whoosh3.W3LeafMatcher": ("_read_data", "_next_block"),
    "whoosh.codec.whoosh3.W3PerDocReader": ("_cached_reader",),
    "whoosh.reading.SegmentReader": ("deleted_docs_set",),
    "whoosh.index.FileIndex": ("_segments",),
}
# ... and attributes of instances (a leaf matcher's block, a reader's per-document
# reader), looked for on real ones by the self-test.
MATCHER_ATTRIBUTES = (
    "_postfile",
    "_dataoffset",
    "_nextoffset",
    "_compression",
    "_byteids",
    "_fixedsize",
)


@dataclass
class Postings:
    """One term's posting list in one segment, deleted documents included: sorted
    document numbers, weights (words; None for bigrams), and where each posting's
    positions are in ``positions`` (``lo`` to ``hi``; when read with them)."""

    ids: np.ndarray  # int32
    weights: np.ndarray | None
    lo: np.ndarray | None = None  # int64, aligned with ids
    hi: np.ndarray | None = None
    positions: np.ndarray | None = None  # int32

    def positions_at(self, at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(count per posting, their positions one after the other) of the postings at
        indices ``at`` (sorted)."""
        lo = self.lo[at]
        counts = self.hi[at] - lo
        total = int(counts.sum())
        if not total:
            return counts, np.empty(0, np.int64)
        # the index of every position wanted: each posting's run lo .. lo + count - 1
        ends = np.cumsum(counts)
        index = np.arange(total, dtype=np.int64) + np.repeat(lo - (ends - counts), counts)
        return counts, self.positions[index].astype(np.int64)


_NONE = np.empty(0, np.int64)
_EMPTY = Postings(np.empty(0, np.int32), np.empty(0, np.float32), _NONE, _NONE, _NONE)


def decode_positions(values, counts: np.ndarray) -> np.ndarray:
    """The positions of postings encoded by ``analysis.TermPositions`` (a 4-byte count,
    then 32-bit gaps), all at once: int32, posting after posting."""
    if not len(counts):
        return np.empty(0, np.int32)
    words = np.frombuffer(b"".join(values), dtype=np.uint32)
    keep = np.ones(len(words), dtype=bool)
    keep[np.cumsum(counts + 1) - (counts + 1)] = False  # each posting's count word
    gaps = words[keep].astype(np.int64)
    running = np.cumsum(gaps)
    first = np.cumsum(counts) - counts  # the index of each posting's first position
    before = np.where(first > 0, running[np.maximum(first - 1, 0)], 0)
    return (running - np.repeat(before, counts)).astype(np.int32)


def read_term(reader, field: str, text: str | bytes, positions: bool = False) -> Postings:
    """One posting list of one segment, deleted documents included (``Postings``, with
    the positions when ``positions``). Whoosh's blocks are unpickled whole, not walked a
    posting at a time."""
    try:
        matcher = reader.postings(field, text)
    except Exception:  # TermNotFound, or a field this segment lacks
        return _EMPTY
    raw = getattr(matcher, "child", matcher)  # without the deletions wrapper
    id_parts, weight_parts, values = [], [], []
    blocks = hasattr(raw, "_read_data") and hasattr(raw, "_next_block") and not raw._byteids
    if blocks and positions and not (raw._fixedsize is None or raw._fixedsize < 0):
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
            if positions:
                values.extend(vals)
            raw._next_block()
    else:  # an inlined single posting, or another codec: one posting at a time
        ids_list, weights_list = [], []
        while raw.is_active():
            ids_list.append(raw.id())
            weights_list.append(raw.weight())
            if positions:
                values.append(raw.value())
            raw.next()
        id_parts.append(np.asarray(ids_list, dtype=np.int64))
        weight_parts.append(np.asarray(weights_list, dtype=np.float32))
    if not id_parts:  # a term whose matcher holds no posting (seen after a merge)
        return _EMPTY
    ids = np.concatenate(id_parts).astype(np.int32)
    weights = np.concatenate(weight_parts).astype(np.float32)
    if not positions:
        return Postings(ids, weights)
    counts = np.fromiter((len(v) for v in values), dtype=np.int64, count=len(values)) // 4 - 1
    starts = np.zeros(len(counts) + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    return Postings(ids, weights, starts[:-1], starts[1:], decode_positions(values, counts))


def _paths(folder: Path, segment_id: str) -> tuple[Path, ...]:
    return tuple(folder / f"{segment_id}{suffix}" for suffix in _SUFFIXES)


# Characters of stored text per bigram section: about 50 bytes of temporary arrays each.
SECTION_CHARS = 3_000_000


def _is_han(cp: np.ndarray) -> np.ndarray:
    """The code points of ``analysis.CJK`` (all below 2**16: a bigram fits 32 bits)."""
    return (
        ((cp >= 0x3400) & (cp <= 0x4DBF))
        | ((cp >= 0x4E00) & (cp <= 0x9FFF))
        | ((cp >= 0xF900) & (cp <= 0xFAFF))
    )


def gram_key(pair: str) -> int:
    return ord(pair[0]) << 16 | ord(pair[1])


def stored_text(stored: dict) -> str:
    """What the bigrams of an item are taken from: its title, a line break, its text."""
    return f"{stored.get('title') or ''}\n{stored.get('body') or ''}"


def _gram_section(texts: list[str], first: int):
    """The bigram postings of documents ``first`` … (their ``stored_text``): sorted keys,
    each key's first posting, the postings' document numbers, each posting's first
    position (within this section's positions) and the positions."""
    lengths = np.fromiter((len(t) + 1 for t in texts), dtype=np.int64, count=len(texts))
    doc_starts = np.cumsum(lengths) - lengths
    cp = np.frombuffer("\0".join(texts).encode("utf-32-le"), dtype=np.uint32)
    han = _is_han(cp)
    at = np.flatnonzero(han[:-1] & han[1:])
    keys = (cp[at] << 16) | cp[at + 1]
    del cp, han
    # by key, then (stable) document and position: the low half keeps the text order
    combined = (keys.astype(np.uint64) << np.uint64(32)) | np.arange(len(keys), dtype=np.uint64)
    del keys
    combined.sort()
    order = (combined & np.uint64(0xFFFFFFFF)).astype(np.int64)
    keys = (combined >> np.uint64(32)).astype(np.uint32)
    del combined
    at = at[order]
    del order
    doc = np.searchsorted(doc_starts, at, side="right") - 1
    positions = (at - doc_starts[doc]).astype(np.int32)
    new_key = np.ones(len(keys), dtype=bool)
    new_key[1:] = keys[1:] != keys[:-1]
    new_posting = new_key.copy()
    new_posting[1:] |= doc[1:] != doc[:-1]
    posting_at = np.flatnonzero(new_posting)
    key_at = np.flatnonzero(new_key)
    return (
        keys[key_at],
        np.searchsorted(posting_at, key_at),
        (doc[posting_at] + first).astype(np.int32),
        posting_at.astype(np.int64),
        positions,
    )


def _gram_sections(reader):
    """``_gram_section`` of every ``SECTION_CHARS`` of the segment's stored text."""
    texts: list[str] = []
    first = chars = 0
    for docnum in range(reader.doc_count_all()):
        text = stored_text(reader.stored_fields(docnum))
        texts.append(text)
        chars += len(text)
        if chars >= SECTION_CHARS:
            yield _gram_section(texts, first)
            first, texts, chars = docnum + 1, [], 0
    if texts:
        yield _gram_section(texts, first)


def compile_segment(reader, folder: Path) -> int:
    """Write the compiled postings of the segment ``reader`` reads; returns the number
    of postings. Files are written under temporary names and renamed, the terms file
    last: a reader sees all of them or none. A posting whose weight is not its number of
    positions × the field's boost (not the format of ``analysis.TermPositions``) stops
    the compilation: the segment is then read from Whoosh's blocks."""
    segment_id = reader.segment().segment_id()
    final = _paths(folder, segment_id)
    tmp = [p.with_name(f"{p.name}.{os.getpid()}.tmp") for p in final]
    terms: dict[tuple[str, str], tuple[int, int]] = {}
    boosts: dict[str, float] = {}
    sections: list[tuple[int, int]] = []
    start = placed = keys = 0
    try:
        with (
            open(tmp[0], "wb") as ids_out,
            open(tmp[1], "wb") as starts_out,
            open(tmp[2], "wb") as positions_out,
            open(tmp[3], "wb") as gram_keys_out,
            open(tmp[4], "wb") as gram_terms_out,
        ):
            for field in FIELDS:
                if field not in reader.schema:
                    continue
                boost = boosts[field] = reader.schema[field].format.field_boost
                for text in reader.lexicon(field):
                    p = read_term(reader, field, text, positions=True)
                    if not np.allclose(p.weights, (p.hi - p.lo) * boost):
                        raise ValueError(f"{field}:{text!r}: weights are not counts × boost")
                    ids_out.write(p.ids.tobytes())
                    starts_out.write((p.lo + placed).tobytes())
                    positions_out.write(p.positions.tobytes())
                    terms[(field, text.decode("utf-8"))] = (start, len(p.ids))
                    start += len(p.ids)
                    placed += len(p.positions)
            for section_keys, key_first, ids, lo, positions in _gram_sections(reader):
                sections.append((keys, len(section_keys)))
                gram_keys_out.write(section_keys.tobytes())
                gram_terms_out.write((key_first + start).tobytes())
                ids_out.write(ids.tobytes())
                starts_out.write((lo + placed).tobytes())
                positions_out.write(positions.tobytes())
                keys += len(section_keys)
                start += len(ids)
                placed += len(positions)
            gram_terms_out.write(np.array([start], dtype=np.int64).tobytes())
            starts_out.write(np.array([placed], dtype=np.int64).tobytes())
        with open(tmp[5], "wb") as terms_out:
            header = {"format": FORMAT, "terms": terms, "boosts": boosts, "sections": sections}
            pickle.dump(header, terms_out, protocol=5)
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
    fall back to Whoosh's blocks). Nothing is compiled when ``private_ok`` says no.

    The index is opened without memory-mapping: reading every posting through a map
    would leave the whole postings file resident in this process (10 s and 940 MB peak
    for 100,000 items mapped; 86 MB read)."""
    if not private_ok():
        return 0
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
            and not _paths(folder, seg.segment_id())[-1].exists()
        }
        if todo:  # most commits: one new small segment; none after a no-op
            with ix.reader() as reader:
                for r, _offset in reader.leaf_readers():
                    if r.segment() is not None and r.segment().segment_id() in todo:
                        compile_segment(r, folder)
                        compiled += 1
        for path in folder.iterdir():
            name = path.name
            if name.endswith(_OLD_SUFFIXES) or (
                name.endswith(_SUFFIXES) and name.rsplit(".", 1)[0] not in live
            ):
                path.unlink(missing_ok=True)  # a process still mapping it keeps its pages
    except Exception as exc:  # see the docstring: the index itself is committed
        log.warning("search: compiling postings failed (searches read Whoosh's blocks): %s", exc)
    return compiled


class Compiled:
    """The compiled postings of one segment, mapped read-only."""

    def __init__(self, folder: Path, segment_id: str):
        paths = _paths(folder, segment_id)
        with open(paths[-1], "rb") as fh:
            header = pickle.load(fh)  # noqa: S301 (our own index files)
        if header.get("format") != FORMAT:
            raise ValueError(f"compiled postings of format {header.get('format')}")
        self.terms: dict[tuple[str, str], tuple[int, int]] = header["terms"]
        self.boosts: dict[str, float] = header["boosts"]
        self.sections: list[tuple[int, int]] = header["sections"]
        self.starts = _map(paths[1], np.int64)
        self.ids = _map(paths[0], np.int32)
        self.positions = _map(paths[2], np.int32)
        self.gram_keys = _map(paths[3], np.uint32)
        self.gram_terms = _map(paths[4], np.int64)
        self._gram_order: np.ndarray | None = None
        self._gram_sorted: np.ndarray | None = None
        keys = sum(count for _start, count in self.sections)
        if (
            len(self.starts) != len(self.ids) + 1
            or len(self.positions) != self.starts[-1]
            or len(self.gram_keys) != keys
            or len(self.gram_terms) != keys + 1
        ):
            raise ValueError("compiled postings of the wrong length")

    def get(self, field: str, text: str) -> Postings:
        start, count = self.terms.get((field, text), (0, 0))
        if not count:
            return _EMPTY
        lo = self.starts[start : start + count]
        hi = self.starts[start + 1 : start + count + 1]
        weights = ((hi - lo) * self.boosts[field]).astype(np.float32)
        return Postings(self.ids[start : start + count], weights, lo, hi, self.positions)

    def gram(self, pair: str) -> Postings:
        """The postings of one bigram (``gram_key``): its slice of every section that
        holds it, in section (so document) order."""
        if self._gram_order is None:  # every section's keys in one sorted array
            self._gram_order = np.argsort(self.gram_keys, kind="stable")
            self._gram_sorted = self.gram_keys[self._gram_order]
        key = gram_key(pair)
        first, last = np.searchsorted(self._gram_sorted, [key, key + 1])
        if first == last:
            return _EMPTY
        at = self._gram_order[first:last]  # ascending: the sections in order
        begin, end = self.gram_terms[at], self.gram_terms[at + 1]
        counts = end - begin
        index = np.arange(int(counts.sum()), dtype=np.int64)
        index += np.repeat(begin - (np.cumsum(counts) - counts), counts)
        return Postings(
            self.ids[index], None, self.starts[index], self.starts[index + 1], self.positions
        )


def _map(path: Path, dtype) -> np.ndarray:
    """A file of ``dtype`` mapped read-only, as a plain array (slicing a ``memmap`` costs
    microseconds in Python; an empty file: an empty array, mmap refuses those)."""
    if not path.stat().st_size:
        return np.empty(0, dtype)
    return np.memmap(path, dtype=dtype, mode="r").view(np.ndarray)


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
    except (OSError, ValueError, KeyError, pickle.UnpicklingError, EOFError) as exc:
        log.warning("search: compiled postings of %s unreadable: %s", segment_id, exc)
        found = None
    with _lock:
        _OPEN[key] = found
        while len(_OPEN) > _OPEN_MAX:
            _OPEN.popitem(last=False)
    return found


# -- Whoosh's private format ------------------------------------------------------------


def _missing() -> list[str]:
    missing = []
    for owner, names in PRIVATE.items():
        try:
            target = importlib.import_module(owner)
        except ImportError:
            module_name, _, class_name = owner.rpartition(".")
            try:
                target = getattr(importlib.import_module(module_name), class_name, None)
            except ImportError:
                target = None
        missing.extend(f"{owner}.{name}" for name in names if not hasattr(target, name))
    return missing


def _self_test() -> None:
    """Index three documents in a temporary folder (one deleted) and read them both ways: the block
    reader, lengths and segments this module and ``query`` use, and Whoosh's public
    matchers. Raises when anything differs or is missing."""
    # A folder of its own: Whoosh's RamStorage pools in a temporary folder named after
    # the index ("MAIN.tmp"), shared by every process that checks at the same moment.
    with tempfile.TemporaryDirectory(prefix="qdms-whoosh-check-") as folder:
        _check_in(folder)


def _check_in(folder: str) -> None:
    ix = FileStorage(folder, supports_mmap=False).create_index(make_schema())
    with ix.writer() as writer:
        for uid, body in (("a", "顾客投诉 处理 投诉"), ("b", "投诉处理程序"), ("c", "投诉 x")):
            writer.add_document(uid=uid, title="投诉", body=body)
    with ix.writer() as writer:
        writer.delete_by_term("uid", "c")
    _require([s.segment_id() for s in ix._segments()], "no segments")
    with ix.reader() as reader:
        (leaf, _offset), *_ = reader.leaf_readers()
        _require(leaf.deleted_docs_set, "deletions")
        for field, text in (("body", "投诉"), ("title", "投诉")):
            matcher = leaf.postings(field, text)
            raw = getattr(matcher, "child", matcher)
            for name in MATCHER_ATTRIBUTES:
                _require(hasattr(raw, name), f"W3LeafMatcher.{name}")
            ours = read_term(leaf, field, text, positions=True)
            public = []
            raw = leaf.postings(field, text)  # the public matcher (deletions skipped)
            while raw.is_active():
                public.append((raw.id(), raw.weight(), raw.value_as("positions")))
                raw.next()
            pairs = zip(ours.ids.tolist(), ours.weights.tolist(), strict=True)
            mine = [
                (d, w, ours.positions[ours.lo[i] : ours.hi[i]].tolist())
                for i, (d, w) in enumerate(pairs)
                if d not in leaf.deleted_docs_set
            ]
            _require(mine == public, f"{field}: {mine} != {public}")
        _require(hasattr(leaf, "_perdoc"), "SegmentReader._perdoc")
        column = leaf._perdoc._cached_reader(_lenfield("body"), LENGTHS_COLUMN)
        lengths = [column[d] for d in range(leaf.doc_count_all())]
        _require(len(lengths) == 3 and all(lengths[:2]), "lengths")


def _require(condition: bool, what: str) -> None:
    if not condition:
        raise RuntimeError(what)


@cache
def private_ok() -> bool:
    """Whether this process may read Whoosh's private format (see the module docstring).
    Checked once; a failure is logged once."""
    missing = _missing()
    if not missing:
        try:
            _self_test()
        except Exception as exc:  # anything at all: Whoosh is not what we were written for
            missing = [f"self-test failed ({exc.__class__.__name__}: {exc})"]
    if missing:
        log.warning(
            "search: whoosh-reloaded is not the version qdms reads (missing: %s); queries "
            "are answered by Whoosh's own matchers (slower), postings are not compiled",
            ", ".join(missing),
        )
        return False
    return True
