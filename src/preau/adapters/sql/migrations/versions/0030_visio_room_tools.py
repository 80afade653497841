"""virtual classes, inside the room: chat, polls, whiteboard, breakout groups, presence

Revision ID: 0030_visio
Revises: 0004
Create Date: 2026-12-04
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0030_visio"
down_revision = "0004"
branch_labels = None
depends_on = None


def _tenant(table: str) -> list[Any]:
    """The school and room columns with their foreign keys, named as the metadata names them."""
    return [
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f(f"fk_{table}_school_id_schools")
        ),
    ]


def _room_fk(table: str, column: str = "room_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["virtual_rooms.id"], name=op.f(f"fk_{table}_{column}_virtual_rooms")
    )


def _person_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["people.id"], name=op.f(f"fk_{table}_{column}_people")
    )


def upgrade() -> None:
    op.create_table(
        "virtual_chat",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("virtual_chat"),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("to_teacher", sa.Boolean(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        _room_fk("virtual_chat"),
        _person_fk("virtual_chat", "author_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_chat")),
    )
    op.create_index("ix_virtual_chat_room", "virtual_chat", ["room_id", "id"])
    op.create_table(
        "virtual_polls",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("virtual_polls"),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("question", sa.String(length=300), nullable=False),
        sa.Column("choices", sa.Text(), nullable=False),
        sa.Column("results_shown", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        _room_fk("virtual_polls"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_polls")),
    )
    op.create_index("ix_virtual_polls_room", "virtual_polls", ["room_id", "id"])
    op.create_table(
        "virtual_poll_answers",
        *_tenant("virtual_poll_answers"),
        sa.Column("poll_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("choice", sa.Integer(), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["poll_id"],
            ["virtual_polls.id"],
            name=op.f("fk_virtual_poll_answers_poll_id_virtual_polls"),
        ),
        _person_fk("virtual_poll_answers", "person_id"),
        sa.PrimaryKeyConstraint("poll_id", "person_id", name=op.f("pk_virtual_poll_answers")),
    )
    op.create_table(
        "virtual_strokes",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("virtual_strokes"),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("stroke", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _room_fk("virtual_strokes"),
        _person_fk("virtual_strokes", "author_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_strokes")),
    )
    op.create_index("ix_virtual_strokes_room", "virtual_strokes", ["room_id", "id"])
    op.create_table(
        "virtual_boards",
        sa.Column("room_id", sa.Integer(), nullable=False),
        *_tenant("virtual_boards"),
        sa.Column("pupils_draw", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("background_key", sa.String(length=200), nullable=True),
        sa.Column("background_type", sa.String(length=40), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        _room_fk("virtual_boards"),
        sa.PrimaryKeyConstraint("room_id", name=op.f("pk_virtual_boards")),
    )
    op.create_table(
        "virtual_board_exports",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("virtual_board_exports"),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("file_key", sa.String(length=200), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        _room_fk("virtual_board_exports"),
        _person_fk("virtual_board_exports", "created_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_board_exports")),
    )
    op.create_index("ix_virtual_board_exports_room", "virtual_board_exports", ["room_id"])
    op.create_table(
        "virtual_breakouts",
        *_tenant("virtual_breakouts"),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("group_room_id", sa.Integer(), nullable=False),
        _room_fk("virtual_breakouts"),
        _room_fk("virtual_breakouts", "group_room_id"),
        _person_fk("virtual_breakouts", "person_id"),
        sa.PrimaryKeyConstraint("room_id", "person_id", name=op.f("pk_virtual_breakouts")),
    )
    op.create_table(
        "virtual_breakout_rooms",
        sa.Column("group_room_id", sa.Integer(), nullable=False),
        *_tenant("virtual_breakout_rooms"),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        _room_fk("virtual_breakout_rooms"),
        _room_fk("virtual_breakout_rooms", "group_room_id"),
        sa.PrimaryKeyConstraint("group_room_id", name=op.f("pk_virtual_breakout_rooms")),
    )
    op.create_index("ix_virtual_breakout_rooms_room", "virtual_breakout_rooms", ["room_id"])
    op.create_table(
        "virtual_presence",
        sa.Column("id", sa.Integer(), nullable=False),
        *_tenant("virtual_presence"),
        sa.Column("room_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        _room_fk("virtual_presence"),
        _person_fk("virtual_presence", "person_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_virtual_presence")),
    )
    op.create_index("ix_virtual_presence_room", "virtual_presence", ["room_id", "person_id"])


def downgrade() -> None:
    for index, table in (
        ("ix_virtual_presence_room", "virtual_presence"),
        ("ix_virtual_breakout_rooms_room", "virtual_breakout_rooms"),
        ("ix_virtual_board_exports_room", "virtual_board_exports"),
        ("ix_virtual_strokes_room", "virtual_strokes"),
        ("ix_virtual_polls_room", "virtual_polls"),
        ("ix_virtual_chat_room", "virtual_chat"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "virtual_presence",
        "virtual_breakout_rooms",
        "virtual_breakouts",
        "virtual_board_exports",
        "virtual_boards",
        "virtual_strokes",
        "virtual_poll_answers",
        "virtual_polls",
        "virtual_chat",
    ):
        op.drop_table(table)
