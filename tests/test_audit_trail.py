"""The hash-chained audit trail, `qdms verify`, the page and the API endpoint."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import delete, func, select, text, update

from app.audit_trail import services as audit
from app.audit_trail.models import ChainHead, Event
from app.audit_trail.services import AppendOnlyViolation, verify_chain
from app.extensions import db
from tests.conftest import bypass_history_triggers


def _seed_events(n: int = 5):
    for i in range(n):
        audit.record(
            db.session,
            None,
            f"department:D{i}",
            "created",
            after={"code": f"D{i}", "name": "服务补救"},
        )
    db.session.commit()


def test_verify_passes_on_a_clean_trail(runner, make_user):
    """Does `qdms verify` exit 0 on an untouched trail?"""
    make_user("alice")
    _seed_events()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 0, result.output
    assert "intact" in result.output


@pytest.mark.parametrize("column", ["action", "after", "reason", "actor_username", "at"])
def test_verify_fails_when_an_event_is_edited_in_the_database(runner, column):
    """Does `qdms verify` fail and name the event when any field is edited with raw SQL?"""
    _seed_events()
    target = db.session.scalar(select(Event).where(Event.seq == 3))
    values = {
        "action": "'deleted'",
        "after": "'{}'",
        "reason": "'covered up'",
        "actor_username": "'mallory'",
        "at": "at" if column != "at" else None,
    }
    bypass_history_triggers(db.session)
    if column == "at":
        db.session.execute(
            update(Event).where(Event.id == target.id).values(at=target.at.replace(year=2020))
        )
    else:
        db.session.execute(
            text(f"UPDATE audit_event SET {column} = {values[column]} WHERE id = :id"),
            {"id": target.id},
        )
    db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1
    assert "event #3" in result.output


def test_verify_fails_when_an_event_is_removed(runner):
    """Does `qdms verify` notice a deleted event in the middle and at the end of the chain?"""
    _seed_events()
    bypass_history_triggers(db.session)
    db.session.execute(delete(Event).where(Event.seq == 2))
    db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1 and "event #2 is missing" in result.output


def test_verify_fails_when_the_newest_event_is_removed(runner):
    """Is truncating the end of the chain detected through the chain head?"""
    _seed_events()
    last = db.session.scalar(select(func.max(Event.seq)))
    bypass_history_triggers(db.session)
    db.session.execute(delete(Event).where(Event.seq == last))
    db.session.commit()
    result = runner.invoke(args=["verify"])
    assert result.exit_code == 1 and f"event #{last} is missing" in result.output


def test_events_are_append_only_through_the_orm(app):
    """Does the ORM refuse to update or delete an event?"""
    _seed_events(1)
    ev = db.session.scalar(select(Event))
    ev.reason = "rewritten"
    with pytest.raises(AppendOnlyViolation):
        db.session.flush()
    db.session.rollback()


def test_event_is_written_in_the_callers_transaction(app):
    """Does a rolled-back change leave no event and no gap in the numbering?"""
    _seed_events(2)
    audit.record(db.session, None, "department:X", "created")
    db.session.rollback()
    _seed_events(1)
    seqs = db.session.scalars(select(Event.seq).order_by(Event.seq)).all()
    assert seqs == list(range(1, len(seqs) + 1))
    assert verify_chain(db.session).ok


def test_concurrent_appends_keep_one_chain(app, backend):
    """Do appends from several threads at once produce one unbroken chain?"""
    errors = []

    def worker(i):
        with app.app_context():
            try:
                for j in range(5):
                    audit.record(
                        db.session, None, f"department:T{i}", "updated", after={"name": str(j)}
                    )
                    db.session.commit()
            except Exception as exc:  # collected and asserted below
                errors.append(exc)
                db.session.rollback()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    result = verify_chain(db.session)
    assert result.ok, result.problem
    assert result.checked == 30
    assert db.session.get(ChainHead, 1).last_seq == 30


def test_audit_trail_page_for_an_object(login_as):
    """Can an auditor open the trail of one object and see its events?"""
    client = login_as("emma", roles=("auditor",))
    _seed_events(3)
    r = client.get("/audit-trail?object=department:D1")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "D1" in html and "D2" not in html


def test_audit_trail_page_is_forbidden_to_staff(login_as):
    """Is the full trail closed to staff (403), while their own account's trail is open?"""
    client = login_as("zhang", roles=("staff",))
    assert client.get("/audit-trail").status_code == 403
    assert client.get("/audit-trail?object=user:zhang").status_code == 200


def test_audit_trail_api(client, api_token):
    """Does GET /api/v1/audit-trail?object= return that object's events, oldest first?"""
    headers = api_token("emma", roles=("auditor",))
    _seed_events(3)
    r = client.get("/api/v1/audit-trail?object=department:D2", headers=headers)
    assert r.status_code == 200
    body = r.get_json()
    assert body["total"] == 1 and body["page"] == 1
    (event,) = body["items"]
    assert event["object"] == "department:D2" and event["action"] == "created"
    assert event["after"] == {"code": "D2", "name": "服务补救"}
    assert event["at"].endswith("Z") and len(event["hash"]) == 64
    everything = client.get("/api/v1/audit-trail?per_page=200", headers=headers).get_json()
    seqs = [e["seq"] for e in everything["items"]]
    assert seqs == sorted(seqs)


def test_audit_trail_api_is_forbidden_to_staff(client, api_token):
    """Is the trail endpoint 403 for staff with the JSON error shape?"""
    headers = api_token("zhang", roles=("staff",))
    r = client.get("/api/v1/audit-trail", headers=headers)
    assert r.status_code == 403
    assert r.get_json()["error"]["code"] == "forbidden"


def test_trail_page_shows_readable_actions_and_field_changes(login_as):
    """Does the trail show a translated action label and only the fields that changed?"""
    client = login_as("emma", roles=("auditor",))
    audit.record(
        db.session,
        None,
        "department:CS",
        "updated",
        before={"name": "客服部", "head": None},
        after={"name": "客户服务部", "head": None},
    )
    db.session.commit()
    html = client.get("/audit-trail?object=department:CS", headers={"Accept-Language": "en"})
    html = html.get_data(as_text=True)
    assert "System changed <a " in html and "department Department CS</a>" in html
    assert "<del>客服部</del> → 客户服务部" in html
    assert "head:" not in html  # unchanged fields are not listed
