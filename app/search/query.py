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
import re
from collections import Counter
from dataclasses import dataclass, field
from difflib import SequenceMatcher

from whoosh import query as wq
from whoosh import sorting
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
    found = wq.Or([wq.Term("title", term), wq.Term("body", term)])
    for hit in searcher.search(found, limit=3):
        text = hit.get("title", "") + " " + hit.get("body", "")[:50_000]
        forms.update(w for w in words(text) if stem(w) == term)
    if not forms:
        return None
    return max(sorted(forms), key=lambda w: SequenceMatcher(None, typed, w).ratio())


_COLUMNS: dict[tuple[str, str], list[str]] = {}
_COLUMNS_MAX = 256  # (segment, field) lists kept: segments are immutable, so are these


def _column(reader, name: str) -> list[str]:
    """The values of a sortable field for every document of one segment, read once per
    segment (a segment never changes; deletions are applied by the matcher)."""
    key = (reader.segment().segment_id(), name)
    values = _COLUMNS.get(key)
    if values is None:
        if len(_COLUMNS) >= _COLUMNS_MAX:
            _COLUMNS.clear()
        column = reader.column_reader(name, translate=False)
        values = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in column]
        _COLUMNS[key] = values
    return values


def _term_ids(reader, field: str, text: str) -> set[int]:
    """The live documents of a segment holding a term, read block by block (Whoosh's
    matcher walks them one at a time in Python; this is several times faster)."""
    try:
        matcher = reader.postings(field, text)
    except Exception:  # TermNotFound, or a field this segment lacks
        return set()
    raw = getattr(matcher, "child", matcher)  # without the deleted-documents wrapper
    ids: set[int] = set()
    if hasattr(raw, "_read_ids") and hasattr(raw, "_next_block"):  # whoosh3 posting blocks
        while raw.is_active():
            raw._read_ids()
            ids.update(raw._ids)
            raw._next_block()
    else:
        ids.update(raw.all_ids())
    if reader.has_deletions():
        ids -= reader.deleted_docs_set
    return ids


def _doc_ids(q, leaf) -> set[int]:
    """The documents of one segment matching ``q``, with set operations for the boolean
    structure; phrases (positions) through Whoosh's own matcher."""
    reader = leaf.reader()
    if isinstance(q, wq.Term):
        return _term_ids(reader, q.fieldname, q.text)
    if isinstance(q, wq.And):
        sets = sorted((_doc_ids(sub, leaf) for sub in q.subqueries), key=len)
        return sets[0].intersection(*sets[1:]) if sets else set()
    if isinstance(q, wq.Or):
        return set().union(*(_doc_ids(sub, leaf) for sub in q.subqueries))
    if isinstance(q, wq.AndNot):
        return _doc_ids(q.a, leaf) - _doc_ids(q.b, leaf)
    if q is wq.NullQuery:
        return set()
    matcher = q.matcher(leaf)
    return set(matcher.all_ids()) if matcher.is_active() else set()


def _counts(searcher, q, allowed) -> tuple[int, dict[str, dict[str, int]]]:
    """How many documents match ``q`` within ``allowed`` (a docnum set, None: all), and
    their facet counts — an unscored pass over the matches, per segment, with the facet
    values from cached columns (Whoosh's groupedby scores and sorts every match first)."""
    total = 0
    counters = {name: Counter() for name in FACETS}
    for leaf, offset in searcher.leaf_searchers():
        ids = _doc_ids(q, leaf)
        if allowed is not None:
            ids = ids & allowed if offset == 0 else {d for d in ids if d + offset in allowed}
        if not ids:
            continue
        total += len(ids)
        reader = leaf.reader()
        for name in FACETS:
            counters[name].update(map(_column(reader, name).__getitem__, ids))
    facets = {
        name: dict(sorted(((k, v) for k, v in c.items() if k), key=lambda kv: (-kv[1], kv[0])))
        for name, c in counters.items()
    }
    return total, facets


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
    allowed = _allowed(searcher, filters)
    total, facets = _counts(searcher, q, allowed)
    hits: list[Hit] = []
    if total and (page - 1) * per_page < total:
        kwargs = {"filter": allowed, "terms": False}
        if sort == "date":
            kwargs["sortedby"] = sorting.FieldFacet("date", reverse=True)
        results = searcher.search(q, limit=page * per_page, **kwargs)
        pattern = _highlight_pattern(_query_terms(q))
        for hit in results[(page - 1) * per_page : page * per_page]:
            hits.append(_hit(hit.fields(), float(hit.score or 0.0), pattern))
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
