"""timetable: weekly lessons, changes, holidays, calendar feeds, virtual classes on Janus

Revision ID: 0004
Revises: 0001
Create Date: 2026-11-22 07:42:52.370580
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timetable_holidays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_timetable_holidays_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timetable_holidays")),
    )
    with op.batch_alter_table("timetable_holidays", schema=None) as batch_op:
        batch_op.create_index(
            "ix_timetable_holidays_school", ["school_id", "first_day"], unique=False
        )

    op.create_table(
        "calendar_feeds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_calendar_feeds_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_calendar_feeds_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calendar_feeds")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_calendar_feeds_secret_hash")),
    )
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.create_index("ix_calendar_feeds_person", ["school_id", "person_id"], unique=False)

    op.create_table(
        "timetable_lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=True),
        sa.Column("room", sa.String(length=50), server_default="", nullable=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        sa.Column("starts_minute", sa.Integer(), nullable=False),
        sa.Column("ends_minute", sa.Integer(), nullable=False),
        sa.Column("weeks", sa.String(length=3), server_default="all", nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("virtual", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_timetable_lessons_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_timetable_lessons_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["people.id"], name=op.f("fk_timetable_lessons_teacher_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timetable_lessons")),
    )
    with op.batch_alter_table("timetable_lessons", schema=None) as batch_op:
        batch_op.create_index("ix_timetable_lessons_group", ["school_id", "group_id"], unique=False)
        batch_op.create_index(
            "ix_timetable_lessons_teacher", ["school_id", "teacher_id"], unique=False
        )
        batch_op.create_index("ix_timetable_lessons_weekday", ["weekday", "virtual"], unique=False)

    op.create_table(
        "timetable_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("new_day", sa.Date(), nullable=True),
        sa.Column("new_starts_minute", sa.Integer(), nullable=True),
        sa.Column("new_ends_minute", sa.Integer(), nullable=True),
        sa.Column("new_room", sa.String(length=50), nullable=True),
        sa.Column("new_teacher_id", sa.Integer(), nullable=True),
        sa.Column("new_subject", sa.String(length=100), nullable=True),
        sa.Column("note", sa.String(length=500), server_default="", nullable=False),
        sa.Column("virtual", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["timetable_lessons.id"],
            name=op.f("fk_timetable_changes_lesson_id_timetable_lessons"),
        ),
        sa.ForeignKeyConstraint(
            ["new_teacher_id"],
            ["people.id"],
            name=op.f("fk_timetable_changes_new_teacher_id_people"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_timetable_changes_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_timetable_changes")),
        sa.UniqueConstraint("lesson_id", "day", name=op.f("uq_timetable_changes_lesson_id_day")),
    )
    with op.batch_alter_table("timetable_changes", schema=None) as batch_op:
        batch_op.create_index("ix_timetable_changes_school_day", ["school_id", "day"], unique=False)

    op.create_table(
        "virtual_rooms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("lesson_id", sa.Integer(), nullable=True),
        sa.Column("day", sa.Date(), nullable=True),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("janus_room", sa.BigInteger(), nullable=False),
        sa.Column("node", sa.String(length=50), nullable=True),
        sa.Column("expected", sa.Integer(), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("bitrate", sa.Integer(), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["group_id"], ["groups.id"], name=op.f("fk_virtual_rooms_group_id_groups")
        ),
        sa.ForeignKeyConstraint(
            ["lesson_id"],
            ["timetable_lessons.id"],
            name=op.f("fk_virtual_rooms_lesson_id_timetable_lessons"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_virtual_rooms_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["people.id"], name=op.f("fk_virtual_rooms_teacher_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_rooms")),
        sa.UniqueConstraint("janus_room", name=op.f("uq_virtual_rooms_janus_room")),
        sa.UniqueConstraint("lesson_id", "day", name=op.f("uq_virtual_rooms_lesson_id_day")),
    )
    with op.batch_alter_table("virtual_rooms", schema=None) as batch_op:
        batch_op.create_index("ix_virtual_rooms_node_ends", ["node", "ends_at"], unique=False)
        batch_op.create_index(
            "ix_virtual_rooms_school_group", ["school_id", "group_id"], unique=False
        )

    op.create_table(
        "virtual_guests",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_virtual_guests_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["virtual_rooms.id"], name=op.f("fk_virtual_guests_room_id_virtual_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_virtual_guests_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("room_id", "person_id", name=op.f("pk_virtual_guests")),
    )
    op.create_table(
        "virtual_seats",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_virtual_seats_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"], ["virtual_rooms.id"], name=op.f("fk_virtual_seats_room_id_virtual_rooms")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_virtual_seats_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("room_id", "person_id", name=op.f("pk_virtual_seats")),
    )


def downgrade() -> None:
    op.drop_table("virtual_seats")
    op.drop_table("virtual_guests")
    with op.batch_alter_table("virtual_rooms", schema=None) as batch_op:
        batch_op.drop_index("ix_virtual_rooms_school_group")
        batch_op.drop_index("ix_virtual_rooms_node_ends")

    op.drop_table("virtual_rooms")
    with op.batch_alter_table("timetable_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_timetable_changes_school_day")

    op.drop_table("timetable_changes")
    with op.batch_alter_table("timetable_lessons", schema=None) as batch_op:
        batch_op.drop_index("ix_timetable_lessons_weekday")
        batch_op.drop_index("ix_timetable_lessons_teacher")
        batch_op.drop_index("ix_timetable_lessons_group")

    op.drop_table("timetable_lessons")
    with op.batch_alter_table("calendar_feeds", schema=None) as batch_op:
        batch_op.drop_index("ix_calendar_feeds_person")

    op.drop_table("calendar_feeds")
    with op.batch_alter_table("timetable_holidays", schema=None) as batch_op:
        batch_op.drop_index("ix_timetable_holidays_school")

    op.drop_table("timetable_holidays")
