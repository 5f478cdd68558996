"""The layers: imports point one way (the contract in pyproject.toml), and what a feature
hooks into the features below it (app/signals.py, grants, index builders) is connected
once per process and runs in the sender's transaction."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from blinker import ANY
from sqlalchemy import select

from app import create_app, signals
from app.distribution import routes as distribution_routes
from app.distribution import services as distribution
from app.distribution.models import Acknowledgement, ControlledCopy
from app.documents import permissions as document_permissions
from app.documents import services as documents
from app.extensions import db
from app.external import routes as external_routes
from app.people import services as people
from app.people.models import User
from app.retention import routes as retention_routes
from app.search import registry

from .conftest import PASSWORD

ROOT = Path(__file__).resolve().parents[1]


def test_the_layer_contract_holds():
    """Does `lint-imports` find that every import points down the layers, with no cycle
    inside a package?"""
    lint = Path(sys.executable).with_name("lint-imports")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [str(lint), "--no-logo", "--no-cache"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 2 kept, 0 broken." in result.stdout


def _receivers(signal) -> set:
    return set(signal.receivers_for(ANY))


def test_features_are_connected_once_however_often_an_app_is_built(app, app_config):
    """With two apps built in one process, does each signal reach exactly the receivers of
    the features built on its sender, once each — and are the grant and index builders
    registered once?"""
    create_app(app_config)
    assert _receivers(signals.revision_retired) == {distribution.revision_retired}
    assert _receivers(signals.membership_changed) == {distribution.membership_changed}
    assert _receivers(signals.controlled_copy_print) == {distribution.print_controlled_copy}
    assert _receivers(signals.login_landing) == {distribution_routes._open_tasks_first}
    assert _receivers(signals.document_page) == {
        distribution_routes._document_holdings,
        external_routes._citations,
    }
    assert _receivers(signals.revision_page) == {distribution_routes._revision_copies}
    assert _receivers(signals.record_page) == {retention_routes._record_retention}
    assert list(document_permissions._GRANTS) == ["issued"]
    # each kind once (the order is that of the imports, which says nothing)
    assert sorted(b.kind for b in registry.builders()) == [
        "audit",
        "complaint",
        "document",
        "external",
        "finding",
        "nonconformity",
        "record",
    ]
    assert len(registry._WATCHERS[ControlledCopy]) == 1
    assert len(registry._WATCHERS[Acknowledgement]) == 1


def _issued(make_user, make_document):
    """An effective document with a paper copy at the front desk and a read-and-understood
    task for ``reader``; the officer who issued it."""
    officer = make_user("officer", roles=("officer",), department="QA")
    make_user("keeper", roles=("staff",), department="CS")
    make_user("reader", roles=("staff",), department="CS")
    doc = make_document(effective=True, training_required=True)
    distribution.issue(
        db.session,
        officer,
        doc.current_revision,
        distribution=distribution.parse_distribution(
            db.session,
            [
                {"location": "前台", "custodian": "keeper", "medium": "paper"},
                {"user": "reader", "medium": "electronic"},
            ],
        ),
    )
    db.session.commit()
    return doc, officer


def _states(revision_id: int) -> tuple[list[str], list[str]]:
    copies = db.session.scalars(
        select(ControlledCopy.status)
        .where(ControlledCopy.revision_id == revision_id)
        .order_by(ControlledCopy.id)
    )
    tasks = db.session.scalars(
        select(Acknowledgement.status).where(Acknowledgement.revision_id == revision_id)
    )
    return list(copies), list(tasks)


def test_a_receiver_acts_in_the_senders_transaction(app, make_user, make_document):
    """When the withdrawal of a document is rolled back, are the recall and the closed
    tasks that distribution made on its signal rolled back with it — and kept when it
    commits?"""
    doc, officer = _issued(make_user, make_document)
    revision_id = doc.current_revision.id
    assert _states(revision_id) == (["issued", "issued"], ["open"])

    documents.withdraw(db.session, officer, doc, reason="不再适用", password=PASSWORD)
    db.session.flush()
    assert _states(revision_id) == (["recall_open", "withdrawn"], ["cancelled"])
    db.session.rollback()
    assert _states(revision_id) == (["issued", "issued"], ["open"])

    doc = documents.get_document(db.session, doc.number)
    documents.withdraw(db.session, officer, doc, reason="不再适用", password=PASSWORD)
    db.session.commit()
    assert _states(revision_id) == (["recall_open", "withdrawn"], ["cancelled"])


def test_people_changes_reach_distribution_in_one_transaction(app, make_user, make_document):
    """Does deactivating a person close their open task through the people service's
    signal, and does a rollback leave the task open?"""
    doc, _officer = _issued(make_user, make_document)
    reader = db.session.scalar(select(User).where(User.username == "reader"))
    admin = make_user("admin", roles=("admin",), department="QA")

    def deactivate():
        people.update_user(
            db.session,
            admin,
            reader,
            full_name=reader.full_name,
            email=reader.email,
            department=reader.department,
            language=reader.language,
            roles=reader.roles,
            is_active=False,
        )
        db.session.flush()

    deactivate()
    assert _states(doc.current_revision.id)[1] == ["cancelled"]
    db.session.rollback()
    assert _states(doc.current_revision.id)[1] == ["open"]
