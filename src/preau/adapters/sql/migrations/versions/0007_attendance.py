"""attendance: roll calls, absences, justifications, their audit; a parent's limited access;
how long a pupil stayed in a virtual class

Revision ID: 0007
Revises: 0002, 0003, 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
# Files (0002) for the parents' documents, announcements (0003) to tell parents, lessons
# and virtual seats (0004) for the roll call.
down_revision = ("0002", "0003", "0004")
branch_labels = None
depends_on = None


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.add_column(
        "parent_links",
        sa.Column("limited_access", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    op.add_column("virtual_seats", sa.Column("last_seen_at", sa.DateTime(timezone=True)))
    op.create_table(
        "roll_calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_by", sa.Integer(), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _fk("roll_calls", "school_id", "schools"),
        _fk("roll_calls", "lesson_id", "timetable_lessons"),
        _fk("roll_calls", "group_id", "groups"),
        _fk("roll_calls", "taken_by", "people"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roll_calls")),
        sa.UniqueConstraint("lesson_id", "day", name=op.f("uq_roll_calls_lesson_id_day")),
    )
    op.create_index(
        "ix_roll_calls_school_group_day", "roll_calls", ["school_id", "group_id", "day"]
    )
    op.create_table(
        "roll_call_entries",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("roll_call_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("minutes", sa.Integer()),
        _fk("roll_call_entries", "school_id", "schools"),
        _fk("roll_call_entries", "roll_call_id", "roll_calls"),
        _fk("roll_call_entries", "pupil_id", "people"),
        sa.PrimaryKeyConstraint("roll_call_id", "pupil_id", name=op.f("pk_roll_call_entries")),
    )
    op.create_index(
        "ix_roll_call_entries_school_pupil", "roll_call_entries", ["school_id", "pupil_id"]
    )
    op.create_table(
        "absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(length=8), nullable=False),
        sa.Column("roll_call_id", sa.Integer()),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=12)),
        sa.Column("comment", sa.String(length=500), server_default="", nullable=False),
        sa.Column("file_id", sa.String(length=32)),
        sa.Column("justified_by", sa.Integer()),
        sa.Column("justified_at", sa.DateTime(timezone=True)),
        sa.Column("decided_by", sa.Integer()),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("decision_note", sa.String(length=500), server_default="", nullable=False),
        _fk("absences", "school_id", "schools"),
        _fk("absences", "pupil_id", "people"),
        _fk("absences", "roll_call_id", "roll_calls"),
        _fk("absences", "recorded_by", "people"),
        _fk("absences", "file_id", "files"),
        _fk("absences", "justified_by", "people"),
        _fk("absences", "decided_by", "people"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_absences")),
        sa.UniqueConstraint(
            "roll_call_id", "pupil_id", name=op.f("uq_absences_roll_call_id_pupil_id")
        ),
    )
    op.create_index(
        "ix_absences_school_pupil_starts", "absences", ["school_id", "pupil_id", "starts_at"]
    )
    op.create_index("ix_absences_school_state", "absences", ["school_id", "state"])
    op.create_table(
        "attendance_audit",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("roll_call_id", sa.Integer()),
        sa.Column("absence_id", sa.Integer()),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("change", sa.String(length=16), nullable=False),
        sa.Column("before", sa.JSON()),
        sa.Column("after", sa.JSON()),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        _fk("attendance_audit", "school_id", "schools"),
        _fk("attendance_audit", "pupil_id", "people"),
        _fk("attendance_audit", "roll_call_id", "roll_calls"),
        _fk("attendance_audit", "actor_id", "people"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance_audit")),
    )
    op.create_index(
        "ix_attendance_audit_school_pupil",
        "attendance_audit",
        ["school_id", "pupil_id", "changed_at"],
    )


def downgrade() -> None:
    op.drop_table("attendance_audit")
    op.drop_table("absences")
    op.drop_table("roll_call_entries")
    op.drop_table("roll_calls")
    with op.batch_alter_table("virtual_seats") as batch:
        batch.drop_column("last_seen_at")
    with op.batch_alter_table("parent_links") as batch:
        batch.drop_column("limited_access")
