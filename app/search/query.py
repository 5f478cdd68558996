"""From what a person types to a page of results (Whoosh stays behind this module).

- ``parse``: a forgiving parser — words (all required), ``"phrases"``, ``AND`` / ``OR`` /
  ``NOT``, parentheses, over number, title and text (number and title weigh more).
  Numbers and designations (``QP-CS-001``, ``GB/T 19001-2016``) become phrases of their
  parts, so they match whole. Field syntax, wildcards, ranges and boosts are not offered
  (a colon or an asterisk in what people paste must not change the meaning). Anything
  the parser cannot read falls back to the plain words of the query: never an error.
- **Chinese recall**: a word or phrase with Chinese in it also matches as a string: each
  run of two or more Han characters is a ``Substring`` (a phrase of its bigrams, compiled
  beside each segment by ``postings``), so whatever is literally in a title or text is
  found however jieba cut it. Ranking: items where the query matches as words come first
  (``_tiers``), then those where it only matches as a string; BM25F within each.
- ``run``: the permission filter and the facet filters are applied before paging and
  before the facet counts; highlighted snippets are cut from the stored text cheaply
  (``snippet``); "did you mean" is offered for English words the index does not know.
- Queries are evaluated on arrays (``_Segment``: compiled postings, phrases by array
  operations on positions); when Whoosh's private format is not what ``postings`` reads,
  by Whoosh's own matchers and scorer instead (``_WhooshSegment``).
"""

from __future__ import annotations

import html
import re
import threading
from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from difflib import SequenceMatcher

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.qparser import MultifieldParser, QueryParserError, plugins, syntax
from whoosh.util.numeric import byte_to_length

from app.search import postings
from app.search.analysis import CJK, CJK_RUN, stem, terms, words

SEARCH_FIELDS = ("number", "title", "body")
FIELD_BOOSTS = {"number": 4.0, "title": 2.5, "body": 1.0}
# What a string match adds to the score (× occurrences saturated as BM25 does): it orders
# the items that match as strings only; those that match as words come first anyway.
SUBSTRING_BOOST = 1.0
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
    title_en: str | None = None  # a document's English title, if it has one


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


def _words_query(text: str):
    """Every word of ``text`` required, in any one of the searched fields (or None)."""
    texts = terms(text, query=True)
    if not texts:
        return None
    per_field = []
    for f in SEARCH_FIELDS:
        boost = FIELD_BOOSTS[f]
        if len(texts) == 1:
            per_field.append(wq.Term(f, texts[0], boost=boost))
        else:
            per_field.append(wq.And([wq.Term(f, t, boost=boost) for t in texts]))
    return wq.Or(per_field)


class Substring(wq.Query):
    """A run of two or more Han characters, found wherever it is in a title or text
    (``title + "\n" + text``), however jieba cut it: a phrase of its bigrams in the
    compiled postings (``_Segment._substring``), or a search of the stored text of a
    segment without them. Not a Whoosh query: Whoosh's own matchers get its matches as a
    list (``_WhooshSegment``)."""

    fieldname = None  # of no single field

    def __init__(self, text: str, boost: float = SUBSTRING_BOOST):
        self.text = text
        self.boost = boost

    def __eq__(self, other):
        return type(other) is type(self) and (other.text, other.boost) == (self.text, self.boost)

    def __hash__(self):
        return hash((type(self).__name__, self.text, self.boost))

    def __repr__(self):
        return f"Substring({self.text!r})"

    def __str__(self):
        return f"substring:{self.text}"

    def is_leaf(self):
        return True

    def estimate_size(self, ixreader):
        return ixreader.doc_count_all()

    def matcher(self, searcher, context=None):
        raise TypeError("qdms evaluates Substring itself (query._Segment, _WhooshSegment)")


def gram_query(text: str, *, quoted: bool = False):
    """The string alternative of a word (or ``quoted`` phrase) typed with Chinese in it:
    each run of two or more Han characters as a ``Substring``, and whatever else the word
    holds (Latin, digits, a lone Han character) as words. None when there is no such
    run, or for a phrase that mixes in other words (its word phrase stands alone)."""
    parts = [Substring(r) for r in CJK_RUN.findall(text) if len(r) >= 2]
    if not parts:
        return None
    rest = CJK_RUN.sub(lambda m: m.group() if len(m.group()) < 2 else " ", text)
    if words(rest) or CJK.search(rest):
        if quoted:
            return None
        parts.append(_words_query(rest))
    return parts[0] if len(parts) == 1 else wq.And(parts)


class _GramNode(syntax.SyntaxNode):
    """A parsed word's or phrase's string alternative (``gram_query``)."""

    def __init__(self, node):
        self.text = node.text
        self.quoted = isinstance(node, plugins.PhrasePlugin.PhraseNode)
        self.startchar, self.endchar = node.startchar, node.endchar

    def r(self):
        return f"GramNode {self.text!r}"

    def query(self, parser):
        return gram_query(self.text, quoted=self.quoted)


class _GramPlugin(plugins.Plugin):
    """Each word or quoted phrase with Chinese in it becomes (it OR its string
    alternative); before the multifield filter spreads the word over the fields."""

    def filters(self, parser):
        return [(self.add_grams, 105)]

    def add_grams(self, parser, group):
        for i, node in enumerate(group):
            if isinstance(node, syntax.GroupNode):
                group[i] = self.add_grams(parser, node)
            elif (
                isinstance(node, syntax.TextNode)
                and node.fieldname is None
                and CJK.search(node.text)
            ):
                alternative = _GramNode(node)
                if alternative.query(parser) is not None:
                    group[i] = syntax.OrGroup([node, alternative])
        return group


_PARSERS: dict[tuple[int, bool], tuple[object, MultifieldParser]] = {}


def _parser(schema, grams: bool = True) -> MultifieldParser:
    """The parser for ``schema`` (made once: building one compiles its plugins'
    expressions; parsing keeps no state in it)."""
    key = (id(schema), grams)
    found = _PARSERS.get(key)
    if found is None or found[0] is not schema:
        if len(_PARSERS) > 16:
            _PARSERS.clear()
        found = _PARSERS[key] = (schema, _make_parser(schema, grams))
    return found[1]


def _make_parser(schema, grams: bool) -> MultifieldParser:
    parser = MultifieldParser(list(SEARCH_FIELDS), schema, fieldboosts=FIELD_BOOSTS)
    if grams:
        parser.add_plugin(_GramPlugin())
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


def plain(text: str, grams: bool = True):
    """The fallback: every word of ``text`` required (with its string alternative when
    it has Chinese in it, and ``grams``), syntax characters ignored."""
    cleaned = _SYNTAX.sub(" ", text)
    clauses = []
    for token in cleaned.split():
        clause = _words_query(token)
        alternative = gram_query(token) if grams else None
        if alternative is not None:
            clause = wq.Or([clause, alternative]) if clause is not None else alternative
        if clause is not None:
            clauses.append(clause)
    return wq.And(clauses) if clauses else wq.NullQuery


def _has_error(q) -> bool:
    if isinstance(q, wq.Query) and q.__class__.__name__ == "ErrorQuery":
        return True
    return any(_has_error(c) for c in q.children()) if hasattr(q, "children") else False


def parse(schema, text: str, *, grams: bool = True) -> tuple[object, bool]:
    """(query, fell_back). Never raises. ``grams``: Chinese words and phrases match as
    strings too (the module docstring); without, the words alone (for ranking)."""
    text = text.strip()
    if not text:
        return wq.NullQuery, False
    try:
        q = _parser(schema, grams).parse(_quote_numbers(text))
    except (QueryParserError, ValueError, TypeError, IndexError, KeyError, AttributeError):
        return plain(text, grams), True
    if q is wq.NullQuery or _has_error(q):
        return plain(text, grams), True
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


def _allowed(searcher, filters: Filters) -> np.ndarray:
    """The documents the reader may see and narrowed to, as a mask over the searcher's
    documents: live ones (with ``include_history`` also history: superseded, obsolete,
    withdrawn …) within the reader's scopes and the selected facets."""
    selected = tuple(sorted(filters.selected.items()))

    def make():
        allowed = np.ones(searcher.doc_count_all(), dtype=bool)
        if filters.scopes is not None:
            allowed = np.zeros_like(allowed)
            for scope in filters.scopes:
                allowed |= _docset(searcher, "scope", scope)
        shown = _docset(searcher, "live", "1")
        if filters.include_history:
            shown = shown | _docset(searcher, "history", "1")
        allowed &= shown
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


def _visible_holders(segments, term: str, limit: int | None = None) -> list[int]:
    """The documents the reader may see (``segments``: the query's, each with its mask)
    holding ``term`` in the title or the body, as the searcher's document numbers; at most
    ``limit`` of them."""
    found: dict[int, None] = {}
    for name in ("title", "body"):
        for segment in segments:
            ids = segment.match(wq.Term(name, term))
            if segment.allowed is not None and len(ids):
                ids = ids[segment.allowed[ids]]
            found.update(dict.fromkeys((ids + segment.offset).tolist()))
            if limit is not None and len(found) >= limit:
                return list(found)[:limit]
    return list(found)


def suggest(searcher, text: str, segments) -> str | None:
    """ "Did you mean": the query with each English word that no document the reader may
    see holds replaced by the closest word that one does hold (edit distance ≤ 2, the most
    frequent among those documents), or None. Candidates come from the whole lexicon, but
    a word counts only by the documents of ``segments`` the reader may see: a suggestion
    never tells a word of a record the reader may not open."""
    reader = searcher.reader()
    changed = False
    out = text
    for word in dict.fromkeys(words(text)):
        if len(word) < 3 or not word.isascii() or not word.isalpha():
            continue
        term = stem(word)
        if _visible_holders(segments, term, limit=1):
            continue
        frequency: dict[str, int] = {}
        for distance in (1, 2):
            for candidate in reader.terms_within("body", term, distance, prefix=1):
                held = len(_visible_holders(segments, candidate))
                if held:
                    frequency[candidate] = held
            if frequency:
                break
        if not frequency:
            continue
        best = max(frequency, key=lambda c: (frequency[c], c))
        surface = _surface_form(searcher, segments, best, word) or best
        out = re.sub(rf"\b{re.escape(word)}\b", surface, out, flags=re.IGNORECASE)
        changed = True
    return out if changed else None


def _surface_form(searcher, segments, term: str, typed: str) -> str | None:
    """The word of a document the reader may see with the stem ``term`` closest to what
    was ``typed`` (the index holds stems only: "complaint" and "complaints" are both
    "complaint")."""
    forms: set[str] = set()
    for docnum in _visible_holders(segments, term, limit=3):
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
        self._read: dict[tuple[str, str], postings.Postings] = {}  # with positions
        self._sets: dict[tuple[str, str], np.ndarray] = {}
        self._matched: dict[object, np.ndarray] = {}
        self._strings: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # Substring counts

    def postings(self, field: str, text: str, positions: bool = False) -> postings.Postings:
        """One term's postings (sorted document numbers, weights; the positions too when
        ``positions``), deleted documents included."""
        if self.compiled is not None:
            return self.compiled.get(field, text)
        found = self._read.get((field, text))
        if found is not None:
            return found
        key = (self.segment_id, field, text)
        if not positions:
            cached = _POSTINGS.get(key)
            if cached is not None:
                return postings.Postings(*cached)
        found = postings.read_term(self.reader, field, text, positions=positions)
        if positions:
            self._read[(field, text)] = found
        _POSTINGS.put(key, found.ids, found.weights)
        return found

    def ids(self, field: str, text: str) -> np.ndarray:
        """The documents holding one term, deleted ones left out."""
        key = (field, text)
        found = self._sets.get(key)
        if found is None:
            found = self.postings(field, text).ids
            if self.deleted is not None and len(found):
                found = found[~self.deleted[found]]
            self._sets[key] = found
        return found

    def visible_matches(self, q) -> np.ndarray:
        """The documents of this segment matching ``q`` that the reader may see."""
        found = self.match(q)
        return found if self.allowed is None or not len(found) else found[self.allowed[found]]

    def match(self, q, exclude: np.ndarray | None = None) -> np.ndarray:
        """The documents matching ``q`` (sorted), with array set operations for the
        boolean structure. Documents in ``exclude`` (sorted) may be left out: an OR
        that already holds them does not check their positions again."""
        cached = exclude is None and isinstance(q, wq.Phrase | Substring)
        if cached and q in self._matched:  # also asked by the ranking's words-only query
            return self._matched[q]
        if isinstance(q, wq.Term):
            found = self.ids(q.fieldname, q.text)
        elif isinstance(q, wq.And):
            found = _intersect([self.match(sub, exclude) for sub in q.subqueries])
        elif isinstance(q, wq.Or):  # the cheap alternatives first, phrases for what they left
            slow = [sub for sub in q.subqueries if _has_phrase(sub)]
            found = _union([self.match(sub, exclude) for sub in q.subqueries if sub not in slow])
            for sub in slow:
                skip = exclude
                if len(found):
                    skip = found if exclude is None else _union([found, exclude])
                found = _union([found, self.match(sub, skip)])
        elif isinstance(q, wq.AndNot):
            found = np.setdiff1d(self.match(q.a, exclude), self.match(q.b), assume_unique=True)
        elif isinstance(q, wq.Phrase):
            found = self._phrase(q, exclude)
        elif isinstance(q, Substring):
            found = self._substring(q, exclude)
        elif q is wq.NullQuery:
            found = _EMPTY
        else:  # anything else (Not, …): Whoosh's own matcher
            matcher = self._listed(q).matcher(self.leaf)
            if not matcher.is_active():
                found = _EMPTY
            else:
                found = np.unique(np.fromiter(matcher.all_ids(), dtype=np.int64))
        if cached:
            self._matched[q] = found
        return found

    def _candidates(self, sets: list[np.ndarray], exclude: np.ndarray | None) -> np.ndarray:
        """The documents in all of ``sets`` that the reader may see, less ``exclude``."""
        docs = _intersect(sets)
        if self.allowed is not None and len(docs):
            # only what may be shown needs its positions checked
            docs = docs[self.allowed[docs]]
        if exclude is not None and len(docs) and len(exclude):
            docs = docs[~_isin_sorted(docs, exclude)]
        return docs

    def _phrase(self, q, exclude: np.ndarray | None) -> np.ndarray:
        """Documents holding the words of ``q`` in order, each at most ``slop`` positions
        after the one before (1: adjacent), as Whoosh's phrase matcher decides it."""
        words = list(q.words)
        if not words:
            return _EMPTY
        docs = self._candidates([self.ids(q.fieldname, w) for w in words], exclude)
        if len(words) == 1 or not len(docs):
            return docs
        lists = [self.postings(q.fieldname, w, positions=True) for w in words]
        found = _in_order(lists, docs, max(1, q.slop))
        return _distinct(found >> 32)

    def _substring(self, q: Substring, exclude: np.ndarray | None) -> np.ndarray:
        """Documents whose title or text holds ``q.text``: its bigrams adjacent in the
        compiled postings, or the stored text of a segment without them. How often each
        holds it is kept for ``scores``."""
        if self.compiled is None:
            docs = self._candidates([np.arange(self.size)], exclude)
            if self.deleted is not None:
                docs = docs[~self.deleted[docs]]
            docs, counts = _scan(self.reader, q.text, docs)
        else:
            lists = [self.compiled.gram(q.text[i : i + 2]) for i in range(len(q.text) - 1)]
            docs = self._candidates([self._live(p.ids) for p in lists], exclude)
            if len(lists) == 1:
                counts = lists[0].hi - lists[0].lo
                counts = counts[np.searchsorted(lists[0].ids, docs)]
            elif len(docs):
                docs, counts = _distinct(_in_order(lists, docs, 1) >> 32, counts=True)
            else:
                counts = _EMPTY
        self._strings[q.text] = (docs, counts)
        return docs

    def _listed(self, q):
        """``q`` with each Substring replaced by the list of its matches (for Whoosh)."""
        if isinstance(q, Substring):
            docs = self._substring(q, None)
            return _Listed(docs, np.ones(len(docs)))
        return q.apply(self._listed)

    def _live(self, ids: np.ndarray) -> np.ndarray:
        return ids if self.deleted is None or not len(ids) else ids[~self.deleted[ids]]

    def scores(self, terms: list[tuple[str, str, float]], ids: np.ndarray) -> np.ndarray:
        """BM25F of each document of ``ids`` (sorted) over the query's (field, text,
        boost) terms, as an array aligned with ``ids``."""
        scores = np.zeros(len(ids), dtype=np.float64)
        if not len(ids):
            return scores
        for name, text, boost in terms:
            if name == _STRING:
                docs, counts = self._strings.get(text, (_EMPTY, _EMPTY))
                scores += _string_scores(docs, counts, ids, boost)
                continue
            p = self.postings(name, text)
            posting_ids, weights = p.ids, p.weights
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


class _WhooshSegment:
    """One query over one segment answered by Whoosh's own matchers and scorer, through
    its public API: used when Whoosh's private format is not what ``postings`` reads
    (``postings.private_ok``). The same matches, Whoosh's scores (a phrase scores its
    own way), much slower; a ``Substring`` searches the stored text."""

    def __init__(self, searcher, leaf, offset: int, allowed: np.ndarray | None):
        self.searcher = searcher
        self.leaf = leaf
        self.reader = leaf.reader()
        self.offset = offset
        self.size = self.reader.doc_count_all()
        self.allowed = None if allowed is None else allowed[offset : offset + self.size]
        self._scores: dict[int, float] = {}

    def _whoosh(self, q):
        """``q`` with each Substring replaced by the list of its matches."""
        if isinstance(q, Substring):
            docs = np.array(
                [d for d in self.reader.all_doc_ids() if self.allowed is None or self.allowed[d]],
                dtype=np.int64,
            )
            docs, counts = _scan(self.reader, q.text, docs)
            return _Listed(docs, _string_scores(docs, counts, docs, q.boost))
        return q.apply(self._whoosh)

    def match(self, q) -> np.ndarray:
        matcher = self._whoosh(q).matcher(self.leaf, self.leaf.boolean_context())
        if not matcher.is_active():
            return _EMPTY
        return np.unique(np.fromiter(matcher.all_ids(), dtype=np.int64))

    def visible_matches(self, q) -> np.ndarray:
        """As ``_Segment.visible_matches``; the scores of the matches are kept for
        ``scores`` (Whoosh scores while it matches)."""
        matcher = self._whoosh(q).matcher(self.leaf, self.searcher.context())
        while matcher.is_active():
            docnum = matcher.id()
            if self.allowed is None or self.allowed[docnum]:
                self._scores[docnum] = matcher.score()
            matcher.next()
        return np.array(sorted(self._scores), dtype=np.int64)

    def scores(self, terms, ids: np.ndarray) -> np.ndarray:
        return np.array([self._scores[d] for d in ids.tolist()], dtype=np.float64)


class _Listed(wq.Query):
    """Documents of one segment found beforehand, with their scores, as a Whoosh query."""

    def __init__(self, docs: np.ndarray, scores: np.ndarray):
        self.docs, self.scores, self.boost = docs.tolist(), scores.tolist(), 1.0

    def is_leaf(self):
        return True

    def estimate_size(self, ixreader):
        return len(self.docs)

    def matcher(self, searcher, context=None):
        return ListMatcher(self.docs, weights=self.scores) if self.docs else NullMatcher()


def _in_order(lists: list[postings.Postings], docs: np.ndarray, slop: int) -> np.ndarray:
    """Where the terms of ``lists`` (with positions) follow each other in ``docs`` (which
    all hold every one of them), each at most ``slop`` positions after the one before:
    keys ``document << 32 | position`` of the last term (slop 1: of the first, plus the
    number of terms), matched term after term with sorted-array lookups."""
    n = len(lists)
    order = list(range(n))
    if slop == 1:  # each term's positions shifted back onto the first's, rarest first
        order.sort(key=lambda i: len(lists[i].ids))
    found = None
    for i in order:
        p = lists[i]
        counts, positions_ = p.positions_at(np.searchsorted(p.ids, docs))
        keys = (np.repeat(docs.astype(np.int64), counts) << 32) | positions_
        if slop == 1:
            keys += n - i  # where the phrase starts (+ n: never below the document's 0)
            if found is not None:
                keys = keys[_isin_sorted(keys, found)]
        elif found is not None:  # the previous term at most slop before
            before = np.searchsorted(found, keys) - 1
            keys = keys[(before >= 0) & (keys - found[np.maximum(before, 0)] <= slop)]
        found = keys
        if not len(found):
            break
        docs = _distinct(found >> 32)
    return found


def _distinct(sorted_: np.ndarray, counts: bool = False):
    """The distinct values of a sorted array (and how often each occurs)."""
    if not len(sorted_):
        return (sorted_, _EMPTY) if counts else sorted_
    first = np.flatnonzero(np.concatenate(([True], sorted_[1:] != sorted_[:-1])))
    if not counts:
        return sorted_[first]
    return sorted_[first], np.diff(np.append(first, len(sorted_)))


def _scan(reader, text: str, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The documents of ``docs`` whose stored title or text holds ``text``, and how many
    times (a segment without compiled postings, or Whoosh's own engine)."""
    found, counts = [], []
    for docnum in docs.tolist():
        count = postings.stored_text(reader.stored_fields(docnum)).count(text)
        if count:
            found.append(docnum)
            counts.append(count)
    return np.array(found, dtype=np.int64), np.array(counts, dtype=np.int64)


def _string_scores(docs, counts, ids: np.ndarray, boost: float) -> np.ndarray:
    """A string's part of the score of ``ids``: its occurrences, saturated as BM25 does."""
    out = np.zeros(len(ids), dtype=np.float64)
    if len(docs) and len(ids):
        at = np.minimum(np.searchsorted(docs, ids), len(docs) - 1)
        held = docs[at] == ids
        c = counts[at[held]].astype(np.float64)
        out[held] = boost * c * (_K1 + 1) / (c + _K1)
    return out


def _has_phrase(q) -> bool:
    """Whether ``q`` checks positions or text (worth skipping for what is matched)."""
    return isinstance(q, wq.Phrase | Substring) or any(_has_phrase(c) for c in q.children())


def _union(parts: list[np.ndarray]) -> np.ndarray:
    """The sorted union of sorted arrays (a sort and a comparison: numpy's ``unique``
    hashes first)."""
    parts = [p for p in parts if len(p)]
    if len(parts) < 2:
        return parts[0] if parts else _EMPTY
    found = np.concatenate(parts)
    found.sort()
    return found[np.concatenate(([True], found[1:] != found[:-1]))]


def _isin_sorted(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.isin`` for sorted ``b``: a lookup each, no sort."""
    if not len(b):
        return np.zeros(len(a), dtype=bool)
    at = np.minimum(np.searchsorted(b, a), len(b) - 1)
    return b[at] == a


def _intersect(parts: list[np.ndarray]) -> np.ndarray:
    if not parts:
        return _EMPTY
    parts = sorted(parts, key=len)
    found = parts[0]
    for part in parts[1:]:
        if not len(found):
            break
        found = found[_isin_sorted(found, part)]
    return found


_STRING = "\0substring"  # the "field" of a Substring in _scored_terms


def _scored_terms(q, negated: bool = False) -> list[tuple[str, str, float]]:
    """The (field, text, boost) terms that add to a match's score (not those under NOT)."""
    if isinstance(q, wq.Term):
        return [] if negated else [(q.fieldname, q.text, q.boost)]
    if isinstance(q, Substring):
        return [] if negated else [(_STRING, q.text, q.boost)]
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


def _matches(searcher, q, allowed, engine=None) -> list[tuple[_Segment, np.ndarray]]:
    """Each segment with the documents matching ``q`` within ``allowed`` (a mask over the
    searcher's documents, None: all), numbered within the segment."""
    if engine is None:
        engine = _Segment if postings.private_ok() else _WhooshSegment
    out = []
    for leaf, offset in searcher.leaf_searchers():
        segment = engine(searcher, leaf, offset, allowed)
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


# Ranks a whole-word match above any string-only one: BM25F scores stay far below it.
_TIER = 1e6


def _top(matches, q, sort: str, limit: int, tiers=None) -> list[tuple[int, float]]:
    """The first ``limit`` (docnum, score) by relevance (matches as words before matches
    as strings only — ``tiers``, a bool array per segment aligned with its matches, None:
    all words — then BM25F, ties by docnum) or by date (newest first, ties by
    relevance, then docnum)."""
    terms = _scored_terms(q)
    ranked = []
    for i, (segment, ids) in enumerate(matches):
        if not len(ids):
            continue
        scores = segment.scores(terms, ids)
        rank = scores if tiers is None else scores + _TIER * tiers[i]
        if sort == "date":
            dates = _dates(segment.reader)[ids]
            order = np.lexsort((ids, -rank, -dates))[:limit]
            ranked += [
                (int(dates[j]), float(rank[j]), float(scores[j]), -(int(ids[j]) + segment.offset))
                for j in order.tolist()
            ]
        else:
            if len(ids) > limit:  # the limit best, and whatever ties with the last of them
                kth = np.partition(rank, len(rank) - limit)[len(rank) - limit]
                keep = rank >= kth
                ids, scores, rank = ids[keep], scores[keep], rank[keep]
            order = np.lexsort((ids, -rank))[:limit]
            ranked += [
                (float(rank[j]), float(scores[j]), -(int(ids[j]) + segment.offset))
                for j in order.tolist()
            ]
    ranked.sort(reverse=True)
    return [(-key[-1], key[-2]) for key in ranked[:limit]]


def _words_only(q):
    """``q`` without its string alternatives (``gram_query``: a Substring, or an And
    holding one, beside the words in an Or), or ``q`` itself when it has none."""
    if not isinstance(q, wq.CompoundQuery | wq.Not | wq.AndNot | wq.AndMaybe):
        return q
    if isinstance(q, wq.Or):
        kept = [
            sub
            for sub in q.subqueries
            if not isinstance(sub, Substring)
            and not (isinstance(sub, wq.And) and any(isinstance(c, Substring) for c in sub))
        ]
        if len(kept) < len(q.subqueries):
            return wq.Or([_words_only(sub) for sub in kept], boost=q.boost)
    children = list(q.children())
    replaced = [_words_only(c) for c in children]
    if all(a is b for a, b in zip(children, replaced, strict=True)):
        return q
    return q.apply(_words_only)


def _tiers(matches, words_q) -> list[np.ndarray]:
    """For each segment's matches, whether they match ``words_q`` (the words alone)."""
    return [
        _isin_sorted(ids, segment.match(words_q)) if len(ids) else np.zeros(0, dtype=bool)
        for segment, ids in matches
    ]


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
        words_q = _words_only(q)
        tiers = _tiers(matches, words_q) if words_q is not q else None
        highlight = _query_terms(q) | {r for r in CJK_RUN.findall(text) if len(r) >= 2}
        pattern = _highlight_pattern(highlight)
        top = _top(matches, q, sort, page * per_page, tiers)
        for docnum, score in top[(page - 1) * per_page :]:
            hits.append(_hit(searcher.stored_fields(docnum), score, pattern))
    suggestion = suggest(searcher, text, [s for s, _ in matches]) if total < 3 else None
    return Results(text, total, page, per_page, hits, facets, suggestion, fell_back)


def _hit(stored: dict, score: float, pattern) -> Hit:
    kind, _, item_id = stored["uid"].partition(":")
    # a builder may index a second title (a document's English one) on the title's second
    # line: both are searched, and shown apart
    title, _, title_en = stored.get("title", "").partition("\n")
    return Hit(
        kind=kind,
        item_id=int(item_id),
        number=stored.get("number", ""),
        title=title,
        title_en=title_en or None,
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
