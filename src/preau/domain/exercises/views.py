"""What the API and pages show of exercises: a question as a pupil sees it (never its
answers), an attempt, its marked result, and the teacher's results table."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import datetime
from fractions import Fraction

import msgspec
from msgspec.structs import replace

from preau.domain.exercises.attempts import Policy, Result
from preau.domain.exercises.questions import (
    BLANK_MARK,
    Answer,
    Blanks,
    Description,
    Kind,
    Matching,
    MultipleChoice,
    Numeric,
    Open,
    Ordering,
    Question,
    Short,
    SingleChoice,
    State,
    TrueFalse,
    answer_options,
    shuffled,
)


class Option(msgspec.Struct, frozen=True, kw_only=True):
    index: int  # what the page sends back: the question's own index
    text: str


class Presented(msgspec.Struct, frozen=True, kw_only=True):
    """A question as the pupil sees it: its options in the attempt's order, no answer."""

    position: int
    kind: Kind
    text: str
    title: str = ""
    points: int
    hints: tuple[str, ...] = ()
    options: tuple[Option, ...] = ()  # choices, items to order, matching answers
    prompts: tuple[str, ...] = ()  # matching: the prompts, in order
    gaps: tuple[tuple[Option, ...], ...] = ()  # blanks: each gap's choices (empty: typed)
    units: tuple[str, ...] = ()
    picture: str | None = None  # the description of the question's picture, if it has one


def present(question: Question, position: int, seed: str) -> Presented:
    """``question`` without its answers, options shuffled by the attempt's ``seed``."""
    base = Presented(
        position=position,
        kind=Kind(str(question.__struct_config__.tag)),
        text=question.text,
        title=question.title,
        points=question.points,
        hints=question.hints,
    )
    key = f"{seed}:{position}"
    match question:
        case (
            SingleChoice(choices=choices, shuffle=shuffle)
            | MultipleChoice(choices=choices, shuffle=shuffle)
        ):
            order = shuffled(len(choices), key) if shuffle else list(range(len(choices)))
            options = tuple(Option(index=i, text=choices[i].text) for i in order)
            return replace(base, options=options)
        case Ordering(items=items):
            order = shuffled(len(items), key)
            if order == list(range(len(items))):  # never shown already in order
                order = order[1:] + order[:1]
            return replace(base, options=tuple(Option(index=i, text=items[i]) for i in order))
        case Matching(pairs=pairs):
            answers = answer_options(question)
            return replace(
                base,
                prompts=tuple(pair.prompt for pair in pairs),
                options=tuple(Option(index=i, text=text) for i, text in enumerate(answers)),
            )
        case Blanks(blanks=blanks):
            shown = BLANK_MARK.sub(lambda found: f"…({found[1]})", question.text)
            gaps = tuple(
                tuple(Option(index=i, text=choice.text) for i, choice in enumerate(blank.choices))
                for blank in blanks
            )
            return replace(base, text=shown, gaps=gaps)
        case Numeric(units=units):
            return replace(base, units=tuple(units))
        case TrueFalse() | Short() | Open() | Description():
            return base


class MarkedAnswer(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    state: State
    points: str  # earned, as a decimal string ("0.5")
    out_of: int
    feedback: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # Préau's sentences, translated


class AttemptView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    exercise_id: int
    homework_id: int
    title: str
    number: int
    attempts_allowed: int | None
    started_at: datetime
    ends_at: datetime | None
    submitted_at: datetime | None
    questions: tuple[Presented, ...]
    answers: dict[int, Answer]  # saved so far, by position
    # Once handed in:
    earned: str | None = None
    total: int | None = None
    out_of_20: str | None = None
    pending: int | None = None
    marked: tuple[MarkedAnswer, ...] = ()


class ExerciseView(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    homework_id: int
    title: str
    policy: Policy
    question_count: int
    total: int
    attempts_used: int = 0  # the reader's own, for a pupil
    open_attempt_id: int | None = None
    best_out_of_20: str | None = None
    questions: tuple[Question, ...] | None = None  # with their answers: the teachers only
    pictures: dict[int, str] = msgspec.field(default_factory=dict)  # descriptions by position


class PupilResult(msgspec.Struct, frozen=True, kw_only=True):
    pupil_id: int
    name: str
    attempts: int
    attempt_id: int | None  # the attempt that counts
    out_of_20: str | None  # the attempt that counts
    pending: int
    per_question: tuple[str | None, ...]  # fraction earned ("1", "0.5"), None: not answered


class QuestionResult(msgspec.Struct, frozen=True, kw_only=True):
    position: int
    title: str
    answered: int
    right: int
    common_wrong: tuple[tuple[str, int], ...]  # the wrong answers given most, with counts


class ResultsTable(msgspec.Struct, frozen=True, kw_only=True):
    exercise_id: int
    homework_id: int
    title: str
    pupils: tuple[PupilResult, ...]
    questions: tuple[QuestionResult, ...]


def decimal_text(value: Fraction, places: int = 2) -> str:
    """An exact fraction rounded half up, as "12.5" (no trailing zeros)."""
    scaled = value * 10**places
    rounded = (scaled.numerator * 2 + scaled.denominator) // (2 * scaled.denominator)
    whole, part = divmod(rounded, 10**places)
    if part == 0:
        return str(whole)
    return f"{whole}.{str(part).rjust(places, '0').rstrip('0')}"


def said(question: Question, answer: Answer) -> str:
    """A short text of what was answered, to count the common wrong answers."""
    match question:
        case SingleChoice(choices=choices) | MultipleChoice(choices=choices):
            return " + ".join(choices[i].text for i in sorted(answer.chosen) if i < len(choices))
        case TrueFalse():
            return {True: "true", False: "false", None: ""}[answer.truth]
        case Blanks():
            return " / ".join(answer.texts)
        case Ordering(items=items):
            return " → ".join(items[i] for i in answer.order if i < len(items))
        case Matching(pairs=pairs):
            options = answer_options(question)
            return " ; ".join(
                f"{pair.prompt} → {options[i] if 0 <= i < len(options) else '—'}"
                for pair, i in zip(pairs, answer.matches, strict=False)
            )
        case _:
            return " ".join(answer.text.split())[:80]


def question_results(
    questions: Sequence[Question],
    counted: Mapping[int, tuple[Result, Mapping[int, Answer]]],
) -> tuple[QuestionResult, ...]:
    """Per question, over the attempt that counts of each pupil: how many answered, how
    many got it right, and the three wrong answers given most."""
    table = []
    for position, question in enumerate(questions):
        answered = right = 0
        wrong: Counter[str] = Counter()
        for result, answers in counted.values():
            marked = result.marked[position]
            if marked.state is State.UNANSWERED:
                continue
            answered += 1
            if marked.state is State.RIGHT:
                right += 1
            elif marked.state is State.WRONG and position in answers:
                wrong[said(question, answers[position])] += 1
        table.append(
            QuestionResult(
                position=position,
                title=question.title or question.text[:60],
                answered=answered,
                right=right,
                common_wrong=tuple(wrong.most_common(3)),
            )
        )
    return tuple(table)
