"""search queue: index changes recorded with the transaction they follow

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21

"""

import sqlalchemy as sa
from alembic import op


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "search_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("queued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_search_queue")),
    )
    with op.batch_alter_table("search_queue", schema=None) as batch_op:
        batch_op.create_index("ix_search_queue_pending", ["done_at", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("search_queue", schema=None) as batch_op:
        batch_op.drop_index("ix_search_queue_pending")
    op.drop_table("search_queue")
