"""people found by their roster identifier across schools (single sign-on)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04

An identity provider of every school (EduConnect) sends an identifier without a school:
the (school_id, source_id) unique index cannot serve that look-up on PostgreSQL.
"""

from __future__ import annotations

from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_people_source_id", "people", ["source_id"])


def downgrade() -> None:
    op.drop_index("ix_people_source_id", table_name="people")
