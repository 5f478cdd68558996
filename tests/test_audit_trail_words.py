"""The audit trail in words: every action, object and field the services write has a label
in both languages; pages show sentences, never internal keys, codes or JSON; hashes and
ids only in the auditors' "details"."""

from __future__ import annotations

import ast
import re
from html import escape
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from sqlalchemy import func, select

from app.audit_trail import services as audit
from app.audit_trail.models import ChainHead, Event
from app.extensions import db
from app.people.models import Department, User
from tests.conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "app" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"

# What must never show outside "details": snake_case codes and keys, hashes, JSON, refs.
RAW = {
    "code": re.compile(r"\b[a-z]+(?:_[a-z0-9]+)+\b"),
    "hash": re.compile(r"\b[0-9a-f]{32,}\b"),
    "json": re.compile(r'[\[{]\s*"|"\s*:\s*["\[{\d]'),
    "ref": re.compile(r"\b[a-z_]+:[A-Za-z0-9]"),  # document:QP-…, user:…
}
# English words of the sentences and labels, which a Chinese page must not show
ENGLISH = re.compile(
    r"\b(?:added|changed|approved|signed|created|issued|filed|completed|submitted|withdrew|"
    r"recorded|rejected|effective|superseded|System|Status|Revision|Reason)\b"
)


# -- the guard ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "ref, action, after",
    [
        ("department:QA", "tick", None),  # an action nobody registered
        ("thing:1", "created", None),  # an object kind nobody registered
        ("department:QA", "updated", {"colour": "red"}),  # a field without a label
        ("document:QP-CS-001", "revision_approved", {"status": "in_limbo"}),  # a code
        ("document:QP-CS-001", "issued", {"recipients": "x", "label": "A/0", "extra": 1}),
        ("user:zhang", "created", {"roles": ["staff", "overlord"]}),  # a code in a list
    ],
)
def test_record_refuses_what_the_trail_cannot_put_into_words(app, ref, action, after):
    """Does record() refuse (before writing anything) an action, object kind, field or
    coded value without a label, so a feature cannot add one unnoticed?"""
    from app.audit_trail.labels import UnlabelledEvent

    head = db.session.get(ChainHead, 1).last_seq
    with pytest.raises(UnlabelledEvent):
        audit.record(db.session, None, ref, action, after=after)
    assert db.session.get(ChainHead, 1).last_seq == head
    assert db.session.scalar(select(func.count(Event.id))) == head


def _lifecycles() -> list:
    """Every ``Lifecycle`` a feature's services module builds (its one state-change point)."""
    import importlib
    import pkgutil
    import types

    import app
    from app.audit_trail.lifecycle import Lifecycle

    found = []
    for info in pkgutil.walk_packages(app.__path__, "app."):
        if not info.name.endswith(".services"):  # where a feature's lifecycle lives
            continue
        module = importlib.import_module(info.name)
        for value in vars(module).values():  # type(): a module may hold a Flask proxy
            if type(value) is types.MethodType:  # ``_move = Lifecycle(...).move``
                value = value.__self__
            if type(value) is Lifecycle and value not in found:
                found.append(value)
    assert len(found) >= 2  # nonconformities and audits at least
    return found


def _written_actions() -> tuple[set[str], list[str]]:
    """Every action code passed to ``audit.record(...)`` anywhere in app/: literals (or a
    choice of two), names
    assigned literals in the same function, parameters given literals by the function's
    callers, the documents' ``f"revision_{target}"`` and the lifecycles' events
    (``Lifecycle.move``).
    Anything else is reported."""
    from app.documents.services import TRANSITIONS

    found, unresolved = set(), []
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in (ROOT / "app").rglob("*.py")}
    functions = {
        node.name: node
        for tree in trees.values()
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef)
    }
    calls = [n for tree in trees.values() for n in ast.walk(tree) if isinstance(n, ast.Call)]

    def literals_for(func: ast.FunctionDef, name: str) -> set[str]:
        values = {
            node.value.value
            for node in ast.walk(func)
            if isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and isinstance(node.value, ast.Constant)
        }
        params = [a.arg for a in func.args.args]
        if name in params:  # given by the callers
            index = params.index(name)
            for call in calls:
                callee = call.func.attr if isinstance(call.func, ast.Attribute) else None
                callee = callee or (call.func.id if isinstance(call.func, ast.Name) else None)
                if callee != func.name:
                    continue
                args = {k.arg: k.value for k in call.keywords}
                arg = call.args[index] if index < len(call.args) else args.get(name)
                if isinstance(arg, ast.Constant):
                    values.add(arg.value)
        return values

    for path, tree in trees.items():
        for function in (n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)):
            for call in (n for n in ast.walk(function) if isinstance(n, ast.Call)):
                target = call.func
                if not (
                    isinstance(target, ast.Attribute)
                    and target.attr == "record"
                    and isinstance(target.value, ast.Name)
                    and target.value.id == "audit"
                ):
                    continue
                action = call.args[3] if len(call.args) > 3 else None
                where = f"{path.relative_to(ROOT)}:{call.lineno}"
                if isinstance(action, ast.Constant):
                    found.add(action.value)
                elif (
                    isinstance(action, ast.IfExp)
                    and isinstance(action.body, ast.Constant)
                    and isinstance(action.orelse, ast.Constant)
                ):  # "criterion_added" if before is None else "criterion_changed"
                    found |= {action.body.value, action.orelse.value}
                elif isinstance(action, ast.Name) and literals_for(function, action.id):
                    found |= literals_for(function, action.id)
                elif isinstance(action, ast.JoinedStr) and ast.unparse(action) == (
                    "f'revision_{target}'"
                ):
                    found |= {f"revision_{target}" for _, target in TRANSITIONS.values()}
                elif isinstance(action, ast.Subscript) and ast.unparse(action) == (
                    "self.events[action]"
                ):  # Lifecycle.move: the events of every lifecycle built in app/
                    found |= {e for cycle in _lifecycles() for e in cycle.events.values()}
                else:
                    unresolved.append(where)
    assert functions  # the scan saw the code
    return found, unresolved


def test_every_action_written_in_app_has_a_label_in_both_languages():
    """Does every action code a service writes have a label and a sentence, both
    translated into Chinese in the catalog?"""
    import app.models  # noqa: F401 - every feature registers its words when its models load
    from app.audit_trail.labels import ACTIONS

    found, unresolved = _written_actions()
    assert not unresolved, f"teach this test to read these action codes: {unresolved}"
    assert {"revision_approved", "copy_received", "record_amended", "legal_hold_placed"} <= found
    assert len(found) >= 45
    with PO.open("rb") as fh:
        zh = {m.id: m.string for m in read_po(fh) if m.id and m.string and not m.fuzzy}
    missing = sorted(code for code in found if code not in ACTIONS)
    assert not missing, f"actions without a label: {missing}"
    untranslated = sorted(
        text
        for code in found | set(ACTIONS)
        for text in (ACTIONS[code].label, ACTIONS[code].sentence)
        if text not in zh
    )
    assert not untranslated, f"no Chinese for: {untranslated}"


# -- the pages ---------------------------------------------------------------------------


def _trail_text(html: str) -> str:
    """The visible text of the trail tables of a page, without the "details" toggles."""
    tables = re.findall(r'<table class="[^"]*trail-table.*?</table>', html, flags=re.S)
    tables = tables or re.findall(r"<table.*?</table>", html, flags=re.S)
    assert tables, "no table on the page"
    text = re.sub(r"<details.*?</details>", " ", "".join(tables), flags=re.S)
    return re.sub(r"<[^>]+>", " ", text).replace("&#34;", '"').replace("&#39;", "'")


def _assert_readable(text: str, language: str, where: str) -> None:
    for name, pattern in RAW.items():
        assert not pattern.search(text), (where, name, pattern.search(text).group(0))
    if language == "zh_CN":
        assert not ENGLISH.search(text), (where, ENGLISH.search(text).group(0))


def test_a_document_trail_in_chinese_reads_as_sentences_with_labels(
    client, make_user, make_document
):
    """Does an approval read "陈建国 批准了 QP-CS-001 A/0" with the status change in words
    ("状态：审批中 → 已批准") on the trail page and the document page, in Chinese?"""
    make_user("approver", roles=("approver",), department="QA", full_name="陈建国")
    make_document(effective=True)
    make_user("emma", roles=("auditor",), full_name="Emma", language="zh_CN")
    client.form_post("/login", {"username": "emma", "password": PASSWORD})
    for path in ("/audit-trail?object=QP-CS-001", "/documents/QP-CS-001", "/"):
        html = client.get(path).get_data(as_text=True)
        assert re.search(r'陈建国 批准了 <a href="/documents/QP-CS-001">QP-CS-001 A/0</a>', html)
        assert "状态：</span><del>审批中</del> → 已批准" in html
        assert "陈建国 签署了 <a" in html and "：已批准" in html  # signed, meaning in words
        _assert_readable(_trail_text(html), "zh_CN", path)
    html = client.get("/audit-trail?object=QP-CS-001").get_data(as_text=True)
    cs = db.session.scalar(select(Department).where(Department.code == "CS"))
    assert f"部门：</span>{cs.name}" in html  # the department's name, not its code
    assert "部门：</span>CS" not in html


def test_hashes_and_ids_only_in_details_and_only_for_auditors(
    login_as, client, make_user, make_document
):
    """Are the signature's id and hash shown only inside "details", and the toggle only
    to those who audit the trail (not to staff reading their own account's events)?"""
    make_document(effective=True)
    signature = db.session.scalar(select(Event).where(Event.action == "signed"))
    sha = re.search(r'"sha256":"([0-9a-f]{64})"', signature.after).group(1)
    login_as("emma", roles=("auditor",))
    html = client.get("/audit-trail?object=QP-CS-001").get_data(as_text=True)
    assert html.count("<details") >= 3 and sha in html
    assert sha not in _trail_text(html)
    assert "Signature no." in html and "SHA-256 of what was signed" in html
    client.form_post("/logout")
    login_as("zhang", roles=("staff",))
    html = client.get("/audit-trail?object=zhang").get_data(as_text=True)
    assert "Zhang" in html and "<details" not in html


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_every_demo_event_reads_in_words_in_both_languages(demo, app, client):
    """With the demo organisation, does every event — on the trail (logins too), the
    dashboard, a document's and a copy's page, in Chinese and in English — show no
    internal key, code, hash, JSON or object reference outside "details", and does every
    one have words for all it holds? (SQLite only: rendering is not backend-specific, and
    seeding the demo is slow.)"""
    from app.demo import DEMO_PASSWORD

    events = db.session.scalars(select(Event).order_by(Event.seq)).all()
    assert len(events) > 300
    assert {e.action for e in events} >= {"revision_approved", "issued", "record_filed"}
    # usernames (cs_head, …) are what people type, not codes, and English names and titles
    # are data (shown as the value of "English title"): taken out before the checks
    from app.documents.models import Document
    from app.people.models import Department
    from app.risks.models import RiskPoint

    typed = [
        *db.session.scalars(select(User.username)),
        *db.session.scalars(select(Document.title_en).where(Document.title_en.is_not(None))),
        *db.session.scalars(select(Department.name_en).where(Department.name_en.is_not(None))),
        # the risk register's process names are data too (what the organisation calls them)
        *db.session.scalars(select(RiskPoint.process)),
    ]
    typed += [escape(value) for value in typed]
    usernames = sorted(typed, key=len, reverse=True)
    client.form_post("/login", {"username": "auditor", "password": DEMO_PASSWORD})
    for language in ("zh_CN", "en"):
        client.form_post("/profile/language", {"language": language})
        total = db.session.scalar(select(func.count(Event.id)))
        paths = [f"/audit-trail?include_logins=1&page={n}" for n in range(1, total // 50 + 2)]
        paths += ["/", "/documents/QM-QA-001", "/copies/QM-QA-001-B0-C01"]
        rows = 0
        for path in paths:
            r = client.get(path)
            assert r.status_code == 200, path
            html = r.get_data(as_text=True)
            if path.startswith("/audit-trail"):
                rows += html.count('<tr class="trail-event">')
            text = _trail_text(html)
            for username in usernames:
                text = text.replace(username, "")
            _assert_readable(text, language, f"{language} {path}")
        assert rows >= len(events)
    from flask_babel import force_locale

    from app.audit_trail.display import describe

    for language in ("zh_CN", "en"):
        with app.test_request_context(), force_locale(language):
            views = describe(db.session, events)
        assert [(v.seq, v.unlabelled) for v in views if v.unlabelled] == []
