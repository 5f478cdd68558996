"""The demo's content as data (app/demo/data/, read by app/demo/loader.py): the body syntax,
clear errors for a broken file, and data that names only what exists — without seeding
(tests/test_demo.py and tests/test_distribution_demo.py seed it)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from app.demo import loader
from app.demo.documents import apply_edits, edits_of
from app.records.fields import check_form

ROOT = Path(__file__).resolve().parent.parent


def test_a_body_is_headings_paragraphs_bullets_and_tables():
    """Does the body syntax give headings, one paragraph per line, bullets and tables (header
    row first, the |---| line skipped, empty cells kept, a blank line ending a table)?"""
    body = loader.parse_body(
        """
## 1 目的 Purpose

规范热线的接听流程。
4.1 接听：铃响三声内接听。

- 客服代表：受理投诉。
- Team leaders accept escalations.

| 等级 | 首次响应 |
|---|---|
| 一般 | 2 小时内 |

| 文件编号 |  | 文件名称 | |
| 更改内容 | | | |
"""
    )
    assert body == (
        ("h", "1 目的 Purpose"),
        ("p", "规范热线的接听流程。"),
        ("p", "4.1 接听：铃响三声内接听。"),
        ("li", "客服代表：受理投诉。"),
        ("li", "Team leaders accept escalations."),
        ("table", (("等级", "首次响应"), ("一般", "2 小时内"))),
        ("table", (("文件编号", "", "文件名称", ""), ("更改内容", "", "", ""))),
    )


HEADER = """+++
type_code = "QP"
department = "QA"
title = "测试程序"
{extra}
[[steps]]
summary = "首次发布"
reason = "测试"
author = "officer"
approvers = ["approver"]
{step}
+++

## 1 目的 Purpose
"""


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("01-qp.md", "## 1 目的 Purpose\n", "expected a +++ TOML header +++"),
        ("01-qp.md", HEADER.format(extra="titel = 'x'", step=""), "titel"),
        ("01-qp.md", HEADER.format(extra="", step="outcome = 'done'"), "unknown outcome 'done'"),
        ("01-qp.md", HEADER.format(extra="parent = 'qp_x'", step=""), "must come first"),
        ("01-qp.md", HEADER.format(extra="title_en = ", step=""), "Invalid"),
        (
            "01-qp.md",
            HEADER.format(extra="", step="") + "| a | b\n",
            "a table row starts and ends with |",
        ),
        ("qp.md", HEADER.format(extra="", step=""), "a document file is named NN-key.md"),
    ],
)
def test_a_broken_document_file_fails_naming_the_file(tmp_path, name, text, message):
    """Does a document file without its header, with an unknown key or outcome, a form
    before its parent, bad TOML, a broken table row or a name without its number fail
    with the file's name and what is wrong?"""
    (tmp_path / name).write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        loader.documents(tmp_path)
    assert str(info.value).startswith(f"{name}: ")


def test_the_demo_data_names_only_what_exists():
    """Do the departments, documents, register, distribution plan and record types name only
    demo users, departments, documents and references that exist; does every document's
    story apply (each edit matches its text) and every record form check?"""
    org = loader.organisation()
    usernames = {u["username"] for u in org["users"]}
    codes = {d["code"] for d in org["departments"]}
    assert len(usernames) == len(org["users"]) and len(codes) == len(org["departments"])
    assert {d["head"] for d in org["departments"]} <= usernames
    assert {u["department"] for u in org["users"]} <= codes

    docs = loader.documents()
    keys = {d.key for d in docs}
    assert len(keys) == len({(d.type_code, d.title) for d in docs}) == len(docs) == 25
    for doc in docs:
        # a form belongs to its parent's department; every other document names its own
        assert (doc.parent is None) == (doc.department in codes), doc.key
        for step in doc.steps:
            assert {step.author, *step.reviewers, *step.approvers} <= usernames, doc.key
        assert len(apply_edits(doc.body, edits_of(doc))) == len(doc.body)
    assert sum(1 for d in docs if d.title_en) == 22  # the Chinese-titled ones

    register = loader.external()
    references = {e["reference"] for e in register["entry"]}
    assert all(e["editions"][-1]["reference"] == e["reference"] for e in register["entry"])
    for citation in register["citation"]:
        assert citation["document"] in keys and set(citation["cites"]) <= references

    plan = loader.distribution()
    assert plan["leaver"]["username"] not in usernames
    for issue in plan["issue"]:
        assert issue["document"] in keys
        named = {r["signer"] for r in issue.get("receipts", ())}
        named |= {
            *issue.get("acknowledged", ()),
            *(r["returned_by"] for r in issue.get("returns", ())),
        }
        assert named <= usernames
        if "revise" in issue:
            step = loader.step(issue["revise"])
            doc = next(d for d in docs if d.key == issue["document"])
            apply_edits(doc.body, [*edits_of(doc), *step.edits])

    for rtype in loader.records()["type"]:
        assert rtype["department"] in codes
        names = {f["name"] for f in check_form(rtype["fields"])}
        for record in rtype["records"]:
            assert record["by"] in usernames and set(record["values"]) <= names


def test_every_data_file_ships_with_the_package():
    """Does pyproject's package-data for app.demo cover every file under app/demo/data, so
    an installed qdms can seed the demo?"""
    with (ROOT / "pyproject.toml").open("rb") as f:
        patterns = tomllib.load(f)["tool"]["setuptools"]["package-data"]["app.demo"]
    package = ROOT / "app" / "demo"
    shipped = {p for pattern in patterns for p in package.glob(pattern)}
    files = {p for p in (package / "data").rglob("*") if p.is_file()}
    assert files and files == shipped


def test_the_demo_risk_register_names_only_what_exists():
    """Does the demo risk register hold 10 risk points in demo departments, owned, added and
    reviewed by demo users, with levels 1–5, linking only demo documents, and some due?"""
    from datetime import date

    from app.extensions import add_months

    org = loader.organisation()
    usernames = {u["username"] for u in org["users"]}
    codes = {d["code"] for d in org["departments"]}
    keys = {d.key for d in loader.documents()}
    risks = loader.risks()["risk"]
    assert len(risks) == 10
    assert len({(r["process"], r["department"]) for r in risks}) == 10
    for risk in risks:
        assert risk["department"] in codes and {risk["owner"], risk["by"]} <= usernames
        assert risk["likelihood"] in range(1, 6) and risk["severity"] in range(1, 6)
        assert set(risk.get("links", ())) <= keys
        assert {r["by"] for r in risk.get("reviews", ())} <= usernames
        # written in Chinese, as the organisation writes them (no English in the Chinese UI)
        for field in ("process", "cause", "consequence", "controls"):
            assert re.search(r"[\u4e00-\u9fff]", risk[field]), (risk["process"], field)
            assert not re.search(r"[A-Za-z]{3}", risk[field]), (risk["process"], field)
    base = date(2026, 12, 2)
    due = [
        r
        for r in risks
        if not r.get("reviews")
        and add_months(base, r.get("review_in_months", 12) - r.get("created_months_ago", 0)) <= base
    ]
    assert len(due) >= 2  # the register shows reviews due


def test_the_demo_nonconformities_name_only_what_exists():
    """Do the demo NCs name demo people, departments, documents and risk points, with
    valid sources, severities, categories, action types and rule kinds, and a plan signed
    by the department head or an officer?"""
    from app.capa.models import ACTION_TYPES, CAUSE_CATEGORIES, SEVERITIES, SOURCES, STATUSES
    from app.capa.rules import KINDS

    org = loader.organisation()
    usernames = {u["username"] for u in org["users"]}
    heads = {d["code"]: d["head"] for d in org["departments"]}
    officers = {u["username"] for u in org["users"] if "officer" in u["roles"]}
    keys = {d.key for d in loader.documents()}
    processes = {r["process"] for r in loader.risks()["risk"]}
    ncs = loader.nonconformities()["nc"]
    assert len(ncs) == 12 and len({n["description"] for n in ncs}) == 12
    for nc in ncs:
        assert nc["to"] in STATUSES and nc["source"] in SOURCES
        assert nc["severity"] in SEVERITIES and nc["department"] in heads
        assert nc["by"] in usernames and set(nc.get("links", ())) <= keys
        assert nc.get("risk") is None or nc["risk"] in processes
        assert set(nc.get("analysis", {}).get("categories", ())) <= set(CAUSE_CATEGORIES)
        for key in ("plan", "reopened_plan"):
            if key in nc:
                plan = nc[key]
                assert plan["by"] in officers | {heads[nc["department"]]}
                assert plan.get("rule") is None or KINDS[plan["rule"]["kind"]].available
                for action in plan["actions"]:
                    assert action["owner"] in usernames and action["type"] in ACTION_TYPES
        for step in ("containment", "analysis", "reject"):
            assert nc.get(step) is None or nc[step]["by"] in usernames
        assert {v["by"] for v in nc.get("verifications", ())} <= usernames
