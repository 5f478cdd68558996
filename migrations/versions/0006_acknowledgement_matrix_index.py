"""acknowledgement: an index covering the matrix (revision, department, status, due date,
user) instead of (revision, status)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21

"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("acknowledgement", schema=None) as batch_op:
        batch_op.drop_index("ix_acknowledgement_revision_status")
        batch_op.create_index(
            "ix_acknowledgement_revision_department",
            ["revision_id", "department_id", "status", "due_date", "user_id"],
            unique=False,
        )


def downgrade():
    with op.batch_alter_table("acknowledgement", schema=None) as batch_op:
        batch_op.drop_index("ix_acknowledgement_revision_department")
        batch_op.create_index(
            "ix_acknowledgement_revision_status", ["revision_id", "status"], unique=False
        )
