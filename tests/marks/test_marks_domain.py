"""Pure rules of the marks book: typing marks, terms, averages with coefficients and special
values, rounding, and who may see what. No database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preau.domain.access import Action, Decision, marks_decision, report_card_decision
from preau.domain.errors import InvalidInput
from preau.domain.marks import (
    Evaluation,
    Mark,
    MarksSettings,
    Special,
    Term,
    TermDraft,
    TermKind,
    TermsDraft,
    build_report_card,
    check_coefficient,
    check_out_of,
    check_terms,
    current_term,
    from_hundredths,
    general_average,
    parse_mark,
    round_half_up,
    scaled_hand_in_mark,
    subject_average,
    to_hundredths,
)
from preau.domain.people import Actor, Profile

TWENTY = Decimal(20)


def evaluation(
    number: int = 1,
    *,
    out_of: Decimal = TWENTY,
    coefficient: Decimal = Decimal(1),
    subject: str = "Maths",
) -> Evaluation:
    return Evaluation(
        id=number,
        group_id=1,
        group_name="6e A",
        subject=subject,
        title=f"Évaluation {number}",
        day=date(2026, 11, number % 28 + 1),
        out_of=out_of,
        coefficient=coefficient,
        homework_id=None,
        teacher_id=9,
        teacher_name="Julien Martin",
    )


def points(value: str) -> Mark:
    return Mark(points=Decimal(value))


# -- typing marks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("15,5", points("15.5")),
        (" 15.25 ", points("15.25")),
        ("0", points("0")),
        ("20", points("20")),
        (12, points("12")),
        (12.5, points("12.5")),
        ("abs", Mark(special=Special.ABSENT)),
        ("ABS", Mark(special=Special.ABSENT)),
        ("disp", Mark(special=Special.EXEMPT)),
        ("Dispensé", Mark(special=Special.EXEMPT)),
        ("nr", Mark(special=Special.NOT_HANDED_IN)),
        ("not_handed_in", Mark(special=Special.NOT_HANDED_IN)),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_what_a_teacher_types_in_a_cell(typed: str | float | None, expected: Mark | None) -> None:
    assert parse_mark(typed, TWENTY) == expected


@pytest.mark.parametrize("typed", ["20,5", "21", "-1", "15,125", "quinze", "1e3", "15,5,5", 20.01])
def test_a_cell_that_is_not_a_mark_is_refused_with_a_sentence(typed: str | float) -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_mark(typed, TWENTY, "marks.1.2")
    assert refused.value.field == "marks.1.2"
    assert refused.value.message.endswith(".")


def test_totals_and_coefficients_are_checked() -> None:
    assert check_out_of("10") == Decimal(10)
    assert check_coefficient("0,5") == Decimal("0.5")
    assert check_coefficient(0) == 0  # a formative evaluation: shown, never counted
    for bad_total in ("0", "-20", "1001", "vingt"):
        with pytest.raises(InvalidInput):
            check_out_of(bad_total)
    for bad_coefficient in ("-1", "101", "0,125"):
        with pytest.raises(InvalidInput):
            check_coefficient(bad_coefficient)


@given(st.integers(min_value=0, max_value=100_000))
def test_hundredths_keep_exactly_what_was_typed(hundredths: int) -> None:
    assert to_hundredths(from_hundredths(hundredths)) == hundredths


# -- terms ----------------------------------------------------------------------------------


def trimesters(*days: tuple[str, str]) -> TermsDraft:
    return TermsDraft(
        school_year_id=1,
        term_kind=TermKind.TRIMESTER,
        terms=[
            TermDraft(name=f"T{n}", starts_on=date.fromisoformat(a), ends_on=date.fromisoformat(b))
            for n, (a, b) in enumerate(days, start=1)
        ],
    )


YEAR = {"year_starts": date(2026, 9, 1), "year_ends": date(2027, 7, 4)}


def test_terms_inside_the_year_in_any_order_are_accepted_and_sorted() -> None:
    checked = check_terms(
        trimesters(
            ("2027-03-07", "2027-07-04"), ("2026-09-01", "2026-11-30"), ("2026-12-01", "2027-03-06")
        ),
        **YEAR,
    )
    assert [term.name for term in checked] == ["T2", "T3", "T1"]


@pytest.mark.parametrize(
    "days",
    [
        # overlapping: the second starts before the first ends
        (("2026-09-01", "2026-12-05"), ("2026-12-01", "2027-03-06"), ("2027-03-07", "2027-07-04")),
        # outside the school year
        (("2026-08-20", "2026-11-30"), ("2026-12-01", "2027-03-06"), ("2027-03-07", "2027-07-04")),
        (("2026-09-01", "2026-11-30"), ("2026-12-01", "2027-03-06"), ("2027-03-07", "2027-07-10")),
        # ends before it starts
        (("2026-11-30", "2026-09-01"), ("2026-12-01", "2027-03-06"), ("2027-03-07", "2027-07-04")),
        # two terms for trimesters
        (("2026-09-01", "2027-01-31"), ("2027-02-01", "2027-07-04")),
    ],
)
def test_bad_terms_are_refused(days: tuple[tuple[str, str], ...]) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_terms(trimesters(*days), **YEAR)
    assert refused.value.field == "terms"


def test_the_current_term() -> None:
    terms = [
        Term(id=n, school_year_id=1, position=n, name=f"T{n}", starts_on=a, ends_on=b)
        for n, (a, b) in enumerate(
            [(date(2026, 9, 1), date(2026, 11, 30)), (date(2026, 12, 7), date(2027, 3, 6))], 1
        )
    ]
    assert current_term(terms, date(2026, 10, 1)) == terms[0]
    assert current_term(terms, date(2026, 12, 3)) == terms[0]  # between terms: the last ended
    assert current_term(terms, date(2026, 8, 1)) == terms[0]  # before the first
    assert current_term(terms, date(2027, 7, 1)) == terms[1]
    assert current_term([], date(2026, 10, 1)) is None


# -- averages -------------------------------------------------------------------------------


def test_a_subject_average_brings_marks_to_20_and_weighs_them() -> None:
    results = [
        (evaluation(1), points("12")),
        (evaluation(2, out_of=Decimal(10), coefficient=Decimal(2)), points("8")),  # 16/20 × 2
        (evaluation(3), Mark(special=Special.ABSENT)),
        (evaluation(4), Mark(special=Special.EXEMPT)),
        (evaluation(5), Mark(special=Special.NOT_HANDED_IN)),
        (evaluation(6), None),
    ]
    assert subject_average(results, not_handed_in_counts_as_zero=False) == Fraction(44, 3)
    # Counting "not handed in" as 0 adds a 0 of coefficient 1: (12 + 32 + 0) / 4.
    assert subject_average(results, not_handed_in_counts_as_zero=True) == 11


def test_no_counted_mark_means_no_average() -> None:
    only_special = [(evaluation(1), Mark(special=Special.ABSENT)), (evaluation(2), None)]
    assert subject_average(only_special, not_handed_in_counts_as_zero=True) is None
    weightless = [(evaluation(1, coefficient=Decimal(0)), points("12"))]
    assert subject_average(weightless, not_handed_in_counts_as_zero=False) is None


def test_the_general_average_weighs_subjects() -> None:
    averages = {"Maths": Fraction(12), "Français": Fraction(15), "Latin": None}
    assert general_average(averages, {}) == Fraction(27, 2)
    assert general_average(averages, {"Maths": Decimal(2)}) == 13
    assert general_average({"Latin": None}, {}) is None


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Fraction(12345, 1000), "12.35"),  # half up, where round() would give 12.34
        (Fraction(12335, 1000), "12.34"),
        (Fraction(44, 3), "14.67"),
        (Fraction(29, 2), "14.50"),
        (Fraction(0), "0.00"),
        (Fraction(-12345, 1000), "-12.35"),
    ],
)
def test_rounding_is_half_up_to_two_decimals(value: Fraction, shown: str) -> None:
    assert str(round_half_up(value)) == shown


def test_a_returned_hand_in_mark_is_brought_to_the_evaluation_total() -> None:
    assert scaled_hand_in_mark(7, 10, Decimal(20)) == Decimal("14.00")
    assert scaled_hand_in_mark(13, 20, Decimal(20)) == Decimal("13.00")
    assert scaled_hand_in_mark(1, 3, Decimal(20)) == Decimal("6.67")


marks_on_twenty = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=2000),  # hundredths of points out of 20
        st.integers(min_value=1, max_value=500),  # hundredths of coefficient
    ),
    min_size=1,
    max_size=12,
)


def results_of(
    items: list[tuple[int, int]], scale: Fraction = Fraction(1)
) -> list[tuple[Evaluation, Mark | None]]:
    return [
        (
            evaluation(number, coefficient=from_hundredths(weight)),
            Mark(points=Decimal(hundredths * scale.numerator) / (100 * scale.denominator)),
        )
        for number, (hundredths, weight) in enumerate(items, start=1)
    ]


@given(marks_on_twenty, st.sampled_from([Fraction(1, 2), Fraction(1, 4), Fraction(1, 5)]))
def test_scaling_every_mark_scales_the_average(items: list[tuple[int, int]], k: Fraction) -> None:
    plain = subject_average(results_of(items), not_handed_in_counts_as_zero=False)
    scaled = subject_average(results_of(items, k), not_handed_in_counts_as_zero=False)
    assert plain is not None
    assert scaled == plain * k


@given(marks_on_twenty, st.lists(st.sampled_from(list(Special)), max_size=5), st.booleans())
def test_exempt_and_absent_never_change_an_average(
    items: list[tuple[int, int]], specials: list[Special], zero: bool
) -> None:
    results = results_of(items)
    extra: list[tuple[Evaluation, Mark | None]] = [
        (evaluation(100 + n), Mark(special=special))
        for n, special in enumerate(specials)
        if special is not Special.NOT_HANDED_IN
    ]
    assert subject_average(results + extra, not_handed_in_counts_as_zero=zero) == subject_average(
        results, not_handed_in_counts_as_zero=zero
    )


@given(marks_on_twenty)
def test_an_average_lies_between_the_lowest_and_highest_mark(items: list[tuple[int, int]]) -> None:
    average = subject_average(results_of(items), not_handed_in_counts_as_zero=False)
    values = [Fraction(hundredths, 100) for hundredths, _weight in items]
    assert average is not None
    assert min(values) <= average <= max(values)


@given(marks_on_twenty, st.randoms())
def test_the_order_of_evaluations_does_not_matter(
    items: list[tuple[int, int]], random: object
) -> None:
    results = results_of(items)
    shuffled = list(results)
    random.shuffle(shuffled)  # type: ignore[attr-defined]  # hypothesis's Random
    assert subject_average(shuffled, not_handed_in_counts_as_zero=False) == subject_average(
        results, not_handed_in_counts_as_zero=False
    )


@given(st.fractions(min_value=0, max_value=20))
def test_rounding_is_never_more_than_half_a_hundredth_away(value: Fraction) -> None:
    assert abs(Fraction(round_half_up(value)) - value) <= Fraction(1, 200)


# -- the report card ------------------------------------------------------------------------


def test_a_report_card_compares_the_pupil_with_the_class() -> None:
    maths = [evaluation(1), evaluation(2, coefficient=Decimal(2))]
    french = [evaluation(3, subject="Français")]
    marks = {
        (1, 10): points("10"),
        (2, 10): points("16"),  # pupil 10: maths (10 + 32) / 3 = 14
        (3, 10): points("12"),
        (1, 11): points("18"),
        (2, 11): Mark(special=Special.EXEMPT),  # pupil 11: maths 18
        (3, 11): Mark(special=Special.ABSENT),  # no French average
        (1, 12): points("6"),  # pupil 12: maths 6, nothing else
    }
    card = build_report_card(
        pupil_id=10,
        pupil_name="Léa Dubois",
        term=None,
        terms=[],
        evaluations=maths + french,
        marks=marks,
        settings=MarksSettings(subject_coefficients={"Maths": Decimal(3)}),
    )
    by_subject = {line.subject: line for line in card.subjects}
    assert list(by_subject) == ["Français", "Maths"]
    assert by_subject["Maths"].average == Decimal("14.00")
    assert (
        by_subject["Maths"].class_average,
        by_subject["Maths"].class_minimum,
        by_subject["Maths"].class_maximum,
    ) == (Decimal("12.67"), Decimal("6.00"), Decimal("18.00"))
    assert by_subject["Maths"].coefficient == 3
    assert [line.class_average for line in by_subject["Maths"].marks] == [
        Decimal("11.33"),
        Decimal("16.00"),
    ]
    assert by_subject["Français"].class_average == Decimal("12.00")
    # (14 × 3 + 12) / 4 = 13.5; the class: 13.5, 18 (maths only) and 6.
    assert card.general_average == Decimal("13.50")
    assert (card.class_general_minimum, card.class_general_maximum) == (
        Decimal("6.00"),
        Decimal("18.00"),
    )


# -- who may do what ------------------------------------------------------------------------


def actor(profile: Profile, school: int = 1, person: int = 5) -> Actor:
    return Actor(person_id=person, school_id=school, profile=profile)


@pytest.mark.parametrize(
    ("profile", "teaches", "member", "whole_class", "action", "expected"),
    [
        (Profile.TEACHER, True, False, True, Action.CHANGE, Decision.ALLOW),
        (Profile.TEACHER, False, False, True, Action.READ, Decision.FORBID),
        (Profile.STAFF, False, False, True, Action.READ, Decision.ALLOW),
        (Profile.ADMIN, False, False, True, Action.CHANGE, Decision.FORBID),
        (Profile.PUPIL, False, True, False, Action.READ, Decision.ALLOW),
        (Profile.PUPIL, False, True, True, Action.READ, Decision.FORBID),
        (Profile.PUPIL, False, True, False, Action.CHANGE, Decision.FORBID),
        (Profile.PUPIL, False, False, False, Action.READ, Decision.HIDE),
        (Profile.PARENT, False, True, False, Action.READ, Decision.ALLOW),
        (Profile.PARENT, False, False, False, Action.READ, Decision.HIDE),
    ],
)
def test_marks_decision(
    *,
    profile: Profile,
    teaches: bool,
    member: bool,
    whole_class: bool,
    action: Action,
    expected: Decision,
) -> None:
    decision = marks_decision(
        actor(profile),
        action,
        school_id=1,
        teaches_group=teaches,
        actor_or_child_in_group=member,
        whole_class=whole_class,
    )
    assert decision is expected
    other_school = marks_decision(
        actor(profile, school=2),
        action,
        school_id=1,
        teaches_group=teaches,
        actor_or_child_in_group=member,
        whole_class=whole_class,
    )
    assert other_school is Decision.HIDE


def test_report_card_decision() -> None:
    def decide(who: Actor, *, child: bool = False, teaches: bool = False) -> Decision:
        return report_card_decision(
            who, pupil_id=7, pupil_school_id=1, is_child_of_actor=child, teaches_pupil=teaches
        )

    assert decide(actor(Profile.PUPIL, person=7)) is Decision.ALLOW
    assert decide(actor(Profile.PUPIL, person=8)) is Decision.HIDE
    assert decide(actor(Profile.PARENT), child=True) is Decision.ALLOW
    assert decide(actor(Profile.PARENT)) is Decision.HIDE
    assert decide(actor(Profile.TEACHER), teaches=True) is Decision.ALLOW
    assert decide(actor(Profile.TEACHER)) is Decision.FORBID
    assert decide(actor(Profile.STAFF)) is Decision.ALLOW
    assert decide(actor(Profile.ADMIN, school=2)) is Decision.HIDE
