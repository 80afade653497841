"""The to-do's next change, without fixtures: a to-do built at exactly a due time, cut-off
or the end of its 30-day window looks the same until the instant it says, and no longer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from preau.domain.classwork import HandInState, Todo, TodoItem, TodoSource, build_todo

PARIS = ZoneInfo("Europe/Paris")
DUE = datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # a Tuesday, 18:00 in Paris
MICROSECOND = timedelta(microseconds=1)  # datetime's resolution


def source(**overrides: object) -> TodoSource:
    values: dict[str, object] = {
        "homework_id": 1,
        "title": "Rédaction",
        "group_name": "6e A",
        "subject": None,
        "publish_at": DUE - timedelta(days=2),
        "due_at": DUE,
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
    return TodoSource(**values)  # type: ignore[arg-type]


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
