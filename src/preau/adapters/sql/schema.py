"""The tables. Every tenant table carries ``school_id`` and every query filters on it,
so the schema can later be distributed by school without a rewrite.

One module past 900 lines on purpose: it is one ``MetaData`` that Alembic compares with the
migrations as a whole (``tests`` check they match), and it is declarations only, table
after table in area order; splitting it per area would spread foreign keys across files
without making any table easier to read."""

from __future__ import annotations

import sqlalchemy as sa

from preau.adapters.sql.types import UTCDateTime

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Timestamp = UTCDateTime()

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
    # Single sign-on finds a person by roster identifier across schools (actions/sso).
    sa.Index("ix_people_source_id", "source_id"),
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
    # Set by the school (a court decision, a family's request): this parent does not see
    # the child's attendance, nor is told of absences (docs/attendance.md).
    sa.Column("limited_access", sa.Boolean, nullable=False, server_default=sa.false()),
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

# Self-service password resets: a link sent by email, single use, 30 minutes. Only the
# token's SHA-256 is kept (domain/tokens.fingerprint), never the token.
password_resets = sa.Table(
    "password_resets",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("person_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("expires_at", Timestamp, nullable=False),
    sa.Column("used_at", Timestamp),
    sa.Index("ix_password_resets_school_person", "school_id", "person_id"),
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

# Every write sent with an ``Idempotency-Key`` (docs/offline.md): inserted inside the
# write's own transaction (so a transaction that died leaves none), its answer kept after.
idempotency_records = sa.Table(
    "idempotency_records",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), primary_key=True),
    sa.Column("person_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("key", sa.String(100), primary_key=True),
    sa.Column("fingerprint", sa.String(64), nullable=False),  # sha256 of the request
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("path", sa.String(500), nullable=False),
    sa.Column("claimed_at", Timestamp, nullable=False),
    sa.Column("done_at", Timestamp),  # empty only in claims written before the write (old)
    sa.Column("status", sa.Integer),  # the first answer, once sent
    sa.Column("headers", sa.JSON),
    sa.Column("body", sa.LargeBinary),
    sa.Index("ix_idempotency_records_claimed_at", "claimed_at"),
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

# -- classwork ---------------------------------------------------------------------------
# Homework (cahier de textes), hand-ins and their files. The to-do read path caches by the
# counters in ``read_versions``, which every classwork write bumps in its own transaction.

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),  # random, also the storage key's stem
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("owner_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),  # sanitised, shown and downloaded as
    sa.Column("content_type", sa.String(127), nullable=False),  # sniffed from the content
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("sha256", sa.String(64), nullable=False),
    sa.Column("storage_key", sa.String(200), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_files_school_owner", "school_id", "owner_id"),
)

homework = sa.Table(
    "homework",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("group_id", sa.ForeignKey("groups.id"), nullable=False),
    sa.Column("author_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("instructions", sa.Text, nullable=False, server_default=""),
    sa.Column("instructions_format", sa.String(8), nullable=False, server_default="text"),
    sa.Column("publish_at", Timestamp, nullable=False),
    sa.Column("due_at", Timestamp, nullable=False),
    sa.Column("cutoff_at", Timestamp),  # nothing is accepted after it; empty: no cut-off
    sa.Column("estimated_minutes", sa.Integer),
    sa.Column("hand_in_expected", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("chosen_pupils", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("revision", sa.Integer, nullable=False, server_default="1"),
    sa.Column("subject", sa.String(100)),  # the matière; empty: the group's (to-do, pages)
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("deleted_at", Timestamp),
    sa.Index("ix_homework_school_group_due", "school_id", "group_id", "due_at"),
)

homework_targets = sa.Table(  # the chosen pupils of a homework set for some of a class
    "homework_targets",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("homework_id", sa.ForeignKey("homework.id"), primary_key=True),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), primary_key=True),
)

homework_revisions = sa.Table(
    "homework_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("homework_id", sa.ForeignKey("homework.id"), nullable=False),
    sa.Column("revision", sa.Integer, nullable=False),
    sa.Column("change", sa.String(16), nullable=False),  # created, edited, deleted
    sa.Column("editor_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("changed_at", Timestamp, nullable=False),
    sa.Column("snapshot", sa.JSON, nullable=False),
    sa.Index("ix_homework_revisions_school_homework", "school_id", "homework_id"),
)

homework_attachments = sa.Table(
    "homework_attachments",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("homework_id", sa.ForeignKey("homework.id"), primary_key=True),
    sa.Column("file_id", sa.ForeignKey("files.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
)

hand_ins = sa.Table(  # one per pupil per homework, created by the first action on it
    "hand_ins",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("homework_id", sa.ForeignKey("homework.id"), nullable=False),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False, server_default="assigned"),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("turned_in_at", Timestamp),
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("returned_at", Timestamp),
    sa.Column("feedback", sa.Text, nullable=False, server_default=""),
    sa.Column("mark", sa.Float),
    sa.Column("mark_out_of", sa.Float),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("homework_id", "pupil_id"),
    sa.Index("ix_hand_ins_school_pupil", "school_id", "pupil_id"),
)

hand_in_files = sa.Table(
    "hand_in_files",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("hand_in_id", sa.ForeignKey("hand_ins.id"), primary_key=True),
    sa.Column("file_id", sa.ForeignKey("files.id"), primary_key=True),
)

hand_in_events = sa.Table(  # the history of state changes
    "hand_in_events",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("hand_in_id", sa.ForeignKey("hand_ins.id"), nullable=False),
    sa.Column("actor_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("from_state", sa.String(16), nullable=False),
    sa.Column("to_state", sa.String(16), nullable=False),
    sa.Column("late", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("at", Timestamp, nullable=False),
    sa.Index("ix_hand_in_events_school_hand_in", "school_id", "hand_in_id"),
)

homework_extensions = sa.Table(
    "homework_extensions",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("homework_id", sa.ForeignKey("homework.id"), primary_key=True),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("due_at", Timestamp, nullable=False),
    sa.Column("cutoff_at", Timestamp),
    sa.Column("granted_by", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("granted_at", Timestamp, nullable=False),
    sa.Index("ix_homework_extensions_school_pupil", "school_id", "pupil_id"),
)

homework_done = sa.Table(  # the pupil's "done" tick on work without hand-in
    "homework_done",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("homework_id", sa.ForeignKey("homework.id"), primary_key=True),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("done_at", Timestamp, nullable=False),
    sa.Index("ix_homework_done_school_pupil", "school_id", "pupil_id"),
)

# Counters of cached reads ("group:12", "pupil:34"), bumped in the writing transaction.
read_versions = sa.Table(
    "read_versions",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), primary_key=True),
    sa.Column("scope", sa.String(40), primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    # Every process re-reads recent bumps in case a message was lost (a system query).
    sa.Index("ix_read_versions_updated_at", "updated_at"),
)

# -- messages --------------------------------------------------------------------------
# Conversations, announcements and their notifications (docs/messages.md).

# Who may write to whom and the quiet hours, per school; a school without a row has the
# defaults of ``preau.domain.messages.SchoolMessaging``.
messaging_settings = sa.Table(
    "messaging_settings",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), primary_key=True),
    sa.Column("pupils_write_to_class", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("pupils_write_to_teachers", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("parents_write_to_teachers", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("quiet_enabled", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("quiet_from_minute", sa.Integer, nullable=False, server_default="1200"),  # 20:00
    sa.Column("quiet_until_minute", sa.Integer, nullable=False, server_default="420"),  # 07:00
    # ISO weekdays (1 = Monday … 7 = Sunday) that are quiet all day, comma-separated.
    sa.Column("quiet_days", sa.String(20), nullable=False, server_default="7"),
    sa.Column("updated_at", Timestamp, nullable=False),
)

conversations = sa.Table(
    "conversations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("started_by", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("replies_allowed", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("last_message_at", Timestamp, nullable=False),
    sa.Column("message_count", sa.Integer, nullable=False, server_default="0"),
)

conversation_participants = sa.Table(
    "conversation_participants",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("conversation_id", sa.ForeignKey("conversations.id"), primary_key=True),
    sa.Column("person_id", sa.ForeignKey("people.id"), primary_key=True),
    # Messages of others not yet read, kept with every write so counts cost no scan.
    sa.Column("unread_count", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_read_message_id", sa.Integer, nullable=False, server_default="0"),
    sa.Column("archived", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("last_message_at", Timestamp, nullable=False),
    sa.Index("ix_conversation_participants_inbox", "school_id", "person_id", "last_message_at"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("conversation_id", sa.ForeignKey("conversations.id"), nullable=False),
    sa.Column("author_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("body", sa.Text, nullable=False),  # plain text, escaped when shown
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("hidden_at", Timestamp),
    sa.Column("hidden_by", sa.ForeignKey("people.id")),
    sa.Index("ix_messages_conversation", "school_id", "conversation_id", "id"),
)

message_attachments = sa.Table(
    "message_attachments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("message_id", sa.ForeignKey("messages.id"), nullable=False),
    sa.Column("file_key", sa.String(255), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("content_type", sa.String(255), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Index("ix_message_attachments_message", "school_id", "message_id"),
)

message_reports = sa.Table(
    "message_reports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("message_id", sa.ForeignKey("messages.id"), nullable=False),
    sa.Column("reported_by", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("resolved_at", Timestamp),
    sa.Column("resolved_by", sa.ForeignKey("people.id")),
    sa.UniqueConstraint("message_id", "reported_by"),
    sa.Index("ix_message_reports_open", "school_id", "resolved_at"),
)

announcements = sa.Table(
    "announcements",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("author_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("include_parents", sa.Boolean, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("hidden_at", Timestamp),
    sa.Index("ix_announcements_author", "school_id", "author_id", "created_at"),
)

announcement_groups = sa.Table(
    "announcement_groups",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("announcement_id", sa.ForeignKey("announcements.id"), primary_key=True),
    sa.Column("group_id", sa.ForeignKey("groups.id"), primary_key=True),
)

announcement_recipients = sa.Table(
    "announcement_recipients",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("announcement_id", sa.ForeignKey("announcements.id"), primary_key=True),
    sa.Column("person_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("as_parent", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("read_at", Timestamp),
    sa.Index("ix_announcement_recipients_person", "school_id", "person_id", "read_at"),
)

notification_preferences = sa.Table(
    "notification_preferences",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("person_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("email_digest", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("updated_at", Timestamp, nullable=False),
)

# One row per digest sent: the next digest only tells what arrived since.
digest_log = sa.Table(
    "digest_log",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("person_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("sent_at", Timestamp, nullable=False),
    sa.Column("item_count", sa.Integer, nullable=False),
    sa.Index("ix_digest_log_person", "school_id", "person_id", "sent_at"),
)

# -- timetable ---------------------------------------------------------------------------
# Weekly lessons, one-off changes, holidays, secret calendar feeds, and the virtual
# classes placed on Janus nodes (docs/virtual-classes.md).

timetable_lessons = sa.Table(
    "timetable_lessons",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("group_id", sa.ForeignKey("groups.id"), nullable=False),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("teacher_id", sa.ForeignKey("people.id")),
    sa.Column("room", sa.String(50), nullable=False, server_default=""),
    sa.Column("weekday", sa.Integer, nullable=False),  # 1 = Monday
    sa.Column("starts_minute", sa.Integer, nullable=False),  # school time, from midnight
    sa.Column("ends_minute", sa.Integer, nullable=False),
    sa.Column("weeks", sa.String(3), nullable=False, server_default="all"),  # all, A, B
    sa.Column("first_day", sa.Date, nullable=False),
    sa.Column("last_day", sa.Date, nullable=False),
    sa.Column("virtual", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_timetable_lessons_group", "school_id", "group_id"),
    sa.Index("ix_timetable_lessons_teacher", "school_id", "teacher_id"),
    sa.Index("ix_timetable_lessons_weekday", "weekday", "virtual"),
)

timetable_changes = sa.Table(  # one occurrence, named by its lesson and original day
    "timetable_changes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("lesson_id", sa.ForeignKey("timetable_lessons.id"), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("kind", sa.String(10), nullable=False),  # cancelled, moved, replaced
    sa.Column("new_day", sa.Date),
    sa.Column("new_starts_minute", sa.Integer),
    sa.Column("new_ends_minute", sa.Integer),
    sa.Column("new_room", sa.String(50)),
    sa.Column("new_teacher_id", sa.ForeignKey("people.id")),
    sa.Column("new_subject", sa.String(100)),
    sa.Column("note", sa.String(500), nullable=False, server_default=""),
    sa.Column("virtual", sa.Boolean),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("lesson_id", "day"),
    sa.Index("ix_timetable_changes_school_day", "school_id", "day"),
)

timetable_holidays = sa.Table(
    "timetable_holidays",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("first_day", sa.Date, nullable=False),
    sa.Column("last_day", sa.Date, nullable=False),
    sa.Index("ix_timetable_holidays_school", "school_id", "first_day"),
)

calendar_feeds = sa.Table(  # a person's secret iCalendar address; revoked ones stay 404
    "calendar_feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("person_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("revoked_at", Timestamp),
    sa.Index("ix_calendar_feeds_person", "school_id", "person_id"),
)

virtual_rooms = sa.Table(  # one per virtual lesson occurrence or unscheduled class
    "virtual_rooms",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("group_id", sa.ForeignKey("groups.id"), nullable=False),
    sa.Column("lesson_id", sa.ForeignKey("timetable_lessons.id")),
    sa.Column("day", sa.Date),  # with lesson_id: the occurrence
    sa.Column("teacher_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("starts_at", Timestamp, nullable=False),
    sa.Column("ends_at", Timestamp, nullable=False),
    sa.Column("janus_room", sa.BigInteger, nullable=False, unique=True),
    sa.Column("node", sa.String(50)),  # the Janus node holding it, once placed
    sa.Column("expected", sa.Integer, nullable=False),  # participants, for placement
    sa.Column("capacity", sa.Integer, nullable=False),  # tokens Préau will issue
    sa.Column("bitrate", sa.Integer, nullable=False),  # the teacher's video, bits/s
    sa.Column("placed_at", Timestamp),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("ended_at", Timestamp),
    sa.UniqueConstraint("lesson_id", "day"),
    sa.Index("ix_virtual_rooms_school_group", "school_id", "group_id"),
    sa.Index("ix_virtual_rooms_node_ends", "node", "ends_at"),
)

virtual_guests = sa.Table(  # staff invited to a virtual class
    "virtual_guests",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), primary_key=True),
    sa.Column("person_id", sa.ForeignKey("people.id"), primary_key=True),
)

virtual_seats = sa.Table(  # one per person given tokens: Préau's attendance cap counts these
    "virtual_seats",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), primary_key=True),
    sa.Column("person_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("role", sa.String(8), nullable=False),  # teacher, pupil, guest
    sa.Column("issued_at", Timestamp, nullable=False),
    # When the pupil's page last asked for the floor (every few seconds, written at most
    # once a minute): how long they stayed, for the roll call (docs/attendance.md).
    sa.Column("last_seen_at", Timestamp),
)

# Inside a virtual class (docs/virtual-classes.md, "In the room"): the chat, polls, the
# whiteboard's drawings and files, breakout groups and each stay in the room.

virtual_chat = sa.Table(  # kept with the lesson, readable afterwards by its members
    "virtual_chat",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), nullable=False),
    sa.Column("author_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("to_teacher", sa.Boolean, nullable=False),  # private: author and teacher only
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("deleted_at", Timestamp),  # by the teacher; the text is then blanked
    sa.Index("ix_virtual_chat_room", "room_id", "id"),
)

virtual_polls = sa.Table(
    "virtual_polls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), nullable=False),
    sa.Column("question", sa.String(300), nullable=False),
    sa.Column("choices", sa.Text, nullable=False),  # a JSON list of 2 to 6 strings
    sa.Column("results_shown", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("closed_at", Timestamp),
    sa.Index("ix_virtual_polls_room", "room_id", "id"),
)

virtual_poll_answers = sa.Table(  # one per pupil and poll: a changed answer replaces it
    "virtual_poll_answers",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("poll_id", sa.ForeignKey("virtual_polls.id"), primary_key=True),
    sa.Column("person_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("choice", sa.Integer, nullable=False),
    sa.Column("answered_at", Timestamp, nullable=False),
)

virtual_strokes = sa.Table(  # the whiteboard's drawings, in order; cleared by deleting
    "virtual_strokes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), nullable=False),
    sa.Column("author_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("stroke", sa.Text, nullable=False),  # JSON (domain.virtual_room.Stroke)
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_virtual_strokes_room", "room_id", "id"),
)

virtual_boards = sa.Table(  # a room's board: who may draw, its background, its exports
    "virtual_boards",
    metadata,
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("pupils_draw", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("background_key", sa.String(200)),  # on the files port, random name
    sa.Column("background_type", sa.String(40)),
    sa.Column("updated_at", Timestamp, nullable=False),
)

virtual_board_exports = sa.Table(  # PNG pictures of the board, kept with the lesson
    "virtual_board_exports",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), nullable=False),
    sa.Column("file_key", sa.String(200), nullable=False),
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("created_by", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Index("ix_virtual_board_exports_room", "room_id"),
)

virtual_breakouts = sa.Table(  # who is in which breakout group while the class is split
    "virtual_breakouts",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), primary_key=True),  # the main
    sa.Column("person_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("number", sa.Integer, nullable=False),  # the group, from 1
    sa.Column("group_room_id", sa.ForeignKey("virtual_rooms.id"), nullable=False),
)

virtual_breakout_rooms = sa.Table(  # a breakout group's own room (placed like any room)
    "virtual_breakout_rooms",
    metadata,
    sa.Column("group_room_id", sa.ForeignKey("virtual_rooms.id"), primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), nullable=False),  # the main
    sa.Column("number", sa.Integer, nullable=False),
    sa.Index("ix_virtual_breakout_rooms_room", "room_id"),
)

virtual_presence = sa.Table(  # one per stay in the room: joined, left (null while there)
    "virtual_presence",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), nullable=False),
    sa.Column("person_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("joined_at", Timestamp, nullable=False),
    sa.Column("left_at", Timestamp),
    sa.Index("ix_virtual_presence_room", "room_id", "person_id"),
)

# -- marks -------------------------------------------------------------------------------
# The marks book (docs/marks.md): terms, evaluations, marks and the audit of every change.
# Numbers are whole hundredths (15,25 is 1525), so what a teacher typed comes back exactly
# on SQLite and PostgreSQL alike.

marks_settings = sa.Table(  # a school without a row has the defaults of domain.marks
    "marks_settings",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), primary_key=True),
    sa.Column("term_kind", sa.String(10), nullable=False, server_default="trimester"),
    sa.Column(
        "not_handed_in_counts_as_zero", sa.Boolean, nullable=False, server_default=sa.false()
    ),
    sa.Column("updated_at", Timestamp, nullable=False),
)

subject_coefficients = sa.Table(  # a subject's weight in the general average (default 1)
    "subject_coefficients",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), primary_key=True),
    sa.Column("subject", sa.String(100), primary_key=True),
    sa.Column("coefficient_hundredths", sa.Integer, nullable=False),
)

terms = sa.Table(  # trimesters or semesters of a school year
    "terms",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("school_year_id", sa.ForeignKey("school_years.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # 1, 2, 3 in the year
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("starts_on", sa.Date, nullable=False),
    sa.Column("ends_on", sa.Date, nullable=False),
    sa.UniqueConstraint("school_year_id", "position"),
    sa.Index("ix_terms_school_starts", "school_id", "starts_on"),
)

evaluations = sa.Table(
    "evaluations",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("group_id", sa.ForeignKey("groups.id"), nullable=False),
    sa.Column("teacher_id", sa.ForeignKey("people.id"), nullable=False),  # who set it
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("out_of_hundredths", sa.Integer, nullable=False),
    sa.Column("coefficient_hundredths", sa.Integer, nullable=False),
    sa.Column("homework_id", sa.ForeignKey("homework.id")),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Column("deleted_at", Timestamp),  # kept, with its marks, for the audit
    # False: skills only (docs/skills.md), no mark, no total (0), out of every average.
    sa.Column("marked", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Index("ix_evaluations_school_group_day", "school_id", "group_id", "day"),
    sa.Index("ix_evaluations_school_homework", "school_id", "homework_id"),
)

marks = sa.Table(  # no row: not marked yet; a row holds points or a special value
    "marks",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("evaluation_id", sa.ForeignKey("evaluations.id"), primary_key=True),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("points_hundredths", sa.Integer),
    sa.Column("special", sa.String(16)),  # absent, exempt, not_handed_in
    sa.Column("updated_by", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.CheckConstraint(
        "(points_hundredths IS NULL) <> (special IS NULL)", name="points_or_special"
    ),
    sa.Index("ix_marks_school_pupil", "school_id", "pupil_id"),
)

# Every change to an evaluation or a mark, written in the same transaction: marks are
# contested, so who changed what, when, from what to what, is kept for good.
marks_audit = sa.Table(
    "marks_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("evaluation_id", sa.ForeignKey("evaluations.id"), nullable=False),
    sa.Column("pupil_id", sa.ForeignKey("people.id")),  # empty for the evaluation itself
    sa.Column("actor_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("change", sa.String(16), nullable=False),  # created, edited, deleted, mark, hand_in
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("changed_at", Timestamp, nullable=False),
    sa.Index("ix_marks_audit_school_evaluation", "school_id", "evaluation_id"),
    sa.Index("ix_marks_audit_school_pupil", "school_id", "pupil_id"),
)

# -- attendance ---------------------------------------------------------------------------
# Roll calls per lesson occurrence, absences (from a roll call or recorded by the office
# over a period), parents' justifications and the audit of every change (docs/attendance.md).

roll_calls = sa.Table(  # one per lesson occurrence, named by its lesson and original day
    "roll_calls",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("lesson_id", sa.ForeignKey("timetable_lessons.id"), nullable=False),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("group_id", sa.ForeignKey("groups.id"), nullable=False),
    sa.Column("starts_at", Timestamp, nullable=False),
    sa.Column("ends_at", Timestamp, nullable=False),
    sa.Column("taken_by", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("taken_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.UniqueConstraint("lesson_id", "day"),
    sa.Index("ix_roll_calls_school_group_day", "school_id", "group_id", "day"),
)

roll_call_entries = sa.Table(  # one per pupil of the group when the roll call was saved
    "roll_call_entries",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("roll_call_id", sa.ForeignKey("roll_calls.id"), primary_key=True),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("status", sa.String(12), nullable=False),  # present, absent, late, left_early
    sa.Column("minutes", sa.Integer),
    sa.Index("ix_roll_call_entries_school_pupil", "school_id", "pupil_id"),
)

absences = sa.Table(
    "absences",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("starts_at", Timestamp, nullable=False),
    sa.Column("ends_at", Timestamp, nullable=False),
    sa.Column("source", sa.String(8), nullable=False),  # lesson, period
    sa.Column("roll_call_id", sa.ForeignKey("roll_calls.id")),  # with source "lesson"
    sa.Column("note", sa.String(500), nullable=False, server_default=""),
    sa.Column("recorded_by", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("recorded_at", Timestamp, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),  # unjustified, pending, accepted, refused
    sa.Column("reason", sa.String(12)),
    sa.Column("comment", sa.String(500), nullable=False, server_default=""),
    sa.Column("file_id", sa.ForeignKey("files.id")),  # the parents' document
    sa.Column("justified_by", sa.ForeignKey("people.id")),
    sa.Column("justified_at", Timestamp),
    sa.Column("decided_by", sa.ForeignKey("people.id")),
    sa.Column("decided_at", Timestamp),
    sa.Column("decision_note", sa.String(500), nullable=False, server_default=""),
    sa.UniqueConstraint("roll_call_id", "pupil_id"),
    sa.Index("ix_absences_school_pupil_starts", "school_id", "pupil_id", "starts_at"),
    sa.Index("ix_absences_school_state", "school_id", "state"),
)

# Every change to a roll call entry or an absence, in the same transaction: absences are
# contested, so who changed what, when, from what to what, is kept for good.
attendance_audit = sa.Table(
    "attendance_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("roll_call_id", sa.ForeignKey("roll_calls.id")),
    sa.Column("absence_id", sa.Integer),  # no key: a removed absence keeps its history
    sa.Column("actor_id", sa.ForeignKey("people.id"), nullable=False),
    # roll_call, absence, removed, justified, accepted, refused, parent_access
    sa.Column("change", sa.String(16), nullable=False),
    sa.Column("before", sa.JSON),
    sa.Column("after", sa.JSON),
    sa.Column("changed_at", Timestamp, nullable=False),
    sa.Index("ix_attendance_audit_school_pupil", "school_id", "pupil_id", "changed_at"),
)

# -- exercises (docs/lessons.md) ------------------------------------------------------------

bank_questions = sa.Table(  # a teacher's question bank, shared with the school's staff
    "bank_questions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("author_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("title", sa.String(200), nullable=False, server_default=""),
    sa.Column("body", sa.Text, nullable=False),  # the question as JSON (domain/exercises)
    sa.Column("digest", sa.String(64), nullable=False),  # the same question is kept once
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("deleted_at", Timestamp),
    sa.UniqueConstraint("school_id", "author_id", "digest"),
)

exercises = sa.Table(  # the self-marking content of a homework item
    "exercises",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("homework_id", sa.ForeignKey("homework.id"), nullable=False, unique=True),
    sa.Column("author_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("policy", sa.Text, nullable=False),  # attempts, grading, time limit (JSON)
    sa.Column("questions", sa.Text, nullable=False),  # the questions as set (JSON list)
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

exercise_images = sa.Table(  # a picture shown with one question of an exercise
    "exercise_images",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("exercise_id", sa.ForeignKey("exercises.id"), nullable=False),
    sa.Column("position", sa.Integer, nullable=False),  # the question's place, from 0
    sa.Column("file_key", sa.String(200), nullable=False),  # random, in the files port
    sa.Column("media_type", sa.String(40), nullable=False),  # sniffed, never as sent
    sa.Column("size", sa.Integer, nullable=False),
    sa.Column("alt", sa.Text, nullable=False),  # what the picture shows, for screen readers
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("exercise_id", "position"),
)

attempts = sa.Table(
    "attempts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("exercise_id", sa.ForeignKey("exercises.id"), nullable=False),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("number", sa.Integer, nullable=False),  # 1, 2… for this pupil
    sa.Column("seed", sa.String(32), nullable=False),  # fixes the shuffled order
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("submitted_at", Timestamp),
    sa.Column("earned_hundredths", sa.Integer),  # points earned, once submitted
    sa.Column("pending", sa.Integer),  # open answers left for the teacher to mark
    sa.UniqueConstraint("exercise_id", "pupil_id", "number"),
    sa.Index("ix_attempts_school_exercise", "school_id", "exercise_id"),
)

attempt_answers = sa.Table(  # the last answer saved for each question of an attempt
    "attempt_answers",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("attempt_id", sa.ForeignKey("attempts.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("answer", sa.Text, nullable=False),  # JSON (domain/exercises Answer)
    sa.Column("saved_at", Timestamp, nullable=False),
    sa.Column("teacher_hundredths", sa.Integer),  # an open answer's mark, 0 … 100
)


# -- video lessons (docs/lessons.md) --------------------------------------------------------

video_lessons = sa.Table(  # a recorded lesson, the content of a homework item
    "video_lessons",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("homework_id", sa.ForeignKey("homework.id"), nullable=False, unique=True),
    sa.Column("author_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # queued, running, ready, failed
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("source_key", sa.String(200)),  # the upload, until transcoded
    sa.Column("poster_key", sa.String(200)),
    sa.Column("captions_key", sa.String(200)),
    sa.Column("duration_ms", sa.Integer),
    sa.Column("width", sa.Integer),
    sa.Column("height", sa.Integer),
    sa.Column("claimed_at", Timestamp),  # by a transcoder; a stale claim is taken over
    sa.Column("created_at", Timestamp, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_video_lessons_state", "state"),
)

video_renditions = sa.Table(
    "video_renditions",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("video_id", sa.ForeignKey("video_lessons.id"), primary_key=True),
    sa.Column("name", sa.String(16), primary_key=True),  # low, medium, high
    sa.Column("key", sa.String(200), nullable=False),
    sa.Column("height", sa.Integer, nullable=False),
    sa.Column("kbps", sa.Integer, nullable=False),
    sa.Column("bytes", sa.BigInteger, nullable=False),
)

video_views = sa.Table(  # how much of a video each pupil watched, and where they stopped
    "video_views",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("video_id", sa.ForeignKey("video_lessons.id"), primary_key=True),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("position_s", sa.Integer, nullable=False),
    sa.Column("watched", sa.Text, nullable=False),  # JSON [[start, end], …] in seconds
    sa.Column("seconds_watched", sa.Integer, nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
)

virtual_recordings = sa.Table(  # a virtual class recorded by Janus, then made a video lesson
    "virtual_recordings",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("room_id", sa.ForeignKey("virtual_rooms.id"), nullable=False),
    sa.Column("teacher_id", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # recording, processing, ready, failed
    sa.Column("error", sa.Text, nullable=False, server_default=""),
    sa.Column("folder", sa.String(300), nullable=False),  # where Janus wrote the .mjr files
    sa.Column("homework_id", sa.ForeignKey("homework.id")),  # the replay, once made
    sa.Column("started_at", Timestamp, nullable=False),
    sa.Column("stopped_at", Timestamp),
    sa.Column("claimed_at", Timestamp),  # by a media worker; a stale claim is taken over
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.Index("ix_virtual_recordings_room", "room_id"),
    sa.Index("ix_virtual_recordings_state", "state"),
)


# -- skills ------------------------------------------------------------------------------
# Skill frameworks (docs/skills.md): the socle commun given to every school, and its own;
# the skills an evaluation assesses and the LSU level each pupil was given (1 to 4). Their
# changes are audited in marks_audit, with the evaluation they belong to.

skill_frameworks = sa.Table(
    "skill_frameworks",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("code", sa.String(40)),  # "socle" for the built-in one; None for a school's
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("name_en", sa.String(300)),
    sa.Column("built_in", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Timestamp, nullable=False),
    sa.UniqueConstraint("school_id", "code"),
)

skills = sa.Table(  # a domain (no parent) or a skill under one
    "skills",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("framework_id", sa.ForeignKey("skill_frameworks.id"), nullable=False),
    sa.Column("parent_id", sa.ForeignKey("skills.id")),
    sa.Column("code", sa.String(20), nullable=False),
    sa.Column("name", sa.String(300), nullable=False),
    sa.Column("name_en", sa.String(300)),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index("ix_skills_school_framework", "school_id", "framework_id"),
)

evaluation_skills = sa.Table(  # the skills an evaluation assesses
    "evaluation_skills",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("evaluation_id", sa.ForeignKey("evaluations.id"), primary_key=True),
    sa.Column("skill_id", sa.ForeignKey("skills.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)

skill_levels = sa.Table(  # no row: not assessed; level 1 to 4 (domain.skills.Level.rank)
    "skill_levels",
    metadata,
    sa.Column("school_id", sa.ForeignKey("schools.id"), nullable=False),
    sa.Column("evaluation_id", sa.ForeignKey("evaluations.id"), primary_key=True),
    sa.Column("skill_id", sa.ForeignKey("skills.id"), primary_key=True),
    sa.Column("pupil_id", sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("level", sa.SmallInteger, nullable=False),
    sa.Column("updated_by", sa.ForeignKey("people.id"), nullable=False),
    sa.Column("updated_at", Timestamp, nullable=False),
    sa.CheckConstraint("level BETWEEN 1 AND 4", name="level_1_to_4"),
    sa.Index("ix_skill_levels_school_pupil", "school_id", "pupil_id"),
)
