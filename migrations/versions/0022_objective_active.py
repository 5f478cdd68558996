"""quality objectives can be withdrawn: ``is_active`` (docs/adr/0049); every objective
set before stays active

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 22:00:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("quality_objective", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_active", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade():
    # Plain ALTER TABLE … DROP COLUMN (SQLite 3.35+): a batch would copy the table the
    # KPIs reference.
    op.drop_column("quality_objective", "is_active")
