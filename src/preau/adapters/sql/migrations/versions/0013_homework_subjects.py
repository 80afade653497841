"""homework subjects (matières)

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("homework") as batch:
        batch.add_column(sa.Column("subject", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("homework") as batch:
        batch.drop_column("subject")
