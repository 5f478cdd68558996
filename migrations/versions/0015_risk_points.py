"""risk points: the register of service risks, their links and periodic reviews

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-02

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "risk_point",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=16), nullable=False),
        sa.Column("process", sa.String(length=120), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("cause", sa.Text(), nullable=False),
        sa.Column("consequence", sa.Text(), nullable=False),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("severity", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("controls", sa.Text(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("last_reviewed_on", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_risk_point_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["department_id"], ["department.id"], name=op.f("fk_risk_point_department_id_department")
        ),
        sa.ForeignKeyConstraint(["owner_id"], ["user.id"], name=op.f("fk_risk_point_owner_id_user")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_point")),
        sa.UniqueConstraint("number", name=op.f("uq_risk_point_number")),
    )
    with op.batch_alter_table("risk_point", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_point_department_id"), ["department_id"])
        batch_op.create_index(batch_op.f("ix_risk_point_owner_id"), ["owner_id"])
        batch_op.create_index(batch_op.f("ix_risk_point_process"), ["process"])
        batch_op.create_index(batch_op.f("ix_risk_point_review_date"), ["review_date"])
        batch_op.create_index(batch_op.f("ix_risk_point_score"), ["score"])

    op.create_table(
        "risk_link",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_point_id", sa.Integer(), nullable=False),
        sa.Column("object_ref", sa.String(length=160), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["user.id"], name=op.f("fk_risk_link_created_by_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["risk_point_id"], ["risk_point.id"], name=op.f("fk_risk_link_risk_point_id_risk_point")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_link")),
        sa.UniqueConstraint(
            "risk_point_id", "object_ref", name=op.f("uq_risk_link_risk_point_id")
        ),
    )
    with op.batch_alter_table("risk_link", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_link_object_ref"), ["object_ref"])
        batch_op.create_index(batch_op.f("ix_risk_link_risk_point_id"), ["risk_point_id"])

    op.create_table(
        "risk_review",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("risk_point_id", sa.Integer(), nullable=False),
        sa.Column("reviewed_on", sa.Date(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("previous_review_date", sa.Date(), nullable=False),
        sa.Column("next_review_date", sa.Date(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["reviewer_id"], ["user.id"], name=op.f("fk_risk_review_reviewer_id_user")
        ),
        sa.ForeignKeyConstraint(
            ["risk_point_id"],
            ["risk_point.id"],
            name=op.f("fk_risk_review_risk_point_id_risk_point"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_review")),
        sa.UniqueConstraint(
            "risk_point_id", "reviewed_on", name=op.f("uq_risk_review_risk_point_id")
        ),
    )
    with op.batch_alter_table("risk_review", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_risk_review_risk_point_id"), ["risk_point_id"])


def downgrade():
    with op.batch_alter_table("risk_review", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_review_risk_point_id"))
    op.drop_table("risk_review")
    with op.batch_alter_table("risk_link", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_link_risk_point_id"))
        batch_op.drop_index(batch_op.f("ix_risk_link_object_ref"))
    op.drop_table("risk_link")
    with op.batch_alter_table("risk_point", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_risk_point_score"))
        batch_op.drop_index(batch_op.f("ix_risk_point_review_date"))
        batch_op.drop_index(batch_op.f("ix_risk_point_process"))
        batch_op.drop_index(batch_op.f("ix_risk_point_owner_id"))
        batch_op.drop_index(batch_op.f("ix_risk_point_department_id"))
    op.drop_table("risk_point")
