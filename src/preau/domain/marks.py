"""The marks book (carnet de notes): evaluations, marks, terms and averages, as French
schools count them. Pure: dates, settings and marks are passed in.

Averages are computed exactly (``Fraction``) and rounded half up to two decimals only to
be shown (docs/marks.md). Marks and coefficients are kept as whole hundredths, so what a
teacher typed ("15,25") comes back exactly.
"""

from __future__ import annotations

import enum
import itertools
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

import msgspec

from preau.domain.bounds import Id, Ids, Input
from preau.domain.errors import InvalidInput
from preau.domain.people import check_name
from preau.domain.skills import check_marked_or_skills


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


EVALUATION_NOT_FOUND = lazy("This evaluation does not exist or is not in your school.")
PUPIL_NOT_FOUND = lazy("This pupil does not exist or is not in your school.")
NOT_YOUR_CLASS = lazy("Only the teachers of this class or group can see or change its marks.")
READ_ONLY = lazy("You can read these marks but not change them.")
BAD_TOTAL = lazy("The total is a number above 0 and at most 1000, like 20 or 10.")
BAD_COEFFICIENT = lazy(
    "A coefficient is a number from 0 to 100, with at most two decimals, like 1 or 0.5."
)
BAD_MARK = lazy(
    "Write a mark as a number like 15 or 15,5, or abs (absent), disp (exempt) "
    "or nr (not handed in)."
)

SCALE = 20  # French marks are read out of 20: every average is brought to that scale
MAX_OUT_OF = Decimal(1000)
MAX_COEFFICIENT = Decimal(100)
HUNDREDTHS = 100


class Special(enum.StrEnum):
    """A mark that is not a number. None of them counts in an average, except "not handed
    in", which counts as 0 where the school says so (``MarksSettings``)."""

    ABSENT = "absent"  # absent the day of the evaluation
    EXEMPT = "exempt"  # dispensé: excused from it
    NOT_HANDED_IN = "not_handed_in"  # non rendu


class TermKind(enum.StrEnum):
    TRIMESTER = "trimester"  # three terms (collège, most lycées)
    SEMESTER = "semester"  # two terms


TERMS_IN_A_YEAR = {TermKind.TRIMESTER: 3, TermKind.SEMESTER: 2}

# What a teacher may type in a cell for each special value (lower case, accents kept):
# Pronote's abbreviations, the words in French and English.
SPECIAL_CODES: dict[str, Special] = {
    **dict.fromkeys(("abs", "a", "absent", "absente"), Special.ABSENT),
    **dict.fromkeys(
        ("disp", "d", "dispensé", "dispensée", "dispense", "exempt", "ex"), Special.EXEMPT
    ),
    **dict.fromkeys(
        ("nr", "n.rdu", "n", "non rendu", "not handed in", "not_handed_in"), Special.NOT_HANDED_IN
    ),
}

NUMBER = re.compile(r"^\d{1,4}(?:[.,]\d{1,2})?$")


# -- what is stored and shown --------------------------------------------------------------


class MarksSettings(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A school's way of counting. A school without a row has these defaults."""

    term_kind: TermKind = TermKind.TRIMESTER
    not_handed_in_counts_as_zero: bool = False
    # Coefficients of subjects in the general average; a subject not listed counts 1.
    subject_coefficients: dict[str, Decimal] = msgspec.field(default_factory=dict)


class TermDraft(Input, kw_only=True):
    name: str
    starts_on: date
    ends_on: date


class TermsDraft(Input, kw_only=True):
    """All the terms of one school year, set at once: their number follows ``term_kind``."""

    school_year_id: Id
    term_kind: TermKind
    terms: list[TermDraft]


class Term(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    school_year_id: int
    position: int  # 1, 2, 3 in the year
    name: str
    starts_on: date
    ends_on: date


class EvaluationDraft(Input, kw_only=True):
    group_id: Id
    subject: str
    title: str
    day: date
    out_of: Decimal = Decimal(20)
    coefficient: Decimal = Decimal(1)
    homework_id: Id | None = None  # a returned hand-in's mark lands in this evaluation
    # Skills (docs/skills.md): those it assesses; ``marked: false`` for skills only, with
    # no total and no coefficient (both 0), in no grid of marks and no average.
    marked: bool = True
    skill_ids: Ids = msgspec.field(default_factory=list)


class EvaluationChanges(Input, kw_only=True):
    """Only the fields given change; ``homework_id: null`` removes the link."""

    subject: str | msgspec.UnsetType = msgspec.UNSET
    title: str | msgspec.UnsetType = msgspec.UNSET
    day: date | msgspec.UnsetType = msgspec.UNSET
    out_of: Decimal | msgspec.UnsetType = msgspec.UNSET
    coefficient: Decimal | msgspec.UnsetType = msgspec.UNSET
    homework_id: int | msgspec.UnsetType | None = msgspec.UNSET
    skill_ids: list[int] | msgspec.UnsetType = msgspec.UNSET  # all of them, in order


class Evaluation(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    group_id: int
    group_name: str
    subject: str
    title: str
    day: date
    out_of: Decimal
    coefficient: Decimal
    homework_id: int | None
    teacher_id: int
    teacher_name: str
    marked: bool = True  # False: skills only, no mark (``out_of`` and ``coefficient`` 0)
    # The skills it assesses: given when one evaluation is read, created or changed; not
    # loaded in a grid's columns (the levels grid lists them: docs/skills.md).
    skill_ids: list[int] = msgspec.field(default_factory=list)


class Mark(msgspec.Struct, frozen=True, kw_only=True):
    """One pupil's result: points, or a special value. No row at all: not marked yet."""

    points: Decimal | None = None
    special: Special | None = None


class MarkEntry(Input, kw_only=True):
    """One cell of a column: a number (``15.5``), text as typed in the grid (``"15,5"``,
    ``"abs"``, ``"disp"``, ``"nr"``, or ``"absent"``, ``"exempt"``, ``"not_handed_in"``),
    or ``null`` / ``""`` to clear it."""

    pupil_id: Id
    value: str | float | None = None


class MarksColumn(Input, kw_only=True):
    marks: list[MarkEntry]


# -- checks --------------------------------------------------------------------------------


def to_hundredths(value: Decimal) -> int:
    return int(value * HUNDREDTHS)


def from_hundredths(value: int) -> Decimal:
    return (Decimal(value) / HUNDREDTHS).normalize() + 0  # "+ 0" turns -0 and 2E+1 into 0, 20


def parse_number(value: str | float | Decimal, field: str, sentence: str) -> Decimal:
    """A non-negative number with at most two decimals, with a comma or a dot."""
    text = str(value).strip().replace("\u202f", "").replace("\xa0", "").replace(" ", "")
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    if not NUMBER.match(text):
        raise InvalidInput(sentence, field=field)
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern above only lets numbers in
        raise InvalidInput(sentence, field=field) from None


def check_out_of(value: Decimal | float | str) -> Decimal:
    out_of = parse_number(value, "out_of", BAD_TOTAL)
    if not 0 < out_of <= MAX_OUT_OF:
        raise InvalidInput(BAD_TOTAL, field="out_of")
    return out_of


def check_coefficient(value: Decimal | float | str, field: str = "coefficient") -> Decimal:
    coefficient = parse_number(value, field, BAD_COEFFICIENT)
    if coefficient > MAX_COEFFICIENT:
        raise InvalidInput(BAD_COEFFICIENT, field=field)
    return coefficient


def check_title(value: str) -> str:
    title = " ".join(value.split())
    if not title:
        raise InvalidInput("Give the evaluation a title.", field="title")
    if len(title) > 200:
        raise InvalidInput("A title is at most 200 characters.", field="title")
    return title


SKILLS_ONLY = lazy("This evaluation assesses skills only: it has no mark, total or coefficient.")


def check_evaluation(draft: EvaluationDraft) -> EvaluationDraft:
    """The fields checked; an evaluation of skills only gets a total and coefficient of 0."""
    skill_ids = check_marked_or_skills(marked=draft.marked, skill_ids=draft.skill_ids)
    return msgspec.structs.replace(
        draft,
        subject=check_name(draft.subject, "subject"),
        title=check_title(draft.title),
        out_of=check_out_of(draft.out_of) if draft.marked else Decimal(0),
        coefficient=check_coefficient(draft.coefficient) if draft.marked else Decimal(0),
        skill_ids=skill_ids,
    )


def parse_mark(value: str | float | None, out_of: Decimal, field: str = "value") -> Mark | None:
    """What a teacher typed in a cell, checked against the evaluation's total. ``None``
    means the cell is empty: the pupil has no mark."""
    if value is None:
        return None
    if isinstance(value, str):
        text = " ".join(value.split()).lower()
        if not text:
            return None
        special = SPECIAL_CODES.get(text)
        if special is not None:
            return Mark(special=special)
    points = parse_number(value, field, BAD_MARK)
    if points > out_of:
        raise InvalidInput(
            "A mark cannot be above the evaluation's total of {out_of}.",
            field=field,
            out_of=format(out_of.normalize(), "f"),
        )
    return Mark(points=points)


def check_terms(draft: TermsDraft, *, year_starts: date, year_ends: date) -> list[TermDraft]:
    """The year's terms, in order: as many as the kind says, each inside the school year,
    none overlapping the next."""
    expected = TERMS_IN_A_YEAR[draft.term_kind]
    if len(draft.terms) != expected:
        raise InvalidInput(
            "A school year has {count} terms of this kind: give all of them.",
            field="terms",
            count=expected,
        )
    terms = sorted(
        (msgspec.structs.replace(term, name=check_name(term.name, "name")) for term in draft.terms),
        key=lambda term: term.starts_on,
    )
    for term in terms:
        if term.ends_on < term.starts_on:
            raise InvalidInput("A term ends after it starts.", field="terms")
        if term.starts_on < year_starts or term.ends_on > year_ends:
            raise InvalidInput(
                "Every term is inside the school year, from {starts} to {ends}.",
                field="terms",
                starts=year_starts.isoformat(),
                ends=year_ends.isoformat(),
            )
    for earlier, later in itertools.pairwise(terms):
        if later.starts_on <= earlier.ends_on:
            raise InvalidInput(
                "Terms cannot overlap: {first} ends after {second} starts.",
                field="terms",
                first=earlier.name,
                second=later.name,
            )
    return terms


def term_of(terms: Sequence[Term], day: date) -> Term | None:
    return next((term for term in terms if term.starts_on <= day <= term.ends_on), None)


def current_term(terms: Sequence[Term], today: date) -> Term | None:
    """The term of ``today``; between terms, the one that ended last; before the first,
    the first."""
    if not terms:
        return None
    found = term_of(terms, today)
    if found is not None:
        return found
    ended = [term for term in terms if term.ends_on < today]
    return max(ended, key=lambda term: term.ends_on) if ended else terms[0]


# -- averages ------------------------------------------------------------------------------


def counted_points(mark: Mark | None, *, not_handed_in_counts_as_zero: bool) -> Decimal | None:
    """The points a mark counts for in an average, or None when it does not count."""
    if mark is None:
        return None
    if mark.special is None:
        return mark.points
    if mark.special is Special.NOT_HANDED_IN and not_handed_in_counts_as_zero:
        return Decimal(0)
    return None


def on_scale(points: Decimal, out_of: Decimal) -> Fraction:
    """A mark brought to the scale of 20 (7/10 is 14/20), exactly."""
    return Fraction(points) * SCALE / Fraction(out_of)


def weighted_average(items: Iterable[tuple[Fraction, Fraction]]) -> Fraction | None:
    """Σ value × weight / Σ weight over (value, weight) pairs; None if nothing weighs."""
    total = Fraction(0)
    weights = Fraction(0)
    for value, weight in items:
        total += value * weight
        weights += weight
    return total / weights if weights else None


def subject_average(
    results: Iterable[tuple[Evaluation, Mark | None]], *, not_handed_in_counts_as_zero: bool
) -> Fraction | None:
    """A pupil's average in one subject, out of 20: each counted mark on the scale of 20,
    weighted by its evaluation's coefficient."""
    items: list[tuple[Fraction, Fraction]] = []
    for evaluation, mark in results:
        points = counted_points(mark, not_handed_in_counts_as_zero=not_handed_in_counts_as_zero)
        if points is not None:
            items.append((on_scale(points, evaluation.out_of), Fraction(evaluation.coefficient)))
    return weighted_average(items)


def general_average(
    averages: Mapping[str, Fraction | None], coefficients: Mapping[str, Decimal]
) -> Fraction | None:
    """The general average: subject averages weighted by the subjects' coefficients (1
    unless the school says otherwise); subjects without an average do not count."""
    return weighted_average(
        (average, Fraction(coefficients.get(subject, Decimal(1))))
        for subject, average in averages.items()
        if average is not None
    )


class Spread(msgspec.Struct, frozen=True, kw_only=True):
    """Average, lowest and highest of a class, rounded for showing."""

    average: Decimal | None = None
    minimum: Decimal | None = None
    maximum: Decimal | None = None


def spread(values: Iterable[Fraction | None]) -> Spread:
    found = [value for value in values if value is not None]
    if not found:
        return Spread()
    return Spread(
        average=round_half_up(sum(found, Fraction(0)) / len(found)),
        minimum=round_half_up(min(found)),
        maximum=round_half_up(max(found)),
    )


def round_half_up(value: Fraction, places: int = 2) -> Decimal:
    """Round to ``places`` decimals, halves away from zero (12,345 → 12,35): the rounding
    people expect on a report card, not the banker's rounding of ``round``."""
    scaled = abs(value) * 10**places
    whole = math.floor(scaled + Fraction(1, 2))
    return (Decimal(-whole if value < 0 else whole)).scaleb(-places)


def maybe_rounded(value: Fraction | None) -> Decimal | None:
    return None if value is None else round_half_up(value)


# -- views ---------------------------------------------------------------------------------


class MarkLine(msgspec.Struct, kw_only=True):
    evaluation_id: int
    title: str
    day: date
    out_of: Decimal
    coefficient: Decimal
    points: Decimal | None
    special: Special | None
    class_average: Decimal | None  # on the evaluation's own scale


class SubjectLine(msgspec.Struct, kw_only=True):
    subject: str
    coefficient: Decimal
    teachers: list[str]
    marks: list[MarkLine]
    average: Decimal | None  # out of 20
    class_average: Decimal | None
    class_minimum: Decimal | None
    class_maximum: Decimal | None


class ReportCard(msgspec.Struct, kw_only=True):
    """One pupil's marks and averages for a term (or the whole year when the school has
    no terms), with the class's average, lowest and highest next to each."""

    pupil_id: int
    pupil_name: str
    term: Term | None
    terms: list[Term]
    subjects: list[SubjectLine]
    general_average: Decimal | None
    class_general_average: Decimal | None
    class_general_minimum: Decimal | None
    class_general_maximum: Decimal | None
    not_handed_in_counts_as_zero: bool


class GridColumn(msgspec.Struct, kw_only=True):
    evaluation: Evaluation
    average: Decimal | None  # on the evaluation's own scale
    minimum: Decimal | None
    maximum: Decimal | None


class GridRow(msgspec.Struct, kw_only=True):
    pupil_id: int
    pupil_name: str
    marks: list[Mark | None]  # one per column, in the columns' order
    average: Decimal | None  # out of 20, in this subject


class Grid(msgspec.Struct, kw_only=True):
    """A class or group's marks in one subject for one term: a column per evaluation, a
    row per pupil."""

    group_id: int
    group_name: str
    subject: str
    subjects: list[str]
    term: Term | None
    terms: list[Term]
    columns: list[GridColumn]
    rows: list[GridRow]
    average: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None
    can_change: bool


class EvaluationView(msgspec.Struct, kw_only=True):
    """An evaluation with the marks the reader may see: the whole class for its teachers
    and the school's staff, one's own (or one's children's) for pupils and parents."""

    evaluation: Evaluation
    marks: dict[int, Mark]  # pupil id -> mark
    pupils: dict[int, str]  # pupil id -> name, for the marks shown
    average: Decimal | None
    minimum: Decimal | None
    maximum: Decimal | None
    can_change: bool


class AuditEntry(msgspec.Struct, kw_only=True):
    change: str  # created, edited, deleted, mark, hand_in
    pupil_id: int | None
    actor_id: int
    actor_name: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    changed_at: datetime


def evaluation_spread(
    evaluation: Evaluation, marks: Iterable[Mark | None], *, not_handed_in_counts_as_zero: bool
) -> Spread:
    """The class's average, lowest and highest mark on one evaluation, on its own scale."""
    return spread(
        Fraction(points)
        for mark in marks
        if (
            points := counted_points(
                mark, not_handed_in_counts_as_zero=not_handed_in_counts_as_zero
            )
        )
        is not None
    )


def build_grid(
    *,
    group_id: int,
    group_name: str,
    subject: str,
    subjects: list[str],
    term: Term | None,
    terms: list[Term],
    evaluations: Sequence[Evaluation],
    pupils: Sequence[tuple[int, str]],
    marks: Mapping[tuple[int, int], Mark],  # (evaluation id, pupil id) -> mark
    settings: MarksSettings,
    can_change: bool,
) -> Grid:
    zero = settings.not_handed_in_counts_as_zero
    columns = []
    for evaluation in evaluations:
        found = evaluation_spread(
            evaluation,
            (marks.get((evaluation.id, pupil_id)) for pupil_id, _ in pupils),
            not_handed_in_counts_as_zero=zero,
        )
        columns.append(
            GridColumn(
                evaluation=evaluation,
                average=found.average,
                minimum=found.minimum,
                maximum=found.maximum,
            )
        )
    rows = []
    averages: list[Fraction | None] = []
    for pupil_id, name in pupils:
        cells = [marks.get((evaluation.id, pupil_id)) for evaluation in evaluations]
        average = subject_average(
            zip(evaluations, cells, strict=True), not_handed_in_counts_as_zero=zero
        )
        averages.append(average)
        rows.append(
            GridRow(pupil_id=pupil_id, pupil_name=name, marks=cells, average=maybe_rounded(average))
        )
    overall = spread(averages)
    return Grid(
        group_id=group_id,
        group_name=group_name,
        subject=subject,
        subjects=subjects,
        term=term,
        terms=terms,
        columns=columns,
        rows=rows,
        average=overall.average,
        minimum=overall.minimum,
        maximum=overall.maximum,
        can_change=can_change,
    )


def build_report_card(
    *,
    pupil_id: int,
    pupil_name: str,
    term: Term | None,
    terms: list[Term],
    evaluations: Sequence[Evaluation],  # the evaluations of the pupil's groups in the term
    marks: Mapping[tuple[int, int], Mark],  # of every pupil marked on them
    settings: MarksSettings,
) -> ReportCard:
    """The pupil's report card. The class figures of a subject compare like with like:
    each classmate's average over the same evaluations, among those who have one."""
    zero = settings.not_handed_in_counts_as_zero
    by_subject: dict[str, list[Evaluation]] = {}
    for evaluation in sorted(evaluations, key=lambda item: (item.day, item.id)):
        by_subject.setdefault(evaluation.subject, []).append(evaluation)
    classmates = sorted({pupil for _evaluation, pupil in marks})
    subjects: list[SubjectLine] = []
    own: dict[str, Fraction | None] = {}
    everyone: dict[int, dict[str, Fraction | None]] = {pupil: {} for pupil in classmates}
    for subject in sorted(by_subject, key=str.casefold):
        chosen = by_subject[subject]
        lines = []
        for evaluation in chosen:
            mark = marks.get((evaluation.id, pupil_id))
            found = evaluation_spread(
                evaluation,
                (marks.get((evaluation.id, other)) for other in classmates),
                not_handed_in_counts_as_zero=zero,
            )
            lines.append(
                MarkLine(
                    evaluation_id=evaluation.id,
                    title=evaluation.title,
                    day=evaluation.day,
                    out_of=evaluation.out_of,
                    coefficient=evaluation.coefficient,
                    points=mark.points if mark else None,
                    special=mark.special if mark else None,
                    class_average=found.average,
                )
            )
        for other in classmates:
            everyone[other][subject] = subject_average(
                ((evaluation, marks.get((evaluation.id, other))) for evaluation in chosen),
                not_handed_in_counts_as_zero=zero,
            )
        own[subject] = subject_average(
            ((evaluation, marks.get((evaluation.id, pupil_id))) for evaluation in chosen),
            not_handed_in_counts_as_zero=zero,
        )
        class_figures = spread(everyone[other][subject] for other in classmates)
        subjects.append(
            SubjectLine(
                subject=subject,
                coefficient=settings.subject_coefficients.get(subject, Decimal(1)),
                teachers=sorted({evaluation.teacher_name for evaluation in chosen}),
                marks=lines,
                average=maybe_rounded(own[subject]),
                class_average=class_figures.average,
                class_minimum=class_figures.minimum,
                class_maximum=class_figures.maximum,
            )
        )
    coefficients = settings.subject_coefficients
    general = spread(general_average(everyone[other], coefficients) for other in classmates)
    return ReportCard(
        pupil_id=pupil_id,
        pupil_name=pupil_name,
        term=term,
        terms=terms,
        subjects=subjects,
        general_average=maybe_rounded(general_average(own, coefficients)),
        class_general_average=general.average,
        class_general_minimum=general.minimum,
        class_general_maximum=general.maximum,
        not_handed_in_counts_as_zero=zero,
    )


def scaled_hand_in_mark(mark: float, mark_out_of: float, out_of: Decimal) -> Decimal:
    """A returned hand-in's mark brought to its evaluation's total (7/10 in an evaluation
    out of 20 is 14), rounded half up to two decimals."""
    exact = Fraction(Decimal(str(mark))) * Fraction(out_of) / Fraction(Decimal(str(mark_out_of)))
    return min(round_half_up(exact), out_of)
