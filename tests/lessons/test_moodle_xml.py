"""Moodle XML read and written: a file as Moodle exports it (every question type Préau
handles, HTML texts, hints, units, cloze), problems reported with their position, hostile
XML refused, and round trips of every kind of question."""

from __future__ import annotations

from decimal import Decimal

from preau.domain.exercises import moodle_xml
from preau.domain.exercises.questions import (
    Answer,
    Blanks,
    Matching,
    MultipleChoice,
    Numeric,
    Ordering,
    Short,
    SingleChoice,
    TrueFalse,
    mark,
)
from tests.lessons.test_gift import CORPUS

EXPORTED = """<?xml version="1.0" encoding="UTF-8"?>
<quiz>
  <question type="category"><category><text>$course$/6e/Maths</text></category></question>
  <question type="multichoice">
    <name><text>Capitale</text></name>
    <questiontext format="html"><text>
      <![CDATA[<p>Quelle est la <b>capitale</b> de la France&nbsp;?</p>]]></text></questiontext>
    <generalfeedback format="html"><text></text></generalfeedback>
    <defaultgrade>2.0000000</defaultgrade>
    <single>true</single><shuffleanswers>true</shuffleanswers>
    <answer fraction="0" format="html"><text>Lyon</text><feedback format="html">
      <text>Non.</text></feedback></answer>
    <answer fraction="100" format="html"><text>Paris</text><feedback format="html">
      <text>Oui.</text></feedback></answer>
    <hint format="html"><text>C'est au bord de la Seine.</text></hint>
  </question>
  <question type="multichoice">
    <name><text>Premiers</text></name>
    <questiontext format="html"><text>Lesquels sont premiers ?</text></questiontext>
    <single>false</single>
    <answer fraction="50"><text>2</text></answer>
    <answer fraction="50"><text>3</text></answer>
    <answer fraction="-50"><text>4</text></answer>
  </question>
  <question type="truefalse">
    <name><text>Terre</text></name>
    <questiontext format="html"><text>La Terre est plate.</text></questiontext>
    <answer fraction="0"><text>true</text><feedback><text>Non, ronde.</text></feedback></answer>
    <answer fraction="100"><text>false</text><feedback><text>Bravo.</text></feedback></answer>
  </question>
  <question type="shortanswer">
    <name><text>Pluriel</text></name>
    <questiontext format="html"><text>Le pluriel de cheval ?</text></questiontext>
    <usecase>0</usecase>
    <answer fraction="100"><text>chevaux</text></answer>
  </question>
  <question type="numerical">
    <name><text>Longueur</text></name>
    <questiontext format="html"><text>Longueur en mètres ?</text></questiontext>
    <answer fraction="100"><text>3.5</text><tolerance>0.1</tolerance></answer>
    <answer fraction="0"><text>*</text><feedback><text>Relisez.</text></feedback></answer>
    <units><unit><multiplier>1</multiplier><unit_name>m</unit_name></unit><unit>
      <multiplier>100</multiplier><unit_name>cm</unit_name></unit></units>
    <unitgradingtype>1</unitgradingtype>
  </question>
  <question type="matching">
    <name><text>Pays</text></name>
    <questiontext format="html"><text>Associez.</text></questiontext>
    <subquestion format="html"><text>France</text><answer><text>Paris</text></answer>
      </subquestion>
    <subquestion format="html"><text>Italie</text><answer><text>Rome</text></answer>
      </subquestion>
    <subquestion format="html"><text></text><answer><text>Lisbonne</text></answer></subquestion>
  </question>
  <question type="ordering">
    <name><text>Ordre</text></name>
    <questiontext format="html"><text>Du plus petit au plus grand.</text></questiontext>
    <answer fraction="2"><text>1/2</text></answer>
    <answer fraction="1"><text>1/4</text></answer>
  </question>
  <question type="multianswer">
    <name><text>Trous</text></name>
    <questiontext format="html">
      <text><![CDATA[<p>Dans 3/5, 3 est le {1:SHORTANSWER:=numérateur} et 5 le
      {1:MULTICHOICE:=dénominateur~quotient}.</p>]]></text></questiontext>
  </question>
  <question type="essay"><name><text>Pourquoi</text></name><questiontext>
      <text>Expliquez.</text></questiontext></question>
  <question type="description"><name><text>Texte</text></name><questiontext><text>Lisez.</text>
      </questiontext></question>
  <question type="calculated"><name><text>Calcul</text></name><questiontext>
      <text>{a}+{b}</text></questiontext></question>
  <question type="shortanswer"><name><text>Image</text></name><questiontext><text>
      <![CDATA[<img src="@@PLUGINFILE@@/x.png">Qui ?]]></text></questiontext>
      <answer fraction="100"><text>Moi</text></answer></question>
</quiz>
"""


def test_a_moodle_export_reads_question_by_question() -> None:
    report = moodle_xml.read(EXPORTED)
    questions = [item.question for item in report.imported]
    assert [type(q).__name__ for q in questions] == [
        "SingleChoice", "MultipleChoice", "TrueFalse", "Short", "Numeric", "Matching",
        "Ordering", "Blanks", "Open", "Description", "Short",
    ]  # fmt: skip
    assert [(p.line, p.reason) for p in report.problems] == [
        (12, moodle_xml.UNKNOWN_TYPE),
        (13, moodle_xml.IMAGES_LEFT),
    ]
    capital = questions[0]
    assert isinstance(capital, SingleChoice)
    assert capital.text == "Quelle est la capitale de la France ?"  # spaces made plain
    assert (capital.points, capital.hints) == (2, ("C'est au bord de la Seine.",))
    assert report.imported[0].category == "$course$/6e/Maths"
    earth = questions[2]
    assert isinstance(earth, TrueFalse)
    assert (earth.answer, earth.feedback_if_false) == (False, "Bravo.")
    length = questions[4]
    assert isinstance(length, Numeric)
    assert length.units == {"m": Decimal(1), "cm": Decimal("0.01")}
    assert mark(length, Answer(text="350 cm")).fraction == 1
    matching = questions[5]
    assert isinstance(matching, Matching)
    assert matching.distractors == ("Lisbonne",)
    ordering = questions[6]
    assert isinstance(ordering, Ordering)
    assert ordering.items == ("1/4", "1/2")
    gaps = questions[7]
    assert isinstance(gaps, Blanks)
    assert gaps.text == "Dans 3/5, 3 est le {1} et 5 le {2}."
    assert mark(gaps, Answer(texts=("Numérateur", "0"))).fraction == 1


def test_hostile_or_foreign_xml_is_refused_with_a_sentence() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE q [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        "<quiz><question type='essay'><questiontext><text>&b;</text></questiontext>"
        "</question></quiz>"
    )
    for text in (bomb, "<html></html>", "pas du XML", ""):
        report = moodle_xml.read(text)
        assert report.imported == ()
        assert report.problems[0].reason == moodle_xml.NOT_MOODLE_XML


def test_every_kind_round_trips() -> None:
    from preau.demo.exercises import demo_questions
    from preau.domain.exercises import gift

    questions = demo_questions() + [i.question for i in gift.read(CORPUS).imported]
    written = moodle_xml.write(questions)
    again = moodle_xml.read(written)
    assert again.problems == ()
    assert [item.question for item in again.imported] == questions
    assert any(isinstance(q, MultipleChoice) for q in questions)
    assert any(isinstance(q, Short) for q in questions)
