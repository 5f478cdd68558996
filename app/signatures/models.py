from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.audit_trail import labels
from app.audit_trail.models import append_only
from app.errors import N_
from app.extensions import UTCDateTime, db, utcnow
from app.people.models import User

MEANINGS = {
    "reviewed": N_("Reviewed"),
    "rejected": N_("Rejected"),
    "approved": N_("Approved"),
    "read_and_understood": N_("Read and understood"),
    "received": N_("Received"),
    "obsoleted": N_("Made obsolete"),
    "review_confirmed": N_("Periodic review confirmed"),
    "destruction_approved": N_("Destruction approved"),
    "legal_hold": N_("Legal hold"),
    "legal_hold_lifted": N_("Legal hold lifted"),
    "record_signed": N_("Signed the record"),
    "nc_plan_approved": N_("Action plan approved"),
    "nc_verified_effective": N_("Verified as effective"),
    "nc_verified_not_effective": N_("Verified as not effective"),
    "audit_report_signed": N_("Audit report signed"),
    "nc_rejected": N_("Rejected: not a nonconformity"),
    "complaint_compensation_approved": N_("Compensation approved"),
}

labels.register_actions(
    {
        "signed": (N_("Signed"), N_("%(actor)s signed %(object)s: %(meaning)s")),
        # on the signer (user:…): a wrong password, counted toward the lockout
        "signature_failed": (
            N_("Failed signature"),
            N_("%(actor)s gave a wrong password to sign: %(meaning)s"),
        ),
    }
)
labels.register_fields(
    {
        "meaning": labels.coded(N_("Meaning"), MEANINGS),
        "printed_name": N_("Printed name"),
        "sha256": labels.internal(N_("SHA-256 of what was signed")),
        "signature_id": labels.internal(N_("Signature no.")),
        "signing": N_("What was to be signed"),
    }
)


@append_only
class Signature(db.Model):
    """One electronic signature: who, when (UTC), what it means and what was signed.

    Immutable: a signature is never changed after it is written.
    """

    __tablename__ = "signature"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"), index=True)
    printed_name: Mapped[str] = mapped_column(String(120))
    username: Mapped[str] = mapped_column(String(64))
    meaning: Mapped[str] = mapped_column(String(32))
    object_ref: Mapped[str] = mapped_column(String(160), index=True)
    content_sha256: Mapped[str] = mapped_column(String(64))
    comment: Mapped[str | None] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # HMAC with the audit key of every column but the id (services.seal_of); the id is
    # bound by the "signed" event. None only on signatures written before migration 0013.
    seal: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<Signature {self.meaning} by {self.username} on {self.object_ref}>"
