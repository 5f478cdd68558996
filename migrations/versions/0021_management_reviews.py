"""management reviews: the review, its frozen input snapshots, attendees, decisions (its
actions) and amendments (docs/adr/0048); an index of records by completion time

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-02 18:30:00

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    # records completed in a period, by type and department (records.queries.record_figures)
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.create_index('ix_record_completed_at', ['completed_at', 'record_type_id', 'department_id'], unique=False)

    op.create_table('management_review',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('number', sa.String(length=16), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('planned_date', sa.Date(), nullable=False),
    sa.Column('chair_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('external_issues', sa.Text(), nullable=True),
    sa.Column('resources', sa.Text(), nullable=True),
    sa.Column('narratives_json', sa.Text(), nullable=False),
    sa.Column('minutes_signature_id', sa.Integer(), nullable=True),
    sa.Column('report_sha256', sa.String(length=64), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('compiled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['chair_id'], ['user.id'], name=op.f('fk_management_review_chair_id_user')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_management_review_created_by_id_user')),
    sa.ForeignKeyConstraint(['minutes_signature_id'], ['signature.id'], name=op.f('fk_management_review_minutes_signature_id_signature')),
    sa.ForeignKeyConstraint(['report_sha256'], ['stored_blob.sha256'], name=op.f('fk_management_review_report_sha256_stored_blob')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_review')),
    sa.UniqueConstraint('number', name=op.f('uq_management_review_number')),
    sa.UniqueConstraint('year', 'seq', name=op.f('uq_management_review_year'))
    )
    with op.batch_alter_table('management_review', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_management_review_chair_id'), ['chair_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_management_review_period_end'), ['period_end'], unique=False)

    op.create_table('management_review_snapshot',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_json', sa.Text(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('compiled_by_id', sa.Integer(), nullable=False),
    sa.Column('compiled_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['compiled_by_id'], ['user.id'], name=op.f('fk_management_review_snapshot_compiled_by_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['management_review.id'], name=op.f('fk_management_review_snapshot_review_id_management_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_review_snapshot')),
    sa.UniqueConstraint('review_id', 'version', name=op.f('uq_management_review_snapshot_review_id'))
    )
    with op.batch_alter_table('management_review_snapshot', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_management_review_snapshot_review_id'), ['review_id'], unique=False)

    op.create_table('management_review_attendee',
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('signature_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['review_id'], ['management_review.id'], name=op.f('fk_management_review_attendee_review_id_management_review')),
    sa.ForeignKeyConstraint(['signature_id'], ['signature.id'], name=op.f('fk_management_review_attendee_signature_id_signature')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_management_review_attendee_user_id_user')),
    sa.PrimaryKeyConstraint('review_id', 'user_id', name=op.f('pk_management_review_attendee'))
    )
    with op.batch_alter_table('management_review_attendee', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_management_review_attendee_user_id'), ['user_id'], unique=False)

    op.create_table('management_review_decision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('category', sa.String(length=16), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('due_date', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('done_by_id', sa.Integer(), nullable=True),
    sa.Column('done_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_on', sa.Date(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], name=op.f('fk_management_review_decision_created_by_id_user')),
    sa.ForeignKeyConstraint(['done_by_id'], ['user.id'], name=op.f('fk_management_review_decision_done_by_id_user')),
    sa.ForeignKeyConstraint(['owner_id'], ['user.id'], name=op.f('fk_management_review_decision_owner_id_user')),
    sa.ForeignKeyConstraint(['review_id'], ['management_review.id'], name=op.f('fk_management_review_decision_review_id_management_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_review_decision')),
    sa.UniqueConstraint('review_id', 'seq', name=op.f('uq_management_review_decision_review_id'))
    )
    with op.batch_alter_table('management_review_decision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_management_review_decision_due_date'), ['due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_management_review_decision_owner_id'), ['owner_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_management_review_decision_review_id'), ['review_id'], unique=False)

    op.create_table('management_review_amendment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['management_review.id'], name=op.f('fk_management_review_amendment_review_id_management_review')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_management_review_amendment_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_management_review_amendment'))
    )
    with op.batch_alter_table('management_review_amendment', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_management_review_amendment_review_id'), ['review_id'], unique=False)


def downgrade():
    op.drop_table('management_review_amendment')
    op.drop_table('management_review_decision')
    op.drop_table('management_review_attendee')
    op.drop_table('management_review_snapshot')
    op.drop_table('management_review')
    with op.batch_alter_table('record', schema=None) as batch_op:
        batch_op.drop_index('ix_record_completed_at')
