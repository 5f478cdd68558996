"""Search (issue 6): Chinese and English analysis, numbers, phrases, permissions inside the
search (results and facet counts), history, a forgiving parser, facets, snippets, "did
you mean", and an index that survives crashes, lock contention, schema changes and
damage."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from flask import current_app
from sqlalchemy import select

from app import storage
from app.documents import services as documents
from app.documents.models import Document
from app.extensions import db
from app.people.models import User
from app.search import analysis, registry, services, sync
from app.search.index import SCHEMA_VERSION
from app.search.models import SearchQueueItem
from app.uploads import check_upload

from .conftest import PASSWORD


@pytest.fixture
def app_config(app_config):
    """The index follows every commit, as in production (conftest switches it off)."""
    return {**app_config, "QDMS_SEARCH_AFTER_COMMIT": True}


# Real quality-management prose (service industry), as the demo and customers write it.
COMPLAINTS = (
    "顾客投诉处理程序规定了受理、调查、答复和跟踪的职责。",
    "客服代表在接到投诉后二十四小时内联系顾客，按服务补救的五个步骤处理：道歉、紧急复原、"
    "移情、象征性赔偿和跟踪回访。",
    "处理结果记录在顾客投诉登记表中，每月汇总分析，作为管理评审的输入。",
)
CORRECTIVE = (
    "对内部审核和顾客投诉中发现的不符合项，责任部门应分析原因，制定纠正措施并限期实施。",
    "质量管理部负责验证纠正措施的有效性，必要时修订相关文件。",
    "The responsible department records each corrective action and its verification.",
)
SATISFACTION = (
    "顾客满意度调查每半年进行一次，调查维度包括可靠性、响应性、保证性、移情性和有形性。",
    "满意度低于目标值时，由市场部组织改进并向最高管理者报告。",
)
ENGLISH = (
    "Customer complaints are acknowledged within one working day.",
    "Corrective actions are raised for every nonconformity found in internal audits.",
    "Service recovery starts with an apology and ends with a follow-up call.",
)
SECRET = ("薪酬调整方案仅限市场部内部使用，涉及绩效奖金的测算口径。",)


# set up once per backend and copied for each test after that (conftest.Snapshots)
SNAPSHOTS = ("library",)


@pytest.fixture
def people(app, make_user, request, snapshots):
    if snapshots.restored(request):  # the library's snapshot has them
        return
    make_user("officer", roles=("officer",), department="QA")
    make_user("auditor", roles=("auditor",), department="QA")
    make_user("cs_staff", roles=("staff",), department="CS")
    make_user("mk_staff", roles=("staff",), department="MK")
    make_user("author", roles=("author", "staff"), department="CS")
    make_user("approver", roles=("approver",), department="QA")


def _user(username: str) -> User:
    return db.session.scalar(select(User).where(User.username == username))


def _revise(doc, store, make_docx, body, *, summary="首次发布", change_type="major"):
    """A new revision of ``doc`` with ``body``, approved and effective."""
    author, approver = _user("author"), _user("approver")
    rev = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary=summary,
        change_reason="新文件",
        change_type=change_type,
        upload=check_upload(make_docx(body), "source.docx", max_bytes=10**7),
    )
    documents.submit(db.session, author, rev, reviewers=[], approvers=[approver])
    documents.approve(db.session, approver, rev, password=PASSWORD)
    db.session.commit()
    return rev


LIBRARY = {  # key: number
    "complaints": "QP-CS-001",
    "corrective": "QP-QA-001",
    "satisfaction": "QP-MK-001",
    "english": "WI-CS-001",
    "secret": "QP-MK-002",
}


@pytest.fixture
def library(app, people, request, snapshots, app_config):
    """Four effective procedures (CS, QA, MK and a confidential MK one), one English work
    instruction, a superseded first revision, and an external standard."""
    if not snapshots.restored(request):
        made = _library(*(request.getfixturevalue(f) for f in ("make_document", "make_docx")))
        assert {key: doc.number for key, doc in made.items()} == LIBRARY
        snapshots.take(request, app.config["SQLALCHEMY_DATABASE_URI"], app_config)
    by_number = {d.number: d for d in db.session.scalars(select(Document))}
    return {key: by_number[number] for key, number in LIBRARY.items()}


def _library(make_document, make_docx):
    from app.external import services as external
    from app.people.models import Department

    store = storage.get_store(current_app)
    made = {}
    for key, type_code, dept, title, body, extra in (
        ("complaints", "QP", "CS", "顾客投诉处理程序", COMPLAINTS, {}),
        ("corrective", "QP", "QA", "纠正措施控制程序", CORRECTIVE, {}),
        ("satisfaction", "QP", "MK", "顾客满意度测量程序", SATISFACTION, {}),
        ("english", "WI", "CS", "Complaint handling work instruction", ENGLISH, {}),
        ("secret", "QP", "MK", "薪酬调整方案", SECRET, {"confidentiality": "confidential"}),
    ):
        doc = make_document(type_code=type_code, department=dept, title=title, **extra)
        _revise(doc, store, make_docx, ("旧版正文：电话回访表格", *body[:1]))
        _revise(doc, store, make_docx, body, summary="第二版", change_type="major")
        made[key] = doc
    external.register(
        db.session,
        _user("officer"),
        reference="GB/T 19001-2016",
        title="质量管理体系 要求",
        publisher="国家标准化管理委员会",
        kind="standard",
        department=db.session.scalar(select(Department).where(Department.code == "QA")),
        holder=_user("officer"),
        edition="2016",
    )
    db.session.commit()
    return made


def _search(username, text, **kw):
    from flask import current_app

    return services.search(db.session, sync.store_for(current_app), _user(username), text, **kw)


def _numbers(results) -> list[str]:
    return [h.number for h in results.hits]


# -- analysis ----------------------------------------------------------------------------


def test_tokenizer_segments_chinese_stems_english_splits_numbers():
    """Does one analyzer give jieba's search-mode words, English stems and number parts,
    numbered one after the other (phrase queries need consecutive positions)?"""
    tokenizer = analysis.QdmsTokenizer()
    # Whoosh reuses one Token object: read each as it comes
    tokens = [
        (t.text, t.pos)
        for t in tokenizer("顾客投诉处理程序 Corrective actions QP-CS-001", positions=True)
    ]
    assert tokens == [
        ("顾客", 0),
        ("投诉", 1),
        ("处理", 2),  # a word's dictionary parts share its position
        ("程序", 2),
        ("处理程序", 2),
        ("correct", 3),
        ("action", 4),
        ("qp", 5),
        ("cs", 6),
        ("001", 7),
    ]
    assert analysis.terms("顾客投诉处理程序", query=True) == ["顾客", "投诉", "处理程序"]
    assert analysis.terms("服务补救") == ["服务", "补救", "服务补救"]
    assert analysis.terms("GB/T 19001-2016") == ["gb", "t", "19001", "2016"]


# -- Chinese, English, numbers, phrases ------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_chinese_words_of_two_three_and_four_characters(library):
    """Are two-, three- and four-character words found where they occur, and only there?"""
    assert set(_numbers(_search("cs_staff", "投诉"))) >= {"QP-CS-001", "QP-QA-001"}
    assert _numbers(_search("cs_staff", "满意度")) == ["QP-MK-001"]
    assert _numbers(_search("cs_staff", "管理者")) == ["QP-MK-001"]  # 最高管理者
    assert _numbers(_search("cs_staff", "服务补救")) == ["QP-CS-001"]
    assert _numbers(_search("cs_staff", "补救")) == ["QP-CS-001"]  # a part of the word
    assert set(_numbers(_search("cs_staff", "纠正措施"))) == {"QP-QA-001"}
    assert _search("cs_staff", "薪酬").total == 0  # confidential to MK, see below
    assert _search("cs_staff", "航空发动机").total == 0


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_phrases_in_both_languages(library):
    """Does a quoted phrase need its words together and in order, in Chinese and English?"""
    assert _numbers(_search("cs_staff", '"紧急复原"')) == ["QP-CS-001"]
    assert _numbers(_search("cs_staff", '"纠正措施的有效性"')) == ["QP-QA-001"]
    assert _search("cs_staff", '"复原紧急"').total == 0  # the words exist, not in this order
    assert _numbers(_search("cs_staff", '"service recovery starts"')) == ["WI-CS-001"]
    assert _search("cs_staff", '"recovery service"').total == 0
    assert _numbers(_search("cs_staff", "recovery service")) == ["WI-CS-001"]  # unquoted: any order


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_chinese_phrase_starting_inside_a_word(app, people, make_document, make_docx, store):
    """Is a Chinese phrase found when the text around it makes jieba cut a longer word
    (…应立即审核… gives 立即, 应立即, 审核: the phrase 立即审核 is not adjacent)?"""
    doc = make_document(department="CS", title="法规识别程序")
    _revise(
        doc, store, make_docx, ("发现新的法律法规时，质量管理部应立即审核法律法规的适用条款。",)
    )
    assert "应立即" in analysis.terms("应立即审核")
    assert _numbers(_search("cs_staff", '"立即审核法律法规"')) == ["QP-CS-001"]
    assert _search("cs_staff", '"审核立即法律法规"').total == 0  # order still matters


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_english_stemming(library):
    """Do "corrective actions" and "complaint acknowledged" find the inflected forms?"""
    assert set(_numbers(_search("cs_staff", "corrective actions"))) == {"QP-QA-001", "WI-CS-001"}
    assert _numbers(_search("cs_staff", "complaint acknowledge")) == ["WI-CS-001"]
    assert _numbers(_search("cs_staff", "AUDITING")) == ["WI-CS-001"]  # audits, any case


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_numbers_whole_and_in_part(library, login_as):
    """Is QP-CS-001 found whole and by its parts, GB/T 19001-2016 too, and does a number
    typed exactly into the search box open the document?"""
    assert _numbers(_search("cs_staff", "QP-CS-001"))[0] == "QP-CS-001"
    assert "QP-QA-001" not in _numbers(_search("cs_staff", "QP-CS-001"))
    assert set(_numbers(_search("cs_staff", "CS-001"))) == {"QP-CS-001", "WI-CS-001"}
    external = _search("cs_staff", "GB/T 19001-2016")
    assert external.hits[0].kind == "external" and "GB/T 19001-2016" in external.hits[0].number
    assert _search("cs_staff", "19001").hits[0].kind == "external"
    client = login_as("cs_staff")
    jump = client.get("/search?q=qp-cs-001")
    assert jump.status_code == 302 and jump.headers["Location"].endswith("/documents/QP-CS-001")
    # a number the reader may not open is not a shortcut to it
    assert client.get("/search?q=QP-MK-002").status_code == 200


# -- permissions -----------------------------------------------------------------------


def test_restricted_document_never_in_other_departments_results_or_facets(
    library, client, api_token
):
    """Does a confidential MK procedure stay out of CS staff's results and facet counts,
    through the service, the page and the API — while MK staff and the officer find it?"""
    hidden = _search("cs_staff", "市场部")
    assert "QP-MK-002" not in _numbers(hidden)
    assert hidden.total == len(hidden.hits) == 1  # QP-MK-001 only
    assert hidden.facets["department"] == {"MK": 1}
    assert hidden.facets["kind"] == {"document": 1}
    assert set(_numbers(_search("mk_staff", "市场部"))) == {"QP-MK-001", "QP-MK-002"}
    officer = _search("officer", "市场部")
    assert set(_numbers(officer)) == {"QP-MK-001", "QP-MK-002"}
    assert officer.facets["department"] == {"MK": 2}

    headers = api_token("cs_api", roles=("staff",))
    body = client.get("/api/v1/search?q=薪酬", headers=headers).get_json()
    assert body["total"] == 0 and body["items"] == []
    assert all(not counts for counts in body["facets"].values())
    page = client.get("/api/v1/search?q=市场部&per_page=1", headers=headers).get_json()
    assert page["total"] == 1 and page["facets"]["department"] == {"MK": 1}


def test_history_only_for_officers_and_auditors(library, client, api_token):
    """Are superseded revisions found only with include_history, which staff may not ask
    for (403), and are effective revisions the default for everyone?"""
    assert _search("auditor", "电话回访表格").total == 0  # only in the A/0s
    history = _search("auditor", "电话回访表格", include_history=True)
    assert history.total == 5 and {h.status for h in history.hits} == {"superseded"}
    assert {h.label for h in history.hits} == {"A/0"}
    assert history.facets["status"] == {"superseded": 5}
    with pytest.raises(services.PermissionDenied):
        _search("cs_staff", "电话回访表格", include_history=True)
    headers = api_token("cs_api", roles=("staff",))
    refused = client.get("/api/v1/search?q=回访&include_history=true", headers=headers)
    assert refused.status_code == 403 and "history" in refused.get_json()["error"]["message"]


# -- the query language never breaks ---------------------------------------------------


MALFORMED = (
    "(((",
    ")",
    '"unclosed phrase',
    "AND",
    "OR OR NOT",
    "title:",
    "*",
    "?",
    "[a TO",
    "{x",
    "^2~",
    "客户投诉 AND (",
    "-",
    "\\",
    "😀",
    "a" * 500,
    "NOT 投诉",
)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_malformed_queries_fall_back_and_never_error(library, client, login_as, api_token):
    """Does anything people type or paste give an answer (never a 400/500), falling back
    to the plain words when the syntax is not understood?"""
    headers = api_token("cs_api", roles=("staff",))
    for text in MALFORMED:
        response = client.get("/api/v1/search", query_string={"q": text}, headers=headers)
        assert response.status_code == 200, (text, response.text)
        assert {"items", "facets", "total"} <= set(response.get_json())
    fallback = _search("cs_staff", "顾客投诉 AND (")
    assert fallback.total >= 1
    assert _search("cs_staff", '"紧急复原').total == 1  # an unclosed quote still finds it
    page = login_as("cs_staff")
    for text in MALFORMED:
        assert page.get("/search", query_string={"q": text}).status_code == 200, text
    too_long = client.get("/api/v1/search", query_string={"q": "x" * 501}, headers=headers)
    assert too_long.status_code == 400 and "q" in too_long.get_json()["error"]["fields"]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_boolean_operators(library):
    """Do OR and NOT do what they say?"""
    either = set(_numbers(_search("cs_staff", "满意度 OR 纠正措施")))
    assert either == {"QP-MK-001", "QP-QA-001"}
    assert "QP-CS-001" not in _numbers(_search("cs_staff", "投诉 NOT 补救"))


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the engine, not storage
@pytest.mark.own_setup  # starts from the one segment a rebuild leaves
def test_block_level_matching_and_scores_agree_with_whoosh(library, app):
    """qdms evaluates queries on arrays of postings (query._Segment), compiled beside the
    segment or read from Whoosh's blocks. Does it find exactly what Whoosh's own
    matchers find —
    terms, AND, OR, NOT, phrases in both languages — and score them as Whoosh's BM25F
    does, over an index of several segments with deleted documents? And do the Chinese
    strings (query.Substring: compiled bigrams, or the stored text of a segment without
    them) match the same with either segment and with Whoosh's own engine?"""
    from whoosh import query as wq

    from app.search import query

    store = sync.store_for(app)
    sync.ensure_index(db.session, store)
    keys = set().union(*(registry.keys_for(d) for d in db.session.scalars(select(Document))))
    writer = store.writer()  # re-indexed: deletions in the old segment, and a new one
    sync.write_items(db.session, writer, sorted(keys)[:3])
    writer.commit(merge=False)
    searcher = store.searcher()
    assert len(searcher.leaf_searchers()) > 1 and searcher.reader().has_deletions()
    # The rebuilt segment has compiled postings (app.search.postings), the new one not
    # yet: both kinds are read in one query, cold cache, then warm, then all compiled.
    compiled = [
        query._Segment(searcher, leaf, offset, None).compiled is not None
        for leaf, offset in searcher.leaf_searchers()
    ]
    # the rebuild's segment(s) compiled, the new one not (a rebuild may leave more than one
    # segment when the writer flushes on the way: seen in a full run under load)
    assert compiled[-1] is False and compiled[:-1] and all(compiled[:-1]), compiled
    query._POSTINGS.__init__()
    for _pass in ("cold", "warm", "compiled"):
        if _pass == "compiled":
            assert store.compile_postings() == 1
        for text in (
            "程序",
            "顾客 投诉",
            "满意度 OR 纠正措施",
            "投诉 NOT 补救",
            '"服务补救"',
            '"顾客投诉"',
            '"corrective action"',
            "corrective actions",
            "QP-CS-001",
            "procedure OR instruction OR 程序",
        ):
            strings, _ = query.parse(searcher.schema, text)
            everywhere = {
                engine: {
                    d + segment.offset
                    for segment, ids in query._matches(searcher, strings, None, engine)
                    for d in ids.tolist()
                }
                for engine in (query._Segment, query._WhooshSegment)
            }
            assert everywhere[query._Segment] == everywhere[query._WhooshSegment], text
            q, _ = query.parse(searcher.schema, text, grams=False)  # Whoosh's own queries
            words_only = {
                d + segment.offset
                for segment, ids in query._matches(searcher, q, None)
                for d in ids.tolist()
            }
            if "NOT" not in text:  # strings only add (under NOT they also take away)
                assert everywhere[query._Segment] >= words_only, text
            ours = {}
            for segment, ids in query._matches(searcher, q, None):
                scores = segment.scores(query._scored_terms(q), ids)
                for d, score in zip(ids.tolist(), scores.tolist(), strict=True):
                    ours[d + segment.offset] = score
            theirs = {hit.docnum: hit.score for hit in searcher.search(q, limit=None)}
            assert set(ours) == set(theirs), text
            assert ours, text
            # Whoosh scores a phrase its own way, and adds 1.0 for every NOT clause
            # matched (the same for all matches); terms, AND and OR must agree exactly.
            if "NOT" not in text and not any(isinstance(x, wq.Phrase) for x in q.leaves()):
                for d, score in theirs.items():
                    assert ours[d] == pytest.approx(score, rel=1e-4), text
    ranked = _search("officer", "程序").hits
    assert [h.score for h in ranked] == sorted((h.score for h in ranked), reverse=True)


# -- facets, snippets, sorting, suggestions, paging -----------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_facets_snippets_sort_and_paging(library):
    """Do facets count the matches, narrowing by one facet work, snippets highlight the
    words, sorting by date put the newest first, and pages not overlap?"""
    results = _search("officer", "顾客")
    assert results.facets["type"] == {"QP": 3}  # CS, QA (顾客投诉中) and MK
    narrowed = _search("officer", "顾客", selected={"department": "MK"})
    assert _numbers(narrowed) == ["QP-MK-001"] and narrowed.facets["department"] == {"MK": 1}
    hit = _search("officer", "服务补救").hits[0]
    assert "<mark>服务补救</mark>" in hit.snippet
    english = _search("officer", "corrective actions").hits
    assert any("<mark>Corrective</mark> <mark>actions</mark>" in h.snippet for h in english)
    newest = _search("officer", "程序 OR procedure OR instruction", sort="date")
    dates = [h.date for h in newest.hits]
    assert dates == sorted(dates, reverse=True)
    first = _search("officer", "的", per_page=1)
    second = _search("officer", "的", per_page=1, page=2)
    assert first.total == second.total >= 3
    assert not set(_numbers(first)) & set(_numbers(second))


def test_snippet_is_escaped_html():
    """Is document text escaped in snippets (only our <mark> is markup)?"""
    from app.search.query import _highlight_pattern, snippet

    out = snippet("<script>alert(1)</script> 服务补救", _highlight_pattern({"服务补救"}))
    assert "<script>" not in out and "&lt;script&gt;" in out
    assert "<mark>服务补救</mark>" in out
    # Porter's stems are not always prefixes of the word (strictly → strictli)
    english = snippet("Records are strictly controlled.", _highlight_pattern({"strictli"}))
    assert "<mark>strictly</mark>" in english


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_did_you_mean_for_misspelt_english(library):
    """Is a misspelt English word answered with the word the documents use?"""
    results = _search("cs_staff", "complant handling")
    assert results.suggestion == "complaint handling"
    assert _search("cs_staff", "complaint").suggestion is None


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_did_you_mean_only_suggests_words_the_reader_may_see(
    library, make_document, make_docx, store
):
    """Does "did you mean" keep quiet about a word only a confidential document holds, for
    a reader who may not open it, and offer it to those who may?"""
    doc = make_document(
        type_code="QP", department="MK", title="Pricing model", confidentiality="confidential"
    )
    _revise(doc, store, make_docx, ("The quixotronics pricing model is reserved to marketing.",))
    assert _search("cs_staff", "quixotronix").suggestion is None
    assert _search("cs_staff", "quixotronix").total == 0
    assert _search("officer", "quixotronix").suggestion == "quixotronics"
    # a word the reader may see elsewhere is still suggested from what they see
    assert _search("cs_staff", "complant").suggestion == "complaint"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_api_answer_shape(library, client, api_token):
    """Does GET /api/v1/search answer as docs/API.md says: items with kind, id, number, title,
    snippet (highlighted), score; plus facets?"""
    headers = api_token("cs_api", roles=("staff",))
    body = client.get("/api/v1/search?q=服务补救", headers=headers).get_json()
    item = body["items"][0]
    assert {"kind", "id", "number", "title", "snippet", "score"} <= set(item)
    assert item["kind"] == "document" and item["number"] == "QP-CS-001"
    assert item["revision"] == "B/0" and "<mark>" in item["snippet"] and item["score"] > 0
    assert set(body["facets"]) == {"kind", "type", "department", "status", "year"}
    for bad in ("kind=nope", "sort=size", "page=0", "per_page=500", "colour=red&status=x"):
        response = client.get(f"/api/v1/search?q=x&{bad}", headers=headers)
        assert response.status_code == 400 if "colour" not in bad else 200, bad


# -- the page --------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_search_page_header_box_facets_and_snippets(library, login_as):
    """Is there a search box in the header of every page, and does the results page show
    snippets, facet links that narrow, and the history switch only to auditors?"""
    client = login_as("cs_staff")
    home = client.get("/documents").text
    assert 'id="header-q"' in home and 'action="/search"' in home
    page = client.get("/search?q=顾客").text
    assert "<mark>顾客</mark>" in page and 'id="facet-department"' in page
    assert "/search?q=%E9%A1%BE%E5%AE%A2&amp;department=MK" in page
    assert 'id="include-history"' not in page
    narrowed = client.get("/search?q=顾客&department=MK").text
    listed = narrowed.split('id="results"', 1)[1]
    assert "QP-MK-001" in listed and "QP-CS-001" not in listed


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # analysis, not storage
def test_auditors_page_offers_the_history(library, login_as):
    """Does an auditor's results page offer superseded revisions, and list them on request?"""
    auditor = login_as("auditor")
    assert 'id="include-history"' in auditor.get("/search?q=顾客").text
    assert "A/0" in auditor.get("/search?q=电话回访表格&include_history=1").text


# -- keeping the index in step -------------------------------------------------------


def test_changes_reach_the_index_after_commit_and_rollbacks_do_not(
    library, app, make_document, make_docx, store
):
    """Is a committed change searchable at once (queue row done), and does a rolled-back
    one leave neither index entry nor queue row?"""
    doc = make_document(department="CS", title="服务承诺履行检查规程")
    _revise(doc, store, make_docx, ("服务承诺的履行情况每季度检查一次。",))
    assert "QP-CS-002" in _numbers(_search("cs_staff", "履行情况"))
    assert sync.pending_count(db.session) == 0
    before = db.session.scalar(select(db.func.count(SearchQueueItem.id)))
    draft = make_document(department="CS", title="临时草稿")
    db.session.commit()
    draft.title = "回滚的标题 rolledbackword"
    db.session.flush()
    db.session.rollback()
    after = db.session.scalar(select(db.func.count(SearchQueueItem.id)))
    assert after == before + 1  # only the committed draft's row (its creation)
    assert _search("officer", "rolledbackword", include_history=True).total == 0


def test_postings_are_compiled_after_each_commit_and_dropped_with_their_segment(
    library, app, make_document, make_docx, store, runner, caplog
):
    """Does each new segment get its postings compiled right after the commit that wrote
    it (app.search.postings), do `qdms sweep` compile a merged segment and remove the
    files of the segments merged away, and is a damaged compiled file passed over (with
    a warning) for Whoosh's own blocks, with the same results?"""
    from app.search import postings

    index = sync.store_for(app)

    def compiled() -> set[str]:
        folder = index.root / index.current_name()
        return {p.name.rsplit(".", 1)[0] for p in folder.glob("*.qdms-*")}

    def segments() -> set[str]:
        leaves = index.searcher().leaf_searchers()
        return {leaf.reader().segment().segment_id() for leaf, _offset in leaves}

    doc = make_document(department="CS", title="服务承诺履行检查规程")
    _revise(doc, store, make_docx, ("服务承诺的履行情况每季度检查一次。",))
    assert len(segments()) > 1 and compiled() == segments()
    assert _numbers(_search("cs_staff", "履行情况")) == ["QP-CS-002"]

    index.writer().commit(optimize=True)  # one merged segment, not compiled yet
    (merged,) = segments()
    assert merged not in compiled()
    assert _numbers(_search("cs_staff", "履行情况")) == ["QP-CS-002"]
    result = runner.invoke(args=["sweep"])
    assert result.exit_code == 0, result.output
    assert compiled() == {merged}

    terms = index.root / index.current_name() / f"{merged}.qdms-terms"
    terms.write_bytes(b"garbage")
    postings._OPEN.clear()
    with caplog.at_level("WARNING"):
        assert _numbers(_search("cs_staff", "履行情况")) == ["QP-CS-002"]
    assert "compiled postings" in caplog.text


def test_a_failed_index_write_is_recorded_and_retried(
    library, app, make_document, make_docx, store, monkeypatch, caplog
):
    """When the index cannot be written (another process holds its lock too long), is the
    database change kept, the failure recorded on the queue row, and the retry (qdms
    sweep) catching up?"""
    from whoosh.index import LockError

    from app.search.index import IndexStore

    real_writer = IndexStore.writer

    def locked(self, ix=None, **kw):
        raise LockError("index locked by another process")

    monkeypatch.setattr(IndexStore, "writer", locked)
    doc = make_document(department="CS", title="投诉升级处理规程")
    with caplog.at_level(logging.WARNING, logger="app.search.sync"):
        _revise(doc, store, make_docx, ("重大投诉在两小时内升级至部门经理。",))
    assert "left pending" in caplog.text
    assert doc.current_revision.status == "effective"  # the database change stands
    rows = db.session.scalars(
        select(SearchQueueItem).where(SearchQueueItem.done_at.is_(None))
    ).all()
    assert rows and all(r.attempts >= 1 and "locked" in r.last_error for r in rows)
    monkeypatch.setattr(IndexStore, "writer", real_writer)
    assert "QP-CS-002" not in _numbers(_search("cs_staff", "升级至部门经理"))
    out = app.test_cli_runner().invoke(args=["sweep"])
    assert out.exit_code == 0, out.output
    assert "updates applied, 0 still pending" in out.output
    assert _numbers(_search("cs_staff", "升级至部门经理")) == ["QP-CS-002"]


def test_a_later_write_catches_up_with_pending_index_rows(
    library, app, make_document, make_docx, store, monkeypatch
):
    """After index writes failed, does the next write that reaches the index also apply
    the rows left pending (no sweep needed), a bounded batch at a time, leaving rows that
    failed too often to the sweep?"""
    from whoosh.index import LockError

    from app.search.index import IndexStore

    real_writer = IndexStore.writer

    def locked(self, ix=None, **kw):
        raise LockError("index locked by another process")

    monkeypatch.setattr(IndexStore, "writer", locked)
    first, second, later = library["complaints"], library["corrective"], library["satisfaction"]
    first.title = "投诉升级处理规程"
    db.session.commit()
    second.title = "夜间值班安排规程"
    db.session.commit()
    third = library["english"]
    third.title = "Night shift escalation work instruction"
    db.session.commit()
    pending = db.session.scalars(
        select(SearchQueueItem).where(SearchQueueItem.done_at.is_(None))
    ).all()
    assert len(pending) == 3
    monkeypatch.setattr(IndexStore, "writer", real_writer)
    monkeypatch.setattr(sync, "CATCH_UP_BATCH", 1)
    # the oldest pending row has been tried too often: it waits for the sweep
    oldest = min(pending, key=lambda r: r.id)
    oldest.attempts = sync.CATCH_UP_ATTEMPTS
    db.session.commit()  # this write (a queue row only) reaches no index: nothing applied
    assert sync.pending_count(db.session) == len(pending)
    later.title = "内审员资格评定规程"
    db.session.commit()  # its own row, then one older pending row
    assert sync.pending_count(db.session) == len(pending) - 1
    assert _search("officer", "内审员资格").total == 1
    assert _search("officer", "夜间值班安排").total == 1  # caught up without a sweep
    assert _search("officer", "night shift escalation").total == 0  # the next batch
    later.title = "内审员资格评定与培训规程"
    db.session.commit()
    assert _search("officer", "night shift escalation").total == 1
    assert sync.pending_count(db.session) == 1  # tried too often: left to the sweep
    out = app.test_cli_runner().invoke(args=["sweep"])
    assert out.exit_code == 0, out.output
    assert sync.pending_count(db.session) == 0
    assert _search("officer", "投诉升级处理规程").total == 1
    assert _search("officer", "夜间值班安排规程").total == 1


def test_killed_between_commit_and_index_write_loses_nothing(library, app, app_config, runner):
    """Acceptance 3: a process killed after its commit and before the index write leaves
    the change in the database and a pending queue row; `qdms reindex` (or the retry in
    `qdms sweep`) brings the item into the search."""
    assert _search("cs_staff", "夜间值班").total == 0  # the index exists and is current
    script = textwrap.dedent(
        """
        import json, os, sys
        from app import create_app
        from app.extensions import db
        from app.search import sync

        def killed(*args, **kwargs):
            os._exit(9)  # SIGKILL-like: no cleanup, no exception handlers

        sync.process_queue = killed
        app = create_app(json.loads(sys.argv[1]))
        with app.app_context():
            from app.documents import services
            from app.documents.models import Document
            doc = db.session.scalar(db.select(Document).where(Document.number == "QP-CS-001"))
            doc.title = "顾客投诉处理程序（含夜间值班）"
            db.session.commit()
            print("not killed")
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(app_config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=os.getcwd(),
    )
    assert done.returncode == 9, done.stdout + done.stderr
    db.session.rollback()
    assert sync.pending_count(db.session) >= 1
    assert _search("cs_staff", "夜间值班").total == 0  # the index missed it
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    assert "search index rebuilt" in result.output
    assert _numbers(_search("cs_staff", "夜间值班")) == ["QP-CS-001"]
    assert sync.pending_count(db.session) == 0


def test_concurrent_writers_lose_nothing(library, app, make_document):
    """Do writers in several threads (each its own lock file handle, as processes have)
    wait for each other instead of failing or losing updates?"""
    docs = [make_document(department="CS", title=f"并发写入测试文件{i}") for i in range(6)]
    db.session.commit()
    ids = [d.id for d in docs]
    store = sync.store_for(app)
    engine = db.engine
    errors = []

    def reindex(doc_id):
        try:
            from sqlalchemy.orm import Session

            with Session(engine) as session:
                row = SearchQueueItem(kind="document.family", item_id=doc_id, attempts=0)
                session.add(row)
                session.commit()
                row_id = row.id
            sync.process_queue(engine, store, [row_id])
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=reindex, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sync.pending_count(db.session) == 0


def test_rebuild_swaps_generations_and_a_new_schema_version_rebuilds(library, app, runner):
    """Does `qdms reindex` build a new generation and swap it in, and is an index of
    another schema version, or a damaged one, rebuilt (with a warning) on the next search
    instead of an error?"""
    store = sync.store_for(app)
    first = store.current_name()
    result = runner.invoke(args=["reindex"])
    assert result.exit_code == 0, result.output
    second = store.current_name()
    assert second != first and (store.root / second / "qdms-schema.json").exists()
    assert _search("cs_staff", "服务补救").total == 1

    (store.root / second / "qdms-schema.json").write_text(
        json.dumps({"schema_version": SCHEMA_VERSION - 1})
    )
    store.reset()
    assert _search("cs_staff", "服务补救").total == 1
    third = store.current_name()
    assert third != second

    for toc in (store.root / third).glob("_MAIN_*.toc"):
        toc.write_bytes(b"garbage")
    store.reset()
    assert _search("cs_staff", "服务补救").total == 1
    assert store.current_name() != third


def test_damaged_index_is_rebuilt_with_a_warning(library, app, login_as, caplog):
    """Does a damaged index give the user results (rebuilt) and the log a warning?"""
    store = sync.store_for(app)
    current = store.root / store.current_name()
    for path in current.iterdir():
        if path.name.startswith("_MAIN_"):
            path.write_bytes(b"\0" * 10)
    store.reset()
    client = login_as("cs_staff")
    with caplog.at_level(logging.WARNING, logger="app.search.sync"):
        page = client.get("/search?q=服务补救")
    assert page.status_code == 200 and "QP-CS-001" in page.text
    assert "rebuilding it from the database" in caplog.text


# -- issue 18: history without drafts, kinds from the builders, empty results, Whoosh ---


def test_history_adds_what_is_no_longer_in_force_never_drafts(library, app, store, make_docx):
    """Does include_history add superseded revisions and withdrawn external documents,
    but never a draft, a revision in review or an approved one not yet effective?"""
    from app.external import services as external
    from app.external.models import ExternalDocument

    author, approver = _user("author"), _user("approver")
    doc = library["complaints"]
    draft = documents.add_revision(
        db.session,
        author,
        doc,
        store,
        change_summary="起草中",
        change_reason="修订",
        change_type="major",
        upload=check_upload(make_docx(("草稿里的夜班交接规定",)), "d.docx", max_bytes=10**7),
    )
    db.session.commit()
    assert _search("officer", "夜班交接", include_history=True).total == 0  # draft
    documents.submit(db.session, author, draft, reviewers=[], approvers=[approver])
    db.session.commit()
    assert draft.status == "in_review"
    assert _search("officer", "夜班交接", include_history=True).total == 0
    assert _search("officer", "电话回访表格", include_history=True).total == 5  # superseded

    entry = db.session.scalar(select(ExternalDocument))
    external.withdraw(db.session, _user("officer"), entry, reason="已废止")
    db.session.commit()
    assert _search("officer", "19001").total == 0
    withdrawn = _search("officer", "19001", include_history=True)
    assert [h.status for h in withdrawn.hits] == ["withdrawn"]


def test_kinds_come_from_the_record_builders(library, client, api_token, monkeypatch):
    """Does the API take every kind the index holds (record included) and refuse others,
    and does a kind a new feature registers work without touching the search package?"""
    headers = api_token("cs_api", roles=("staff",))
    for kind in ("document", "external", "record"):
        response = client.get(f"/api/v1/search?q=质量&kind={kind}", headers=headers)
        assert response.status_code == 200, (kind, response.get_json())
        assert {item["kind"] for item in response.get_json()["items"]} <= {kind}
    refused = client.get("/api/v1/search?q=质量&kind=nope", headers=headers)
    assert refused.status_code == 400 and "kind" in refused.get_json()["error"]["fields"]

    builder = registry.Builder(
        kind="finding",
        title="Audit findings",
        load=lambda session, ids: {},
        all_ids=lambda session: iter(()),
        count=lambda session: 0,
    )
    monkeypatch.setitem(registry._BUILDERS, "finding", builder)
    assert client.get("/api/v1/search?q=质量&kind=finding", headers=headers).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the page, not storage
def test_an_empty_result_suggests_what_to_try(library, login_as, make_user):
    """Does a search without results suggest fewer words, the other language, the number,
    no quotation marks, the history (to those who may see it), the spelling and no
    filters — in Chinese and in English?"""
    make_user("lina", roles=("staff",), department="CS", language="zh_CN")
    page = login_as("lina").get("/search?q=航空发动机 叶片").text
    tips = page.split('id="no-results"', 1)[1].split("</ul>", 1)[0]
    assert "减少词语" in tips and "改用英文术语" in tips
    assert 'id="tip-history"' not in tips and 'id="tip-number"' not in tips
    assert login_as("lina").form_post("/logout").status_code == 302

    make_user("olga", roles=("officer",), department="QA", language="en")
    officer = login_as("olga")
    page = officer.get('/search?q="complant handling QP-XX-999"&type=QP').text
    tips = page.split('id="no-results"', 1)[1].split("</ul>", 1)[0]
    for tip in ("fewer", "unquote", "number", "history", "filters"):
        assert f'id="tip-{tip}"' in tips, tip
    assert "the Chinese term" in tips
    assert "include_history=1" in tips
    found = officer.get("/search?q=complant").text
    assert 'id="tip-spelling"' in found and "complaint" in found
    assert 'id="no-results"' not in officer.get("/search?q=投诉").text


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # the engine, not storage
def test_without_whooshs_private_format_whoosh_answers(library, app, caplog):
    """When an attribute of Whoosh's private format that qdms reads is missing (a Whoosh
    upgrade), is it logged once, and do searches give the same results through Whoosh's
    own matchers — Chinese strings, phrases, NOT, English, facets?"""
    from whoosh.index import FileIndex

    from app.search import postings

    texts = ("投诉", "补救", '"紧急复原"', "投诉 NOT 补救", "corrective actions", "务补", "球拍")
    expected = {t: (_search("officer", t).total, _numbers(_search("officer", t))) for t in texts}
    assert expected["务补"][0] == 1  # a string across words (服务|补救)

    segments = FileIndex._segments
    del FileIndex._segments  # restored below, before anything asks again
    postings.private_ok.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="app.search.postings"):
            for _ in range(2):
                for text in texts:
                    results = _search("officer", text)
                    assert (results.total, sorted(_numbers(results))) == (
                        expected[text][0],
                        sorted(expected[text][1]),
                    ), text
        warnings = [r for r in caplog.records if "not the version qdms reads" in r.message]
        assert len(warnings) == 1 and "FileIndex._segments" in warnings[0].message
        assert not postings.private_ok()
        assert postings.compile_segments(sync.store_for(app).root) == 0
    finally:
        FileIndex._segments = segments
        postings.private_ok.cache_clear()
