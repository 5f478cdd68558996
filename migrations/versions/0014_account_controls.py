"""account controls: a session generation per user, an expiry per API token, and the
failed-login counter of names that are no account

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-02

"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Tokens made before expiries existed get the default lifetime from the upgrade on, so
# no integration stops at the upgrade itself.
EXISTING_TOKEN_DAYS = 90


def upgrade():
    with op.batch_alter_table("user", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0")
        )
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    expires = datetime.now(UTC) + timedelta(days=EXISTING_TOKEN_DAYS)
    if op.get_bind().dialect.name == "sqlite":
        expires = expires.replace(tzinfo=None)  # UTC, as app.extensions.UTCDateTime keeps it
    token = sa.table("api_token", sa.column("expires_at", sa.DateTime(timezone=True)))
    op.execute(token.update().where(token.c.expires_at.is_(None)).values(expires_at=expires))
    with op.batch_alter_table("api_token", schema=None) as batch_op:
        batch_op.alter_column("expires_at", existing_type=sa.DateTime(timezone=True), nullable=False)
    op.create_table(
        "login_throttle",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_failed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_login_throttle")),
    )


def downgrade():
    op.drop_table("login_throttle")
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch would copy "user", which
    # every other table references, and SQLite's foreign keys refuse dropping the old one.
    op.drop_column("api_token", "expires_at")
    op.drop_column("user", "session_generation")
