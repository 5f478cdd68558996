"""The demo's management reviews: last year's closed with its actions (two done), this
year's compiled and ready for the meeting, its input a) carrying last year's actions."""

from __future__ import annotations

from sqlalchemy import select

from app.demo import organisation, reviews
from app.extensions import db
from app.reviews.models import ManagementReview


def test_demo_reviews_seed_once(app):
    """Does the demo seed the two reviews as the issue asks, and a second seed add
    nothing?"""
    organisation.seed(db.session)
    added = reviews.seed(db.session)
    db.session.commit()
    assert len(added) == 2
    last, this = db.session.scalars(
        select(ManagementReview).order_by(ManagementReview.period_end)
    ).all()
    assert (last.status, this.status) == ("closed", "inputs_compiled")
    assert last.minutes_signature.username == "gm"
    assert [d.status for d in last.decisions] == ["done", "done", "open"]
    a = next(s for s in this.inputs["sections"] if s["key"] == "a")
    assert [row[0] for row in a["tables"][0]["rows"]] == [d.label for d in last.decisions]
    assert this.external_issues and len(this.attendees) == 7
    assert reviews.seed(db.session) == []
