"""skills: frameworks (the socle commun given to every existing school), the skills an
evaluation assesses, the LSU levels given, and evaluations that carry skills only

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from preau.adapters.sql.types import UTCDateTime
from preau.domain.skills import SOCLE_COMMUN

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("marked", sa.Boolean(), server_default=sa.true(), nullable=False)
        )
    op.create_table(
        "skill_frameworks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=40), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=True),
        sa.Column("built_in", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_skill_frameworks_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skill_frameworks")),
        sa.UniqueConstraint("school_id", "code", name=op.f("uq_skill_frameworks_school_id_code")),
    )
    op.create_table(
        "skills",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("framework_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("code", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("name_en", sa.String(length=300), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["framework_id"],
            ["skill_frameworks.id"],
            name=op.f("fk_skills_framework_id_skill_frameworks"),
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"], ["skills.id"], name=op.f("fk_skills_parent_id_skills")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_skills_school_id_schools")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_skills")),
    )
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.create_index(
            "ix_skills_school_framework", ["school_id", "framework_id"], unique=False
        )
    op.create_table(
        "evaluation_skills",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluations.id"],
            name=op.f("fk_evaluation_skills_evaluation_id_evaluations"),
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_evaluation_skills_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_evaluation_skills_skill_id_skills")
        ),
        sa.PrimaryKeyConstraint("evaluation_id", "skill_id", name=op.f("pk_evaluation_skills")),
    )
    op.create_table(
        "skill_levels",
        sa.Column("school_id", sa.Integer(), nullable=False),
        sa.Column("evaluation_id", sa.Integer(), nullable=False),
        sa.Column("skill_id", sa.Integer(), nullable=False),
        sa.Column("pupil_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("level BETWEEN 1 AND 4", name=op.f("ck_skill_levels_level_1_to_4")),
        sa.ForeignKeyConstraint(
            ["evaluation_id"],
            ["evaluations.id"],
            name=op.f("fk_skill_levels_evaluation_id_evaluations"),
        ),
        sa.ForeignKeyConstraint(
            ["pupil_id"], ["people.id"], name=op.f("fk_skill_levels_pupil_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["school_id"], ["schools.id"], name=op.f("fk_skill_levels_school_id_schools")
        ),
        sa.ForeignKeyConstraint(
            ["skill_id"], ["skills.id"], name=op.f("fk_skill_levels_skill_id_skills")
        ),
        sa.ForeignKeyConstraint(
            ["updated_by"], ["people.id"], name=op.f("fk_skill_levels_updated_by_people")
        ),
        sa.PrimaryKeyConstraint(
            "evaluation_id", "skill_id", "pupil_id", name=op.f("pk_skill_levels")
        ),
    )
    with op.batch_alter_table("skill_levels", schema=None) as batch_op:
        batch_op.create_index(
            "ix_skill_levels_school_pupil", ["school_id", "pupil_id"], unique=False
        )
    _give_every_school_the_socle()


def _give_every_school_the_socle() -> None:
    """The schools that exist now get the socle commun; later ones get it when created
    (``actions/skill_frameworks.seed_socle``)."""
    bind = op.get_bind()
    frameworks = sa.table(
        "skill_frameworks",
        sa.column("id", sa.Integer),
        sa.column("school_id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("name_en", sa.String),
        sa.column("built_in", sa.Boolean),
        sa.column("created_at", UTCDateTime()),
    )
    skills = sa.table(
        "skills",
        sa.column("id", sa.Integer),
        sa.column("school_id", sa.Integer),
        sa.column("framework_id", sa.Integer),
        sa.column("parent_id", sa.Integer),
        sa.column("code", sa.String),
        sa.column("name", sa.String),
        sa.column("name_en", sa.String),
        sa.column("position", sa.Integer),
    )
    now = datetime.now(UTC)
    socle = SOCLE_COMMUN
    for (school_id,) in bind.execute(sa.text("SELECT id FROM schools ORDER BY id")).all():
        framework_id = bind.execute(
            frameworks.insert()
            .values(
                school_id=school_id,
                code=socle.code,
                name=socle.name,
                name_en=socle.name_en,
                built_in=True,
                created_at=now,
            )
            .returning(frameworks.c.id)
        ).scalar_one()
        for position, domain in enumerate(socle.domains, start=1):
            domain_id = bind.execute(
                skills.insert()
                .values(
                    school_id=school_id,
                    framework_id=framework_id,
                    parent_id=None,
                    code=domain.code,
                    name=domain.name,
                    name_en=domain.name_en,
                    position=position,
                )
                .returning(skills.c.id)
            ).scalar_one()
            for inner, skill in enumerate(domain.children, start=1):
                bind.execute(
                    skills.insert().values(
                        school_id=school_id,
                        framework_id=framework_id,
                        parent_id=domain_id,
                        code=skill.code,
                        name=skill.name,
                        name_en=skill.name_en,
                        position=inner,
                    )
                )


def downgrade() -> None:
    with op.batch_alter_table("skill_levels", schema=None) as batch_op:
        batch_op.drop_index("ix_skill_levels_school_pupil")
    op.drop_table("skill_levels")
    op.drop_table("evaluation_skills")
    with op.batch_alter_table("skills", schema=None) as batch_op:
        batch_op.drop_index("ix_skills_school_framework")
    op.drop_table("skills")
    op.drop_table("skill_frameworks")
    with op.batch_alter_table("evaluations", schema=None) as batch_op:
        batch_op.drop_column("marked")
