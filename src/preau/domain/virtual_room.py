"""What happens inside a virtual class besides audio and video: the chat, polls, the shared
whiteboard, breakout groups and the time each person spent in the room. Pure: the bounds
every message, answer and stroke is held to, how a class is split into groups, and how
long someone stayed. Time and randomness come in.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime

import msgspec

from preau.domain.errors import InvalidInput


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


# -- chat --------------------------------------------------------------------------------

CHAT_MAX_CHARACTERS = 1000
CHAT_PER_MINUTE = 20  # messages one person may post in one room in a minute
CHAT_KEPT = 200  # messages a page receives when it opens (the newest)

CHAT_EMPTY = lazy("Write a message before sending it.")
CHAT_TOO_LONG = lazy(
    "A chat message is at most {limit} characters ({length} here): shorten it or send it in "
    "several parts."
)
CHAT_MUTED = lazy("The teacher has muted you in this chat for now.")
CHAT_TOO_FAST = lazy("You are sending messages too fast: wait a minute before sending more.")
MESSAGE_NOT_FOUND = lazy("This chat message does not exist or was deleted.")


def check_chat_body(body: str) -> str:
    """The message as kept: trimmed, not empty, at most ``CHAT_MAX_CHARACTERS``."""
    text = body.strip()
    if not text:
        raise InvalidInput(CHAT_EMPTY, field="body")
    if len(text) > CHAT_MAX_CHARACTERS:
        raise InvalidInput(CHAT_TOO_LONG, field="body", limit=CHAT_MAX_CHARACTERS, length=len(text))
    return text


# -- polls -------------------------------------------------------------------------------

POLL_MIN_CHOICES = 2
POLL_MAX_CHOICES = 6
POLL_QUESTION_MAX = 300
POLL_CHOICE_MAX = 100
POLL_ANSWERS_PER_MINUTE = 30

POLL_QUESTION_BAD = lazy("Write a question of 1 to {limit} characters.")
POLL_CHOICES_BAD = lazy("A poll has 2 to 6 different choices, each of 1 to {limit} characters.")
POLL_NOT_FOUND = lazy("This poll does not exist or is not in this virtual class.")
POLL_CLOSED = lazy("This poll is closed: answers are no longer taken.")
POLL_CHOICE_UNKNOWN = lazy("Choose one of the poll's answers.")
POLL_NOT_IN_ROOM = lazy(
    "Only pupils in the virtual class can answer its polls: join the class first."
)
POLL_TOO_FAST = lazy("You are answering too fast: wait a minute and try again.")


def check_poll(question: str, choices: Sequence[str]) -> tuple[str, list[str]]:
    """The question and choices as kept: trimmed, 2 to 6 distinct choices."""
    text = " ".join(question.split())
    if not 1 <= len(text) <= POLL_QUESTION_MAX:
        raise InvalidInput(POLL_QUESTION_BAD, field="question", limit=POLL_QUESTION_MAX)
    kept = [" ".join(choice.split()) for choice in choices]
    if (
        not POLL_MIN_CHOICES <= len(kept) <= POLL_MAX_CHOICES
        or not all(1 <= len(choice) <= POLL_CHOICE_MAX for choice in kept)
        or len({choice.casefold() for choice in kept}) != len(kept)
    ):
        raise InvalidInput(POLL_CHOICES_BAD, field="choices", limit=POLL_CHOICE_MAX)
    return text, kept


def tally(choices: int, answers: Iterable[int]) -> list[int]:
    """How many chose each answer, in the poll's order."""
    counts = [0] * choices
    for choice in answers:
        if 0 <= choice < choices:
            counts[choice] += 1
    return counts


# -- whiteboard --------------------------------------------------------------------------


class Tool:
    PEN = "pen"
    LINE = "line"
    RECTANGLE = "rect"
    TEXT = "text"
    ERASER = "eraser"


TOOLS = frozenset({Tool.PEN, Tool.LINE, Tool.RECTANGLE, Tool.TEXT, Tool.ERASER})
STROKE_MAX_POINTS = 500
STROKE_TEXT_MAX = 200
STROKE_MAX_WIDTH = 40
BOARD_MAX_STROKES = 3000  # kept per room; past it the board must be cleared
STROKES_PER_MINUTE = 300  # a person drawing fast sends a few strokes a second at most
COLOUR = re.compile(r"#[0-9a-f]{6}")

STROKE_BAD = lazy(
    "This drawing is not valid: a tool among pen, line, rectangle, text and eraser, a colour "
    "such as #1a2b3c, a width from 1 to {width}, and 1 to {points} points inside the board."
)
STROKE_TEXT_BAD = lazy("A text on the board is 1 to {limit} characters on one line.")
BOARD_FULL = lazy(
    "The board holds {limit} drawings at most: clear it (or export it first) to go on."
)
BOARD_NOT_YOURS = lazy("Only the teacher draws on this board unless they let pupils draw.")
BOARD_TOO_FAST = lazy("The board receives too many drawings from you: wait a little.")


class Stroke(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One drawing on the board. Coordinates are fractions of the board's width and height
    (0 to 1), so every screen draws it at its own size."""

    tool: str
    colour: str = "#000000"
    width: int = 3
    points: list[tuple[float, float]]
    text: str = ""


def check_stroke(stroke: Stroke) -> Stroke:
    """Refuse what no honest page sends: an unknown tool, a huge stroke, points off the
    board, a text with line breaks."""
    if (
        stroke.tool not in TOOLS
        or COLOUR.fullmatch(stroke.colour) is None
        or not 1 <= stroke.width <= STROKE_MAX_WIDTH
        or not 1 <= len(stroke.points) <= STROKE_MAX_POINTS
        or not all(0 <= x <= 1 and 0 <= y <= 1 for x, y in stroke.points)
        or (stroke.tool in {Tool.LINE, Tool.RECTANGLE} and len(stroke.points) != 2)
    ):
        raise InvalidInput(
            STROKE_BAD, field="stroke", width=STROKE_MAX_WIDTH, points=STROKE_MAX_POINTS
        )
    if stroke.tool == Tool.TEXT:
        text = stroke.text.strip()
        if not 1 <= len(text) <= STROKE_TEXT_MAX or any(ord(c) < 32 for c in text):
            raise InvalidInput(STROKE_TEXT_BAD, field="text", limit=STROKE_TEXT_MAX)
        return msgspec.structs.replace(stroke, text=text, points=stroke.points[:1])
    if stroke.text:
        return msgspec.structs.replace(stroke, text="")
    return stroke


# -- breakout groups ---------------------------------------------------------------------

BREAKOUT_MAX_GROUPS = 20
BREAKOUT_GROUPS_BAD = lazy("Choose from 2 to {limit} groups, no more than the pupils present.")
BREAKOUT_CHOSEN_BAD = lazy(
    "Each pupil goes in one group, numbered from 1 to the number of groups, and no group "
    "stays empty."
)
BREAKOUT_NONE = lazy("There are no breakout groups in this virtual class now.")
BREAKOUT_ALREADY = lazy("The class is already split into groups: bring everyone back first.")


def split_at_random(
    pupils: Sequence[int], groups: int, shuffle: Callable[[list[int]], None]
) -> list[list[int]]:
    """``groups`` groups of sizes differing by one at most, pupils drawn by ``shuffle``
    (``random.shuffle``, given from outside: the domain draws nothing itself)."""
    if not 2 <= groups <= min(BREAKOUT_MAX_GROUPS, len(pupils)):
        raise InvalidInput(BREAKOUT_GROUPS_BAD, field="groups", limit=BREAKOUT_MAX_GROUPS)
    shuffled = list(pupils)
    shuffle(shuffled)
    return [sorted(shuffled[index::groups]) for index in range(groups)]


def split_as_chosen(chosen: dict[int, int], pupils: Iterable[int]) -> list[list[int]]:
    """The teacher's own split: pupil id -> group number (1 to N, none empty). Pupils left
    out stay in the main room."""
    known = set(pupils)
    if not chosen or not set(chosen) <= known:
        raise InvalidInput(BREAKOUT_CHOSEN_BAD, field="groups")
    count = max(chosen.values())
    if not 2 <= count <= BREAKOUT_MAX_GROUPS or min(chosen.values()) < 1:
        raise InvalidInput(BREAKOUT_CHOSEN_BAD, field="groups")
    split: list[list[int]] = [[] for _ in range(count)]
    for pupil, number in chosen.items():
        split[number - 1].append(pupil)
    if any(not group for group in split):
        raise InvalidInput(BREAKOUT_CHOSEN_BAD, field="groups")
    return [sorted(group) for group in split]


# -- time in the room --------------------------------------------------------------------


def seconds_present(spans: Iterable[tuple[datetime, datetime | None]], until: datetime) -> int:
    """Total time in the room from (joined, left) spans; a span still open counts up to
    ``until``. Overlapping spans (two tabs, a reload) count once."""
    ordered = sorted((start, end or until) for start, end in spans)
    total = 0.0
    current_start: datetime | None = None
    current_end: datetime | None = None
    for start, open_end in ordered:
        end = min(open_end, until)
        if end <= start:
            continue
        if current_end is None or start > current_end:
            if current_start is not None and current_end is not None:
                total += (current_end - current_start).total_seconds()
            current_start, current_end = start, end
        elif end > current_end:
            current_end = end
    if current_start is not None and current_end is not None:
        total += (current_end - current_start).total_seconds()
    return int(total)
