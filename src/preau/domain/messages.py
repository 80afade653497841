"""Messages: who may write to whom, quiet hours, safe text, and the shapes of
conversations and announcements (who may see them: domain/access.py). Pure: the actions
load the facts."""

from __future__ import annotations

import enum
import re
import unicodedata
from datetime import datetime

import msgspec

from preau.domain.bounds import Ids, Input
from preau.domain.errors import InvalidInput
from preau.domain.people import Actor, Profile

MODERATORS = frozenset({Profile.STAFF, Profile.ADMIN})  # vie scolaire, direction, admins
ADDRESS_GROUPS = frozenset({Profile.TEACHER, Profile.STAFF, Profile.ADMIN})

MAX_SUBJECT = 200
MAX_BODY = 10_000
MAX_REASON = 500
MAX_RECIPIENTS = 2_000
MAX_GROUPS = 50
MAX_ATTACHMENTS = 5  # per message; each within the files port's size and type limits


def N_(message: str) -> str:  # noqa: N802 — the gettext convention for "extract, translate later"
    """Mark a sentence for extraction; it is translated where it is shown."""
    return message


# Sentences a person reads when the rules refuse (translated where shown).
PUPIL_TO_PUPIL = N_(
    "Pupils cannot write to other pupils here. Write to a teacher or to the school staff."
)
PUPIL_TO_PUPIL_OUTSIDE_CLASS = N_(
    "Pupils can only write to pupils of their own class. Write to a teacher or to the school staff."
)
PUPIL_TO_TEACHER = N_("Pupils can only write to their own teachers and to the school staff.")
PUPIL_TO_PARENT = N_("Pupils cannot write to parents. Write to a teacher or to the school staff.")
PARENT_TO_TEACHER = N_(
    "Parents can only write to their children's teachers and to the school staff."
)
PARENT_TO_OTHERS = N_(
    "Parents can write to their children's teachers and to the school staff only."
)
NOT_TO_SELF = N_("You cannot write to yourself.")
INACTIVE_RECIPIENT = N_("{name} no longer has an active account and cannot receive messages.")
NO_GROUPS = N_("Only teachers and school staff can write to a whole class or group.")
NO_ANNOUNCEMENT = N_("Only teachers and school staff can post announcements.")
NOT_YOUR_GROUP = N_("You can only post announcements to the classes and groups you teach.")


class SchoolMessaging(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A school's messaging rules and quiet hours; the defaults apply until it changes them."""

    pupils_write_to_class: bool = False
    pupils_write_to_teachers: bool = True
    parents_write_to_teachers: bool = True
    quiet_enabled: bool = True
    quiet_from: str = "20:00"
    quiet_until: str = "07:00"
    quiet_days: list[int] = msgspec.field(default_factory=lambda: [7])  # ISO: 7 is Sunday


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """A possible recipient, as the actions found them."""

    person_id: int
    school_id: int
    profile: Profile
    active: bool
    name: str


class SenderCircle(msgspec.Struct, frozen=True, kw_only=True):
    """What the rule needs to know about the sender's classes.

    ``teacher_ids``: teachers of the pupil's groups, or of a parent's children's groups.
    ``classmate_ids``: pupils sharing a class (not a group) with a pupil.
    """

    teacher_ids: frozenset[int] = frozenset()
    classmate_ids: frozenset[int] = frozenset()


def write_refusal(  # noqa: PLR0911 - one refusal per rule, in the order a person should read them
    sender: Actor, recipient: Contact, circle: SenderCircle, rules: SchoolMessaging
) -> str | None:
    """Why ``sender`` may not start a conversation with ``recipient``, or None if they may.

    Nobody writes across schools (the actions never load people of another school, so
    such a recipient is "unknown" before this rule is asked).
    """
    if recipient.school_id != sender.school_id:
        return PARENT_TO_OTHERS if sender.profile is Profile.PARENT else PUPIL_TO_TEACHER
    if recipient.person_id == sender.person_id:
        return NOT_TO_SELF
    if not recipient.active:
        return INACTIVE_RECIPIENT
    if sender.profile in ADDRESS_GROUPS or recipient.profile in MODERATORS:
        return None
    if sender.profile is Profile.PUPIL:
        if recipient.profile is Profile.TEACHER:
            allowed = rules.pupils_write_to_teachers and recipient.person_id in circle.teacher_ids
            return None if allowed else PUPIL_TO_TEACHER
        if recipient.profile is Profile.PUPIL:
            if not rules.pupils_write_to_class:
                return PUPIL_TO_PUPIL
            return (
                None
                if recipient.person_id in circle.classmate_ids
                else (PUPIL_TO_PUPIL_OUTSIDE_CLASS)
            )
        return PUPIL_TO_PARENT
    if sender.profile is Profile.PARENT and recipient.profile is Profile.TEACHER:
        allowed = rules.parents_write_to_teachers and recipient.person_id in circle.teacher_ids
        return None if allowed else PARENT_TO_TEACHER
    return PARENT_TO_OTHERS


def group_refusal(sender: Actor) -> str | None:
    """May ``sender`` pick a whole class or group (or its parents) as recipients?"""
    return None if sender.profile in ADDRESS_GROUPS else NO_GROUPS


def announcement_refusal(sender: Actor, *, teaches_every_group: bool) -> str | None:
    if sender.profile not in ADDRESS_GROUPS:
        return NO_ANNOUNCEMENT
    if sender.profile is Profile.TEACHER and not teaches_every_group:
        return NOT_YOUR_GROUP
    return None


# -- what may be done to a conversation or an announcement (who may: domain/access.py) -


class ConversationAction(enum.StrEnum):
    READ = "read"
    REPLY = "reply"
    ARCHIVE = "archive"  # also: mark as read
    REPORT = "report"
    MODERATE = "moderate"  # hide a message


class AnnouncementAction(enum.StrEnum):
    READ = "read"
    MARK_READ = "mark_read"
    RECEIPTS = "receipts"


# -- quiet hours -----------------------------------------------------------------------

_CLOCK = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")


def clock_minutes(value: str, field: str) -> int:
    match = _CLOCK.match(value.strip())
    if not match:
        raise InvalidInput("Write a time of day as hours and minutes, like 20:00.", field=field)
    return int(match.group(1)) * 60 + int(match.group(2))


def check_school_messaging(rules: SchoolMessaging) -> SchoolMessaging:
    days = sorted(set(rules.quiet_days))
    if any(not 1 <= day <= 7 for day in days):
        raise InvalidInput("Quiet days are numbered 1 (Monday) to 7 (Sunday).", field="quiet_days")
    start = clock_minutes(rules.quiet_from, "quiet_from")
    end = clock_minutes(rules.quiet_until, "quiet_until")
    return msgspec.structs.replace(
        rules,
        quiet_from=f"{start // 60:02d}:{start % 60:02d}",
        quiet_until=f"{end // 60:02d}:{end % 60:02d}",
        quiet_days=days,
    )


def is_quiet(rules: SchoolMessaging, local_moment: datetime) -> bool:
    """Is ``local_moment`` (the school's wall clock) inside the school's quiet hours?

    Messages and announcements still arrive in quiet hours; only notifications wait.
    """
    if not rules.quiet_enabled:
        return False
    if local_moment.isoweekday() in rules.quiet_days:
        return True
    minute = local_moment.hour * 60 + local_moment.minute
    start = clock_minutes(rules.quiet_from, "quiet_from")
    end = clock_minutes(rules.quiet_until, "quiet_until")
    if start == end:
        return False
    if start < end:
        return start <= minute < end
    return minute >= start or minute < end


# -- text --------------------------------------------------------------------------------

# Markup that could run script if some other program rendered the text as HTML. Préau
# never does (text is escaped when shown), but such text has no place in a school message
# and is refused outright, so it is never stored.
_SCRIPT_LIKE = re.compile(
    r"<\s*/?\s*(script|iframe|object|embed|style|svg|math|link|meta|base|form|frame)\b"
    r"|<[^>]*\bon[a-z]+\s*="
    r"|\b(javascript|vbscript)\s*:"
    r"|\bdata\s*:\s*text/html",
    re.IGNORECASE,
)
_ALLOWED_CONTROLS = frozenset("\n\t")


def _refuse_controls(text: str, field: str) -> None:
    for character in text:
        if character in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(character) in ("Cc", "Cs", "Co"):
            raise InvalidInput("This text contains invisible control characters.", field=field)


def check_body(text: str, field: str = "body", limit: int = MAX_BODY) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidInput("The message is empty: write something before sending.", field=field)
    if len(text) > limit:
        raise InvalidInput(
            "The message is longer than {limit} characters. Shorten it or send it in parts.",
            field=field,
            limit=limit,
        )
    _refuse_controls(text, field)
    if _SCRIPT_LIKE.search(text):
        raise InvalidInput(
            "Messages are plain text: remove the HTML or script code and send again.",
            field=field,
        )
    return text


def check_subject(text: str, field: str = "subject") -> str:
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("Give a subject (a few words saying what it is about).", field=field)
    if len(text) > MAX_SUBJECT:
        raise InvalidInput(
            "The subject is longer than {limit} characters.", field=field, limit=MAX_SUBJECT
        )
    _refuse_controls(text, field)
    if _SCRIPT_LIKE.search(text):
        raise InvalidInput(
            "Messages are plain text: remove the HTML or script code and send again.",
            field=field,
        )
    return text


def check_reason(text: str) -> str:
    text = " ".join(text.split())
    if not text:
        raise InvalidInput("Say in a few words what is wrong with this message.", field="reason")
    return check_body(text, "reason", MAX_REASON)


_URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}»"


def split_links(text: str) -> list[tuple[str, bool]]:
    """Cut plain text into pieces, each marked True when it is an http(s) address.

    The page escapes every piece and makes links only of the marked ones, so no other
    scheme and no markup can reach a page.
    """
    pieces: list[tuple[str, bool]] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_TRAILING)
        if match.start() > position:
            pieces.append((text[position : match.start()], False))
        pieces.append((url, True))
        position = match.start() + len(url)
    if position < len(text):
        pieces.append((text[position:], False))
    return pieces


# -- drafts and views ----------------------------------------------------------------------


class AttachmentUpload(Input, kw_only=True):
    """A file sent with a message; in JSON ``data`` is base64."""

    name: str
    data: bytes


class ConversationDraft(Input, kw_only=True):
    """A new conversation. Recipients: people, the pupils of classes or groups, and the
    parents of the pupils of classes or groups (the last two for teachers and staff)."""

    multiline = frozenset({"body"})

    subject: str
    body: str
    person_ids: Ids = msgspec.field(default_factory=list)
    group_ids: Ids = msgspec.field(default_factory=list)
    parents_of_group_ids: Ids = msgspec.field(default_factory=list)
    replies_allowed: bool = True
    attachments: list[AttachmentUpload] = msgspec.field(default_factory=list)


class ReplyDraft(Input, kw_only=True):
    multiline = frozenset({"body"})
    body: str
    attachments: list[AttachmentUpload] = msgspec.field(default_factory=list)


class ReportDraft(Input, kw_only=True):
    multiline = frozenset({"reason"})
    reason: str


class ArchiveChange(Input, kw_only=True):
    archived: bool


class AnnouncementDraft(Input, kw_only=True):
    multiline = frozenset({"body"})
    title: str
    body: str
    group_ids: Ids
    include_parents: bool = False


class NotificationPreferences(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    email_digest: bool = True  # a daily email of unread items


class PersonRef(msgspec.Struct, kw_only=True, frozen=True):
    id: int
    name: str
    profile: Profile


class GroupRef(msgspec.Struct, kw_only=True, frozen=True):
    id: int
    name: str


class AttachmentView(msgspec.Struct, kw_only=True):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class MessageView(msgspec.Struct, kw_only=True):
    id: int
    author: PersonRef
    body: str | None  # None once hidden by the school staff
    hidden: bool
    created_at: datetime
    mine: bool
    attachments: list[AttachmentView] = msgspec.field(default_factory=list)


class ConversationSummary(msgspec.Struct, kw_only=True):
    id: int
    subject: str
    started_by: PersonRef
    last_message_at: datetime
    message_count: int
    unread_count: int
    archived: bool


class ConversationView(msgspec.Struct, kw_only=True):
    id: int
    subject: str
    started_by: PersonRef
    replies_allowed: bool
    may_reply: bool
    may_moderate: bool
    archived: bool
    participants: list[PersonRef]
    messages: list[MessageView]


class InboxPage(msgspec.Struct, kw_only=True):
    page: int
    page_size: int
    total: int
    items: list[ConversationSummary]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


class UnreadCounts(msgspec.Struct, kw_only=True, frozen=True):
    messages: int
    announcements: int


class AnnouncementView(msgspec.Struct, kw_only=True):
    id: int
    title: str
    body: str
    author: PersonRef
    groups: list[GroupRef]
    include_parents: bool
    created_at: datetime
    read_at: datetime | None  # for a recipient: when they read it
    recipient_count: int | None = None  # for the author and staff
    read_count: int | None = None


class AnnouncementsPage(msgspec.Struct, kw_only=True):
    page: int
    page_size: int
    total: int
    items: list[AnnouncementView]

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


class Receipt(msgspec.Struct, kw_only=True):
    person: PersonRef
    as_parent: bool
    read_at: datetime | None


class Receipts(msgspec.Struct, kw_only=True):
    announcement_id: int
    total: int
    read: int
    not_read: list[Receipt]
    read_by: list[Receipt]


class ReportView(msgspec.Struct, kw_only=True):
    id: int
    conversation_id: int
    message_id: int
    reason: str
    reported_by: PersonRef
    author: PersonRef
    body: str
    hidden: bool
    created_at: datetime


class Contacts(msgspec.Struct, kw_only=True):
    """Whom the actor may pick: people (with a refusal sentence when the rules say no)
    and, for teachers and staff, classes and groups."""

    people: list[PersonRef]
    classmates: list[PersonRef]
    groups: list[GroupRef]


class DigestItem(msgspec.Struct, kw_only=True, frozen=True):
    kind: str  # "message" or "announcement"
    title: str
    author: str
    at: datetime


def display_name(given_name: str, family_name: str) -> str:
    return f"{given_name} {family_name}"
