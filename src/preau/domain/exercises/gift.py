"""Moodle's GIFT format, read and written: the text format French teachers share questions
in (https://docs.moodle.org/en/GIFT_format).

Reading never stops at the first mistake: every question that can be read is kept, and
each one that cannot is reported with its line and the reason, so a teacher can fix the
file. Writing reports the questions GIFT cannot hold (ordering, several gaps).

What GIFT carries: a title (``::title::``), the text, the answer block ``{…}`` with ``=``
right and ``~`` wrong answers, ``%50%`` weights, ``#`` feedback, ``####`` general feedback,
``->`` pairs, ``#`` numbers with ``:tolerance`` or ``min..max``, ``T``/``F``, ``{}`` for an
open answer, text after the block for a missing word, ``$CATEGORY:`` and ``//`` comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import TypedDict

import msgspec

from preau.domain.exercises.questions import (
    Blank,
    Blanks,
    Choice,
    Description,
    Matching,
    MultipleChoice,
    Numeric,
    NumericAnswer,
    Open,
    Ordering,
    Pair,
    Question,
    Short,
    SingleChoice,
    TextAnswer,
    TrueFalse,
    around,
)


def lazy(message: str) -> str:
    return message


MAX_FILE = 2_000_000  # characters
MAX_QUESTIONS = 2_000

NO_CLOSING_BRACE = lazy("The answers' block opened with { is never closed with }.")
TWO_BLOCKS = lazy("A question has one block of answers {…}; write one question per block.")
NO_RIGHT_ANSWER = lazy("None of the answers is marked right (with = or a positive %weight%).")
SEVERAL_RIGHT = lazy(
    "A multiple-choice question has one right answer (=); give the others a %weight% instead."
)
BAD_WEIGHT = lazy("A weight is a percentage between -100 and 100, written %50%.")
BAD_NUMBER = lazy("A numeric answer is a number, value:tolerance or min..max, like #3.14:0.01.")
BAD_MATCH = lazy("Each pair of a matching question is written =prompt -> answer.")
FEW_PAIRS = lazy("A matching question needs two pairs or more.")
EMPTY_ANSWER = lazy("An answer is empty.")
TOO_LONG = lazy("This file is too long to import at once; split it into smaller files.")
TOO_MANY = lazy("This file holds too many questions; split it into smaller files.")
NOT_IN_GIFT = lazy("GIFT cannot hold this kind of question; export it as Moodle XML.")
SEVERAL_GAPS = lazy("GIFT holds one gap per question; export it as Moodle XML.")
UNMARKED = lazy(
    "Start each answer with = (right) or ~ (wrong), or write T or F for a true/false question."
)


class Imported(msgspec.Struct, frozen=True, kw_only=True):
    question: Question
    line: int  # where the question starts in the file, from 1
    category: str = ""


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    line: int
    reason: str  # a sentence of the catalogue
    excerpt: str = ""  # the start of the question, to find it in the file


class Report(msgspec.Struct, frozen=True, kw_only=True):
    imported: tuple[Imported, ...]
    problems: tuple[Problem, ...]


class Head(TypedDict):
    """What every question read has besides its answers."""

    text: str
    title: str
    feedback: str


class GiftError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- escapes: a backslash before ~ = # { } : keeps it as text ------------------------------

SPECIALS = "~=#{}:"
# Escaped characters are swapped for private-use code points while the structure is read.
HIDDEN = {char: chr(0xE000 + index) for index, char in enumerate(SPECIALS)}
SHOWN = {hidden: char for char, hidden in HIDDEN.items()}


def _hide_escapes(text: str) -> str:
    text = text.replace("\\\\", chr(0xE010))
    for char, hidden in HIDDEN.items():
        text = text.replace("\\" + char, hidden)
    return text.replace("\\n", "\n")


def _show(text: str) -> str:
    for hidden, char in SHOWN.items():
        text = text.replace(hidden, char)
    return text.replace(chr(0xE010), "\\").strip()


def join(before: str, gap: str, after: str) -> str:
    """A sentence with its gap, spaced as written ("is _____." keeps the full stop close)."""
    space = "" if after[:1] in tuple(".,;:!?)") else " "
    return f"{before.rstrip()} {gap}{space}{after.lstrip()}".strip()


def escape(text: str) -> str:
    text = text.replace("\\", "\\\\")
    for char in SPECIALS:
        text = text.replace(char, "\\" + char)
    return text.replace("\n", "\\n")


# -- reading -------------------------------------------------------------------------------

FORMAT = re.compile(r"^\[(html|moodle|plain|markdown)\]", re.IGNORECASE)
TITLE = re.compile(r"^::(.*?)::", re.DOTALL)
WEIGHT = re.compile(r"^%(-?\d+(?:[.,]\d+)?)%")
TRUE_FALSE = {"t": True, "true": True, "f": False, "false": False}


def read(text: str) -> Report:
    """Every question of a GIFT file, and a problem for each one that could not be read."""
    if len(text) > MAX_FILE:
        return Report(imported=(), problems=(Problem(line=1, reason=TOO_LONG),))
    imported: list[Imported] = []
    problems: list[Problem] = []
    category = ""
    for line, block in _blocks(text.lstrip("\ufeff")):
        if block.startswith("$CATEGORY:"):
            category = block.removeprefix("$CATEGORY:").strip()
            continue
        if len(imported) >= MAX_QUESTIONS:
            problems.append(Problem(line=line, reason=TOO_MANY))
            break
        try:
            question = _question(_hide_escapes(block))
        except GiftError as error:
            problems.append(Problem(line=line, reason=error.reason, excerpt=block[:80]))
        else:
            imported.append(Imported(question=question, line=line, category=category))
    return Report(imported=tuple(imported), problems=tuple(problems))


def _blocks(text: str) -> Iterator[tuple[int, str]]:
    """(first line, text) of each question: blocks of lines between blank lines, without
    the ``//`` comment lines."""
    start, lines = 0, list[str]()
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith("//"):
            continue
        if line.strip():
            if not lines:
                start = number
            lines.append(line)
        elif lines:
            yield start, "\n".join(lines).strip()
            lines = []
    if lines:
        yield start, "\n".join(lines).strip()


def _question(block: str) -> Question:
    title = ""
    if found := TITLE.match(block):
        title, block = _show(found[1]), block[found.end() :].lstrip()
    block = FORMAT.sub("", block, count=1).lstrip()
    opening = block.find("{")
    if opening < 0:
        if "}" in block:
            raise GiftError(NO_CLOSING_BRACE)
        return Description(text=_show(block), title=title)
    closing = block.find("}", opening)
    if closing < 0:
        raise GiftError(NO_CLOSING_BRACE)
    before, inside, after = block[:opening], block[opening + 1 : closing], block[closing + 1 :]
    if "{" in after or "}" in after:
        raise GiftError(TWO_BLOCKS)
    inside, _, general = inside.partition("####")
    text = join(_show(before), "_____", _show(after)) if after.strip() else _show(before)
    common = Head(text=text, title=title, feedback=_show(general))
    return _answers(inside.strip(), common, before=_show(before), after=_show(after))


def _answers(inside: str, common: Head, *, before: str, after: str) -> Question:  # noqa: PLR0911 - one answer per kind of block
    if not inside:
        return Open(**common)
    if inside.startswith("#"):
        return Numeric(answers=_numeric_answers(inside[1:]), **common)
    word, _, feedback = inside.partition("#")
    if word.strip().casefold() in TRUE_FALSE:
        if_wrong, _, if_right = feedback.partition("#")
        truth = TRUE_FALSE[word.strip().casefold()]
        return TrueFalse(
            answer=truth,
            feedback_if_true=_show(if_right if truth else if_wrong),
            feedback_if_false=_show(if_wrong if truth else if_right),
            **common,
        )
    answers = list(_split_answers(inside))
    if not answers:
        raise GiftError(UNMARKED if not inside.startswith(("=", "~")) else EMPTY_ANSWER)
    if any(marker == "=" and "->" in body for marker, _, body, _ in answers):
        return _matching(answers, common)
    if all(marker == "=" for marker, _, _, _ in answers):
        accepted = tuple(
            TextAnswer(text=_show(body), weight=100 if weight is None else weight, feedback=fb)
            for _, weight, body, fb in answers
        )
        if after.strip():  # a missing word typed in: a gap in the text
            return Blanks(
                blanks=(Blank(answers=accepted),),
                text=join(before, "{1}", after),
                title=common["title"],
                feedback=common["feedback"],
            )
        return Short(answers=accepted, **common)
    return _choices(answers, common)


def _split_answers(inside: str) -> Iterator[tuple[str, int | None, str, str]]:
    """(marker, weight or None, text, feedback) of each ``=`` or ``~`` answer."""
    parts = re.split(r"(?=[=~])", inside)
    if parts and parts[0].strip():
        raise GiftError(UNMARKED)
    for part in parts:
        if not part.strip():
            continue
        marker, body = part[0], part[1:].strip()
        weight = None
        if found := WEIGHT.match(body):
            weight = _weight(found[1])
            body = body[found.end() :].strip()
        body, _, feedback = body.partition("#")
        if not body.strip() and "->" not in part:
            raise GiftError(EMPTY_ANSWER)
        yield marker, weight, body, _show(feedback)


def _weight(text: str) -> int:
    try:
        weight = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise GiftError(BAD_WEIGHT) from None
    if not -100 <= weight <= 100:
        raise GiftError(BAD_WEIGHT)
    return round(weight)


def _choices(answers: list[tuple[str, int | None, str, str]], common: Head) -> Question:
    right = [answer for answer in answers if answer[0] == "="]
    if len(right) > 1:
        raise GiftError(SEVERAL_RIGHT)
    choices = tuple(
        Choice(
            text=_show(body),
            weight=100 if marker == "=" and weight is None else (weight or 0),
            feedback=feedback,
        )
        for marker, weight, body, feedback in answers
    )
    if right:
        return SingleChoice(choices=choices, **common)
    if sum(max(choice.weight, 0) for choice in choices) <= 0:
        raise GiftError(NO_RIGHT_ANSWER)
    return MultipleChoice(choices=choices, **common)


def _matching(answers: list[tuple[str, int | None, str, str]], common: Head) -> Matching:
    pairs = []
    for marker, _, body, _ in answers:
        prompt, arrow, answer = body.partition("->")
        if marker != "=" or not arrow or not answer.strip():
            raise GiftError(BAD_MATCH)
        pairs.append(Pair(prompt=_show(prompt), answer=_show(answer)))
    if len(pairs) < 2:
        raise GiftError(FEW_PAIRS)
    return Matching(pairs=tuple(pairs), **common)


def _numeric_answers(inside: str) -> tuple[NumericAnswer, ...]:
    inside = inside.strip()
    if not inside.startswith(("=", "~")):
        inside = "=" + inside
    answers = []
    for part in re.split(r"(?=[=~])", inside):
        if not part.strip():
            continue
        marker, body = part[0], part[1:].strip()
        weight = 100 if marker == "=" else 0
        if found := WEIGHT.match(body):
            weight = _weight(found[1])
            body = body[found.end() :].strip()
        body, _, feedback = body.partition("#")
        if marker == "~" and not body.strip():
            continue  # "~#feedback" for any other number: Préau shows the general feedback
        low, high = _range(body.strip())
        answers.append(NumericAnswer(low=low, high=high, weight=weight, feedback=_show(feedback)))
    if not answers:
        raise GiftError(BAD_NUMBER)
    return tuple(answers)


def _range(text: str) -> tuple[Decimal, Decimal]:
    try:
        if ".." in text:
            low, _, high = text.partition("..")
            return Decimal(low.strip()), Decimal(high.strip())
        value, _, tolerance = _show(text).partition(":")
        return around(Decimal(value.strip()), Decimal(tolerance.strip() or 0))
    except InvalidOperation:
        raise GiftError(BAD_NUMBER) from None


# -- writing -------------------------------------------------------------------------------


def write(questions: list[Question]) -> tuple[str, list[tuple[int, str]]]:
    """The GIFT text of ``questions``, and (position, reason) for each left out."""
    out: list[str] = []
    left_out: list[tuple[int, str]] = []
    for position, question in enumerate(questions):
        try:
            out.append(write_question(question))
        except GiftError as error:
            left_out.append((position, error.reason))
    return "\n\n".join(out) + ("\n" if out else ""), left_out


def _feedback(text: str) -> str:
    return f"#{escape(text)}" if text else ""


def _weighted(marker: str, weight: int, text: str, feedback: str, full: int = 100) -> str:
    shown = "" if weight == full and marker == "=" else f"%{weight}%"
    if marker == "~" and weight == 0:
        shown = ""
    return f"{marker}{shown}{escape(text)}{_feedback(feedback)}"


def write_question(question: Question) -> str:  # noqa: C901, PLR0912 - one case per kind of question, read as a table
    head = f"::{escape(question.title)}::" if question.title else ""
    general = f"####{escape(question.feedback)}" if question.feedback else ""
    text = escape(question.text)
    match question:
        case Description():
            return head + text
        case Open():
            block = ""
        case TrueFalse():
            wrong = question.feedback_if_false if question.answer else question.feedback_if_true
            right = question.feedback_if_true if question.answer else question.feedback_if_false
            block = "TRUE" if question.answer else "FALSE"
            if wrong or right:
                block += f"#{escape(wrong)}" + (f"#{escape(right)}" if right else "")
        case SingleChoice(choices=choices):
            block = " ".join(
                _weighted("=" if c.weight == 100 else "~", c.weight, c.text, c.feedback)
                for c in choices
            )
        case MultipleChoice(choices=choices):
            block = " ".join(
                f"~%{c.weight}%{escape(c.text)}{_feedback(c.feedback)}" for c in choices
            )
        case Short(answers=answers):
            block = " ".join(_weighted("=", a.weight, a.text, a.feedback) for a in answers)
        case Numeric(answers=answers):
            block = "#" + " ".join(
                f"={'' if a.weight == 100 else f'%{a.weight}%'}{_number(a)}{_feedback(a.feedback)}"
                for a in answers
            )
        case Matching(pairs=pairs, distractors=distractors):
            if distractors:
                raise GiftError(NOT_IN_GIFT)
            block = " ".join(f"={escape(p.prompt)} -> {escape(p.answer)}" for p in pairs)
        case Blanks(blanks=blanks):
            if len(blanks) != 1 or blanks[0].choices:
                raise GiftError(SEVERAL_GAPS)
            before, _, after = question.text.partition("{1}")
            block = " ".join(
                _weighted("=", a.weight, a.text, a.feedback) for a in blanks[0].answers
            )
            return head + join(escape(before), f"{{{block}{general}}}", escape(after))
        case Ordering():
            raise GiftError(NOT_IN_GIFT)
    if "_____" in question.text and not isinstance(question, Open):
        before, _, after = text.partition("_____")
        return head + join(before, f"{{{block}{general}}}", after)
    return f"{head}{text} {{{block}{general}}}"


def _number(answer: NumericAnswer) -> str:
    middle = (answer.low + answer.high) / 2
    tolerance = (answer.high - answer.low) / 2
    if tolerance == 0:
        return _plain(middle)
    if answer.low + tolerance == middle and _plain(middle).count(".") <= 1:
        return f"{_plain(middle)}:{_plain(tolerance)}"
    return f"{_plain(answer.low)}..{_plain(answer.high)}"


def _plain(number: Decimal) -> str:
    text = format(number.normalize(), "f")
    return text if "." not in text else text.rstrip("0").rstrip(".")
