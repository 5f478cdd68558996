"""From what a person types to a page of results (Whoosh stays behind this module).

- ``parse``: a forgiving parser — words (all required), ``"phrases"``, ``AND`` / ``OR`` /
  ``NOT``, parentheses, over number, title and text (number and title weigh more).
  Numbers and designations (``QP-CS-001``, ``GB/T 19001-2016``) become phrases of their
  parts, so they match whole. Field syntax, wildcards, ranges and boosts are not offered
  (a colon or an asterisk in what people paste must not change the meaning). Anything
  the parser cannot read falls back to the plain words of the query: never an error.
- ``run``: the permission filter and the facet filters are applied inside Whoosh, before
  paging and before the facet counts; highlighted snippets are cut from the stored text
  cheaply (``snippet``); "did you mean" is offered for English words the index does not
  know.
"""

from __future__ import annotations

import html
import pickle
import re
import threading
from bisect import bisect_right
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import accumulate

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.qparser import MultifieldParser, QueryParserError, plugins
from whoosh.util.numeric import byte_to_length

from app.search import postings
from app.search.analysis import CJK, stem, terms, words

SEARCH_FIELDS = ("number", "title", "body")
FACETS = ("kind", "type", "department", "status", "year")
# A designation: letters/digits joined by - / . (QP-CS-001, GB/T, 19001-2016, 7.5.3).
_NUMBER = re.compile(r"(?<![\w\"])[^\W_]+(?:[-/.][^\W_]+)+(?![\w\"])")
_SYNTAX = re.compile(r"[\"()\[\]{}:*?^~+\\]|(?<!\w)-|\b(?:AND|OR|NOT|ANDNOT|ANDMAYBE)\b")


@dataclass
class Filters:
    """What the reader may see (``scopes`` None: everything) and what they narrowed to."""

    scopes: list[str] | None
    include_history: bool = False
    selected: dict[str, str] = field(default_factory=dict)  # facet → value


@dataclass
class Hit:
    kind: str
    item_id: int
    number: str
    title: str
    label: str
    url: str
    status: str
    type: str
    department: str
    year: str
    date: object
    score: float
    snippet: str  # safe HTML: escaped text with <mark> around the matches


@dataclass
class Results:
    query: str
    total: int
    page: int
    per_page: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]
    suggestion: str | None = None
    fell_back: bool = False  # the query's syntax was not understood: plain words used


def _parser(schema):
    parser = MultifieldParser(
        list(SEARCH_FIELDS), schema, fieldboosts={"number": 4.0, "title": 2.5, "body": 1.0}
    )
    for plugin in (
        plugins.FieldsPlugin,
        plugins.WildcardPlugin,
        plugins.RangePlugin,
        plugins.BoostPlugin,
        plugins.EveryPlugin,
        plugins.SingleQuotePlugin,
    ):
        parser.remove_plugin_class(plugin)
    return parser


def _quote_numbers(text: str) -> str:
    """Wrap designations in quotes (outside existing quotes) so they are phrases."""
    parts = text.split('"')
    for i in range(0, len(parts), 2):  # even parts are outside quotes
        parts[i] = _NUMBER.sub(lambda m: f'"{m.group()}"', parts[i])
    return '"'.join(parts)


def plain(text: str):
    """The fallback: every word of ``text`` required, syntax characters ignored."""
    cleaned = _SYNTAX.sub(" ", text)
    clauses = []
    for token in cleaned.split():
        texts = terms(token, query=True)
        if not texts:
            continue
        per_field = [
            wq.And([wq.Term(f, t) for t in texts]) if len(texts) > 1 else wq.Term(f, texts[0])
            for f in SEARCH_FIELDS
        ]
        clauses.append(wq.Or(per_field))
    return wq.And(clauses) if clauses else wq.NullQuery


def _has_error(q) -> bool:
    if isinstance(q, wq.Query) and q.__class__.__name__ == "ErrorQuery":
        return True
    return any(_has_error(c) for c in q.children()) if hasattr(q, "children") else False


def parse(schema, text: str) -> tuple[object, bool]:
    """(query, fell_back). Never raises."""
    text = text.strip()
    if not text:
        return wq.NullQuery, False
    try:
        q = _parser(schema).parse(_quote_numbers(text))
    except (QueryParserError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return plain(text), True
    if q is wq.NullQuery or _has_error(q):
        return plain(text), True
    return q, False


_MASKS_MAX = 128


def _cache(searcher, key: tuple, make):
    """Masks cached on the searcher (which is replaced when the index changes)."""
    cache = getattr(searcher, "qdms_masks", None)
    if cache is None or len(cache) > _MASKS_MAX:
        cache = searcher.qdms_masks = {}
    found = cache.get(key)
    if found is None:
        found = cache[key] = make()
    return found


def _docset(searcher, field: str, value: str) -> np.ndarray:
    """The documents holding one term, as a mask over the searcher's documents."""

    def make():
        mask = np.zeros(searcher.doc_count_all(), dtype=bool)
        mask[np.fromiter(searcher.docs_for_query(wq.Term(field, value)), dtype=np.int64)] = True
        return mask

    return _cache(searcher, ("term", field, value), make)


def _allowed(searcher, filters: Filters) -> np.ndarray | None:
    """The documents the reader may see and narrowed to (a mask over the searcher's
    documents), or None for all of them."""
    selected = tuple(sorted(filters.selected.items()))
    if filters.scopes is None and filters.include_history and not selected:
        return None

    def make():
        allowed = np.ones(searcher.doc_count_all(), dtype=bool)
        if filters.scopes is not None:
            allowed = np.zeros_like(allowed)
            for scope in filters.scopes:
                allowed |= _docset(searcher, "scope", scope)
        if not filters.include_history:
            allowed &= _docset(searcher, "live", "1")
        for name, value in selected:
            allowed &= _docset(searcher, name, value)
        return allowed

    scopes = None if filters.scopes is None else tuple(sorted(filters.scopes))
    return _cache(searcher, ("allowed", scopes, filters.include_history, selected), make)


def _highlight_pattern(query_terms: set[str]) -> re.Pattern | None:
    alternatives = []
    for t in sorted(query_terms, key=len, reverse=True):
        if CJK.search(t):
            alternatives.append(re.escape(t))
        elif t.isdigit():
            alternatives.append(rf"(?<!\d){re.escape(t)}(?!\d)")
        elif t.endswith("i"):  # Porter turns a final y into i: strictly → strictli
            alternatives.append(rf"\b{re.escape(t[:-1])}[iy][^\W\d_]*")
        else:  # a stem: the words it came from start with it (action → actions)
            alternatives.append(rf"\b{re.escape(t)}[^\W\d_]*")
    if not alternatives:
        return None
    return re.compile("|".join(alternatives), re.IGNORECASE)


def snippet(text: str, pattern: re.Pattern | None, width: int = 160) -> str:
    """The passage of ``text`` with the most matches in ``width`` characters, escaped,
    matches in ``<mark>``. Regular expressions over the stored text: no second analysis
    of the document (Whoosh's highlighter re-tokenizes it, a jieba pass per hit)."""
    if not text:
        return ""
    if pattern is None:
        return html.escape(text[:width]) + ("…" if len(text) > width else "")
    matches = [(m.start(), m.end()) for m in pattern.finditer(text, 0, 200_000)]
    if not matches:
        return html.escape(text[:width]) + ("…" if len(text) > width else "")
    best, best_count, j = 0, 0, 0
    for i, (start, _end) in enumerate(matches):
        while matches[j][0] < start - width + 20:
            j += 1
        count = i - j + 1
        if count > best_count:
            best, best_count = j, count
    begin = max(0, matches[best][0] - 30)
    end = min(len(text), begin + width)
    out, pos = [], begin
    for start, stop in matches:
        if start < begin or stop > end:
            continue
        out.append(html.escape(text[pos:start]))
        out.append(f"<mark>{html.escape(text[start:stop])}</mark>")
        pos = stop
    out.append(html.escape(text[pos:end]))
    body = "".join(out).replace("\n", " ")
    return ("…" if begin > 0 else "") + body + ("…" if end < len(text) else "")


def _query_terms(q) -> set[str]:
    try:
        return {text for fieldname, text in q.iter_all_terms() if fieldname in SEARCH_FIELDS}
    except AttributeError:
        return set()


def suggest(searcher, text: str) -> str | None:
    """ "Did you mean": the query with each English word the index does not know replaced
    by the closest known word (edit distance ≤ 2, the most frequent), or None."""
    reader = searcher.reader()
    changed = False
    out = text
    for word in dict.fromkeys(words(text)):
        if len(word) < 3 or not word.isascii() or not word.isalpha():
            continue
        term = stem(word)
        if any(reader.doc_frequency(f, term) for f in ("title", "body")):
            continue
        candidates = set()
        for distance in (1, 2):
            candidates = set(reader.terms_within("body", term, distance, prefix=1))
            if candidates:
                break
        if not candidates:
            continue
        best = max(candidates, key=lambda c: (reader.doc_frequency("body", c), c))
        surface = _surface_form(searcher, best, word) or best
        out = re.sub(rf"\b{re.escape(word)}\b", surface, out, flags=re.IGNORECASE)
        changed = True
    return out if changed else None


def _surface_form(searcher, term: str, typed: str) -> str | None:
    """The word of a document with the stem ``term`` closest to what was ``typed`` (the
    index holds stems only: "complaint" and "complaints" are both "complaint")."""
    forms: set[str] = set()
    docnums: list[int] = []
    for name in ("title", "body"):  # three documents holding it, unscored
        if not searcher.reader().doc_frequency(name, term):
            continue
        matcher = searcher.reader().postings(name, term)
        while matcher.is_active() and len(docnums) < 3:
            if matcher.id() not in docnums:
                docnums.append(matcher.id())
            matcher.next()
    for docnum in docnums:
        stored = searcher.stored_fields(docnum)
        text = stored.get("title", "") + " " + stored.get("body", "")[:50_000]
        forms.update(w for w in words(text) if stem(w) == term)
    if not forms:
        return None
    return max(sorted(forms), key=lambda w: SequenceMatcher(None, typed, w).ratio())


_COLUMNS: dict[tuple[str, str, str], object] = {}
_COLUMNS_MAX = 256  # (segment, field) columns kept: segments are immutable, so are these


def _cached(reader, name: str, kind: str, make):
    segment = reader.segment()
    if segment is None:  # an empty index
        return make()
    key = (segment.segment_id(), name, kind)
    found = _COLUMNS.get(key)
    if found is None:
        if len(_COLUMNS) >= _COLUMNS_MAX:
            _COLUMNS.clear()
        found = _COLUMNS[key] = make()
    return found


def _codes(reader, name: str) -> tuple[np.ndarray, list[str]]:
    """A sortable field of one segment, read once (a segment never changes; deletions
    are applied to the matches), as a code per document and the value of each code:
    facets are counted with ``bincount`` over the codes of the matches."""

    def make():
        index: dict[str, int] = {}
        codes = np.fromiter(
            (
                index.setdefault(v.decode("utf-8") if isinstance(v, bytes) else str(v), len(index))
                for v in reader.column_reader(name, translate=False)
            ),
            dtype=np.int32,
            count=reader.doc_count_all(),
        )
        return codes, list(index)

    return _cached(reader, name, "codes", make)


def _dates(reader) -> np.ndarray:
    """Each document's date as a number (0: none), for sorting by date."""

    def make():
        column = reader.column_reader("date", translate=False)
        return np.array([v or 0 for v in column], dtype=np.int64)

    return _cached(reader, "date", "values", make)


def _lengths(reader, name: str) -> np.ndarray | None:
    """Every document's length of field ``name`` in one segment (BM25 needs it per
    match; Whoosh reads it one document at a time), cached like the columns."""

    def make():
        try:
            column = reader._perdoc._cached_reader(_lenfield(name), LENGTHS_COLUMN)
        except AttributeError:  # another codec: no lengths, BM25 without them
            return None
        if column is None:
            return None
        table = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
        return table[np.fromiter(column, dtype=np.uint8, count=reader.doc_count_all())]

    return _cached(reader, name, "lengths", make)


class _PostingsCache:
    """Decoded posting lists (document numbers and weights) of recently searched terms
    of segments whose postings are not compiled (app.search.postings), by segment: a
    segment never changes, so an entry stays right after the index changes (new segments
    are new keys). Bounded by the number of postings held (8 bytes each); least recently
    used first out. Shared by the threads of a process."""

    def __init__(self, budget: int = 4_000_000):
        self.budget = budget
        self.held = 0
        self._entries: OrderedDict[tuple, tuple[np.ndarray, np.ndarray]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[np.ndarray, np.ndarray] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, ids: np.ndarray, weights: np.ndarray) -> None:
        with self._lock:
            if key not in self._entries and len(ids) <= self.budget // 4:
                self._entries[key] = (ids, weights)
                self.held += len(ids)
                while self.held > self.budget:
                    _key, (old, _w) = self._entries.popitem(last=False)
                    self.held -= len(old)


_POSTINGS = _PostingsCache()


def _positions(value: bytes) -> list[int]:
    """Whoosh's Positions encoding (a count, then the pickled gaps), decoded."""
    data = value[4:] if value.endswith(b".") else value[4:] + b"."
    return list(accumulate(pickle.loads(data)))  # noqa: S301 (our own index files)


# BM25F, as Whoosh's default weighting computes it (B, K1 as in whoosh.scoring.BM25F).
_B, _K1 = 0.75, 1.2
_EMPTY = np.empty(0, dtype=np.int64)


class _Segment:
    """One query over one segment of the index, evaluated on arrays: each posting list
    the query needs comes from the segment's compiled postings (app.search.postings:
    mapped, nothing to decode) or is read once from Whoosh's blocks, and serves the
    boolean match (sorted arrays of document numbers), the phrase check (positions, only
    for documents the reader may see) and the BM25F scores of the matches."""

    def __init__(self, searcher, leaf, offset: int, allowed: np.ndarray | None):
        self.searcher = searcher
        self.leaf = leaf
        self.reader = leaf.reader()
        self.offset = offset
        self.size = self.reader.doc_count_all()
        segment = self.reader.segment()  # None in an empty index
        self.segment_id = segment.segment_id() if segment is not None else ""
        folder = getattr(searcher, "qdms_folder", None)
        self.compiled = postings.compiled_for(folder, self.segment_id) if segment else None
        # What the reader may see, as a mask over this segment's documents (None: all).
        self.allowed = None if allowed is None else allowed[offset : offset + self.size]
        self.deleted: np.ndarray | None = None
        if self.reader.has_deletions():
            self.deleted = np.zeros(self.size, dtype=bool)
            self.deleted[np.fromiter(self.reader.deleted_docs_set, dtype=np.int64)] = True
        self._values: dict[tuple[str, str], list] = {}
        self._sets: dict[tuple[str, str], np.ndarray] = {}

    def postings(self, field: str, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(sorted document numbers, weights) of one term, deleted documents included."""
        if self.compiled is not None:
            return self.compiled.get(field, text)
        key = (self.segment_id, field, text)
        found = _POSTINGS.get(key)
        if found is None:
            ids, weights, values = postings.read_term(self.reader, field, text, values=True)
            self._values[(field, text)] = values
            _POSTINGS.put(key, ids, weights)
            found = ids, weights
        return found

    def values(self, field: str, text: str, wanted: np.ndarray) -> dict[int, bytes]:
        """The values (encoded positions) of one term in the documents ``wanted`` (sorted):
        from the postings just read, or read again skipping the blocks that hold none of
        them (a block's last document number is known without reading the block)."""
        known = self._values.get((field, text))
        if known is not None:
            ids = self.postings(field, text)[0]
            at = np.searchsorted(ids, wanted)
            return {int(d): known[i] for d, i in zip(wanted.tolist(), at.tolist(), strict=True)}
        found: dict[int, bytes] = {}
        try:
            raw = self.reader.postings(field, text)
        except Exception:  # TermNotFound, or a field this segment lacks
            return found
        raw = getattr(raw, "child", raw)
        wanted_set = set(wanted.tolist())
        if not (hasattr(raw, "_read_ids") and hasattr(raw, "_next_block")):
            ids, _w, values = postings.read_term(self.reader, field, text, values=True)
            return {d: v for d, v in zip(ids.tolist(), values, strict=True) if d in wanted_set}
        ordered = wanted.tolist()
        lo = 0
        while raw.is_active() and lo < len(ordered):
            hi = bisect_right(ordered, raw.block_max_id(), lo)
            if hi > lo:
                raw._read_ids()
                raw._read_values()
                found.update(
                    (d, v) for d, v in zip(raw._ids, raw._values, strict=True) if d in wanted_set
                )
                lo = hi
            raw._next_block()
        return found

    def ids(self, field: str, text: str) -> np.ndarray:
        """The documents holding one term, deleted ones left out."""
        key = (field, text)
        found = self._sets.get(key)
        if found is None:
            found = self.postings(field, text)[0]
            if self.deleted is not None and len(found):
                found = found[~self.deleted[found]]
            self._sets[key] = found
        return found

    def visible_matches(self, q) -> np.ndarray:
        """The documents of this segment matching ``q`` that the reader may see."""
        found = self.match(q)
        return found if self.allowed is None or not len(found) else found[self.allowed[found]]

    def match(self, q) -> np.ndarray:
        """The documents matching ``q`` (sorted), with array set operations for the
        boolean structure."""
        if isinstance(q, wq.Term):
            return self.ids(q.fieldname, q.text)
        if isinstance(q, wq.And):
            return _intersect([self.match(sub) for sub in q.subqueries])
        if isinstance(q, wq.Or):
            parts = [self.match(sub) for sub in q.subqueries]
            return np.unique(np.concatenate(parts)) if parts else _EMPTY
        if isinstance(q, wq.AndNot):
            return np.setdiff1d(self.match(q.a), self.match(q.b), assume_unique=True)
        if isinstance(q, wq.Phrase):
            return self._phrase(q)
        if q is wq.NullQuery:
            return _EMPTY
        matcher = q.matcher(self.leaf)  # anything else (Not, …): Whoosh's own matcher
        if not matcher.is_active():
            return _EMPTY
        return np.unique(np.fromiter(matcher.all_ids(), dtype=np.int64))

    def _phrase(self, q) -> np.ndarray:
        """Documents holding the words of ``q`` in order, each at most ``slop`` positions
        after the one before (1: adjacent), as Whoosh's phrase matcher decides it."""
        words = list(q.words)
        if not words:
            return _EMPTY
        sets = [self.ids(q.fieldname, w) for w in words]
        candidates = _intersect(sets)
        if self.allowed is not None and len(candidates):
            # only what may be shown needs its positions checked
            candidates = candidates[self.allowed[candidates]]
        if len(words) == 1 or not len(candidates):
            return candidates
        maps = [self.values(q.fieldname, w, candidates) for w in words]
        slop = max(1, q.slop)
        found = []
        for d in candidates.tolist():
            starts = set(_positions(maps[0][d]))
            if slop == 1:  # adjacent: shift each word's positions back onto the first's
                for i, m in enumerate(maps[1:], start=1):
                    starts.intersection_update([p - i for p in _positions(m[d])])
                    if not starts:
                        break
                if starts:
                    found.append(d)
            else:
                following = [set(_positions(m[d])) for m in maps[1:]]
                if any(_chain(p, following, slop) for p in starts):
                    found.append(d)
        return np.array(found, dtype=np.int64)

    def scores(self, terms: list[tuple[str, str, float]], ids: np.ndarray) -> np.ndarray:
        """BM25F of each document of ``ids`` (sorted) over the query's (field, text,
        boost) terms, as an array aligned with ``ids``."""
        scores = np.zeros(len(ids), dtype=np.float64)
        if not len(ids):
            return scores
        for name, text, boost in terms:
            posting_ids, weights = self.postings(name, text)
            if not len(posting_ids):
                continue
            at = np.minimum(np.searchsorted(posting_ids, ids), len(posting_ids) - 1)
            held = posting_ids[at] == ids
            if not held.any():
                continue
            idf = self.searcher.idf(name, text) * boost
            avgdl = self.searcher.avg_field_length(name) or 1.0
            lengths = _lengths(self.reader, name)
            w = weights[at[held]].astype(np.float64)
            dl = lengths[ids[held]] if lengths is not None else avgdl
            scores[held] += idf * w * (_K1 + 1) / (w + _K1 * (1 - _B) + _K1 * _B / avgdl * dl)
        return scores


def _intersect(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return _EMPTY
    parts = sorted(parts, key=len)
    found = parts[0]
    for part in parts[1:]:
        if not len(found):
            break
        found = np.intersect1d(found, part, assume_unique=True)
    return found


def _chain(position: int, following: list[set[int]], slop: int) -> bool:
    if not following:
        return True
    head, rest = following[0], following[1:]
    return any(
        n in head and _chain(n, rest, slop) for n in range(position + 1, position + slop + 1)
    )


def _scored_terms(q, negated: bool = False) -> list[tuple[str, str, float]]:
    """The (field, text, boost) terms that add to a match's score (not those under NOT)."""
    if isinstance(q, wq.Term):
        return [] if negated else [(q.fieldname, q.text, q.boost)]
    if isinstance(q, wq.Phrase):
        return [] if negated else [(q.fieldname, w, q.boost) for w in q.words]
    if isinstance(q, wq.AndNot):
        return _scored_terms(q.a, negated) + _scored_terms(q.b, True)
    if isinstance(q, wq.Not):
        return _scored_terms(q.query, not negated)
    if hasattr(q, "subqueries"):
        boost = getattr(q, "boost", 1.0)
        return [
            (f, t, b * boost) for sub in q.subqueries for f, t, b in _scored_terms(sub, negated)
        ]
    return []


def _matches(searcher, q, allowed) -> list[tuple[_Segment, np.ndarray]]:
    """Each segment with the documents matching ``q`` within ``allowed`` (a mask over the
    searcher's documents, None: all), numbered within the segment."""
    out = []
    for leaf, offset in searcher.leaf_searchers():
        segment = _Segment(searcher, leaf, offset, allowed)
        out.append((segment, segment.visible_matches(q)))
    return out


def _counts(matches) -> tuple[int, dict[str, dict[str, int]]]:
    """How many documents match, and their facet counts (values from cached columns)."""
    total = 0
    counters = {name: Counter() for name in FACETS}
    for segment, ids in matches:
        if not len(ids):
            continue
        total += len(ids)
        for name in FACETS:
            codes, labels = _codes(segment.reader, name)
            counts = np.bincount(codes[ids], minlength=len(labels))
            for code in np.flatnonzero(counts).tolist():
                counters[name][labels[code]] += int(counts[code])
    facets = {
        name: dict(sorted(((k, v) for k, v in c.items() if k), key=lambda kv: (-kv[1], kv[0])))
        for name, c in counters.items()
    }
    return total, facets


def _top(matches, q, sort: str, limit: int) -> list[tuple[int, float]]:
    """The first ``limit`` (docnum, score) by relevance (BM25F, ties by docnum) or by
    date (newest first, ties by relevance, then docnum)."""
    terms = _scored_terms(q)
    ranked = []
    for segment, ids in matches:
        if not len(ids):
            continue
        scores = segment.scores(terms, ids)
        if sort == "date":
            dates = _dates(segment.reader)[ids]
            order = np.lexsort((ids, -scores, -dates))[:limit]
            ranked += [
                (int(dates[i]), float(scores[i]), -(int(ids[i]) + segment.offset))
                for i in order.tolist()
            ]
        else:
            if len(ids) > limit:  # the limit best, and whatever ties with the last of them
                kth = np.partition(scores, len(scores) - limit)[len(scores) - limit]
                keep = scores >= kth
                ids, scores = ids[keep], scores[keep]
            order = np.lexsort((ids, -scores))[:limit]
            ranked += [(float(scores[i]), -(int(ids[i]) + segment.offset)) for i in order.tolist()]
    ranked.sort(reverse=True)
    return [(-key[-1], key[-2] if sort == "date" else key[0]) for key in ranked[:limit]]


def run(
    searcher,
    text: str,
    filters: Filters,
    *,
    page: int = 1,
    per_page: int = 20,
    sort: str = "relevance",
) -> Results:
    q, fell_back = parse(searcher.schema, text)
    if q is wq.NullQuery:
        return Results(text, 0, page, per_page, [], {}, None, fell_back)
    matches = _matches(searcher, q, _allowed(searcher, filters))
    total, facets = _counts(matches)
    hits: list[Hit] = []
    if total and (page - 1) * per_page < total:
        pattern = _highlight_pattern(_query_terms(q))
        top = _top(matches, q, sort, page * per_page)
        for docnum, score in top[(page - 1) * per_page :]:
            hits.append(_hit(searcher.stored_fields(docnum), score, pattern))
    suggestion = suggest(searcher, text) if total < 3 else None
    return Results(text, total, page, per_page, hits, facets, suggestion, fell_back)


def _hit(stored: dict, score: float, pattern) -> Hit:
    kind, _, item_id = stored["uid"].partition(":")
    return Hit(
        kind=kind,
        item_id=int(item_id),
        number=stored.get("number", ""),
        title=stored.get("title", ""),
        label=stored.get("label", ""),
        url=stored.get("url", ""),
        status=stored.get("status", ""),
        type=stored.get("type", ""),
        department=stored.get("department", ""),
        year=stored.get("year", ""),
        date=stored.get("date"),
        score=round(score, 4),
        snippet=snippet(stored.get("body", ""), pattern),
    )
