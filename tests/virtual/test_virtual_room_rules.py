"""The pure rules inside a virtual class: chat and poll bounds, strokes, splitting a class
into groups, and the time spent in the room."""

from __future__ import annotations

import functools
import operator
import random
from datetime import UTC, datetime, timedelta

import pytest

from preau.domain.errors import InvalidInput
from preau.domain.virtual_room import (
    CHAT_MAX_CHARACTERS,
    Stroke,
    check_chat_body,
    check_poll,
    check_stroke,
    seconds_present,
    split_as_chosen,
    split_at_random,
    tally,
)


def test_chat_bodies_are_trimmed_and_bounded() -> None:
    assert check_chat_body("  salut\n ") == "salut"
    assert len(check_chat_body("é" * CHAT_MAX_CHARACTERS)) == CHAT_MAX_CHARACTERS
    for bad in ("", " \n ", "x" * (CHAT_MAX_CHARACTERS + 1)):
        with pytest.raises(InvalidInput):
            check_chat_body(bad)


def test_polls_need_two_to_six_distinct_choices() -> None:
    assert check_poll("  Quel  jour ? ", [" lundi", "mardi "]) == (
        "Quel jour ?",
        ["lundi", "mardi"],
    )
    for question, choices in (
        ("Q", ["a"]),
        ("Q", list("abcdefg")),
        ("Q", ["a", "A"]),
        ("Q", ["a", ""]),
        ("", ["a", "b"]),
        ("Q" * 301, ["a", "b"]),
    ):
        with pytest.raises(InvalidInput):
            check_poll(question, choices)
    assert tally(3, [0, 2, 2, 5, -1]) == [1, 0, 2]


def test_strokes_are_checked_and_texts_kept_to_one_point() -> None:
    pen = Stroke(tool="pen", points=[(0.0, 0.0), (1.0, 1.0)])
    assert check_stroke(pen) == pen
    text = check_stroke(Stroke(tool="text", text=" x ", points=[(0.5, 0.5), (0.6, 0.6)]))
    assert text.text == "x"
    assert text.points == [(0.5, 0.5)]
    assert check_stroke(Stroke(tool="pen", text="lost", points=[(0.1, 0.1)])).text == ""
    for bad in (
        Stroke(tool="pen", points=[]),
        Stroke(tool="pen", points=[(0.1, -0.1)]),
        Stroke(tool="line", points=[(0.1, 0.1)]),
        Stroke(tool="pen", colour="#FFF", points=[(0.1, 0.1)]),
        Stroke(tool="pen", width=0, points=[(0.1, 0.1)]),
        Stroke(tool="text", text="a\nb", points=[(0.1, 0.1)]),
    ):
        with pytest.raises(InvalidInput):
            check_stroke(bad)


def test_a_random_split_is_even_and_loses_nobody() -> None:
    pupils = list(range(1, 12))
    groups = split_at_random(pupils, 3, random.Random(4).shuffle)
    assert sorted(functools.reduce(operator.iadd, groups, [])) == pupils
    assert sorted(len(group) for group in groups) == [3, 4, 4]
    for count in (1, 12):
        with pytest.raises(InvalidInput):
            split_at_random(pupils, count, random.Random(4).shuffle)


def test_a_chosen_split_needs_known_pupils_and_no_empty_group() -> None:
    assert split_as_chosen({3: 2, 1: 1, 2: 1}, [1, 2, 3, 4]) == [[1, 2], [3]]
    for chosen in ({1: 1, 2: 3}, {1: 1, 9: 2}, {1: 1}, {1: 0, 2: 1}, {}):
        with pytest.raises(InvalidInput):
            split_as_chosen(chosen, [1, 2, 3])


def test_time_in_the_room_counts_overlaps_once_and_open_stays_until_now() -> None:
    start = datetime(2026, 12, 4, 9, tzinfo=UTC)

    def at(minutes: int) -> datetime:
        return start + timedelta(minutes=minutes)

    spans = [(at(0), at(10)), (at(5), at(15)), (at(30), None), (at(50), at(40))]
    assert seconds_present(spans, at(40)) == 25 * 60
    assert seconds_present([], at(40)) == 0
    assert seconds_present([(at(0), None)], at(70)) == 70 * 60
