"""A tamper-evident trail: events hashed whole with the audit key (hash_version 2), a
sealed chain head, sealed signatures and, on PostgreSQL, triggers refusing UPDATE,
DELETE and TRUNCATE of events and signatures

Events written before this migration keep their version-1 hashes (the trail is never
rewritten); the head records where the keyed events and sealed signatures start, and is
sealed here with the app's QDMS_AUDIT_KEY. The PDF cache (derived data) is emptied: its
entries are sealed from now on, and unsealed ones would read as altered.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_HISTORY = ("audit_event", "signature")

_REFUSE = """
CREATE FUNCTION qdms_refuse_history_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'qdms: % rows are history: % is refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql
"""


def upgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("hash_version", sa.Integer(), nullable=False, server_default="1")
        )
    with op.batch_alter_table("audit_chain_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("keyed_from", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(
            sa.Column("signatures_sealed_from", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("mac", sa.String(length=64), nullable=True))
    with op.batch_alter_table("signature", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seal", sa.String(length=64), nullable=True))

    from app.audit_trail.services import GENESIS_HASH, head_mac, use_key

    bind = op.get_bind()
    last_seq, last_hash = bind.execute(
        sa.text("SELECT last_seq, last_hash FROM audit_chain_head WHERE id = 1")
    ).one()
    signatures_from = bind.scalar(sa.text("SELECT coalesce(max(id), 0) + 1 FROM signature"))
    keyed_from = last_seq + 1
    mac = None
    if (last_seq, last_hash, keyed_from, signatures_from) != (0, GENESIS_HASH, 1, 1):
        use_key(current_app.config["QDMS_AUDIT_KEY"])
        mac = head_mac(last_seq, last_hash, keyed_from, signatures_from)
    bind.execute(
        sa.text(
            "UPDATE audit_chain_head SET keyed_from = :k, signatures_sealed_from = :s, "
            "mac = :m WHERE id = 1"
        ),
        {"k": keyed_from, "s": signatures_from, "m": mac},
    )
    from app.pdf import PdfCache

    PdfCache(current_app.config["QDMS_DOCS_STORE"]).clear()
    if bind.dialect.name == "postgresql":
        op.execute(_REFUSE)
        for table in _HISTORY:
            op.execute(
                f"CREATE TRIGGER {table}_refuse_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION qdms_refuse_history_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_refuse_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION qdms_refuse_history_change()"
            )


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for table in _HISTORY:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_truncate ON {table}")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_change ON {table}")
        op.execute("DROP FUNCTION IF EXISTS qdms_refuse_history_change()")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch would copy the table, and
    # SQLite's foreign keys refuse dropping the old one while other tables reference it.
    op.drop_column("signature", "seal")
    for column in ("mac", "signatures_sealed_from", "keyed_from"):
        op.drop_column("audit_chain_head", column)
    op.drop_column("audit_event", "hash_version")
