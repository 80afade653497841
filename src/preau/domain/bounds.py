"""The bounds every input is held to at the edge: ids, pages, dates, single lines.

One place for the limits a request body, a path, a query or a form is checked against, so
no out-of-range value reaches the database (an integer past 64 bits, a year 9999 that no
time zone can convert) and comes back as a 500 or a page that no longer renders:

- ``Id``: an id is an integer from 1 to ``MAX_ID``; ``Ids`` a list of them (at most
  ``MAX_IDS``). In msgspec structs, write ``group_id: Id``.
- ``Input``: the base of every write struct (``class HomeworkDraft(Input)``). It forbids
  unknown fields and, after decoding or construction, refuses any date or time outside
  the school range (years 2000 to 2100) and any control character in a text field
  (single-line fields refuse them all; the fields a class lists in ``multiline`` keep
  line breaks and tabs).
- ``check_day``, ``check_moment``, ``check_line``: the same checks for values that do not
  come in a struct (a query, a form field, a roster file).

Handlers declare path and query parameters with the Litestar forms of these in
:mod:`preau.web.params` (``IdPath``, ``IdQuery``, ``Page``, ``PageSize``).
"""

from __future__ import annotations

import functools
import re
from datetime import date, datetime
from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

from preau.domain.errors import InvalidInput

# Ids are PostgreSQL `integer` columns (adapters/sql/schema.py): 2^31 − 1 is the largest
# id that can exist, and a larger one sent to asyncpg fails before the query runs. Should
# the columns become `bigint`, this becomes 2^63 − 1 and nothing else changes.
MAX_ID = 2**31 - 1
MAX_IDS = 2000  # ids in one list (a whole school's classes, a big year group)
MAX_PAGE = 100_000
FIRST_YEAR = 2000
LAST_YEAR = 2100

Id = Annotated[int, Meta(ge=1, le=MAX_ID, description="An id: an integer from 1 to 2^31 − 1.")]
Ids = Annotated[list[Id], Meta(max_length=MAX_IDS)]


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


OUT_OF_RANGE = lazy("Dates must fall between the years 2000 and 2100.")
CONTROL_CHARACTERS = lazy("This text contains invisible control characters.")
LINE_BREAK = lazy(
    "This field is one line: it cannot contain line breaks or invisible control characters."
)


def in_school_range(value: date) -> bool:
    """Whether a day or a moment is in the range Préau keeps. A moment is judged on its
    own clock (before any zone conversion, which could overflow at the edges)."""
    return FIRST_YEAR <= value.year <= LAST_YEAR


def check_day(value: date, field: str | None = None) -> date:
    if not in_school_range(value):
        raise InvalidInput(OUT_OF_RANGE, field=field)
    return value


def check_moment(value: datetime, field: str | None = None) -> datetime:
    if not in_school_range(value):
        raise InvalidInput(OUT_OF_RANGE, field=field)
    return value


# Unicode's control characters (category Cc, fixed since Unicode 1.1: U+0000-U+001F and
# U+007F-U+009F) and its line and paragraph separators (Zl, Zp: U+2028, U+2029).
CONTROLS = "".join(map(chr, [*range(0x20), *range(0x7F, 0xA0)]))
SEPARATORS = "\u2028\u2029"


@functools.cache
def control_pattern(forbidden: str, allowed: str = "") -> re.Pattern[str]:
    """One search finds any of ``forbidden`` but ``allowed`` (a character at a time in
    Python cost ~0.1 µs each: a long hand-in's text took milliseconds)."""
    kept = "".join(character for character in forbidden if character not in allowed)
    return re.compile("[" + "".join(map(re.escape, kept)) + "]")


def has_control(text: str, allowed: str = "") -> bool:
    """Whether ``text`` holds a control character or a line or paragraph separator not in
    ``allowed``."""
    return control_pattern(CONTROLS + SEPARATORS, allowed).search(text) is not None


def check_line(text: str, field: str | None = None) -> str:
    """A single-line field (a name, a subject, a title, an address): no control character,
    no line break, so it can never split a mail header or an iCalendar line."""
    if has_control(text):
        raise InvalidInput(LINE_BREAK, field=field)
    return text


def _check_value(value: Any, field: str, multiline: bool) -> None:
    if isinstance(value, date):  # datetime is a date too
        check_day(value, field)
    elif isinstance(value, str):
        if multiline:
            if has_control(value, "\n\r\t"):
                raise InvalidInput(CONTROL_CHARACTERS, field=field)
        else:
            check_line(value, field)
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, date | str):
                _check_value(item, field, multiline)


class Input(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """The base of every struct a person writes through (API bodies, forms, imports)."""

    multiline: ClassVar[frozenset[str]] = frozenset()

    def __post_init__(self) -> None:
        for field in self.__struct_fields__:
            _check_value(getattr(self, field), field, field in self.multiline)
