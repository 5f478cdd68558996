"""audit_event: indexes for the trail's filters — by user, by action (each in sequence
order) and by time

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02

"""

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index("ix_audit_event_actor_seq", ["actor_username", "seq"], unique=False)
        batch_op.create_index("ix_audit_event_action_seq", ["action", "seq"], unique=False)
        batch_op.create_index("ix_audit_event_at", ["at"], unique=False)


def downgrade():
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_at")
        batch_op.drop_index("ix_audit_event_action_seq")
        batch_op.drop_index("ix_audit_event_actor_seq")
