"""The tables. Every tenant table carries ``school_id`` and every query filters on it,
so the schema can later be distributed by school without a rewrite."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Timestamp = sa.DateTime(timezone=True)

schools = sa.Table(
    "schools",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("uai", sa.String(8), nullable=False, unique=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="Europe/Paris"),
    sa.Column("source_id", sa.String(255), unique=True),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Timestamp, nullable=False),
)

school_years = sa.Table(
    "school_years",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.Column("source_id", sa.String(255)),
    sa.UniqueConstraint("school_id", "source_id"),
)

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("profile", sa.String(16), nullable=False),
    sa.Column("username", sa.String(100), nullable=False, unique=True),
    sa.Column("given_name", sa.String(100), nullable=False),
    sa.Column("family_name", sa.String(100), nullable=False),
    sa.Column("email", sa.String(254)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("password_hash", sa.String(200)),
    sa.Column("activation_code_hash", sa.String(64)),
    sa.Column("activated_at", Timestamp),
    # Sessions and device credentials issued before this instant are refused
    # ("log out my other devices", password reset).
    sa.Column("sessions_valid_after", sa.Float, nullable=False, server_default="0"),
    sa.Column("source_id", sa.String(255)),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("school_id", "source_id"),
    sa.Index("ix_people_school_family", "school_id", "family_name", "given_name"),
    sa.Index("ix_people_sessions_valid_after", "sessions_valid_after"),
)

groups = sa.Table(
    "groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),  # "class" or "group"
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("level", sa.String(50)),
    sa.Column("subject", sa.String(100)),
    sa.Column("school_year_id", sa.ForeignKey("school_years.id")),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("source_id", sa.String(255)),
    sa.UniqueConstraint("school_id", "source_id"),
    sa.Index("ix_groups_school_name", "school_id", "name"),
)

enrolments = sa.Table(
    "enrolments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("group_id", sa.ForeignKey("groups.id"), nullable=False),
    sa.Column("person_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("role", sa.String(8), nullable=False),  # "pupil" or "teacher"
    sa.Column("subject", sa.String(100)),
    sa.Column("source_id", sa.String(255)),
    sa.UniqueConstraint("school_id", "source_id"),
    sa.UniqueConstraint("group_id", "person_id", "role"),
    sa.Index("ix_enrolments_school_person", "school_id", "person_id"),
)

parent_links = sa.Table(
    "parent_links",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("parent_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("child_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Index("ix_parent_links_school_child", "school_id", "child_id"),
)

devices = sa.Table(
    "devices",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("person_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("label", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_seen_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp),
    sa.Index("ix_devices_school_person", "school_id", "person_id"),
    # Every process re-reads recent revocations (a cross-school system query).
    sa.Index("ix_devices_revoked_at", "revoked_at"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), primary_key=True),
    sa.Column("person_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("result", sa.LargeBinary, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
)

# Reports of roster imports. ``school_id`` is empty for an operator's import that
# may touch several schools; a school admin's upload carries their school.
roster_imports = sa.Table(
    "roster_imports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id")),
    sa.Column("source_name", sa.String(255), nullable=False),
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("finished_at", Timestamp),
    sa.Column("summary", sa.JSON, nullable=False),
    sa.Column("rejected", sa.JSON, nullable=False),
)
