"""Marking every kind of question, attempts and scores. Pure: no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preau.domain.errors import Conflict, InvalidInput
from preau.domain.exercises.attempts import (
    Grading,
    Policy,
    check_policy,
    counted,
    may_save,
    may_start,
    score,
)
from preau.domain.exercises.questions import (
    ACCENTS_NOTE,
    UNIT_MISSING,
    WRONG_UNIT,
    Accents,
    Answer,
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
    State,
    TextAnswer,
    TrueFalse,
    answer_options,
    around,
    check_question,
    mark,
    normalise,
    read_number,
    shuffled,
    without_accents,
)

CAPITAL = SingleChoice(
    text="Quelle est la capitale de la France ?",
    choices=(
        Choice(text="Lyon", feedback="Non, c'est Paris."),
        Choice(text="Paris", weight=100, feedback="Oui."),
        Choice(text="Marseille"),
    ),
    feedback="Paris est la capitale depuis 987.",
)
PRIMES = MultipleChoice(
    text="Lesquels sont premiers ?",
    choices=(
        Choice(text="2", weight=50),
        Choice(text="3", weight=50),
        Choice(text="4", weight=-50),
        Choice(text="9", weight=-50),
    ),
)


def test_single_choice() -> None:
    right = mark(CAPITAL, Answer(chosen=(1,)))
    assert (right.fraction, right.state) == (Fraction(1), State.RIGHT)
    assert right.feedback == ("Oui.", "Paris est la capitale depuis 987.")
    wrong = mark(CAPITAL, Answer(chosen=(0,)))
    assert (wrong.fraction, wrong.state) == (Fraction(0), State.WRONG)
    with pytest.raises(InvalidInput):
        mark(CAPITAL, Answer(chosen=(3,)))
    with pytest.raises(InvalidInput):
        mark(CAPITAL, Answer(chosen=(0, 1)))


def test_multiple_choice_partial_credit_never_below_zero() -> None:
    assert mark(PRIMES, Answer(chosen=(0, 1))).fraction == 1
    assert mark(PRIMES, Answer(chosen=(0,))).state is State.PARTLY
    assert mark(PRIMES, Answer(chosen=(0, 2))).fraction == 0
    assert mark(PRIMES, Answer(chosen=(2, 3))).fraction == 0  # not -1
    # The same choice sent twice counts once.
    assert mark(PRIMES, Answer(chosen=(0, 0))).fraction == Fraction(1, 2)


def test_true_false_feedback_follows_what_was_said() -> None:
    question = TrueFalse(
        text="La Terre est plate.",
        answer=False,
        feedback_if_true="Elle est ronde.",
        feedback_if_false="Bien vu.",
    )
    assert mark(question, Answer(truth=False)).feedback == ("Bien vu.",)
    said_true = mark(question, Answer(truth=True))
    assert (said_true.fraction, said_true.feedback) == (Fraction(0), ("Elle est ronde.",))


def test_unanswered_is_not_wrong_and_descriptions_need_nothing() -> None:
    assert mark(CAPITAL, None).state is State.UNANSWERED
    assert mark(CAPITAL, Answer(text="  ")).state is State.UNANSWERED
    assert mark(Description(text="Lisez le texte."), None).state is State.RIGHT


LENGTH = Numeric(
    text="Longueur du segment ?",
    answers=(
        NumericAnswer(low=Decimal("0.035"), high=Decimal("0.036"), feedback="Exact."),
        NumericAnswer(low=Decimal("0.03"), high=Decimal("0.04"), weight=50),
    ),
    units={"m": Decimal(1), "cm": Decimal("0.01"), "mm": Decimal("0.001")},
    unit_required=True,
)


@pytest.mark.parametrize(
    ("typed", "fraction"),
    [
        ("3,5 cm", 1),
        ("3.5cm", 1),
        ("35 mm", 1),
        ("0,035 m", 1),
        ("3,9 CM", Fraction(1, 2)),
        ("5 cm", 0),
    ],
)
def test_numeric_with_units_and_tolerance(typed: str, fraction: Fraction) -> None:
    assert mark(LENGTH, Answer(text=typed)).fraction == fraction


def test_numeric_unit_missing_or_unknown_is_told() -> None:
    missing = mark(LENGTH, Answer(text="3,5"))
    assert (missing.fraction, [n.message for n in missing.notes]) == (Fraction(0), [UNIT_MISSING])
    unknown = mark(LENGTH, Answer(text="3,5 km"))
    assert [n.message for n in unknown.notes] == [WRONG_UNIT]


@pytest.mark.parametrize("typed", ["", "abc", "cm", "1,2,3", "1e999", "--2", "Infinity"])
def test_not_a_number_is_a_clear_error(typed: str) -> None:
    question = Numeric(text="?", answers=(NumericAnswer(low=Decimal(1), high=Decimal(1)),))
    if not typed:
        assert mark(question, Answer(text=typed)).state is State.UNANSWERED
        return
    with pytest.raises(InvalidInput):
        mark(question, Answer(text=typed))


@pytest.mark.parametrize(
    ("typed", "number"),
    [
        ("12", Decimal(12)),
        ("-3,25", Decimal("-3.25")),
        ("−3,25", Decimal("-3.25")),
        ("1 000 000", Decimal(1000000)),
        ("1\u202f000,5", Decimal("1000.5")),
        ("2e3", Decimal(2000)),
        (",5", Decimal("0.5")),
    ],
)
def test_numbers_read_as_french_pupils_type_them(typed: str, number: Decimal) -> None:
    assert read_number(typed)[0] == number


@given(
    value=st.decimals(min_value=-(10**6), max_value=10**6, places=3, allow_nan=False),
    tolerance=st.decimals(min_value=0, max_value=100, places=3, allow_nan=False),
    offset=st.decimals(min_value=-200, max_value=200, places=3, allow_nan=False),
)
def test_numeric_tolerance_accepts_exactly_the_range(
    value: Decimal, tolerance: Decimal, offset: Decimal
) -> None:
    low, high = around(value, tolerance)
    question = Numeric(text="?", answers=(NumericAnswer(low=low, high=high),))
    typed = value + offset
    expected = 1 if abs(offset) <= tolerance else 0
    assert mark(question, Answer(text=str(typed).replace(".", ","))).fraction == expected


PUPIL = Short(
    text="Comment appelle-t-on un élève de collège ?",
    answers=(
        TextAnswer(text="collégien"),
        TextAnswer(text="collégienne"),
        TextAnswer(text="élève*", weight=50, feedback="Plus précis ?"),
    ),
)


@pytest.mark.parametrize(
    ("typed", "fraction", "noted"),
    [
        ("collégien", 1, False),
        ("  Collégien.  ", 1, False),
        ("COLLÉGIENNE", 1, False),
        ("collegien", 1, True),  # lenient: right, with a note showing the accents
        ("élève de 6e", Fraction(1, 2), False),
        ("eleve", Fraction(1, 2), True),
        ("lycéen", 0, False),
    ],
)
def test_short_answers_handle_case_accents_and_wildcards(
    typed: str, fraction: Fraction, noted: bool
) -> None:
    result = mark(PUPIL, Answer(text=typed))
    assert result.fraction == fraction
    assert bool(result.notes) is noted
    if noted:
        assert result.notes[0].message == ACCENTS_NOTE


def test_strict_accents_and_case() -> None:
    strict = Short(
        text="Écrivez « élève »",
        answers=(TextAnswer(text="élève"),),
        accents=Accents.STRICT,
        case_sensitive=True,
    )
    assert mark(strict, Answer(text="élève")).fraction == 1
    assert mark(strict, Answer(text="eleve")).fraction == 0
    assert mark(strict, Answer(text="Élève")).fraction == 0


def test_apostrophes_and_ligatures() -> None:
    question = Short(text="?", answers=(TextAnswer(text="l'œuvre"),))
    assert mark(question, Answer(text="l’œuvre")).fraction == 1
    assert mark(question, Answer(text="l'oeuvre")).fraction == 1  # without the ligature


@given(st.text(max_size=60))
def test_normalising_is_idempotent_and_accent_stripping_keeps_ascii(text: str) -> None:
    once = normalise(text)
    assert normalise(once) == once
    plain = "".join(c for c in text if c.isascii())
    assert without_accents(plain) == plain


@given(st.text(min_size=1, max_size=30).filter(lambda text: normalise(text) != ""))
def test_an_accepted_answer_always_matches_itself(text: str) -> None:
    question = Short(text="?", answers=(TextAnswer(text=text.replace("*", "")),))
    if normalise(text.replace("*", "")):
        assert mark(question, Answer(text=text.replace("*", ""))).fraction == 1


def test_matching_counts_each_pair() -> None:
    question = Matching(
        text="Associez",
        pairs=(
            Pair(prompt="France", answer="Paris"),
            Pair(prompt="Italie", answer="Rome"),
            Pair(prompt="Espagne", answer="Madrid"),
        ),
        distractors=("Lisbonne",),
    )
    options = answer_options(question)
    assert options == ["Lisbonne", "Madrid", "Paris", "Rome"]
    all_right = (options.index("Paris"), options.index("Rome"), options.index("Madrid"))
    assert mark(question, Answer(matches=all_right)).fraction == 1
    one_wrong = (options.index("Paris"), options.index("Lisbonne"), options.index("Madrid"))
    assert mark(question, Answer(matches=one_wrong)).fraction == Fraction(2, 3)
    assert mark(question, Answer(matches=(99, -1, 0))).fraction == 0


def test_ordering_relative_to_the_next_item() -> None:
    question = Ordering(text="Dans l'ordre", items=("a", "b", "c", "d", "e"))
    assert mark(question, Answer(order=(0, 1, 2, 3, 4))).fraction == 1
    # One item moved to the end: three of four links kept.
    assert mark(question, Answer(order=(1, 2, 3, 4, 0))).fraction == Fraction(3, 4)
    assert mark(question, Answer(order=(4, 3, 2, 1, 0))).fraction == 0
    with pytest.raises(InvalidInput):
        mark(question, Answer(order=(0, 0, 1, 2, 3)))


def test_blanks_typed_and_picked() -> None:
    question = Blanks(
        text="Le {1} est un félin, le {2} un canidé.",
        blanks=(
            Blank(answers=(TextAnswer(text="chat"), TextAnswer(text="lion"))),
            Blank(choices=(Choice(text="loup", weight=100), Choice(text="lynx"))),
        ),
    )
    assert check_question(question) is question
    assert mark(question, Answer(texts=("Chat", "0"))).fraction == 1
    assert mark(question, Answer(texts=("chien", "0"))).fraction == Fraction(1, 2)
    assert mark(question, Answer(texts=("lion", "1"))).fraction == Fraction(1, 2)
    assert mark(question, Answer(texts=("lion",))).fraction == Fraction(1, 2)
    assert mark(question, Answer(texts=("chat", "x"))).fraction == Fraction(1, 2)


def test_open_answers_wait_for_the_teacher() -> None:
    assert mark(Open(text="Expliquez."), Answer(text="Parce que.")).state is State.PENDING


@pytest.mark.parametrize(
    "question",
    [
        SingleChoice(text="?", choices=(Choice(text="a"), Choice(text="b"))),  # no right one
        SingleChoice(text="?", choices=(Choice(text="a", weight=100),)),  # one choice
        MultipleChoice(text="?", choices=(Choice(text="a", weight=40), Choice(text="b"))),
        Numeric(text="?", answers=(NumericAnswer(low=Decimal(2), high=Decimal(1)),)),
        Short(text="?", answers=(TextAnswer(text=" "),)),
        Matching(text="?", pairs=(Pair(prompt="a", answer="b"),)),
        Ordering(text="?", items=("a",)),
        Blanks(text="Le {1} et le {3}", blanks=(Blank(answers=(TextAnswer(text="x"),)),) * 2),
        Open(text="  "),
        Open(text="?", points=101),
        SingleChoice(
            text="?", choices=(Choice(text="a", weight=100), Choice(text="b", weight=-101))
        ),
    ],
)
def test_bad_questions_are_refused_with_a_sentence(question: SingleChoice) -> None:
    with pytest.raises(InvalidInput) as refused:
        check_question(question)
    assert refused.value.message.endswith((".", "…"))


def test_shuffling_is_a_fixed_permutation_per_seed() -> None:
    first = shuffled(10, "attempt-1:q3")
    assert sorted(first) == list(range(10))
    assert shuffled(10, "attempt-1:q3") == first
    assert any(shuffled(10, f"attempt-{n}:q3") != first for n in range(2, 6))


# -- attempts ------------------------------------------------------------------------------

NOW = datetime(2027, 3, 15, 9, 0, tzinfo=UTC)


def test_attempts_limit_and_resume() -> None:
    policy = Policy(attempts=2)
    may_start(policy, submitted=1, open_attempt=False)
    may_start(policy, submitted=2, open_attempt=True)  # resuming is always allowed
    with pytest.raises(Conflict):
        may_start(policy, submitted=2, open_attempt=False)
    may_start(Policy(attempts=None), submitted=50, open_attempt=False)


def test_time_limit_with_a_short_grace() -> None:
    policy = Policy(minutes=20)
    may_save(policy, NOW, NOW + timedelta(minutes=20, seconds=10), submitted=False)
    with pytest.raises(Conflict):
        may_save(policy, NOW, NOW + timedelta(minutes=21), submitted=False)
    with pytest.raises(Conflict):
        may_save(Policy(), NOW, NOW, submitted=True)


@pytest.mark.parametrize(("attempts", "minutes"), [(0, None), (21, None), (1, 0), (1, 24 * 60 + 1)])
def test_bad_policies(attempts: int, minutes: int | None) -> None:
    with pytest.raises(InvalidInput):
        check_policy(Policy(attempts=attempts, minutes=minutes))


def test_score_with_points_pending_and_teacher_marks() -> None:
    questions: list[Question] = [
        CAPITAL,
        PRIMES,
        Open(text="Pourquoi ?", points=2),
        Description(text="Fin"),
    ]
    answers = {0: Answer(chosen=(1,)), 1: Answer(chosen=(0,)), 2: Answer(text="Parce que")}
    result = score(questions, answers)
    assert (result.earned, result.total, result.pending) == (Fraction(3, 2), 4, 1)
    marked_by_teacher = score(questions, answers, {2: Fraction(1, 2)})
    assert (marked_by_teacher.earned, marked_by_teacher.pending) == (Fraction(5, 2), 0)
    assert marked_by_teacher.out_of_20 == Fraction(25, 2)


def test_best_or_last_attempt_counts() -> None:
    questions: list[Question] = [CAPITAL]
    first = score(questions, {0: Answer(chosen=(1,))})
    second = score(questions, {0: Answer(chosen=(0,))})
    assert counted(Policy(grading=Grading.BEST), [first, second]) is first
    assert counted(Policy(grading=Grading.LAST), [first, second]) is second
    assert counted(Policy(), []) is None
