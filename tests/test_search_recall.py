"""Chinese recall (issue 18, point 2): a string that is literally in a document is found,
however jieba cut it — every Han substring of two or more characters of real
quality-management prose — and a document where the query is a whole word still ranks
above one where it only occurs across word boundaries."""

from __future__ import annotations

import random
import re

import pytest

from app.extensions import db
from app.search import query, sync
from tests.test_search import _numbers, _revise, _search, people  # noqa: F401 (fixture)


@pytest.fixture
def app_config(app_config):
    """The index follows every commit, as in production (conftest switches it off)."""
    return {**app_config, "QDMS_SEARCH_AFTER_COMMIT": True}


# Original prose, as a service company's complaint procedure is written.
PROSE = (
    "本程序适用于本公司门店、客服热线和线上渠道受理的全部顾客投诉。",
    "客服专员接到投诉后，应在两小时内与顾客取得联系，核实事实并记录在投诉登记表中；"
    "涉及人身安全或重大财产损失的投诉，须立即报告值班经理。",
    "服务补救的原则是先处理情绪，再处理事情：向顾客真诚致歉，说明原因，提出可选的补偿方案，"
    "并在约定时间内回访，确认顾客是否满意。",
    "例如，体育用品门店在促销期间接到多起投诉，原因是宣传单上的乒乓球拍卖完了却没有及时撤下"
    "广告。门店经理当天更正了宣传材料，并为到店顾客提供了等值的代金券。",
    "质量管理部每月汇总投诉数据，按产品、门店和原因分类统计，对重复发生的问题组织原因分析，"
    "制定纠正措施，明确责任人和完成期限。",
    "纠正措施实施后，由内审员跟踪验证其有效性；验证不合格的，应重新分析原因并修订措施。",
    "投诉处理记录、补偿凭证和验证结论作为质量记录保存三年，并作为管理评审的输入。",
)
# Where 球拍 is a word of the text (jieba: 羽毛 / 羽毛球 / 球拍 / 羽毛球拍).
RACKETS = ("门店出租的羽毛球拍每周清洁消毒，破损的球拍及时更换。",)


@pytest.fixture
def procedure(app, people, make_document, make_docx, store):  # noqa: F811 (fixture)
    doc = make_document(department="CS", title="顾客投诉处理程序")
    _revise(doc, store, make_docx, PROSE)
    return doc


def _substrings(text: str) -> list[str]:
    """Every distinct Han substring of 2 to 6 characters of ``text`` (within a run of
    Han characters: punctuation is not typed into a search box)."""
    found = set()
    for run in re.findall(r"[\u4e00-\u9fff]+", text):
        for length in range(2, 7):
            found.update(run[i : i + length] for i in range(len(run) - length + 1))
    return sorted(found)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_every_chinese_substring_of_a_document_finds_it(app, procedure):
    """Does 球拍 find the procedure (jieba cuts 乒乓球拍卖完了 as 乒乓 / 乒乓球 / 拍卖 / 完
    / 了), and does every Han substring of 2–6 characters of its prose — 1,200 of them,
    most not aligned to words — find it through the real search?"""
    store = sync.store_for(app)
    sync.ensure_index(db.session, store)
    searcher = store.searcher()
    words_only, _ = query.parse(searcher.schema, "球拍", grams=False)
    assert not any(len(ids) for _seg, ids in query._matches(searcher, words_only, None))
    assert _numbers(_search("cs_staff", "球拍")) == ["QP-CS-001"]

    everything = _substrings("".join(PROSE))
    assert len(everything) > 1200
    sample = random.Random(18).sample(everything, 400)  # noqa: S311 (a fixed sample)
    missed = [s for s in sample if "QP-CS-001" not in _numbers(_search("cs_staff", s))]
    assert missed == []
    # … and all of them through the query path the service calls
    allowed = query._allowed(searcher, query.Filters(["all"]))
    missed = []
    for text in everything:
        q, _ = query.parse(searcher.schema, text)
        if not any(len(ids) for _seg, ids in query._matches(searcher, q, allowed)):
            missed.append(text)
    assert missed == []
    word_misses = sum(
        not any(
            len(ids)
            for _seg, ids in query._matches(
                searcher, query.parse(searcher.schema, text, grams=False)[0], allowed
            )
        )
        for text in everything
    )
    assert word_misses > len(everything) // 4  # what jieba's words alone missed


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_whole_words_rank_above_strings_across_words(
    app, procedure, make_document, make_docx, store
):
    """Does a document where 球拍 is a word come before one where 球拍 only occurs across
    words (乒乓球|拍卖), even when the string-only one holds it more often; and is the
    string highlighted where it was found?"""
    rackets = make_document(department="CS", title="器材管理规定")
    _revise(rackets, store, make_docx, RACKETS)
    notice = make_document(department="CS", title="促销公告")
    _revise(notice, store, make_docx, ("乒乓球拍卖完了。" * 4,))
    results = _search("cs_staff", "球拍")
    assert _numbers(results)[0] == rackets.number
    assert set(_numbers(results)[1:]) == {"QP-CS-001", notice.number}
    by_number = {h.number: h for h in results.hits}
    assert "<mark>球拍</mark>卖完了" in by_number["QP-CS-001"].snippet
    # a string across words within a longer query: every part still required
    assert _numbers(_search("cs_staff", "球拍卖 代金券")) == ["QP-CS-001"]
    assert _search("cs_staff", "球拍卖 羽毛").total == 0
    # a quoted phrase is the exact string too
    assert set(_numbers(_search("cs_staff", '"乒乓球拍卖完"'))) == {"QP-CS-001", notice.number}
    assert _search("cs_staff", '"乒乓球拍完了"').total == 0
