"""record: an index (year, id) serving the record list by year, newest first, instead of
(year)

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-21

"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_year")
        batch_op.create_index("ix_record_year_id", ["year", "id"], unique=False)


def downgrade():
    with op.batch_alter_table("record", schema=None) as batch_op:
        batch_op.drop_index("ix_record_year_id")
        batch_op.create_index("ix_record_year", ["year"], unique=False)
