"""The pure rules of classwork, without fixtures: states, deadlines, the to-do, file names
and types, instructions."""

from __future__ import annotations

import sys
import unicodedata
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from preau.domain.bounds import has_control
from preau.domain.classwork import (
    TRANSITIONS,
    HandInAction,
    HandInState,
    HandInView,
    InstructionsFormat,
    Todo,
    TodoItem,
    TodoSource,
    attachment_disposition,
    build_todo,
    check_hand_in_open,
    check_long_text,
    clean_file_name,
    effective_deadlines,
    next_state,
    own_view_changes_at,
    render_instructions,
    sniff_content_type,
)
from preau.domain.errors import Conflict, InvalidInput

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)  # a Monday, 8:00 in Paris


def test_the_hand_in_cycle() -> None:
    state = HandInState.ASSIGNED
    for action, expected in [
        (HandInAction.TURN_IN, HandInState.TURNED_IN),
        (HandInAction.TAKE_BACK, HandInState.ASSIGNED),
        (HandInAction.TURN_IN, HandInState.TURNED_IN),
        (HandInAction.RETURN, HandInState.RETURNED),
        (HandInAction.TURN_IN, HandInState.TURNED_IN),
    ]:
        state = next_state(state, action)
        assert state is expected
    with pytest.raises(Conflict):
        next_state(HandInState.RETURNED, HandInAction.TAKE_BACK)


@given(st.sampled_from(list(HandInState)), st.sampled_from(list(HandInAction)))
def test_every_transition_is_either_listed_or_refused(
    state: HandInState, action: HandInAction
) -> None:
    allowed_from, target = TRANSITIONS[action]
    if state in allowed_from:
        assert next_state(state, action) is target
    else:
        with pytest.raises(Conflict):
            next_state(state, action)


def test_extensions_never_shorten_the_cutoff() -> None:
    due, cutoff = NOW, NOW + timedelta(days=2)
    assert effective_deadlines(due, cutoff, None, None) == (due, cutoff)
    later = NOW + timedelta(days=1)
    assert effective_deadlines(due, cutoff, later, None) == (later, cutoff)
    much_later = NOW + timedelta(days=5)
    assert effective_deadlines(due, cutoff, much_later, None) == (much_later, much_later)
    assert effective_deadlines(due, None, later, much_later) == (later, much_later)
    check_hand_in_open(NOW, None)
    with pytest.raises(Conflict):
        check_hand_in_open(cutoff + timedelta(seconds=1), cutoff)


def source(**overrides: object) -> TodoSource:
    values: dict[str, object] = {
        "homework_id": 1,
        "title": "Devoir",
        "group_name": "6e A",
        "subject": None,
        "publish_at": NOW - timedelta(days=1),
        "due_at": NOW + timedelta(days=1),
        "cutoff_at": None,
        "estimated_minutes": None,
        "hand_in_expected": True,
        "revision": 1,
        "attachment_count": 0,
        "state": HandInState.ASSIGNED,
        "handed_in_late": False,
        "done": False,
        "mark": None,
        "mark_out_of": None,
        "extension_due": None,
        "extension_cutoff": None,
    }
    values.update(overrides)
    return TodoSource(**values)  # type: ignore[arg-type]  # defaults and overrides, mixed types


def test_the_todo_groups_by_local_day_and_knows_its_next_change() -> None:
    evening = datetime(2026, 11, 23, 22, 30, tzinfo=UTC)  # 23:30 in Paris: still Monday
    sources = [
        source(homework_id=1, due_at=evening),
        source(homework_id=2, due_at=evening + timedelta(hours=1)),  # Tuesday in Paris
        source(homework_id=3, publish_at=NOW + timedelta(hours=2)),  # not yet published
        source(homework_id=4, due_at=NOW - timedelta(hours=1)),  # overdue
    ]
    todo, boundary = build_todo(7, sources, now=NOW, zone=PARIS)
    days = [(day.day.isoformat(), [item.homework_id for item in day.items]) for day in todo.days]
    assert days == [("2026-11-23", [4, 1]), ("2026-11-24", [2])]
    assert todo.days[0].items[0].late is True
    assert boundary == NOW + timedelta(hours=2)


def test_the_pupils_own_view_knows_its_next_change() -> None:
    due, cutoff = NOW + timedelta(hours=1), NOW + timedelta(hours=3)
    hand_in = HandInView(
        homework_id=1, pupil_id=7, pupil_name="Léa Martin", state=HandInState.ASSIGNED,
        text="", files=[], turned_in_at=None, late=False, returned_at=None, feedback="",
        mark=None, mark_out_of=None, due_at=due, cutoff_at=cutoff, extended=False, open=True,
    )  # fmt: skip
    assert own_view_changes_at(hand_in, now=NOW) == due  # turns late
    assert own_view_changes_at(hand_in, now=due) == due  # not late until it has passed
    assert own_view_changes_at(hand_in, now=due + timedelta(seconds=1)) == cutoff  # closes
    assert own_view_changes_at(hand_in, now=cutoff + timedelta(seconds=1)) is None
    no_cutoff = msgspec.structs.replace(hand_in, cutoff_at=None)
    assert own_view_changes_at(no_cutoff, now=due + timedelta(seconds=1)) is None


# -- the to-do's next change: built at exactly one of its times, it changes right after ----

DUE = NOW + timedelta(days=1)  # the due time of ``source()``
MICROSECOND = timedelta(microseconds=1)  # datetime's resolution


def todo_at(now: datetime, *sources: TodoSource) -> tuple[Todo, datetime | None]:
    return build_todo(7, sources or (source(),), now=now, zone=PARIS)


def only_item(todo: Todo) -> TodoItem:
    [day] = todo.days
    [item] = day.items
    return item


def test_a_todo_built_at_the_due_time_turns_late_right_after_it() -> None:
    todo, change = todo_at(DUE)
    assert only_item(todo).late is False  # due at 18:00 is not late at 18:00
    assert change == DUE + MICROSECOND
    assert only_item(todo_at(change)[0]).late is True


def test_a_todo_built_at_the_cutoff_closes_right_after_it() -> None:
    cutoff = DUE + timedelta(days=1)
    turned_in = source(cutoff_at=cutoff, state=HandInState.TURNED_IN)
    todo, change = todo_at(cutoff, turned_in)
    assert only_item(todo).closed is False
    assert change == cutoff + MICROSECOND
    assert only_item(todo_at(change, turned_in)[0]).closed is True


def test_a_todo_built_at_the_end_of_its_window_drops_the_item_right_after_it() -> None:
    end = DUE + timedelta(days=30)
    todo, change = todo_at(end)
    assert only_item(todo).homework_id == 1
    assert change == end + MICROSECOND
    assert todo_at(change)[0].days == []


def test_work_shows_from_its_publish_time_itself() -> None:
    publish = DUE - timedelta(days=1)
    later = source(publish_at=publish)
    todo, change = todo_at(publish - MICROSECOND, later)
    assert todo.days == []
    assert change == publish
    assert only_item(todo_at(publish, later)[0]).homework_id == 1


@given(
    publish=st.integers(min_value=1, max_value=3 * 86_400),
    cutoff=st.none() | st.integers(min_value=0, max_value=2 * 86_400),
    extension=st.none() | st.integers(min_value=1, max_value=86_400),
    state=st.sampled_from(HandInState),
    hand_in_expected=st.booleans(),
    anchor=st.sampled_from(["publish", "due", "cutoff", "window", "other"]),
    offset=st.sampled_from([-1, 0, 1]),
    other=st.integers(min_value=-40 * 86_400, max_value=40 * 86_400),
)
def test_a_todo_stays_as_built_until_its_next_change(  # noqa: PLR0917 — hypothesis passes each fact by keyword
    publish: int,
    cutoff: int | None,
    extension: int | None,
    state: HandInState,
    hand_in_expected: bool,
    anchor: str,
    offset: int,
    other: int,
) -> None:
    """Built at any instant, often exactly at one of its times, the to-do is the one
    built at every later instant before its next change."""
    publish_at = DUE - timedelta(seconds=publish)
    cutoff_at = DUE + timedelta(seconds=cutoff) if cutoff is not None else None
    extension_due = DUE + timedelta(seconds=extension) if extension is not None else None
    work = source(
        publish_at=publish_at,
        cutoff_at=cutoff_at,
        extension_due=extension_due,
        state=state,
        hand_in_expected=hand_in_expected,
    )
    due = extension_due or DUE
    anchors = {
        "publish": publish_at,
        "due": due,
        "cutoff": cutoff_at or due,
        "window": due + timedelta(days=30),
        "other": DUE + timedelta(seconds=other),
    }
    now = anchors[anchor] + offset * MICROSECOND
    todo, change = todo_at(now, work)
    if change is None:
        probes = [now + MICROSECOND, now + timedelta(days=400)]
    else:
        assert change > now
        probes = [now + MICROSECOND, change - MICROSECOND, now + (change - now) / 2]
    for probe in probes:
        if change is None or probe < change:
            assert todo_at(probe, work)[0] == todo, probe


@pytest.mark.parametrize(
    ("head", "name", "expected"),
    [
        (b"%PDF-1.7\n", "a.pdf", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n....", "a.png", "image/png"),
        (b"\xff\xd8\xff\xe0", "a.jpg", "image/jpeg"),
        (
            b"PK\x03\x04" + b"\x00" * 26 + b"mimetypeapplication/vnd.oasis.opendocument.textPK",
            "a.odt",
            "application/vnd.oasis.opendocument.text",
        ),
        (
            b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml",
            "a.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ),
        (b"PK\x03\x04" + b"\x00" * 26 + b"[Content_Types].xml", "a.zip", "application/zip"),
        ("Bonjour, voilà mon travail".encode(), "a.pdf", "text/plain"),
        (b"  <!DOCTYPE html><p>", "a.txt", "text/html"),
        (b"<svg onload=alert(1)>", "a.png", "text/html"),
        (b"MZ\x90\x00", "a.pdf", "application/octet-stream"),
    ],
)
def test_types_come_from_the_content(head: bytes, name: str, expected: str) -> None:
    assert sniff_content_type(head, name) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("  Fiche  n°1 .pdf", "Fiche n°1 .pdf"),
        ("..hidden.txt", "hidden.txt"),
        ('what?<is>"this".txt', "what__is__this_.txt"),
        ("a" * 300 + ".pdf", "a" * 146 + ".pdf"),
    ],
)
def test_file_names_are_cleaned(name: str, expected: str) -> None:
    assert clean_file_name(name) == expected


@pytest.mark.parametrize("name", ["../x.txt", "a/b.txt", "a\\b.txt", "a\x00b", "\x1b[31m.txt", ""])
def test_bad_file_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidInput):
        clean_file_name(name)


def test_downloads_always_carry_an_attachment_disposition() -> None:
    header = attachment_disposition('Élève "1"; x.pdf')
    assert header == (
        'attachment; filename="_l_ve _1__ x.pdf"; '
        "filename*=UTF-8''%C3%89l%C3%A8ve%20%221%22%3B%20x.pdf"
    )


@given(st.text(max_size=300))
def test_plain_instructions_never_carry_markup(text: str) -> None:
    html = render_instructions(text, InstructionsFormat.TEXT)
    for tag in ("<script", "<img", "<iframe", "<style", "onerror=", "<svg"):
        assert tag not in html.lower()


@given(st.text(max_size=300))
def test_markdown_instructions_never_carry_markup(text: str) -> None:
    html = render_instructions(text, InstructionsFormat.MARKDOWN)
    for tag in ("<script", "<img", "<iframe", "<style", "onerror=", 'javascript:"', "<svg"):
        assert tag not in html.lower()


def test_the_control_character_search_is_unicodes_categories() -> None:
    """has_control (every Input's strings) and the homework texts' check find exactly the
    characters Unicode puts in Cc (and Zl, Zp for single lines), whatever is allowed."""
    for code in range(sys.maxunicode + 1):
        character = chr(code)
        category = unicodedata.category(character)
        assert has_control(character) == (category in {"Cc", "Zl", "Zp"}), hex(code)
        assert has_control(f"a{character}b", "\n\r\t") == (
            category in {"Cc", "Zl", "Zp"} and character not in "\n\r\t"
        ), hex(code)
    assert check_long_text("un\r\ndeux\ttrois\n", "text", 100) == "un\ndeux\ttrois"
    for bad in ("\x00", "\x1b[31m", "\x85", "\x7f"):
        with pytest.raises(InvalidInput):
            check_long_text(f"texte{bad}", "text", 100)
    assert check_long_text("ligne\u2028suivante", "text", 100) == "ligne\u2028suivante"
