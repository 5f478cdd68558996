"""nc_action: an index (owner, status, done_at) serving "My actions", done, newest first
(benchmarks/capa.py: without it the page sorts all of a busy owner's done actions)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-02

"""

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade():
    op.create_index(
        "ix_nc_action_owner_status_done",
        "nc_action",
        ["owner_id", "status", "done_at"],
        unique=False,
    )


def downgrade():
    op.drop_index("ix_nc_action_owner_status_done", table_name="nc_action")
