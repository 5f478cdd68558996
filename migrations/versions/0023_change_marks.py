"""the newest event of each object kind (audit_change_mark), for caches of live figures

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-02 22:00:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audit_change_mark',
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('kind')
    )


def downgrade():
    op.drop_table('audit_change_mark')
