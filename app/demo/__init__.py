"""The demo organisation: a plausible service company with its controlled documents,
register of external documents, distribution, records, risk points, nonconformities,
internal audits, customer complaints, quality objectives and KPIs and management reviews
(``qdms demo``; ``make run`` seeds it on the first start).

The content is data under ``app/demo/data/``, read by :mod:`app.demo.loader`; one module per
concern plays it through the services as people would in the UI, so every signature and
audit event is real. Idempotent: running it again adds only what is missing.
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from app.demo import (
    audits,
    complaints,
    distribution,
    documents,
    external,
    kpis,
    loader,
    nonconformities,
    organisation,
    records,
    reviews,
    risks,
)
from app.demo.loader import DEMO_PASSWORD
from app.storage import FileStore, get_store

__all__ = ["DEMO_PASSWORD", "logins", "seed"]


def seed(session: Session, store: FileStore | None = None) -> list[str]:
    """Create whatever of the demo is missing; return what was added. Flushes only.

    ``store`` is where the demo documents' files go (default: the app's QDMS_DOCS_STORE).
    """
    if store is None:  # the CLI's app context; tests pass their store
        store = get_store(current_app)
    added = organisation.seed(session)
    added += documents.seed(session, store)
    added += external.seed(session)
    added += distribution.seed(session, store)
    added += records.seed(session, store)
    added += risks.seed(session)
    added += nonconformities.seed(session)
    added += audits.seed(session)
    added += complaints.seed(session)
    added += kpis.seed(session)
    added += reviews.seed(session)  # last: its inputs read all the others
    return added


def logins() -> list[tuple[str, str, str]]:
    """(username, password, roles) of every demo user, as `make run` prints them."""
    users = loader.organisation()["users"]
    return [(u["username"], DEMO_PASSWORD, ", ".join(u["roles"])) for u in users]
