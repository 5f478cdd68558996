"""English names: departments, documents (title) and record types may carry an English
name beside the Chinese one; the English UI, PDFs and exports use it

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=120), nullable=True))
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_en", sa.String(length=200), nullable=True))
    with op.batch_alter_table("record_type", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_en", sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table("record_type", schema=None) as batch_op:
        batch_op.drop_column("name_en")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_column("title_en")
    with op.batch_alter_table("department", schema=None) as batch_op:
        batch_op.drop_column("name_en")
