"""The signals features send, so that the features built on them can react.

A feature imports only the core and the features it builds on
(docs/adr/0001-layers-point-one-way.md). When a later feature must act on an earlier one's
event, the earlier feature sends a signal named here and the later one connects to it in
its own module, at import
(Indico's ``signals.*.connect``), for example in ``app/distribution/services.py``::

    @signals.revision_retired.connect
    def _recall(revision, *, session, actor, successor, today): ...

The app factory imports every feature, so each receiver is connected once per process
before the first request or command. Receivers run synchronously, in the sender's
transaction: the sender passes its ``session`` (and the acting user), the receiver
flushes and never commits — the request or command commits both, or rolls both back.

Page signals let a later feature add to an earlier feature's page: each receiver returns a
dict of template variables (or None), merged by :func:`contributions`.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# -- events -------------------------------------------------------------------------------

revision_retired = _signals.signal(
    "revision-retired",
    doc="""A revision stopped being in force: sender the revision (superseded or obsolete),
    ``session``, ``actor`` (None for the sweep), ``successor`` (the revision that superseded
    it; None when the document was withdrawn) and ``today``. Sent by the document workflow
    in the transaction that changes the status; distribution recalls its copies and closes
    its read-and-understood tasks.""",
)

membership_changed = _signals.signal(
    "membership-changed",
    doc="""A user was created, moved to another department, or (de)activated: sender the
    user, ``session``, ``previous_department_id`` and ``was_active``. Sent by the people
    service; distribution closes and opens read-and-understood tasks.""",
)

controlled_copy_print = _signals.signal(
    "controlled-copy-print",
    doc="""A print of a revision as one of its controlled copies was asked for: sender the
    revision, ``session``, ``user`` (who prints) and ``copy_no`` (as typed). The receiver
    (distribution) returns the copy after checking that ``user`` may print it and recording
    the print in the trail, or raises a domain error (403, 404, 409).""",
)

signature_lockout = _signals.signal(
    "signature-lockout",
    doc="""Wrong signature passwords locked an account (21 CFR 11.300(d): attempted misuse
    is reported at once): sender the user, ``session``, ``attempts`` and ``object_ref``
    (what was being signed). Sent by the signature service in the transaction that
    counts the failure; notifications mails every active quality officer.""",
)

# -- contributions to an earlier feature's pages -----------------------------------------

login_landing = _signals.signal(
    "login-landing",
    doc="""Where a login without ``next`` should land: sender the user, ``session``. A
    receiver returns a URL, or None to leave the choice to others (default: the
    dashboard). Distribution sends people with open read-and-understood tasks there.""",
)

document_page = _signals.signal(
    "document-page",
    doc="""Template variables for a controlled document's page: sender the document,
    ``session``, ``user`` (the reader). Distribution adds ``holdings`` (who holds which
    copy); the register of external documents adds ``citations``.""",
)

revision_page = _signals.signal(
    "revision-page",
    doc="""Template variables for a revision's page: sender the revision, ``session``,
    ``user``. Distribution adds ``distribution_copies``.""",
)

record_page = _signals.signal(
    "record-page",
    doc="""Template variables for a record's page: sender the record, ``session``, ``user``.
    Retention adds ``holds`` (the legal holds that stop its destruction) and
    ``tombstone``.""",
)


def contributions(signal, sender, **kwargs) -> dict:
    """Send a page signal and merge the receivers' template variables."""
    merged: dict = {}
    for _receiver, value in signal.send(sender, **kwargs):
        if value:
            merged.update(value)
    return merged


def first_answer(signal, sender, **kwargs):
    """Send ``signal``; the first receiver's answer that is not None (or None)."""
    return next((v for _r, v in signal.send(sender, **kwargs) if v is not None), None)
