"""virtual class recordings (Janus .mjr files made into a video lesson)

Revision ID: 0030_media_recordings
Revises: 0004, 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0030_media_recordings"
down_revision = ("0004", "0011")  # virtual_rooms; homework and video lessons
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "virtual_recordings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("teacher_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), server_default="", nullable=False),
        sa.Column("folder", sa.String(length=300), nullable=False),
        sa.Column("homework_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_virtual_recordings_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["room_id"],
            ["virtual_rooms.id"],
            name=op.f("fk_virtual_recordings_room_id_virtual_rooms"),
        ),
        sa.ForeignKeyConstraint(
            ["teacher_id"], ["people.id"], name=op.f("fk_virtual_recordings_teacher_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["homework_id"],
            ["homework.id"],
            name=op.f("fk_virtual_recordings_homework_id_homework"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_recordings")),
    )
    op.create_index("ix_virtual_recordings_room", "virtual_recordings", ["room_id"])
    op.create_index("ix_virtual_recordings_state", "virtual_recordings", ["state"])


def downgrade() -> None:
    op.drop_index("ix_virtual_recordings_state", table_name="virtual_recordings")
    op.drop_index("ix_virtual_recordings_room", table_name="virtual_recordings")
    op.drop_table("virtual_recordings")
