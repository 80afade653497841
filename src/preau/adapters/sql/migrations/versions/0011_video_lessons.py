"""video lessons: renditions, views

Revision ID: 0011
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "video_lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("homework_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.Column("source_key", sa.String(length=200), nullable=True),
        sa.Column("poster_key", sa.String(length=200), nullable=True),
        sa.Column("captions_key", sa.String(length=200), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["author_id"], ["people.id"], name=op.f("fk_video_lessons_author_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["homework_id"], ["homework.id"], name=op.f("fk_video_lessons_homework_id_homework")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_video_lessons_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_lessons")),
        sa.UniqueConstraint("homework_id", name=op.f("uq_video_lessons_homework_id")),
    )
    with op.batch_alter_table("video_lessons", schema=None) as batch_op:
        batch_op.create_index("ix_video_lessons_state", ["state"], unique=False)

    op.create_table(
        "video_renditions",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("kbps", sa.Integer(), nullable=False),
        sa.Column("bytes", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_video_renditions_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["video_id"],
            ["video_lessons.id"],
            name=op.f("fk_video_renditions_video_id_video_lessons"),
        ),
        sa.PrimaryKeyConstraint("video_id", "name", name=op.f("pk_video_renditions")),
    )
    op.create_table(
        "video_views",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("position_s", sa.Integer(), nullable=False),
        sa.Column("watched", sa.Text(), nullable=False),
        sa.Column("seconds_watched", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["people.id"], name=op.f("fk_video_views_pupil_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_video_views_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["video_id"], ["video_lessons.id"], name=op.f("fk_video_views_video_id_video_lessons")
        ),
        sa.PrimaryKeyConstraint("video_id", "pupil_id", name=op.f("pk_video_views")),
    )


def downgrade() -> None:
    op.drop_table("video_views")
    op.drop_table("video_renditions")
    with op.batch_alter_table("video_lessons", schema=None) as batch_op:
        batch_op.drop_index("ix_video_lessons_state")

    op.drop_table("video_lessons")
