"""Moodle XML, read and written (https://docs.moodle.org/en/Moodle_XML_format): the other
format French teachers export their question banks in, which, unlike GIFT, holds hints,
ordering questions and several gaps (Moodle's "cloze").

Parsed with ``defusedxml`` (a shared file is untrusted input: no entity expansion, no
external entities). Question texts in HTML become plain text (paragraphs and line breaks
kept); embedded images are not carried and are reported. As with GIFT, reading keeps
every question it can and reports each one it cannot, with its position in the file.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation

import msgspec
from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped]  # no stubs; fromstring returns an Element

from preau.domain.exercises.gift import (
    MAX_FILE,
    MAX_QUESTIONS,
    NOT_IN_GIFT,
    TOO_LONG,
    TOO_MANY,
    Head,
    Imported,
    Problem,
    Report,
)
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


NOT_MOODLE_XML = lazy("This file is not Moodle XML: it should start with <quiz>.")
UNKNOWN_TYPE = lazy("Préau does not handle this type of Moodle question.")
BAD_QUESTION = lazy("This question is incomplete or has a value Préau cannot read.")
IMAGES_LEFT = lazy("The question's images were not imported: add them to the text again.")
NOT_IN_MOODLE_XML = NOT_IN_GIFT  # every kind Préau has fits in Moodle XML


class XmlError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# -- text ------------------------------------------------------------------------------------

BREAKS = re.compile(r"<\s*(br|/p|/div|/li|/h\d)\s*/?>", re.IGNORECASE)
TAGS = re.compile(r"<[^>]+>")


def plain(text: str | None, *, is_html: bool = True) -> str:
    """HTML (or Moodle's plain text) as Préau's plain text: in HTML a line break in the
    source is a space, and paragraphs and ``<br>`` are line breaks."""
    if not text:
        return ""
    if is_html:
        text = BREAKS.sub("\n", re.sub(r"\s+", " ", text))
    text = html.unescape(TAGS.sub("", text))
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line).strip()


def _text(element: ET.Element | None, path: str = "text") -> str:
    if element is None:
        return ""
    found = element.find(path)
    is_html = element.get("format", "html") in ("html", "moodle_auto_format")
    return plain(found.text if found is not None else None, is_html=is_html)


def _number(value: str | None) -> Decimal:
    try:
        number = Decimal((value or "").strip().replace(",", "."))
    except InvalidOperation:
        raise XmlError(BAD_QUESTION) from None
    if not number.is_finite():
        raise XmlError(BAD_QUESTION)
    return number


def _weight(answer: ET.Element) -> int:
    return round(_number(answer.get("fraction", "0")))


# -- reading -----------------------------------------------------------------------------------


def read(text: str) -> Report:
    if len(text) > MAX_FILE:
        return Report(imported=(), problems=(Problem(line=1, reason=TOO_LONG),))
    try:
        root = SafeET.fromstring(text.lstrip("\ufeff").encode())
    except Exception:
        return Report(imported=(), problems=(Problem(line=1, reason=NOT_MOODLE_XML),))
    if root.tag != "quiz":
        return Report(imported=(), problems=(Problem(line=1, reason=NOT_MOODLE_XML),))
    imported: list[Imported] = []
    problems: list[Problem] = []
    category = ""
    for position, element in enumerate(root.findall("question"), start=1):
        kind = element.get("type", "")
        if kind == "category":
            category = _text(element.find("category"))
            continue
        if len(imported) >= MAX_QUESTIONS:
            problems.append(Problem(line=position, reason=TOO_MANY))
            break
        name = _text(element.find("name"))
        try:
            question = _question(kind, element, name)
        except XmlError as error:
            problems.append(Problem(line=position, reason=error.reason, excerpt=name[:80]))
            continue
        imported.append(Imported(question=question, line=position, category=category))
        if "@@PLUGINFILE@@" in ET.tostring(element, encoding="unicode"):
            problems.append(Problem(line=position, reason=IMAGES_LEFT, excerpt=name[:80]))
    return Report(imported=tuple(imported), problems=tuple(problems))


def _answers(element: ET.Element) -> Iterator[ET.Element]:
    yield from element.findall("answer")


def _head(element: ET.Element, name: str) -> Head:
    return Head(
        text=_text(element.find("questiontext")),
        title=name,
        feedback=_text(element.find("generalfeedback")),
    )


def untitled(text: str) -> str:
    """The name Moodle needs for a question that has no title: its text's start."""
    return " ".join(text.split())[:60]


def _question(kind: str, element: ET.Element, name: str) -> Question:
    reader = READERS.get(kind)
    if reader is None:
        raise XmlError(UNKNOWN_TYPE)
    question = reader(element, _head(element, name))
    hints = tuple(hint for h in element.findall("hint") if (hint := _text(h)))
    points = max(0, min(100, round(_number(element.findtext("defaultgrade") or "1"))))
    if question.title == untitled(question.text):  # Moodle named it by its text: no title
        question = msgspec.structs.replace(question, title="")
    if isinstance(question, Description):
        return msgspec.structs.replace(question, hints=hints)
    return msgspec.structs.replace(question, hints=hints, points=points)


def _flag(element: ET.Element, tag: str, default: str) -> bool:
    return (element.findtext(tag) or default).strip().lower() in ("true", "1")


def _multichoice(element: ET.Element, head: Head) -> Question:
    choices = tuple(
        Choice(text=_text(a), weight=_weight(a), feedback=_text(a.find("feedback")))
        for a in _answers(element)
    )
    shuffle = _flag(element, "shuffleanswers", "1")
    if _flag(element, "single", "true"):
        return SingleChoice(**head, choices=choices, shuffle=shuffle)
    return MultipleChoice(**head, choices=choices, shuffle=shuffle)


def _truefalse(element: ET.Element, head: Head) -> Question:
    by_text = {_text(a).lower(): a for a in _answers(element)}
    if "true" not in by_text or "false" not in by_text:
        raise XmlError(BAD_QUESTION)
    return TrueFalse(
        **head,
        answer=_weight(by_text["true"]) > 0,
        feedback_if_true=_text(by_text["true"].find("feedback")),
        feedback_if_false=_text(by_text["false"].find("feedback")),
    )


def _shortanswer(element: ET.Element, head: Head) -> Question:
    return Short(
        **head,
        answers=tuple(
            TextAnswer(text=_text(a), weight=_weight(a), feedback=_text(a.find("feedback")))
            for a in _answers(element)
            if _text(a)
        ),
        case_sensitive=_flag(element, "usecase", "0"),
    )


def _matching(element: ET.Element, head: Head) -> Question:
    pairs, extra = [], []
    for sub in element.findall("subquestion"):
        prompt, answer = _text(sub), _text(sub.find("answer"))
        if prompt:
            pairs.append(Pair(prompt=prompt, answer=answer))
        elif answer:
            extra.append(answer)  # an answer that matches no prompt
    return Matching(**head, pairs=tuple(pairs), distractors=tuple(extra))


def _ordering(element: ET.Element, head: Head) -> Question:
    items = [(_number(a.get("fraction", "0")), _text(a)) for a in _answers(element)]
    return Ordering(**head, items=tuple(text for _, text in sorted(items)))


def _numerical(element: ET.Element, head: Head) -> Question:
    answers = []
    for answer in _answers(element):
        value = _text(answer)
        if value == "*":
            continue  # "any other answer": its feedback only
        low, high = around(_number(value), _number(answer.findtext("tolerance") or "0"))
        answers.append(
            NumericAnswer(low=low, high=high, weight=_weight(answer),
                          feedback=_text(answer.find("feedback")))
        )  # fmt: skip
    units = {}
    for unit in element.iter("unit"):
        name = (unit.findtext("unit_name") or "").strip()
        if name:
            units[name] = _number(unit.findtext("multiplier") or "1")
    if units:
        # Moodle's multiplier divides ("cm" = 100 when the answer is in m); Préau's multiplies.
        units = {name: 1 / factor for name, factor in units.items() if factor}
    required = (element.findtext("unitgradingtype") or "0").strip() not in ("", "0")
    return Numeric(
        **head, answers=tuple(answers), units=units, unit_required=required and bool(units)
    )


CLOZE = re.compile(
    r"\{(\d*):(SHORTANSWER|SA|MW|SHORTANSWER_C|SAC|MWC|MULTICHOICE|MC|MCV|MCH):([^}]*)\}"
)


def _gap_answers(body: str) -> list[tuple[str, int, str]]:
    """(text, weight, feedback) of each answer of a cloze gap: ``=right~%50%half~wrong#fb``."""
    found = []
    for part in (p for p in re.split(r"(?<!\\)~", body) if p):
        weight, rest = 0, part
        if rest.startswith("="):
            weight, rest = 100, rest[1:]
        elif percent := re.match(r"%(-?\d+)%", rest):
            weight, rest = int(percent[1]), rest[percent.end() :]
        answer, _, feedback = rest.partition("#")
        found.append((answer.replace("\\~", "~").strip(), weight, feedback.strip()))
    return found


def _cloze(_element: ET.Element, head: Head) -> Question:
    """Moodle's "embedded answers": typed gaps and menus become Préau's gaps."""
    blanks: list[Blank] = []

    def gap(found: re.Match[str]) -> str:
        answers = _gap_answers(found[3])
        if found[2].startswith("M"):
            choices = tuple(Choice(text=a, weight=w, feedback=f) for a, w, f in answers)
            blanks.append(Blank(choices=choices))
        else:
            typed = tuple(TextAnswer(text=a, weight=w, feedback=f) for a, w, f in answers)
            blanks.append(Blank(answers=typed))
        return "{" + str(len(blanks)) + "}"

    text = CLOZE.sub(gap, head["text"])
    if not blanks:
        raise XmlError(BAD_QUESTION)
    return Blanks(text=text, title=head["title"], feedback=head["feedback"], blanks=tuple(blanks))


READERS: dict[str, Callable[[ET.Element, Head], Question]] = {
    "multichoice": _multichoice,
    "truefalse": _truefalse,
    "shortanswer": _shortanswer,
    "numerical": _numerical,
    "matching": _matching,
    "ordering": _ordering,
    "essay": lambda _element, head: Open(**head),
    "description": lambda _element, head: Description(**head),
    "multianswer": _cloze,
}


# -- writing -----------------------------------------------------------------------------------

TYPE_OF = {
    SingleChoice: "multichoice",
    MultipleChoice: "multichoice",
    TrueFalse: "truefalse",
    Short: "shortanswer",
    Numeric: "numerical",
    Matching: "matching",
    Ordering: "ordering",
    Open: "essay",
    Description: "description",
    Blanks: "multianswer",
}


def _sub(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attributes)
    ET.SubElement(element, "text").text = text
    return element


def _answer(parent: ET.Element, fraction: float | int, text: str, feedback: str = "") -> ET.Element:
    answer = _sub(parent, "answer", text, fraction=f"{fraction:g}", format="plain_text")
    _sub(answer, "feedback", feedback, format="plain_text")
    return answer


def write(questions: list[Question]) -> str:
    """The questions as a Moodle XML document (every kind Préau has fits)."""
    quiz = ET.Element("quiz")
    for question in questions:
        element = ET.SubElement(quiz, "question", type=TYPE_OF[type(question)])
        _sub(element, "name", question.title or untitled(question.text))
        text = question.text
        if isinstance(question, Blanks):
            text = _cloze_text(question)
        _sub(element, "questiontext", text, format="plain_text")
        _sub(element, "generalfeedback", question.feedback, format="plain_text")
        ET.SubElement(element, "defaultgrade").text = str(question.points)
        for hint in question.hints:
            _sub(element, "hint", hint, format="plain_text")
        _write_answers(element, question)
    ET.indent(quiz)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(quiz, encoding="unicode") + "\n"


def _write_answers(element: ET.Element, question: Question) -> None:  # noqa: C901 - one case per kind of question, read as a table
    match question:
        case SingleChoice(choices=choices) | MultipleChoice(choices=choices):
            ET.SubElement(element, "single").text = str(isinstance(question, SingleChoice)).lower()
            ET.SubElement(element, "shuffleanswers").text = "1" if question.shuffle else "0"
            for choice in choices:
                _answer(element, choice.weight, choice.text, choice.feedback)
        case TrueFalse():
            _answer(element, 100 if question.answer else 0, "true", question.feedback_if_true)
            _answer(element, 0 if question.answer else 100, "false", question.feedback_if_false)
        case Short(answers=typed):
            ET.SubElement(element, "usecase").text = "1" if question.case_sensitive else "0"
            for accepted in typed:
                _answer(element, accepted.weight, accepted.text, accepted.feedback)
        case Numeric():
            _write_numeric(element, question)
        case Matching(pairs=pairs, distractors=distractors):
            rows = [(pair.prompt, pair.answer) for pair in pairs]
            for prompt, answer in rows + [("", extra) for extra in distractors]:
                sub = _sub(element, "subquestion", prompt, format="plain_text")
                _sub(sub, "answer", answer)
        case Ordering(items=items):
            for position, item in enumerate(items, start=1):
                _answer(element, position, item)
        case _:
            pass


def _decimal(number: Decimal) -> str:
    return format(number.normalize(), "f")


def _write_numeric(element: ET.Element, question: Numeric) -> None:
    for answer in question.answers:
        middle = (answer.low + answer.high) / 2
        node = _answer(element, answer.weight, _decimal(middle), answer.feedback)
        ET.SubElement(node, "tolerance").text = _decimal((answer.high - answer.low) / 2)
    if question.units:
        units = ET.SubElement(element, "units")
        for name, factor in question.units.items():
            unit = ET.SubElement(units, "unit")
            ET.SubElement(unit, "multiplier").text = _decimal(1 / factor)
            ET.SubElement(unit, "unit_name").text = name
        ET.SubElement(element, "unitgradingtype").text = "1" if question.unit_required else "0"


def _weighted(weight: int, text: str) -> str:
    return f"{'=' if weight == 100 else f'%{weight}%'}{text}"


def _cloze_text(question: Blanks) -> str:
    def gap(found: re.Match[str]) -> str:
        blank = question.blanks[int(found[1]) - 1]
        if blank.choices:
            parts = [
                f"{'=' if c.weight == 100 else f'%{c.weight}%'}{c.text}" for c in blank.choices
            ]
            return "{1:MULTICHOICE:" + "~".join(parts) + "}"
        parts = [f"{'=' if a.weight == 100 else f'%{a.weight}%'}{a.text}" for a in blank.answers]
        return "{1:SHORTANSWER:" + "~".join(parts) + "}"

    return re.sub(r"\{(\d{1,2})\}", gap, question.text)
