"""Questions of a self-marking exercise, the answers pupils give and how each is marked.

Pure: a question is data (stored as JSON), an answer is data, and :func:`mark` turns the
two into a :class:`Marked` — the fraction of the question's points earned and the feedback
to show. The server always marks; the page never holds the expected answers.

Fractions are exact (``Fraction``); weights are whole percentages as in Moodle (a wrong
choice may weigh −50 %), and a question's result is kept between 0 and 1.
"""

from __future__ import annotations

import enum
import hashlib
import itertools
import re
import unicodedata
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import msgspec

from preau.domain.errors import InvalidInput


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


MAX_CHOICES = 26
MAX_TEXT = 20_000  # characters of a question's text (formulas and images included)
MAX_ANSWER = 5_000  # characters of a typed answer (an open answer may be longer: OPEN_MAX)
OPEN_MAX = 50_000

NOT_A_NUMBER = lazy("Write a number, like 12 or 3,5, and its unit if the question asks for one.")
ANSWER_TOO_LONG = lazy("This answer is too long.")
UNKNOWN_CHOICE = lazy("This choice is not one of the question's choices.")
ACCENTS_NOTE = lazy("Accepted, but mind the accents: {expected}.")
WRONG_UNIT = lazy("This unit is not the one expected.")
UNIT_MISSING = lazy("Give the unit with the number.")


# -- questions -----------------------------------------------------------------------------


class Kind(enum.StrEnum):
    SINGLE = "single"  # one choice among several (radio buttons)
    MULTIPLE = "multiple"  # several choices may be right (check boxes), partial credit
    TRUE_FALSE = "true_false"
    NUMERIC = "numeric"  # a number, with a tolerance and optional units
    SHORT = "short"  # a word or a few, with accepted variants
    MATCHING = "matching"  # pair each prompt with its answer
    ORDERING = "ordering"  # put items in order
    BLANKS = "blanks"  # fill in the blanks of a text
    OPEN = "open"  # written answer, marked by the teacher
    DESCRIPTION = "description"  # text only (an instruction, a reading), no answer


class Accents(enum.StrEnum):
    STRICT = "strict"  # "eleve" for "élève" is wrong (spelling is what is assessed)
    LENIENT = "lenient"  # accepted, with a note that shows the accents (the default)


class Choice(msgspec.Struct, frozen=True, kw_only=True):
    text: str
    weight: int = 0  # percent of the question's points, -100 … 100
    feedback: str = ""


class TextAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """An accepted typed answer; ``*`` in it stands for any characters (as in Moodle)."""

    text: str
    weight: int = 100
    feedback: str = ""


class NumericAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """Accepted when the number (in the base unit) lies in ``low`` … ``high``."""

    low: Decimal
    high: Decimal
    weight: int = 100
    feedback: str = ""


class Pair(msgspec.Struct, frozen=True, kw_only=True):
    prompt: str
    answer: str


class Blank(msgspec.Struct, frozen=True, kw_only=True):
    """One gap of a text: typed (``answers``) or picked from a list (``choices``)."""

    answers: tuple[TextAnswer, ...] = ()
    choices: tuple[Choice, ...] = ()


class Common(msgspec.Struct, frozen=True, kw_only=True, tag_field="kind"):
    text: str  # Markdown-free plain text with $…$ for formulas (rendered by KaTeX)
    points: int = 1
    feedback: str = ""  # shown after answering, whatever the answer
    hints: tuple[str, ...] = ()
    title: str = ""


class SingleChoice(Common, frozen=True, kw_only=True, tag="single"):
    choices: tuple[Choice, ...]
    shuffle: bool = True


class MultipleChoice(Common, frozen=True, kw_only=True, tag="multiple"):
    choices: tuple[Choice, ...]
    shuffle: bool = True


class TrueFalse(Common, frozen=True, kw_only=True, tag="true_false"):
    answer: bool
    feedback_if_true: str = ""  # shown to whoever answered "true"
    feedback_if_false: str = ""


class Numeric(Common, frozen=True, kw_only=True, tag="numeric"):
    answers: tuple[NumericAnswer, ...]
    units: dict[str, Decimal] = {}  # unit → how many base units it is ("cm": 0.01)
    unit_required: bool = False


class Short(Common, frozen=True, kw_only=True, tag="short"):
    answers: tuple[TextAnswer, ...]
    case_sensitive: bool = False
    accents: Accents = Accents.LENIENT


class Matching(Common, frozen=True, kw_only=True, tag="matching"):
    pairs: tuple[Pair, ...]
    distractors: tuple[str, ...] = ()  # answers that match no prompt


class Ordering(Common, frozen=True, kw_only=True, tag="ordering"):
    items: tuple[str, ...]  # in the right order


class Blanks(Common, frozen=True, kw_only=True, tag="blanks"):
    """``text`` holds ``{1}``, ``{2}``… where the gaps are, one per ``blanks`` entry."""

    blanks: tuple[Blank, ...]
    case_sensitive: bool = False
    accents: Accents = Accents.LENIENT


class Open(Common, frozen=True, kw_only=True, tag="open"):
    pass


class Description(Common, frozen=True, kw_only=True, tag="description"):
    points: int = 0


Question = (
    SingleChoice
    | MultipleChoice
    | TrueFalse
    | Numeric
    | Short
    | Matching
    | Ordering
    | Blanks
    | Open
    | Description
)

KIND_OF: dict[type[Common], Kind] = {
    SingleChoice: Kind.SINGLE,
    MultipleChoice: Kind.MULTIPLE,
    TrueFalse: Kind.TRUE_FALSE,
    Numeric: Kind.NUMERIC,
    Short: Kind.SHORT,
    Matching: Kind.MATCHING,
    Ordering: Kind.ORDERING,
    Blanks: Kind.BLANKS,
    Open: Kind.OPEN,
    Description: Kind.DESCRIPTION,
}

BLANK_MARK = re.compile(r"\{(\d{1,2})\}")


def check_question(question: Question) -> Question:  # noqa: C901, PLR0912 - one case per kind of question, read as a table
    """The question, or :class:`InvalidInput` with a sentence naming what is wrong."""
    if not question.text.strip() and not isinstance(question, Blanks):
        raise InvalidInput(lazy("Write the question's text."), field="text")
    if len(question.text) > MAX_TEXT:
        raise InvalidInput(lazy("The question's text is too long."), field="text")
    if not 0 <= question.points <= 100:
        raise InvalidInput(lazy("A question is worth 0 to 100 points."), field="points")
    match question:
        case SingleChoice(choices=choices):
            _check_choices(choices)
            if max(choice.weight for choice in choices) != 100:
                raise InvalidInput(
                    lazy("Mark one choice as the right answer (100 %)."), field="choices"
                )
        case MultipleChoice(choices=choices):
            _check_choices(choices)
            if sum(max(choice.weight, 0) for choice in choices) < 100:
                raise InvalidInput(
                    lazy("The right choices must add up to at least 100 %."), field="choices"
                )
        case Numeric(answers=answers):
            if not answers or all(answer.weight <= 0 for answer in answers):
                raise InvalidInput(lazy("Give the expected number."), field="answers")
            if any(answer.low > answer.high for answer in answers):
                raise InvalidInput(
                    lazy("A range's lower end must not be above its upper end."), field="answers"
                )
        case Short(answers=answers):
            if not any(answer.weight > 0 and answer.text.strip() for answer in answers):
                raise InvalidInput(lazy("Give at least one accepted answer."), field="answers")
        case Matching(pairs=pairs):
            if len(pairs) < 2:
                raise InvalidInput(
                    lazy("A matching question needs two pairs or more."), field="pairs"
                )
        case Ordering(items=items):
            if len(items) < 2:
                raise InvalidInput(lazy("Give two items or more to put in order."), field="items")
        case Blanks(blanks=blanks, text=text):
            numbers = [int(found) for found in BLANK_MARK.findall(text)]
            if not blanks or sorted(numbers) != list(range(1, len(blanks) + 1)):
                raise InvalidInput(
                    lazy("Number the gaps {1}, {2}… in the text, one for each blank."), field="text"
                )
            for blank in blanks:
                if blank.choices:
                    _check_choices(blank.choices)
                elif not any(answer.weight > 0 for answer in blank.answers):
                    raise InvalidInput(
                        lazy("Give the accepted answers of each gap."), field="blanks"
                    )
        case _:
            pass
    return question


def _check_choices(choices: Sequence[Choice]) -> None:
    if not 2 <= len(choices) <= MAX_CHOICES:
        raise InvalidInput(lazy("Give from 2 to 26 choices."), field="choices")
    if any(not -100 <= choice.weight <= 100 for choice in choices):
        raise InvalidInput(lazy("A choice weighs from -100 % to 100 %."), field="choices")


# -- answers -------------------------------------------------------------------------------


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """What a pupil gave for one question. Choices, items and matched answers are the
    question's own indices (the page shuffles them but sends the indices back)."""

    chosen: tuple[int, ...] = ()  # single (one), multiple
    truth: bool | None = None  # true/false
    text: str = ""  # numeric, short, open
    texts: tuple[str, ...] = ()  # blanks, in order (a picked choice is its index as text)
    order: tuple[int, ...] = ()  # ordering: item indices in the pupil's order
    matches: tuple[int, ...] = ()  # matching: for each prompt, the index in answer_options()


class State(enum.StrEnum):
    RIGHT = "right"
    PARTLY = "partly"
    WRONG = "wrong"
    PENDING = "pending"  # an open answer, until the teacher marks it
    UNANSWERED = "unanswered"


class Note(msgspec.Struct, frozen=True, kw_only=True):
    """A sentence of Préau's (translated where shown), as opposed to a teacher's feedback."""

    message: str
    expected: str = ""  # fills {expected}


class Marked(msgspec.Struct, frozen=True, kw_only=True):
    fraction: Fraction  # of the question's points, 0 … 1
    state: State
    feedback: tuple[str, ...] = ()  # the teacher's words, shown as written
    notes: tuple[Note, ...] = ()


def _marked(
    fraction: Fraction, feedback: Sequence[str] = (), notes: Sequence[Note | None] = ()
) -> Marked:
    fraction = min(max(fraction, Fraction(0)), Fraction(1))
    state = State.RIGHT if fraction == 1 else State.WRONG if fraction == 0 else State.PARTLY
    return Marked(
        fraction=fraction,
        state=state,
        feedback=tuple(f for f in feedback if f),
        notes=tuple(n for n in notes if n is not None),
    )


def mark(question: Question, answer: Answer | None) -> Marked:  # noqa: C901, PLR0911, PLR0912 - one case per kind of question, read as a table
    """How much of the question ``answer`` earns, with the feedback to show."""
    if answer is None or _is_empty(answer):
        if isinstance(question, Description):
            return Marked(fraction=Fraction(1), state=State.RIGHT)
        return Marked(fraction=Fraction(0), state=State.UNANSWERED)
    general = (question.feedback,)
    match question:
        case SingleChoice(choices=choices):
            if len(answer.chosen) != 1 or not 0 <= answer.chosen[0] < len(choices):
                raise InvalidInput(UNKNOWN_CHOICE, field="chosen")
            choice = choices[answer.chosen[0]]
            return _marked(Fraction(choice.weight, 100), (choice.feedback, *general))
        case MultipleChoice(choices=choices):
            if any(not 0 <= index < len(choices) for index in answer.chosen):
                raise InvalidInput(UNKNOWN_CHOICE, field="chosen")
            picked = [choices[index] for index in sorted(set(answer.chosen))]
            earned = sum((Fraction(choice.weight, 100) for choice in picked), Fraction(0))
            return _marked(earned, (*(choice.feedback for choice in picked), *general))
        case TrueFalse():
            said = answer.truth
            told = question.feedback_if_true if said else question.feedback_if_false
            return _marked(Fraction(int(said == question.answer)), (told, *general))
        case Numeric():
            return _mark_numeric(question, answer.text, general)
        case Short():
            earned, feedback, note = _mark_text(
                question.answers, answer.text, question.case_sensitive, question.accents
            )
            return _marked(earned, (feedback, *general), (note,))
        case Matching(pairs=pairs):
            options = answer_options(question)
            right = sum(
                1
                for prompt, picked in zip(pairs, answer.matches, strict=False)
                if 0 <= picked < len(options) and options[picked] == prompt.answer
            )
            return _marked(Fraction(right, len(pairs)), general)
        case Ordering(items=items):
            return _marked(_ordering_fraction(len(items), answer.order), general)
        case Blanks(blanks=blanks):
            return _mark_blanks(question, blanks, answer.texts, general)
        case Open():
            return Marked(fraction=Fraction(0), state=State.PENDING)
        case Description():
            return Marked(fraction=Fraction(1), state=State.RIGHT)


def _is_empty(answer: Answer) -> bool:
    return (
        not answer.chosen
        and answer.truth is None
        and not answer.text.strip()
        and not any(text.strip() for text in answer.texts)
        and not answer.order
        and not answer.matches
    )


def _ordering_fraction(count: int, order: Sequence[int]) -> Fraction:
    """Moodle's "relative to the next item": one point per item followed by the one that
    follows it in the right order (so one item misplaced costs one or two points, not all)."""
    if sorted(order) != list(range(count)):
        raise InvalidInput(lazy("Put every item in the list once."), field="order")
    right = sum(1 for first, second in itertools.pairwise(order) if second == first + 1)
    return Fraction(right, count - 1)


def _mark_blanks(
    question: Blanks, blanks: Sequence[Blank], texts: Sequence[str], general: Sequence[str]
) -> Marked:
    earned = Fraction(0)
    feedback: list[str] = []
    notes: list[Note | None] = []
    for position, blank in enumerate(blanks):
        given = texts[position] if position < len(texts) else ""
        if blank.choices:
            index = int(given) if given.isdigit() else -1
            if 0 <= index < len(blank.choices):
                choice = blank.choices[index]
                earned += Fraction(max(choice.weight, 0), 100)
                feedback.append(choice.feedback)
        else:
            part, said, note = _mark_text(
                blank.answers, given, question.case_sensitive, question.accents
            )
            earned += part
            feedback.append(said)
            notes.append(note)
    return _marked(earned / len(blanks), (*feedback, *general), notes)


# -- typed text ----------------------------------------------------------------------------

APOSTROPHES = str.maketrans({"’": "'", "ʼ": "'", "‘": "'", "`": "'", "«": '"', "»": '"'})
LIGATURES = {"œ": "oe", "Œ": "OE", "æ": "ae", "Æ": "AE"}
EDGE_PUNCTUATION = " \t\n.!?;:,'\"()"


def normalise(text: str, *, case_sensitive: bool = False) -> str:
    """The form typed answers are compared in: Unicode NFC, typographic apostrophes and
    quotes made plain, spaces collapsed, punctuation at the ends dropped, case folded."""
    text = unicodedata.normalize("NFC", text).translate(APOSTROPHES)
    text = " ".join(text.split()).strip(EDGE_PUNCTUATION)
    return text if case_sensitive else text.casefold()


def without_accents(text: str) -> str:
    for ligature, letters in LIGATURES.items():
        text = text.replace(ligature, letters)
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _pattern(expected: str, *, case_sensitive: bool, strip_accents: bool) -> re.Pattern[str]:
    text = normalise(expected, case_sensitive=case_sensitive)
    if strip_accents:
        text = without_accents(text)
    return re.compile(".*".join(re.escape(part) for part in text.split("*")), re.DOTALL)


def _mark_text(
    answers: Sequence[TextAnswer], given: str, case_sensitive: bool, accents: Accents
) -> tuple[Fraction, str, Note | None]:
    """(fraction, feedback, note) of the best accepted answer the typed text matches."""
    if len(given) > MAX_ANSWER:
        raise InvalidInput(ANSWER_TOO_LONG, field="text")
    typed = normalise(given, case_sensitive=case_sensitive)
    if not typed:
        return Fraction(0), "", None
    best: tuple[Fraction, str, Note | None] | None = None
    for answer in sorted(answers, key=lambda answer: -answer.weight):
        if _pattern(answer.text, case_sensitive=case_sensitive, strip_accents=False).fullmatch(
            typed
        ):
            return Fraction(answer.weight, 100), answer.feedback, None
        if (
            best is None
            and accents is Accents.LENIENT
            and answer.weight > 0
            and _pattern(answer.text, case_sensitive=case_sensitive, strip_accents=True).fullmatch(
                without_accents(typed)
            )
        ):
            note = Note(message=ACCENTS_NOTE, expected=answer.text.replace("*", "…"))
            best = Fraction(answer.weight, 100), answer.feedback, note
    return best if best is not None else (Fraction(0), "", None)


# -- numbers -------------------------------------------------------------------------------

NUMBER_WITH_UNIT = re.compile(
    r"^\s*(?P<number>[+-−]?\s*(?:\d{1,3}(?:[  \u202f]\d{3})+|\d+)?(?:[.,]\d+)?(?:[eE][+-]?\d+)?)"
    r"\s*(?P<unit>(?:[^\W\d_]|[°%µ€$]).*?)?\s*$"  # a unit starts with a letter or a sign
)


def read_number(text: str) -> tuple[Decimal, str]:
    """The number a pupil typed and its unit ("" if none): "3,5 cm", "1 000", "-2e3"."""
    found = NUMBER_WITH_UNIT.match(text)
    digits = found["number"] if found else ""
    if not found or not any(c.isdigit() for c in digits):
        raise InvalidInput(NOT_A_NUMBER, field="text")
    cleaned = re.sub(r"[\s\u202f]", "", digits).replace("−", "-").replace(",", ".")
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        raise InvalidInput(NOT_A_NUMBER, field="text") from None
    if not number.is_finite() or abs(number.adjusted()) > 30:
        raise InvalidInput(NOT_A_NUMBER, field="text")
    return number, (found["unit"] or "").strip()


def _mark_numeric(question: Numeric, given: str, general: Sequence[str]) -> Marked:
    number, unit = read_number(given)
    scale = Decimal(1)
    if unit:
        known = {name.casefold(): factor for name, factor in question.units.items()}
        if unit.casefold() not in known:
            return _marked(Fraction(0), general, (Note(message=WRONG_UNIT),))
        scale = known[unit.casefold()]
    elif question.unit_required:
        return _marked(Fraction(0), general, (Note(message=UNIT_MISSING),))
    value = number * scale
    for answer in sorted(question.answers, key=lambda answer: -answer.weight):
        if answer.low <= value <= answer.high:
            return _marked(Fraction(answer.weight, 100), (answer.feedback, *general))
    return _marked(Fraction(0), general)


def around(value: Decimal, tolerance: Decimal = Decimal(0)) -> tuple[Decimal, Decimal]:
    """The range a GIFT ``value:tolerance`` accepts."""
    return value - abs(tolerance), value + abs(tolerance)


# -- presenting ----------------------------------------------------------------------------


def answer_options(question: Matching) -> list[str]:
    """The answers a matching question offers (its pairs' and distractors'), each once,
    in a fixed order (sorted), so the indices a page sends back mean the same thing."""
    return sorted({pair.answer for pair in question.pairs} | set(question.distractors))


def shuffled(count: int, seed: str) -> list[int]:
    """A permutation of ``range(count)`` fixed by ``seed`` (an attempt and a question):
    the same attempt always sees the same order, another attempt another one."""
    return sorted(
        range(count), key=lambda index: hashlib.sha256(f"{seed}:{index}".encode()).digest()
    )
