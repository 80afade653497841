"""marks: terms, evaluations, marks, subject coefficients and the audit of every change

Revision ID: 0005
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "marks_settings",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("term_kind", sa.String(length=10), server_default="trimester", nullable=False),
        sa.Column(
            "not_handed_in_counts_as_zero", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_marks_settings_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("school_id", name=op.f("pk_marks_settings")),
    )
    op.create_table(
        "subject_coefficients",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("coefficient_hundredths", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_subject_coefficients_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("school_id", "subject", name=op.f("pk_subject_coefficients")),
    )
    op.create_table(
        "terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("school_year_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_terms_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["school_year_id"],
            ["school_years.id"],
            name=op.f("fk_terms_school_year_id_school_years"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_terms")),
        sa.UniqueConstraint(
            "school_year_id", "position", name=op.f("uq_terms_school_year_id_position")
        ),
    )
    with op.batch_alter_table("terms", schema=None) as batch_op:
        batch_op.create_index("ix_terms_school_starts", ["school_id", "starts_on"], unique=False)

    op.create_table(
        "evaluations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("out_of_hundredths", sa.Integer(), nullable=False),
        sa.Column("coefficient_hundredths", sa.Integer(), nullable=False),
        sa.Column("homework_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_evaluations_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["homework_id"], ["homework.id"], name=op.f("fk_evaluations_homework_id_homework")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_evaluations_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["people.id"], name=op.f("fk_evaluations_teacher_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evaluations")),
    )
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_evaluations_school_group_day", ["school_id", "group_id", "day"], unique=False
        )
        batch_op.create_index(
            "ix_evaluations_school_homework", ["school_id", "homework_id"], unique=False
        )

    op.create_table(
        "marks",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("points_hundredths", sa.Integer(), nullable=True),
        sa.Column("special", sa.String(length=16), nullable=True),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(points_hundredths IS NULL) <> (special IS NULL)",
            name=op.f("ck_marks_points_or_special"),
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"], ["evaluations.id"], name=op.f("fk_marks_evaluation_id_evaluations")
        ),
        sa.ForeignKeyConstraint(["pupil_id"], ["people.id"], name=op.f("fk_marks_pupil_id_people")),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_marks_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["people.id"], name=op.f("fk_marks_updated_by_people")
        ),
        sa.PrimaryKeyConstraint("evaluation_id", "pupil_id", name=op.f("pk_marks")),
    )
    with op.batch_alter_table("marks", schema=None) as batch_op:
        batch_op.create_index("ix_marks_school_pupil", ["school_id", "pupil_id"], unique=False)

    op.create_table(
        "marks_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["people.id"], name=op.f("fk_marks_audit_actor_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluations.id"],
            name=op.f("fk_marks_audit_evaluation_id_evaluations"),
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["people.id"], name=op.f("fk_marks_audit_pupil_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_marks_audit_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_marks_audit")),
    )
    with op.batch_alter_table("marks_audit", schema=None) as batch_op:
        batch_op.create_index(
            "ix_marks_audit_school_evaluation", ["school_id", "evaluation_id"], unique=False
        )
        batch_op.create_index(
            "ix_marks_audit_school_pupil", ["school_id", "pupil_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("marks_audit", schema=None) as batch_op:
        batch_op.drop_index("ix_marks_audit_school_pupil")
        batch_op.drop_index("ix_marks_audit_school_evaluation")

    op.drop_table("marks_audit")
    with op.batch_alter_table("marks", schema=None) as batch_op:
        batch_op.drop_index("ix_marks_school_pupil")

    op.drop_table("marks")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_index("ix_evaluations_school_homework")
        batch_op.drop_index("ix_evaluations_school_group_day")

    op.drop_table("evaluations")
    with op.batch_alter_table("terms", schema=None) as batch_op:
        batch_op.drop_index("ix_terms_school_starts")

    op.drop_table("terms")
    op.drop_table("subject_coefficients")
    op.drop_table("marks_settings")
