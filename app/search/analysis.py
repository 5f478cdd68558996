"""How text becomes search terms, the same at index and at query time.

One tokenizer (``QdmsTokenizer``), importable wherever the index is opened (Whoosh pickles
the analyzer into the index's schema):

- Chinese runs are segmented by jieba in search mode — the jieba-rs implementation
  through ``rjieba``, which gives jieba's tokens with jieba's dictionary about 30 times
  faster (jieba alone capped indexing near 330 items/s per core) — so
  ``服务补救`` yields 服务, 补救 and a longer word also its dictionary parts
  (处理程序 → 处理, 程序, 处理程序).
- Latin words are lower-cased and stemmed (Porter): "corrective actions" →
  correct, action.
- Numbers and designations split at their punctuation: ``QP-CS-001`` → qp, cs, 001;
  ``GB/T 19001-2016`` → gb, t, 19001, 2016. The query side turns such a number into a
  phrase (``query.py``), so it is found whole, and any of its parts alone.

Words are numbered one after the other (jieba's own Whoosh analyzer used character
offsets as positions, which broke every phrase query), and a Chinese word's dictionary
parts share its position (``pieces``): a phrase matches when its words come in the same
order in the text, in either language. A query is analysed into whole words only (jieba's
precise cut): one term where the index holds the word and its parts.

Words alone miss Chinese strings that jieba cuts across their boundaries: "乒乓球拍卖完了"
is 乒乓 / 乒乓球 / 拍卖 / 完 / 了, so ``球拍`` is no word of it. So the stored title and text
are also indexed as **bigrams** — every pair of adjacent Han characters at the offset of
its first — compiled beside each segment (``postings``), and any Chinese string of two or
more characters is found as a phrase of its bigrams (``query.Substring``).

Positions are stored in a format of our own (``TermPositions``): a count and the gaps as
32-bit integers, which ``postings`` compiles into arrays in bulk (Whoosh's pickled lists
had to be unpickled one posting at a time).
"""

from __future__ import annotations

import re
from array import array
from collections import defaultdict
from functools import lru_cache
from itertools import accumulate, pairwise

from whoosh.analysis import Analyzer, Token, Tokenizer
from whoosh.formats import Positions
from whoosh.lang.porter import stem as porter_stem
from whoosh.system import pack_uint, unpack_uint

# A run of CJK ideographs (segmented), or a run of letters/digits (one token each).
# Letters and digits split apart, so ISO9001 is found by 9001 too.
# (A Latin word stops where Chinese starts: "5S管理" is 5, s, 管理.)
_RUN = re.compile(
    r"(?P<cjk>[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+)"
    r"|(?P<word>[^\W\d_\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|\d+)"
)
# The CJK class above, for callers that need to know whether text is Chinese.
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")

# A few words of the house vocabulary that jieba's dictionary lacks as whole words.
USER_WORDS = (
    "服务补救",
    "纠正措施",
    "预防措施",
    "不符合项",
    "受控文件",
    "受控副本",
    "外来文件",
    "管理评审",
    "内部审核",
    "顾客满意",
    "记录清单",
    "文件编号",
)


@lru_cache(maxsize=1)
def _segmenter():
    import rjieba  # noqa: PLC0415 - loads its dictionary (0.1-0.3 s): at the first Chinese

    for word in USER_WORDS:
        rjieba.add_word(word, None, None)
    return rjieba


def segment(text: str) -> list[tuple[str, int, int]]:
    """jieba's search-mode tokens of a run of Chinese: (word, start, end)."""
    return _segmenter().tokenize(text, mode="search")


def _words_and_parts(run: str, query: bool) -> list[tuple[str, int, int, bool]]:
    """A run of Chinese as (word, start, end, is_part). Search mode yields a long word's
    dictionary parts before the word (处理, 程序, 处理程序); a part is a token whose span
    lies inside the next whole word's. For a query only the whole words count."""
    tokens = segment(run)
    out: list[tuple[str, int, int, bool]] = []
    whole_start, whole_end = -1, -1
    for word, start, end in reversed(tokens):
        inside = whole_start <= start and end <= whole_end
        part = inside and (start, end) != (whole_start, whole_end)
        if not part:
            whole_start, whole_end = start, end
        elif query:
            continue
        out.append((word, start, end, part))
    out.reverse()
    return out


def pieces(text: str, *, query: bool = False, stemmed: bool = True):
    """(term, position, start, end) of ``text``. Whole words are numbered one after the
    other; a Chinese word's dictionary parts share its position, so a phrase matches
    whether the text around it made jieba cut a longer word or not (…应立即审核… holds
    立即 and 应立即 at one position, 审核 at the next). ``query``: whole words only."""
    pos = -1
    for match in _RUN.finditer(text):
        offset = match.start()
        if match.lastgroup == "cjk":
            pending = []  # parts come before their word and take its position
            for word, start, end, part in _words_and_parts(match.group(), query):
                if part:
                    pending.append((word, start, end))
                    continue
                pos += 1
                for part_word, part_start, part_end in pending:
                    yield part_word, pos, offset + part_start, offset + part_end
                pending = []
                yield word, pos, offset + start, offset + end
        else:
            pos += 1
            word = match.group().lower()
            yield (stem(word) if stemmed else word), pos, match.start(), match.end()


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    return porter_stem(word) if word.isascii() and word.isalpha() else word


class QdmsTokenizer(Tokenizer):
    """See the module docstring: Whoosh's interface to ``pieces`` (index mode when
    indexing, whole words only when Whoosh's parser analyses a query)."""

    is_morph = True

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        no_morph=False,
        **kwargs,
    ):
        t = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            t.original = t.text = value.lower()
            t.boost = 1.0
            t.pos = start_pos
            t.startchar, t.endchar = start_char, start_char + len(value)
            yield t
            return
        for text, pos, start, end in pieces(value, query=mode == "query", stemmed=not no_morph):
            t.text = text
            t.boost = 1.0
            t.stopped = False
            if keeporiginal:
                t.original = text
            if positions:
                t.pos = start_pos + pos
            if chars:
                t.startchar = start_char + start
                t.endchar = start_char + end
            yield t


class QdmsAnalyzer(Analyzer):
    """The analyzer of every text field: ``QdmsTokenizer`` alone."""

    is_morph = True

    def __init__(self):
        self.tokenizer = QdmsTokenizer()

    def __call__(self, value, **kwargs):
        return self.tokenizer(value, **kwargs)

    def has_morph(self):
        return True

    def __eq__(self, other):
        return type(other) is type(self)

    def __hash__(self):
        return hash(type(self))


def terms(text: str, *, query: bool = False) -> list[str]:
    """The index terms of ``text`` in order (or, ``query``, what a query searches for)."""
    return [term for term, _pos, _start, _end in pieces(text, query=query)]


def _encode(poslist: list[int]) -> bytes:
    """A count (as Whoosh's formats start) and the gaps between positions, as 32-bit
    unsigned integers in this machine's order (the index is read where it is written)."""
    gaps = array("I", (b - a for a, b in pairwise([0, *poslist])))
    return pack_uint(len(poslist)) + gaps.tobytes()


def _decode(value: bytes) -> list[int]:
    gaps = array("I")
    gaps.frombytes(value[4:])
    return list(accumulate(gaps))


class TermPositions(Positions):
    """Whoosh's Positions format (one posting per word and document with its positions,
    so phrase queries work the same) built from ``terms`` directly instead of a Token
    object per word through Whoosh's generator chain (a third of the time of indexing
    100,000 items), and encoded as 32-bit gaps (``_encode``) instead of a pickle per
    posting, so that ``postings`` decodes a whole posting list at once."""

    def word_values(self, value, analyzer, **kwargs):
        positions: dict[str, list[int]] = defaultdict(list)
        for term, pos, _start, _end in pieces(value):
            positions[term].append(pos)
        boost = self.field_boost
        for term, poslist in positions.items():
            yield term, len(poslist), len(poslist) * boost, _encode(poslist)

    def encode(self, poslist):
        return _encode(poslist)

    def decode_positions(self, valuestring):
        return _decode(valuestring)

    def decode_frequency(self, valuestring):
        return unpack_uint(valuestring[:4])[0]

    def combine(self, vs):
        return _encode(sorted({p for v in vs for p in _decode(v)}))


def words(text: str) -> list[str]:
    """Latin words of ``text``, lower-cased, unstemmed (for "did you mean")."""
    return [m.group().lower() for m in _RUN.finditer(text) if m.lastgroup == "word"]
