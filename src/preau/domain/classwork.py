"""Classwork (cahier de textes): homework, hand-ins and the pupil's to-do, as pure rules.

Nothing here reads the clock or touches storage: ``now`` and the school's time zone are
passed in. The actions in :mod:`preau.actions.classwork` load the facts and call these.
"""

from __future__ import annotations

import enum
import html
import re
import unicodedata
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from urllib.parse import quote

import msgspec
import nh3
from markdown_it import MarkdownIt

from preau.domain.bounds import CONTROLS, Id, Ids, Input, check_moment, control_pattern
from preau.domain.errors import Conflict, InvalidInput, PreauError

MAX_TITLE = 200
MAX_SUBJECT = 100
MAX_INSTRUCTIONS = 20_000
MAX_HAND_IN_TEXT = 50_000
MAX_FEEDBACK = 10_000
MAX_MINUTES = 600
MAX_ATTACHMENTS = 20
TODO_PAST_DAYS = 30  # the to-do shows work due up to this many days ago
# The first instant after a moment, at datetime's resolution: late, closed and "left the
# to-do" begin once their moment has passed, not at the moment itself.
RIGHT_AFTER = timedelta(microseconds=1)


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


class InstructionsFormat(enum.StrEnum):
    TEXT = "text"  # plain text; web addresses become links
    MARKDOWN = "markdown"  # CommonMark, rendered and sanitised, no raw HTML


class HandInState(enum.StrEnum):
    ASSIGNED = "assigned"  # nothing turned in (or taken back)
    TURNED_IN = "turned_in"
    RETURNED = "returned"  # the teacher gave it back, with feedback and maybe a mark
    MISSING = "missing"  # the teacher marked it missing
    EXCUSED = "excused"  # the teacher excused the pupil


class HandInAction(enum.StrEnum):
    TURN_IN = "turn_in"  # the pupil
    TAKE_BACK = "take_back"  # the pupil, before it is returned
    RETURN = "return"  # the teacher
    MARK_MISSING = "mark_missing"  # the teacher
    MARK_EXCUSED = "mark_excused"  # the teacher
    RESET = "reset"  # the teacher clears "missing" or "excused"


PUPIL_ACTIONS = frozenset({HandInAction.TURN_IN, HandInAction.TAKE_BACK})

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[HandInAction, tuple[frozenset[HandInState], HandInState]] = {
    HandInAction.TURN_IN: (
        frozenset(
            {HandInState.ASSIGNED, HandInState.RETURNED, HandInState.MISSING, HandInState.EXCUSED}
        ),
        HandInState.TURNED_IN,
    ),
    HandInAction.TAKE_BACK: (frozenset({HandInState.TURNED_IN}), HandInState.ASSIGNED),
    HandInAction.RETURN: (
        frozenset(
            {
                HandInState.TURNED_IN,
                HandInState.RETURNED,
                HandInState.ASSIGNED,
                HandInState.MISSING,
            }
        ),
        HandInState.RETURNED,
    ),
    HandInAction.MARK_MISSING: (frozenset({HandInState.ASSIGNED}), HandInState.MISSING),
    HandInAction.MARK_EXCUSED: (
        frozenset({HandInState.ASSIGNED, HandInState.MISSING, HandInState.TURNED_IN}),
        HandInState.EXCUSED,
    ),
    HandInAction.RESET: (
        frozenset({HandInState.MISSING, HandInState.EXCUSED}),
        HandInState.ASSIGNED,
    ),
}

REFUSED_TRANSITION = {
    HandInAction.TURN_IN: lazy("This work is already turned in. Take it back first to change it."),
    HandInAction.TAKE_BACK: lazy(
        "Only work that is turned in and not yet returned can be taken back."
    ),
    HandInAction.RETURN: lazy("Work from an excused pupil cannot be returned."),
    HandInAction.MARK_MISSING: lazy("Only work that has not been turned in can be marked missing."),
    HandInAction.MARK_EXCUSED: lazy("Returned work cannot be excused."),
    HandInAction.RESET: lazy("Only missing or excused work can be set back to assigned."),
}

SHOWN_STATES = [  # shown through `_(state)` in the pages
    lazy("assigned"),
    lazy("turned_in"),
    lazy("returned"),
    lazy("missing"),
    lazy("excused"),
]

HANDED_IN_AFTER_CUTOFF = lazy(
    "The cut-off time for this homework has passed: nothing can be turned in any more. "
    "Talk to your teacher."
)
NO_HAND_IN = lazy("This homework does not expect a hand-in: tick it as done instead.")
HOMEWORK_NOT_FOUND = lazy("This homework does not exist or is not for you.")
HAND_IN_NOT_FOUND = lazy("This hand-in does not exist or you cannot see it.")
FILE_NOT_FOUND = lazy("This file does not exist or you cannot see it.")
NOT_YOUR_CLASS = lazy("Only a teacher of this class or group can do this.")
READ_ONLY = lazy("You can read this but not change it.")


def next_state(state: HandInState, action: HandInAction) -> HandInState:
    allowed_from, target = TRANSITIONS[action]
    if state not in allowed_from:
        raise Conflict(REFUSED_TRANSITION[action])
    return target


# -- what may be done to a hand-in (who may: domain/access.py) ----------------------------


class HandInRight(enum.StrEnum):
    READ = "read"
    TURN_IN = "turn_in"  # the pupil's own actions
    REVIEW = "review"  # the teacher's: return, mark, excuse, extend


# -- drafts and checks --------------------------------------------------------------------


class HomeworkDraft(Input, kw_only=True):
    """New homework. Times without a zone are read in the school's time zone."""

    multiline = frozenset({"instructions"})

    group_id: Id
    title: str
    due_at: datetime
    instructions: str = ""
    instructions_format: InstructionsFormat = InstructionsFormat.TEXT
    publish_at: datetime | None = None  # empty: now
    cutoff_at: datetime | None = None  # empty: hand-ins stay open after the due time
    estimated_minutes: int | None = None
    hand_in_expected: bool = True
    subject: str | None = None  # empty: the teacher's subject in the group, if known
    pupil_ids: Ids | None = None  # empty: everyone in the class or group
    attachment_ids: list[str] = msgspec.field(default_factory=list)


class HomeworkChanges(Input, kw_only=True):
    """Fields to change; absent fields stay as they are. ``clear_cutoff`` removes it."""

    multiline = frozenset({"instructions"})

    title: str | None = None
    instructions: str | None = None
    instructions_format: InstructionsFormat | None = None
    publish_at: datetime | None = None
    due_at: datetime | None = None
    cutoff_at: datetime | None = None
    clear_cutoff: bool = False
    estimated_minutes: int | None = None
    hand_in_expected: bool | None = None
    subject: str | None = None  # "" clears it
    attachment_ids: list[str] | None = None


class HomeworkCopy(Input, kw_only=True):
    """Copy a homework to another class or group, with new times if given."""

    group_id: Id
    publish_at: datetime | None = None
    due_at: datetime | None = None
    cutoff_at: datetime | None = None


class TurnIn(Input, kw_only=True):
    """The pupil's work. Files are uploaded first (``POST /api/v1/files``); a retry with
    the same ``idempotency_key`` returns the first answer and changes nothing."""

    multiline = frozenset({"text"})

    text: str = ""
    file_ids: list[str] = msgspec.field(default_factory=list)
    idempotency_key: str | None = None


class Review(Input, kw_only=True):
    """The teacher returns work: written feedback and an optional mark out of a total."""

    multiline = frozenset({"feedback"})

    feedback: str = ""
    mark: float | None = None
    mark_out_of: float | None = None


class ExtensionDraft(Input, kw_only=True):
    due_at: datetime
    cutoff_at: datetime | None = None


class CheckedHomework(msgspec.Struct, kw_only=True):
    title: str
    instructions: str
    instructions_format: InstructionsFormat
    publish_at: datetime
    due_at: datetime
    cutoff_at: datetime | None
    estimated_minutes: int | None
    hand_in_expected: bool
    subject: str | None = None


def _has_control(text: str, allowed: str = "") -> bool:
    """Whether ``text`` holds a control character (Unicode's Cc) not in ``allowed``."""
    return control_pattern(CONTROLS, allowed).search(text) is not None


def check_title(title: str) -> str:
    title = " ".join(title.split())
    if not title:
        raise InvalidInput("Give the homework a title.", field="title")
    if len(title) > MAX_TITLE:
        raise InvalidInput("The title is longer than 200 characters.", field="title")
    if _has_control(title):
        raise InvalidInput("The title contains invisible control characters.", field="title")
    return title


def check_long_text(text: str, field: str, limit: int) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > limit:
        raise InvalidInput("This text is longer than {limit} characters.", field=field, limit=limit)
    if _has_control(text, "\n\t"):
        raise InvalidInput("This text contains invisible control characters.", field=field)
    return text.strip()


def check_subject(subject: str | None) -> str | None:
    """A subject (matière) as a teacher typed it, spaces tidied; empty is none."""
    if subject is None:
        return None
    subject = " ".join(subject.split())
    if len(subject) > MAX_SUBJECT:
        raise InvalidInput("The subject is longer than 100 characters.", field="subject")
    if _has_control(subject):
        raise InvalidInput("The subject contains invisible control characters.", field="subject")
    return subject or None


def in_utc(moment: datetime, zone: tzinfo) -> datetime:
    """A moment in UTC; a time without a zone is read in the school's zone. A moment
    outside the school range is refused before the conversion, which could overflow."""
    check_moment(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(UTC)


def check_homework(
    *,
    title: str,
    instructions: str,
    instructions_format: InstructionsFormat,
    publish_at: datetime | None,
    due_at: datetime,
    cutoff_at: datetime | None,
    estimated_minutes: int | None,
    hand_in_expected: bool,
    now: datetime,
    zone: tzinfo,
    subject: str | None = None,
) -> CheckedHomework:
    publish = in_utc(publish_at, zone) if publish_at is not None else now
    due = in_utc(due_at, zone)
    cutoff = in_utc(cutoff_at, zone) if cutoff_at is not None else None
    if due <= publish:
        raise InvalidInput("The due time must come after the publish time.", field="due_at")
    if cutoff is not None and cutoff < due:
        raise InvalidInput("The cut-off cannot come before the due time.", field="cutoff_at")
    if estimated_minutes is not None and not 1 <= estimated_minutes <= MAX_MINUTES:
        raise InvalidInput(
            "The estimated time is between 1 and 600 minutes.", field="estimated_minutes"
        )
    return CheckedHomework(
        title=check_title(title),
        instructions=check_long_text(instructions, "instructions", MAX_INSTRUCTIONS),
        instructions_format=instructions_format,
        publish_at=publish,
        due_at=due,
        cutoff_at=cutoff,
        estimated_minutes=estimated_minutes,
        hand_in_expected=hand_in_expected,
        subject=check_subject(subject),
    )


def check_review(review: Review) -> Review:
    feedback = check_long_text(review.feedback, "feedback", MAX_FEEDBACK)
    mark, out_of = review.mark, review.mark_out_of
    if mark is not None and out_of is None:
        out_of = 20.0  # the French default: a mark out of 20
    if out_of is not None and not 0 < out_of <= 1000:
        raise InvalidInput("The total is a number above 0 and at most 1000.", field="mark_out_of")
    if mark is not None and out_of is not None and not 0 <= mark <= out_of:
        raise InvalidInput("The mark is between 0 and the total.", field="mark")
    if mark is None:
        out_of = None
    return Review(feedback=feedback, mark=mark, mark_out_of=out_of)


def check_idempotency_key(key: str | None) -> str | None:
    if key is None or key == "":
        return None
    if not 8 <= len(key) <= 100 or not key.isascii() or not key.isprintable():
        raise InvalidInput(
            "An idempotency key is 8 to 100 printable ASCII characters.", field="idempotency_key"
        )
    return key


# -- deadlines ---------------------------------------------------------------------------


def effective_deadlines(
    due_at: datetime,
    cutoff_at: datetime | None,
    extension_due: datetime | None,
    extension_cutoff: datetime | None,
) -> tuple[datetime, datetime | None]:
    """The due time and cut-off that apply to one pupil, given an extension if any."""
    if extension_due is None:
        return due_at, cutoff_at
    cutoff = cutoff_at
    if cutoff is not None:
        cutoff = max(cutoff, extension_due, extension_cutoff or extension_due)
    elif extension_cutoff is not None:
        cutoff = extension_cutoff
    return extension_due, cutoff


def check_hand_in_open(now: datetime, cutoff: datetime | None) -> None:
    if cutoff is not None and now > cutoff:
        raise Conflict(HANDED_IN_AFTER_CUTOFF)


def is_late(moment: datetime, due: datetime) -> bool:
    return moment > due


# -- instructions: text or Markdown, always sanitised -------------------------------------

ALLOWED_TAGS = {
    "p", "br", "a", "strong", "em", "code", "pre", "blockquote", "ul", "ol", "li",
    "h1", "h2", "h3", "h4", "h5", "h6", "hr",
}  # fmt: skip
_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_markdown = MarkdownIt("commonmark", {"html": False}).disable("image")


def sanitise(fragment: str) -> str:
    return nh3.clean(
        fragment,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener nofollow ugc",
    )


def render_instructions(text: str, text_format: InstructionsFormat) -> str:
    """Safe HTML for instructions: no raw HTML, no script, no outside images."""
    if text_format is InstructionsFormat.MARKDOWN:
        return sanitise(_markdown.render(text))
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        parts.append(html.escape(text[position : match.start()]))
        url = html.escape(match.group(0), quote=True)
        parts.append(f'<a href="{url}">{url}</a>')
        position = match.end()
    parts.append(html.escape(text[position:]))
    paragraphs = "".join(parts).split("\n\n")
    return sanitise(
        "".join(f"<p>{p.strip().replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())
    )


# -- files: names and types ---------------------------------------------------------------


class TooLarge(PreauError):
    status = 413


class UnsupportedType(PreauError):
    status = 415


FILE_EMPTY = lazy("This file is empty. Choose the file again.")
FILE_TOO_LARGE = lazy("This file is larger than {limit} MB. Make it smaller or split it.")
FILE_TYPE_REFUSED = lazy(
    "This type of file is not accepted. Send a PDF, an image, a text, an office document or a zip."
)
FILE_NAME_BAD = lazy(
    "A file name cannot contain slashes, backslashes or invisible control characters. "
    "Rename the file and try again."
)
FILE_NAME_EMPTY = lazy("The file has no name. Rename it and try again.")

_RESERVED = str.maketrans(dict.fromkeys('<>:"|?*', "_"))
MAX_FILE_NAME = 150


def clean_file_name(name: str) -> str:
    """The name a file is shown and downloaded under; never used as a storage path."""
    if "/" in name or "\\" in name or any(unicodedata.category(c) == "Cc" for c in name):
        raise InvalidInput(FILE_NAME_BAD, field="file")
    name = unicodedata.normalize("NFC", " ".join(name.split())).translate(_RESERVED)
    name = "".join(c for c in name if unicodedata.category(c) not in ("Cf", "Co", "Cs"))
    name = name.lstrip(". ")
    if not name:
        raise InvalidInput(FILE_NAME_EMPTY, field="file")
    if len(name) > MAX_FILE_NAME:
        stem, dot, extension = name.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            name = stem[: MAX_FILE_NAME - len(extension) - 1] + "." + extension
        else:
            name = name[:MAX_FILE_NAME]
    return name


MAX_ZIP_PART = 100
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL"} | {f"{kind}{n}" for kind in ("COM", "LPT") for n in range(10)}
)


def zip_entry_part(name: str) -> str:
    """One folder or file name of a zip entry, safe wherever it is unzipped: no separator
    (``/`` or ``\\``), no drive (``C:``), no ``..``, no control or reserved character, no
    Windows device name, at most ``MAX_ZIP_PART`` characters. Pupils' names come from
    rosters and people: none of them may choose where a teacher's unzip writes."""
    kept = "".join(
        "_" if unicodedata.category(c)[0] == "C" or c in '/\\:<>"|?*' else c
        for c in unicodedata.normalize("NFC", " ".join(name.split()))
    )
    kept = kept.replace("..", "_").strip(". ")[:MAX_ZIP_PART].strip(". ")
    if not kept:
        return "_"
    if kept.split(".", 1)[0].upper() in _WINDOWS_DEVICES:
        return "_" + kept
    return kept


OOXML = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
_HTML_START = re.compile(rb"^\s*<(!doctype|html|head|body|script|svg|\?xml|iframe)", re.IGNORECASE)


def sniff_content_type(head: bytes, name: str) -> str:  # noqa: C901,PLR0911,PLR0912 - one test and one return per file signature
    """The type of a file from its first bytes (a few KB), not from what the client says.

    Zip-based office files are told apart by their first entry (OpenDocument) or their
    ``[Content_Types].xml`` and the name's extension (Office Open XML).
    """
    extension = name.rpartition(".")[2].lower() if "." in name else ""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"ID3") or head[:2] in (b"\xff\xfb", b"\xff\xf3", b"\xff\xf2"):
        return "audio/mpeg"
    if head.startswith(b"PK\x03\x04"):
        if head[30:38] == b"mimetype":
            kind = head[38:120].split(b"PK", 1)[0].decode("ascii", "replace").strip()
            if kind.startswith("application/vnd.oasis.opendocument."):
                return kind
        if b"[Content_Types].xml" in head and extension in OOXML:
            return OOXML[extension]
        return "application/zip"
    if _HTML_START.match(head):
        return "text/html"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as error:
            # A multi-byte character cut by the end of the sample is still text.
            if error.start < len(head) - 4:
                return "application/octet-stream"
        return "text/plain"
    return "application/octet-stream"


def check_upload(size: int, content_type: str, *, max_bytes: int, allowed: Iterable[str]) -> None:
    if size == 0:
        raise InvalidInput(FILE_EMPTY, field="file")
    if size > max_bytes:
        raise TooLarge(FILE_TOO_LARGE, field="file", limit=max_bytes // (1024 * 1024))
    if content_type not in set(allowed):
        raise UnsupportedType(FILE_TYPE_REFUSED, field="file")


def attachment_disposition(name: str) -> str:
    """``Content-Disposition`` that always downloads, with the UTF-8 name (RFC 6266)."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in name
    )
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


# -- views ----------------------------------------------------------------------------------


class FileView(msgspec.Struct, kw_only=True):
    id: str
    name: str
    content_type: str
    size: int
    sha256: str
    url: str


class HomeworkView(msgspec.Struct, kw_only=True):
    id: int
    group_id: int
    group_name: str
    author_id: int
    author_name: str
    title: str
    instructions: str
    instructions_format: InstructionsFormat
    instructions_html: str
    publish_at: datetime
    due_at: datetime
    cutoff_at: datetime | None
    estimated_minutes: int | None
    hand_in_expected: bool
    pupil_ids: list[int] | None
    attachments: list[FileView]
    revision: int
    changed: bool  # edited after it was published
    published: bool
    updated_at: datetime
    exercise_id: int | None = None  # its content is a self-marking exercise (docs/lessons.md)
    video_id: int | None = None  # … or a video lesson
    subject: str | None = None  # the matière, set by the teacher or taken from the group


class HandInEvent(msgspec.Struct, kw_only=True):
    from_state: HandInState
    to_state: HandInState
    at: datetime
    late: bool
    actor_id: int


class HandInView(msgspec.Struct, kw_only=True):
    homework_id: int
    pupil_id: int
    pupil_name: str
    state: HandInState
    text: str
    files: list[FileView]
    turned_in_at: datetime | None
    late: bool  # turned in after the due time, or overdue and not turned in
    returned_at: datetime | None
    feedback: str
    mark: float | None
    mark_out_of: float | None
    due_at: datetime  # with the pupil's extension, if any
    cutoff_at: datetime | None
    extended: bool
    open: bool  # hand-ins are still accepted
    events: list[HandInEvent] = msgspec.field(default_factory=list)


class HomeworkSummary(msgspec.Struct, kw_only=True):
    """One line of a teacher's list, with the hand-in counts."""

    id: int
    group_id: int
    group_name: str
    title: str
    publish_at: datetime
    due_at: datetime
    hand_in_expected: bool
    published: bool
    assigned: int
    turned_in: int
    late: int
    returned: int
    missing: int
    excused: int


class TeacherWeek(msgspec.Struct, kw_only=True):
    week_start: date
    items: list[HomeworkSummary]


class TodoItem(msgspec.Struct, kw_only=True):
    homework_id: int
    title: str
    group_name: str
    subject: str | None
    due_at: datetime
    estimated_minutes: int | None
    hand_in_expected: bool
    attachment_count: int
    state: HandInState
    done: bool  # ticked by the pupil (work without hand-in)
    late: bool
    returned: bool
    mark: float | None
    mark_out_of: float | None
    closed: bool  # past the cut-off
    changed: bool  # edited after it was published


class TodoDay(msgspec.Struct, kw_only=True):
    day: date
    items: list[TodoItem]


class Todo(msgspec.Struct, kw_only=True):
    pupil_id: int
    days: list[TodoDay]


class TodoSource(msgspec.Struct, kw_only=True):
    """What the cold read loads for one homework of one pupil."""

    homework_id: int
    title: str
    group_name: str
    subject: str | None
    publish_at: datetime
    due_at: datetime
    cutoff_at: datetime | None
    estimated_minutes: int | None
    hand_in_expected: bool
    revision: int
    attachment_count: int
    state: HandInState
    handed_in_late: bool
    done: bool
    mark: float | None
    mark_out_of: float | None
    extension_due: datetime | None
    extension_cutoff: datetime | None


def build_todo(
    pupil_id: int, sources: Iterable[TodoSource], *, now: datetime, zone: tzinfo
) -> tuple[Todo, datetime | None]:
    """The pupil's to-do grouped by due day (in the school's zone), and the first instant
    at which it may look different without any write, always after ``now``: a publish time
    itself (the work shows from then on), or the instant right after a due time, a
    cut-off or the end of the 30-day window (late, closed and gone begin once those have
    passed, so a to-do built at exactly such a time still changes right after it)."""
    boundaries: list[datetime] = []
    items: list[TodoItem] = []
    horizon = now - timedelta(days=TODO_PAST_DAYS)
    for source in sources:
        due, cutoff = effective_deadlines(
            source.due_at, source.cutoff_at, source.extension_due, source.extension_cutoff
        )
        if source.publish_at > now:
            boundaries.append(source.publish_at)
            continue
        if due < horizon:
            continue
        boundaries.extend(
            moment + RIGHT_AFTER
            for moment in (due, cutoff, due + timedelta(days=TODO_PAST_DAYS))
            if moment is not None and moment >= now
        )
        waiting = source.state in (HandInState.ASSIGNED, HandInState.MISSING)
        handed_in = source.state in (HandInState.TURNED_IN, HandInState.RETURNED)
        late = (source.hand_in_expected and waiting and now > due) or (
            source.handed_in_late and handed_in
        )
        items.append(
            TodoItem(
                homework_id=source.homework_id,
                title=source.title,
                group_name=source.group_name,
                subject=source.subject,
                due_at=due,
                estimated_minutes=source.estimated_minutes,
                hand_in_expected=source.hand_in_expected,
                attachment_count=source.attachment_count,
                state=source.state,
                done=source.done,
                late=late,
                returned=source.state is HandInState.RETURNED,
                mark=source.mark if source.state is HandInState.RETURNED else None,
                mark_out_of=source.mark_out_of if source.state is HandInState.RETURNED else None,
                closed=cutoff is not None and now > cutoff,
                changed=source.revision > 1,
            )
        )
    items.sort(key=lambda item: (item.due_at, item.title, item.homework_id))
    days: list[TodoDay] = []
    for item in items:
        day = item.due_at.astimezone(zone).date()
        if not days or days[-1].day != day:
            days.append(TodoDay(day=day, items=[]))
        days[-1].items.append(item)
    return Todo(pupil_id=pupil_id, days=days), min(boundaries, default=None)


def own_view_changes_at(hand_in: HandInView, *, now: datetime) -> datetime | None:
    """The next instant at which a pupil's own view of one homework would look different
    without any write: it turns late after the due time (with their extension) and closes
    after the cut-off. A time equal to ``now`` counts, since both change only once it has
    passed."""
    return min(
        (moment for moment in (hand_in.due_at, hand_in.cutoff_at) if moment and moment >= now),
        default=None,
    )


def week_start(moment: datetime, zone: tzinfo) -> date:
    local = moment.astimezone(zone).date()
    return local - timedelta(days=local.weekday())
