"""Moodle GIFT read and written: a corpus written to cover the grammar, errors reported
with their line, and round trips. Pure: no database."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from preau.domain.exercises import gift
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
    check_question,
)

CORPUS = r"""
// Questions written the way teachers share them, one per kind of the grammar.
$CATEGORY: $course$/6e/Géographie

::Capitale::Quelle est la capitale de la France ? {
  ~Lyon#Non, Lyon est en Auvergne-Rhône-Alpes.
  =Paris#Oui !
  ~Marseille
}

Grant est {~enterré =inhumé ~vivant} dans la tombe de Grant.

::Vrai ou faux::[html]La Terre tourne autour du Soleil.{T#Non, elle tourne bien.#Bravo.}

La Lune est une planète.{FALSE}

Quel est le pluriel de « cheval » ? {
=chevaux =%50%chevals#Presque. ####Attention aux pluriels en -al.}

Deux plus deux font {=quatre =4}.

::Pi::Donnez π à deux décimales. {#3.14:0.005}

Une année bissextile a combien de jours ? {#=366 =%50%365:0#Presque.}

Un nombre entre 1 et 5 : {#1..5}

Associez chaque pays à sa capitale. {
  =France -> Paris
  =Italie -> Rome
  =Espagne -> Madrid
}

Lesquels sont des nombres premiers ? {
  ~%50%2
  ~%50%3
  ~%-50%4
  ~%-50%9
}

Racontez vos vacances. {}

Lisez le texte suivant avant de répondre.

Combien font 2 \= 2 \{vrai\} ? Le signe \~ et le \# sont échappés\: ici. {=oui}
"""


def test_the_corpus_reads_question_by_question() -> None:
    report = gift.read(CORPUS)
    assert report.problems == ()
    questions = [item.question for item in report.imported]
    for question in questions:
        check_question(question)
    assert [type(q).__name__ for q in questions] == [
        "SingleChoice",
        "SingleChoice",
        "TrueFalse",
        "TrueFalse",
        "Short",
        "Blanks",
        "Numeric",
        "Numeric",
        "Numeric",
        "Matching",
        "MultipleChoice",
        "Open",
        "Description",
        "Short",
    ]
    assert report.imported[0].category == "$course$/6e/Géographie"
    assert report.imported[0].line == 5
    capital = questions[0]
    assert isinstance(capital, SingleChoice)
    assert capital.title == "Capitale"
    assert [c.weight for c in capital.choices] == [0, 100, 0]
    assert capital.choices[0].feedback == "Non, Lyon est en Auvergne-Rhône-Alpes."
    missing = questions[1]
    assert missing.text == "Grant est _____ dans la tombe de Grant."
    earth = questions[2]
    assert isinstance(earth, TrueFalse)
    assert earth.answer is True
    assert (earth.feedback_if_false, earth.feedback_if_true) == ("Non, elle tourne bien.", "Bravo.")
    plural = questions[4]
    assert isinstance(plural, Short)
    assert [(a.text, a.weight) for a in plural.answers] == [("chevaux", 100), ("chevals", 50)]
    assert plural.feedback == "Attention aux pluriels en -al."
    gap = questions[5]
    assert isinstance(gap, Blanks)
    assert gap.text == "Deux plus deux font {1}."
    pi = questions[6]
    assert isinstance(pi, Numeric)
    assert (pi.answers[0].low, pi.answers[0].high) == (Decimal("3.135"), Decimal("3.145"))
    leap = questions[7]
    assert isinstance(leap, Numeric)
    assert [(a.low, a.weight) for a in leap.answers] == [(Decimal(366), 100), (Decimal(365), 50)]
    between = questions[8]
    assert isinstance(between, Numeric)
    assert (between.answers[0].low, between.answers[0].high) == (Decimal(1), Decimal(5))
    matching = questions[9]
    assert isinstance(matching, Matching)
    assert matching.pairs[1] == Pair(prompt="Italie", answer="Rome")
    primes = questions[10]
    assert isinstance(primes, MultipleChoice)
    assert [c.weight for c in primes.choices] == [50, 50, -50, -50]
    escaped = questions[13]
    assert escaped.text == "Combien font 2 = 2 {vrai} ? Le signe ~ et le # sont échappés: ici."


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("Question sans fin {=a ~b", gift.NO_CLOSING_BRACE),
        ("Deux blocs {=a} et {=b}", gift.TWO_BLOCKS),
        ("Plusieurs justes {=a =b ~c}", gift.SEVERAL_RIGHT),
        ("Aucune juste {~%0%a ~b}", gift.NO_RIGHT_ANSWER),
        ("Poids {~%150%a =b}", gift.BAD_WEIGHT),
        ("Nombre {#trois}", gift.BAD_NUMBER),
        ("Paires {=a -> b =c}", gift.BAD_MATCH),
        ("Une paire {=a -> b}", gift.FEW_PAIRS),
        ("Sans marque {oui}", gift.UNMARKED),
        ("Vide {= ~b}", gift.EMPTY_ANSWER),
    ],
)
def test_syntax_errors_are_reported_with_their_line(source: str, reason: str) -> None:
    text = f"// first\n\nOK {{=a}}\n\n{source}\n\nEncore {{T}}\n"
    report = gift.read(text)
    assert [(p.line, p.reason) for p in report.problems] == [(5, reason)]
    assert len(report.imported) == 2  # the rest of the file is kept


def test_too_long_or_too_many() -> None:
    assert gift.read("x" * (gift.MAX_FILE + 1)).problems[0].reason == gift.TOO_LONG
    many = "\n\n".join(["Q {T}"] * (gift.MAX_QUESTIONS + 1))
    report = gift.read(many)
    assert len(report.imported) == gift.MAX_QUESTIONS
    assert report.problems[-1].reason == gift.TOO_MANY


def test_the_corpus_round_trips() -> None:
    questions = [item.question for item in gift.read(CORPUS).imported]
    text, left_out = gift.write(questions)
    assert left_out == []
    again = [item.question for item in gift.read(text).imported]
    assert again == questions


def test_what_gift_cannot_hold_is_reported() -> None:
    questions: list[Question] = [
        Ordering(text="Dans l'ordre", items=("a", "b")),
        Blanks(
            text="{1} et {2}",
            blanks=(Blank(answers=(TextAnswer(text="a"),)), Blank(answers=(TextAnswer(text="b"),))),
        ),
        Matching(
            text="?",
            pairs=(Pair(prompt="a", answer="b"), Pair(prompt="c", answer="d")),
            distractors=("e",),
        ),
        Open(text="Ok"),
    ]
    text, left_out = gift.write(questions)
    assert [position for position, _ in left_out] == [0, 1, 2]
    assert text == "Ok {}\n"


# Text a teacher may type, special characters of GIFT included.
words = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp", "Co"), exclude_characters="_"
    ),
    min_size=1,
    max_size=20,
).map(lambda text: " ".join(text.split()))
nonempty = words.filter(lambda text: text.strip() != "" and not text.lstrip().startswith("//"))
# GIFT drops spaces around texts and cannot tell "%50%x" typed from a weight.
answer_text = nonempty.filter(lambda text: not text.startswith(("%", "->")) and "->" not in text)
numbers = st.decimals(min_value=-10000, max_value=10000, places=2, allow_nan=False)


@st.composite
def questions(draw: st.DrawFn) -> Question:
    text = draw(nonempty.filter(lambda text: "{1}" not in text and "_____" not in text))
    title = draw(st.one_of(st.just(""), nonempty))
    kind = draw(st.sampled_from(["single", "multiple", "true_false", "short", "numeric", "open"]))
    if kind == "single":
        texts = draw(st.lists(answer_text, min_size=2, max_size=5, unique=True))
        right = draw(st.integers(0, len(texts) - 1))
        return SingleChoice(
            text=text,
            title=title,
            choices=tuple(
                Choice(text=t, weight=100 if i == right else 0) for i, t in enumerate(texts)
            ),
        )
    if kind == "multiple":
        texts = draw(st.lists(answer_text, min_size=2, max_size=5, unique=True))
        return MultipleChoice(
            text=text,
            title=title,
            choices=tuple(
                Choice(text=t, weight=100 if i == 0 else -25) for i, t in enumerate(texts)
            ),
        )
    if kind == "true_false":
        return TrueFalse(
            text=text,
            title=title,
            answer=draw(st.booleans()),
            feedback_if_true=draw(st.one_of(st.just(""), nonempty)),
            feedback_if_false=draw(nonempty),
        )
    if kind == "short":
        texts = draw(st.lists(answer_text, min_size=1, max_size=3, unique=True))
        return Short(text=text, title=title, answers=tuple(TextAnswer(text=t) for t in texts))
    if kind == "numeric":
        value, tolerance = draw(numbers), abs(draw(numbers))
        return Numeric(
            text=text,
            title=title,
            answers=(NumericAnswer(low=value - tolerance, high=value + tolerance),),
        )
    return Open(text=text, title=title)


@given(st.lists(questions(), min_size=1, max_size=4))
def test_written_questions_read_back_the_same(originals: list[Question]) -> None:
    text, left_out = gift.write(originals)
    assert left_out == []
    report = gift.read(text)
    assert report.problems == ()
    assert [item.question for item in report.imported] == originals


def test_descriptions_and_formats() -> None:
    report = gift.read("[markdown]Un texte **à lire**.\n\n::T::[plain]Une question {T}")
    first, second = (item.question for item in report.imported)
    assert first == Description(text="Un texte **à lire**.")
    assert isinstance(second, TrueFalse)
    assert second.title == "T"
