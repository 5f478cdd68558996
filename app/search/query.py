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

import heapq
import html
import pickle
import re
import threading
from array import array
from bisect import bisect_right
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from itertools import accumulate
from operator import itemgetter

from whoosh import query as wq
from whoosh.qparser import MultifieldParser, QueryParserError, plugins

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


_DOCSETS_MAX = 512


def _docset(searcher, field: str, value: str) -> frozenset[int]:
    """The documents holding one term, cached on the searcher (which is replaced when
    the index changes): filters are combined from these with set operations."""
    cache = getattr(searcher, "qdms_docsets", None)
    if cache is None or len(cache) > _DOCSETS_MAX:
        cache = searcher.qdms_docsets = {}
    key = (field, value)
    found = cache.get(key)
    if found is None:
        found = cache[key] = frozenset(searcher.docs_for_query(wq.Term(field, value)))
    return found


def _allowed(searcher, filters: Filters) -> set[int] | None:
    """The documents the reader may see and narrowed to, or None for all of them."""
    parts: list[frozenset[int]] = []
    if filters.scopes is not None:
        parts.append(frozenset().union(*(_docset(searcher, "scope", s) for s in filters.scopes)))
    if not filters.include_history:
        parts.append(_docset(searcher, "live", "1"))
    for name, value in sorted(filters.selected.items()):
        parts.append(_docset(searcher, name, value))
    if not parts:
        return None
    parts.sort(key=len)
    allowed = set(parts[0])  # a set, not a frozenset: Whoosh's filter takes sets only
    allowed.intersection_update(*parts[1:])
    return allowed


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


_COLUMNS: dict[tuple[str, str, str], list] = {}
_COLUMNS_MAX = 256  # (segment, field) lists kept: segments are immutable, so are these


def _column(reader, name: str, text: bool = True) -> list:
    """The values of a sortable field for every document of one segment (as text, or as
    stored: numbers for dates), read once per segment (a segment never changes; deletions
    are applied to the match sets)."""
    key = (reader.segment().segment_id(), name, "text" if text else "values")
    values = _COLUMNS.get(key)
    if values is None:
        if len(_COLUMNS) >= _COLUMNS_MAX:
            _COLUMNS.clear()
        column = reader.column_reader(name, translate=False)
        if text:
            values = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in column]
        else:
            values = list(column)
        _COLUMNS[key] = values
    return values


def _lengths(reader, name: str) -> list[int] | None:
    """Every document's length of field ``name`` in one segment (BM25 needs it per
    match; Whoosh reads it one document at a time), cached like the columns."""
    key = (reader.segment().segment_id(), name, "lengths")
    values = _COLUMNS.get(key)
    if values is None:
        from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
        from whoosh.util.numeric import byte_to_length

        try:
            column = reader._perdoc._cached_reader(_lenfield(name), LENGTHS_COLUMN)
        except AttributeError:  # another codec: no lengths, BM25 without them
            return None
        if column is None:
            return None
        table = [byte_to_length(b) for b in range(256)]
        values = _COLUMNS[key] = [table[b] for b in column]
    return values


class _PostingsCache:
    """Decoded posting lists (document numbers and weights) of recently searched terms,
    by segment: a segment never changes, so an entry stays right after the index
    changes (new segments are new keys). Bounded by the number of postings held (8 bytes
    each); least recently used first out. Shared by the threads of a process."""

    def __init__(self, budget: int = 4_000_000):
        self.budget = budget
        self.held = 0
        self._entries: OrderedDict[tuple, tuple[array, array]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple) -> tuple[array, array] | None:
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
            return found

    def put(self, key: tuple, ids: list, weights: list) -> tuple[array, array]:
        entry = (array("i", ids), array("f", weights))
        with self._lock:
            if key not in self._entries and len(ids) <= self.budget // 4:
                self._entries[key] = entry
                self.held += len(ids)
                while self.held > self.budget:
                    _key, (old, _w) = self._entries.popitem(last=False)
                    self.held -= len(old)
        return entry


_POSTINGS = _PostingsCache()


def _positions(value: bytes) -> list[int]:
    """Whoosh's Positions encoding (a count, then the pickled gaps), decoded."""
    data = value[4:] if value.endswith(b".") else value[4:] + b"."
    return list(accumulate(pickle.loads(data)))  # noqa: S301 (our own index files)


# BM25F, as Whoosh's default weighting computes it (B, K1 as in whoosh.scoring.BM25F).
_B, _K1 = 0.75, 1.2


class _Segment:
    """One query over one segment of the index. Every posting list the query needs is
    read once, block by block (Whoosh's matchers walk postings one document at a time in
    Python; reading whole blocks is several times faster), and serves the boolean match,
    the phrase check (positions) and the BM25 scores of the matches."""

    def __init__(self, searcher, leaf, offset: int, allowed: set[int] | None):
        self.searcher = searcher
        self.leaf = leaf
        self.reader = leaf.reader()
        self.offset = offset
        self.segment_id = self.reader.segment().segment_id()
        # What the reader may see, numbered within this segment (None: everything).
        if allowed is None or offset == 0:
            self.allowed = allowed
        else:
            end = offset + self.reader.doc_count_all()
            self.allowed = {d - offset for d in allowed if offset <= d < end}
        self._values: dict[tuple[str, str], list] = {}
        self._sets: dict[tuple[str, str], set[int]] = {}

    def postings(self, field: str, text: str) -> tuple[array, array]:
        """(document numbers, weights) of one term, deleted documents included."""
        key = (self.segment_id, field, text)
        found = _POSTINGS.get(key)
        if found is None:
            ids, weights, values = self._read(field, text)
            self._values[(field, text)] = values
            found = _POSTINGS.put(key, ids, weights)
        return found

    def values(self, field: str, text: str, wanted: set[int]) -> dict[int, bytes]:
        """The values (encoded positions) of one term in the documents ``wanted``: from
        the postings just read, or read again skipping the blocks that hold none of them
        (a block's last document number is known without reading the block)."""
        known = self._values.get((field, text))
        if known is not None:
            ids = self.postings(field, text)[0]
            return {d: v for d, v in zip(ids, known, strict=True) if d in wanted}
        found: dict[int, bytes] = {}
        try:
            raw = self.reader.postings(field, text)
        except Exception:  # TermNotFound, or a field this segment lacks
            return found
        raw = getattr(raw, "child", raw)
        if not (hasattr(raw, "_read_ids") and hasattr(raw, "_next_block")):
            return {d: v for d, v in zip(*self._read(field, text)[::2], strict=True) if d in wanted}
        ordered = sorted(wanted)
        lo = 0
        while raw.is_active() and lo < len(ordered):
            hi = bisect_right(ordered, raw.block_max_id(), lo)
            if hi > lo:
                raw._read_ids()
                raw._read_values()
                found.update(
                    (d, v) for d, v in zip(raw._ids, raw._values, strict=True) if d in wanted
                )
                lo = hi
            raw._next_block()
        return found

    def _read(self, field: str, text: str) -> tuple[list, list, list]:
        """Every block of one posting list: (document numbers, weights, values)."""
        ids, weights, values = [], [], []
        try:
            matcher = self.reader.postings(field, text)
        except Exception:  # TermNotFound, or a field this segment lacks
            matcher = None
        if matcher is not None:
            raw = getattr(matcher, "child", matcher)  # without the deletions wrapper
            if hasattr(raw, "_read_ids") and hasattr(raw, "_next_block"):  # whoosh3
                while raw.is_active():
                    raw._read_ids()
                    raw._read_weights()
                    raw._read_values()
                    ids.extend(raw._ids)
                    weights.extend(raw._weights)
                    values.extend(raw._values)
                    raw._next_block()
            else:
                while raw.is_active():
                    ids.append(raw.id())
                    weights.append(raw.weight())
                    values.append(raw.value())
                    raw.next()
        return ids, weights, values

    def ids(self, field: str, text: str) -> set[int]:
        key = (field, text)
        found = self._sets.get(key)
        if found is None:
            found = set(self.postings(field, text)[0])
            if self.reader.has_deletions():
                found -= self.reader.deleted_docs_set
            self._sets[key] = found
        return found

    def visible_matches(self, q) -> set[int]:
        """The documents of this segment matching ``q`` that the reader may see."""
        found = self.match(q)
        return found if self.allowed is None else found & self.allowed

    def match(self, q) -> set[int]:
        """The documents matching ``q``, with set operations for the boolean structure."""
        if isinstance(q, wq.Term):
            return self.ids(q.fieldname, q.text)
        if isinstance(q, wq.And):
            sets = sorted((self.match(sub) for sub in q.subqueries), key=len)
            return sets[0].intersection(*sets[1:]) if sets else set()
        if isinstance(q, wq.Or):
            return set().union(*(self.match(sub) for sub in q.subqueries))
        if isinstance(q, wq.AndNot):
            return self.match(q.a) - self.match(q.b)
        if isinstance(q, wq.Phrase):
            return self._phrase(q)
        if q is wq.NullQuery:
            return set()
        matcher = q.matcher(self.leaf)  # anything else (Not, …): Whoosh's own matcher
        return set(matcher.all_ids()) if matcher.is_active() else set()

    def _phrase(self, q) -> set[int]:
        """Documents holding the words of ``q`` in order, each at most ``slop`` positions
        after the one before (1: adjacent), as Whoosh's phrase matcher decides it."""
        words = list(q.words)
        if not words:
            return set()
        sets = [self.ids(q.fieldname, w) for w in words]
        if self.allowed is not None:  # only what may be shown needs its positions checked
            sets.append(self.allowed)
        candidates = set.intersection(*sorted(sets, key=len))
        if len(words) == 1 or not candidates:
            return candidates
        maps = [self.values(q.fieldname, w, candidates) for w in words]
        slop = max(1, q.slop)
        found = set()
        for d in candidates:
            starts = set(_positions(maps[0][d]))
            if slop == 1:  # adjacent: shift each word's positions back onto the first's
                for i, m in enumerate(maps[1:], start=1):
                    starts.intersection_update([p - i for p in _positions(m[d])])
                    if not starts:
                        break
                if starts:
                    found.add(d)
            else:
                following = [set(_positions(m[d])) for m in maps[1:]]
                if any(_chain(p, following, slop) for p in starts):
                    found.add(d)
        return found

    def scores(self, terms: list[tuple[str, str, float]], ids: set[int]) -> dict[int, float]:
        """BM25F of each document of ``ids`` over the query's (field, text, boost) terms."""
        scores = dict.fromkeys(ids, 0.0)
        if not scores:
            return scores
        for name, text, boost in terms:
            posting_ids, weights = self.postings(name, text)
            if not posting_ids:
                continue
            idf = self.searcher.idf(name, text) * boost
            avgdl = self.searcher.avg_field_length(name) or 1.0
            lengths = _lengths(self.reader, name)
            if len(posting_ids) <= len(scores):
                pairs = ((d, w) for d, w in zip(posting_ids, weights, strict=True) if d in scores)
            else:
                by_id = dict(zip(posting_ids, weights, strict=True))
                pairs = ((d, by_id[d]) for d in scores if d in by_id)
            k_norm = _K1 * (1 - _B)
            k_len = _K1 * _B / avgdl
            for d, w in pairs:
                dl = lengths[d] if lengths is not None else avgdl
                scores[d] += idf * w * (_K1 + 1) / (w + k_norm + k_len * dl)
        return scores


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


def _matches(searcher, q, allowed) -> list[tuple[_Segment, set[int]]]:
    """Each segment with the documents matching ``q`` within ``allowed`` (a set of
    docnums, None: all), numbered within the segment."""
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
        if not ids:
            continue
        total += len(ids)
        for name in FACETS:
            counters[name].update(map(_column(segment.reader, name).__getitem__, ids))
    facets = {
        name: dict(sorted(((k, v) for k, v in c.items() if k), key=lambda kv: (-kv[1], kv[0])))
        for name, c in counters.items()
    }
    return total, facets


def _top(matches, q, sort: str, limit: int) -> list[tuple[int, float]]:
    """The first ``limit`` (docnum, score) by relevance (BM25F, ties by docnum) or by
    date (newest first, ties by relevance)."""
    terms = _scored_terms(q)
    ranked = []
    for segment, ids in matches:
        scores = segment.scores(terms, ids)
        offset = segment.offset
        if sort == "date":
            dates = _column(segment.reader, "date", text=False)
            best = heapq.nlargest(limit, scores, key=lambda d: (dates[d] or 0, scores[d], -d))
            ranked += [((dates[d] or 0), scores[d], -(d + offset)) for d in best]
        else:
            best = heapq.nlargest(limit, scores.items(), key=itemgetter(1))
            ranked += [(score, -(d + offset)) for d, score in best]
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
