"""Tampering with the trail by SQL run directly against the database (issue 20, point 2):
each case makes `qdms verify` or `qdms check` exit non-zero naming what changed."""

from __future__ import annotations

import hashlib
import io
import json
import logging
import uuid

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, make_url, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.audit_trail import services as audit
from app.audit_trail.models import ChainHead, Event
from app.extensions import db
from app.pdf import PdfCache
from app.records import services as records
from app.signatures import services as signatures
from app.signatures.models import Signature
from tests.conftest import PASSWORD, bypass_history_triggers


def _seed_events(n: int = 5, actor=None):
    for i in range(n):
        audit.record(db.session, actor, f"department:D{i}", "created", after={"code": f"D{i}"})
    db.session.commit()


def _verify(runner):
    db.session.rollback()
    return runner.invoke(args=["verify"])


def _tamper(sql: str, **params) -> None:
    """Run ``sql`` as an intruder with database rights would (triggers bypassed)."""
    bypass_history_triggers(db.session)
    db.session.execute(text(sql), params)
    db.session.commit()


def _plain_hash(row, prev: str) -> str:
    """The version-1 formula: what an intruder can recompute without the key."""
    return audit.compute_hash(
        seq=row.seq,
        at=row.at,
        actor_username=row.actor_username,
        object_ref=row.object_ref,
        action=row.action,
        before=row.before,
        after=row.after,
        reason=row.reason,
        prev_hash=prev,
    )


def test_a_clean_instance_verifies(runner, make_user):
    """Does `qdms verify` pass on untouched events, signatures and records?"""
    user = make_user("alice")
    _seed_events(3, user)
    signatures.sign(
        db.session, user, PASSWORD, meaning="approved", object_ref="document:X", content="x"
    )
    db.session.commit()
    events = db.session.scalar(select(ChainHead.last_seq))
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert f"audit trail intact: {events} events" in result.output
    assert "signatures and completed records intact" in result.output


def test_removing_the_last_event_and_moving_the_head_back_is_detected(runner):
    """Is deleting the newest event and setting the chain head to the one before caught?"""
    _seed_events(5)
    prev = db.session.scalar(select(Event).where(Event.seq == 4))
    _tamper("DELETE FROM audit_event WHERE seq = 5")
    _tamper("UPDATE audit_chain_head SET last_seq = 4, last_hash = :h WHERE id = 1", h=prev.hash)
    result = _verify(runner)
    assert result.exit_code == 1
    assert "the chain head (#4) was altered" in result.output


def test_rewriting_an_event_and_recomputing_every_later_hash_is_detected(runner):
    """Is an event rewritten with every later hash (and the head) recomputed by the only
    formula an intruder without the key has caught, marked as version 1 or not?"""
    _seed_events(5)
    for version in (2, 1):
        rows = db.session.scalars(select(Event).order_by(Event.seq)).all()
        prev = rows[1].hash
        for row in rows[2:]:
            after = '{"code":"FORGED"}' if row.seq == 3 else row.after
            row_hash = audit.compute_hash(
                seq=row.seq,
                at=row.at,
                actor_username=row.actor_username,
                object_ref=row.object_ref,
                action=row.action,
                before=row.before,
                after=after,
                reason=row.reason,
                prev_hash=prev,
            )
            _tamper(
                "UPDATE audit_event SET after = :a, prev_hash = :p, hash = :h, "
                "hash_version = :v WHERE seq = :s",
                a=after,
                p=prev,
                h=row_hash,
                v=version,
                s=row.seq,
            )
            prev = row_hash
        _tamper("UPDATE audit_chain_head SET last_hash = :h WHERE id = 1", h=prev)
        result = _verify(runner)
        assert result.exit_code == 1
        assert "event #3 (id" in result.output and "was altered" in result.output


def test_changing_an_events_actor_id_is_detected(runner, make_user):
    """Is an event's actor_id (not hashed before) now covered by its hash?"""
    alice, mallory = make_user("alice"), make_user("mallory")
    _seed_events(3, alice)
    _tamper("UPDATE audit_event SET actor_id = :m WHERE seq = 2", m=mallory.id)
    result = _verify(runner)
    assert result.exit_code == 1
    assert "event #2 (id" in result.output and "its hash does not match" in result.output


def test_a_head_restored_from_an_older_copy_is_caught_by_the_checkpoint(runner, make_user):
    """When the newest events are removed and the head put back as an older copy of the
    database had it (a valid seal), does the checkpoint the sweep wrote catch it, and did
    the sweep mail the checkpoint to the officers?"""
    make_user("quality", roles=("officer",))
    _seed_events(3)
    old = db.session.get(ChainHead, 1)
    old_head = (old.last_seq, old.last_hash, old.mac)
    _seed_events(2)
    swept = runner.invoke(args=["sweep"])
    assert swept.exit_code == 0, swept.output
    last_seq = db.session.scalar(select(ChainHead.last_seq))
    mails = db.session.execute(
        text("SELECT subject, body FROM outbox_message WHERE kind = 'audit_checkpoint'")
    ).all()
    assert len(mails) == 1 and f"event {last_seq}" in mails[0].subject
    _tamper("DELETE FROM audit_event WHERE seq > :s", s=old_head[0])
    _tamper(
        "UPDATE audit_chain_head SET last_seq = :s, last_hash = :h, mac = :m WHERE id = 1",
        s=old_head[0],
        h=old_head[1],
        m=old_head[2],
    )
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"event #{old_head[0] + 1} is missing: the checkpoint of" in result.output
    assert f"records {last_seq} events, the chain has {old_head[0]}" in result.output


def test_an_edited_checkpoint_is_detected(runner, app):
    """Is a checkpoint line edited to match a rewritten trail refused (its seal)?"""
    _seed_events(2)
    assert runner.invoke(args=["sweep"]).exit_code == 0
    path = app.config["QDMS_DOCS_STORE"] + "/audit/checkpoints.jsonl"
    with open(path, encoding="utf-8") as fh:
        line = json.loads(fh.readline())
    line["seq"] = 1
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(json.dumps(line) + "\n")
    result = _verify(runner)
    assert result.exit_code == 1
    assert "checkpoint checkpoints.jsonl line 1 was altered" in result.output


@pytest.fixture
def signed(app, make_user):
    user = make_user("alice", full_name="Alice Liu")
    sig = signatures.sign(
        db.session,
        user,
        PASSWORD,
        meaning="approved",
        object_ref="document:QP-1",
        content="the approved text",
    )
    db.session.commit()
    return sig.id


@pytest.mark.parametrize(
    ("column", "value", "named"),
    [
        ("printed_name", "'Mallory Ma'", "printed_name differ"),
        ("signed_at", "signed_at - INTERVAL '3 days'", "signed_at differ"),
        ("content_sha256", "'" + "a" * 64 + "'", "content_sha256 differ"),
        ("meaning", "'rejected'", "meaning differ"),
    ],
)
def test_changing_a_signature_is_detected(runner, signed, backend, column, value, named):
    """Is a signature's printed name, time, meaning or hash of what it signed, changed by
    SQL, named by `qdms verify`?"""
    if backend == "sqlite" and column == "signed_at":
        value = "datetime(signed_at, '-3 days')"
    _tamper(f"UPDATE signature SET {column} = {value} WHERE id = :id", id=signed)
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"signature {signed} " in result.output and named in result.output


def test_a_signature_moved_by_a_second_is_caught_by_its_seal(runner, signed, backend):
    """Is a change too small to tell from the event (signed_at a second earlier) caught?"""
    shift = "signed_at - INTERVAL '1 second'"
    if backend == "sqlite":
        shift = "strftime('%Y-%m-%d %H:%M:%f', signed_at, '-1 second')"
    _tamper(f"UPDATE signature SET signed_at = {shift} WHERE id = :id", id=signed)
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"signature {signed} (approved by alice" in result.output
    assert "its seal does not match" in result.output


@pytest.fixture
def completed_record(app, make_user, store):
    officer = make_user("officer", roles=("officer",), department="QA")
    rtype = records.create_type(
        db.session,
        officer,
        {
            "code": "QP-CS-001-F01",
            "name": "顾客投诉登记表",
            "department": "QA",
            "retention": {"years": 3, "from": "completed"},
            "fields": [{"name": "customer", "label": "顾客", "type": "text", "required": True}],
        },
    )
    record = records.file_record(
        db.session, store, officer, rtype, {"customer": "陈女士"}, complete=True
    )
    db.session.commit()
    return record.number


def test_changing_a_completed_records_values_is_detected(runner, completed_record):
    """Is a completed record's values_json changed by SQL named (served with its old
    SHA-256), and so is the SHA-256 recomputed to match?"""
    _tamper(
        "UPDATE record SET values_json = :v WHERE number = :n",
        v='{"customer":"王先生"}',
        n=completed_record,
    )
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"record {completed_record}: its values_json or scan do not match" in result.output
    forged = hashlib.sha256(
        records.canonical({"values": {"customer": "王先生"}, "scan": None}).encode()
    ).hexdigest()
    _tamper("UPDATE record SET content_sha256 = :h WHERE number = :n", h=forged, n=completed_record)
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"record {completed_record}: its content_sha256 is not the one the trail" in (
        result.output
    )


def test_a_completed_record_made_draft_again_is_detected(runner, completed_record):
    """Is a completed record turned back into an editable draft by SQL named?"""
    _tamper("UPDATE record SET status = 'draft' WHERE number = :n", n=completed_record)
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"record {completed_record}: the trail records it completed" in result.output


def test_a_replaced_pdf_in_the_cache_is_caught_by_check_and_on_read(
    runner, store, pdf_bytes, caplog
):
    """Is a cached PDF replaced by another (a forged body) named by `qdms check`, and
    refused, logged and removed when read (so it is rendered again)?"""
    cache = PdfCache(store.root)
    key = cache.key("docx-body", "a" * 64)
    cache.put(key, pdf_bytes)
    assert cache.get(key) == pdf_bytes
    clean = runner.invoke(args=["check"])
    assert clean.exit_code == 0, clean.output
    forged = pdf_bytes.replace(b"%%EOF", b"% forged\n%%EOF")
    cache._path(key).write_bytes(forged)
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert f"PDF cache entry {key} was altered" in result.output
    with caplog.at_level(logging.WARNING, logger="app.pdf.cache"):
        assert cache.get(key) is None
    assert key in caplog.text and not cache._path(key).exists()


@pytest.mark.parametrize("table", ["audit_event", "signature"])
def test_postgresql_refuses_update_and_delete_of_history(app, backend, signed, table):
    """On PostgreSQL, do triggers refuse UPDATE, DELETE and TRUNCATE of events and
    signatures, whoever runs them without switching triggers off?"""
    if backend != "postgresql":
        pytest.skip("triggers are PostgreSQL's")
    column = "reason" if table == "audit_event" else "comment"
    for sql in (
        f"UPDATE {table} SET {column} = 'x'",
        f"DELETE FROM {table}",
        f"TRUNCATE {table} CASCADE",
    ):
        with pytest.raises(DBAPIError, match="rows are history"):
            db.session.execute(text(sql))
        db.session.rollback()
    assert db.session.scalar(select(Signature.id).where(Signature.id == signed)) == signed


def test_events_from_before_the_upgrade_keep_verifying(runner, app):
    """After migrating back to 0012, writing events the old way (SHA-256, no key) and
    upgrading again, does the trail still verify, with keyed events after the old ones —
    and is an old event rewritten with its old formula still caught, by the head's seal?"""
    with app.app_context():
        db.session.remove()
        downgrade(revision="0012")
        prev = "0" * 64
        for seq in (1, 2):
            at = audit.utcnow()
            row = {
                "seq": seq,
                "at": at,
                "actor_username": None,
                "object_ref": "department:D",
                "action": "created",
                "before": None,
                "after": '{"code":"D"}',
                "reason": None,
            }
            digest = audit.compute_hash(**row, prev_hash=prev)
            db.session.execute(
                text(
                    "INSERT INTO audit_event (seq, at, actor_username, object_ref, action, "
                    "before, after, reason, prev_hash, hash) VALUES (:seq, :at, "
                    ":actor_username, :object_ref, :action, :before, :after, :reason, :p, :h)"
                ),
                {**row, "p": prev, "h": digest},
            )
            prev = digest
        db.session.execute(
            text("UPDATE audit_chain_head SET last_seq = 2, last_hash = :h"), {"h": prev}
        )
        db.session.commit()
        upgrade()
    _seed_events(2)
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "audit trail intact: 4 events" in result.output
    versions = db.session.scalars(select(Event.hash_version).order_by(Event.seq)).all()
    assert versions == [1, 1, 2, 2]
    # convert everything to the old formula: the keyed events' place gives it away
    rows = db.session.scalars(select(Event).order_by(Event.seq)).all()
    prev = rows[1].hash
    for row in rows[2:]:
        digest = _plain_hash(row, prev)
        _tamper(
            "UPDATE audit_event SET hash = :h, prev_hash = :p, hash_version = 1 WHERE seq = :s",
            h=digest,
            p=prev,
            s=row.seq,
        )
        prev = digest
    _tamper("UPDATE audit_chain_head SET last_hash = :h, keyed_from = 5", h=prev)
    result = _verify(runner)
    assert result.exit_code == 1
    assert "the chain head (#4) was altered" in result.output


def test_the_readme_role_writes_history_but_cannot_rewrite_it(app, backend, database_url):
    """On PostgreSQL, does the app's role, granted as the README shows, append events but
    get refused UPDATE and DELETE of them and switching the triggers off?"""
    if backend != "postgresql":
        pytest.skip("roles are PostgreSQL's")
    role = f"qdms_app_{uuid.uuid4().hex[:8]}"
    grants = [
        f"CREATE ROLE {role} LOGIN",
        f"GRANT USAGE ON SCHEMA public TO {role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}",
        f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {role}",
        f"REVOKE UPDATE, DELETE, TRUNCATE ON audit_event, signature FROM {role}",
    ]
    for sql in grants:
        db.session.execute(text(sql))
    db.session.commit()
    engine = create_engine(make_url(database_url).set(username=role, password=None))
    try:
        with Session(engine) as session:
            audit.record(session, None, "department:D", "created", after={"code": "D"})
            session.commit()
        for sql in (
            "UPDATE audit_event SET reason = 'x'",
            "DELETE FROM signature",
            "ALTER TABLE audit_event DISABLE TRIGGER audit_event_refuse_change",
        ):
            with engine.connect() as conn, pytest.raises(DBAPIError, match=r"permission|owner"):
                conn.execute(text(sql))
    finally:
        engine.dispose()
        db.session.rollback()
        db.session.execute(text(f"DROP OWNED BY {role}"))
        db.session.execute(text(f"DROP ROLE {role}"))
        db.session.commit()
    assert audit.verify_chain(db.session).ok


def test_a_forged_body_in_the_cache_is_not_printed_in_a_genuine_cover(
    app, make_document, login_as, store, pdf_bytes, caplog
):
    """When the cached layout of a revision's body is replaced by another PDF, does the
    next print lay the real body out again (and log it) instead of serving the forgery?"""
    from pypdf import PdfReader

    doc = make_document(effective=True, title="Real procedure body")
    db.session.commit()
    client = login_as("officer", roles=("officer",), department="QA")
    url = f"/documents/{doc.number}/revisions/A0/pdf"
    assert client.get(url).status_code == 200
    [entry] = (store.root / "pdf-cache").glob("*/*.pdf")
    entry.write_bytes(pdf_bytes)  # "Customer complaint handling procedure"
    with caplog.at_level(logging.WARNING, logger="app.pdf.cache"):
        again = client.get(url)
    assert again.status_code == 200
    text = "".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(again.data)).pages)
    assert "Real procedure body" in text and "Customer complaint" not in text
    assert entry.stem in caplog.text


def test_an_approved_revisions_file_swapped_is_caught_by_its_signatures(
    runner, make_document, store
):
    """When an approved revision's file is swapped for another stored file by SQL, does
    `qdms verify` name the signatures whose signed content no longer matches?"""
    from app.storage import store_bytes

    doc = make_document(effective=True)
    forged = store_bytes(db.session, store, b"a forged procedure").sha256
    db.session.commit()
    assert _verify(runner).exit_code == 0
    _tamper("UPDATE revision SET file_sha256 = :f WHERE document_id = :d", f=forged, d=doc.id)
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"(approved by approver on {doc.number} A/0): what it signed is no longer" in (
        result.output
    )
