"""The registry behind every warm read (``actions/warm.py``): writers bump versions in
their transaction, every process hears of them (announce, pub/sub, or the resync when a
message is lost), a cache entry is good only under its own versions and until its time,
and what is kept per person stays that person's."""

from __future__ import annotations

import ast
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.directory import create_school
from preau.actions.warm import (
    Entries,
    ReadVersions,
    bump_versions,
    content_etag,
    kept_for_person,
    read_versions_of,
)
from preau.adapters.memory.shared_state import MemorySharedState
from preau.live import PersonCache
from preau.ports import SharedState
from tests.helpers import App


async def two_schools(app: App) -> tuple[int, int]:
    return (
        await create_school(app.services, uai="0750001A", name="Collège A"),
        await create_school(app.services, uai="0750002B", name="Collège B"),
    )


async def bump(engine: AsyncEngine, school_id: int, *scopes: str) -> dict[str, int]:
    async with engine.begin() as connection:
        return await bump_versions(connection, school_id, scopes, now=datetime.now(UTC))


async def test_a_bump_counts_per_school_and_scope(app: App) -> None:
    engine = app.services.engine
    a, b = await two_schools(app)
    assert await bump(engine, a, "group:1", "pupil:2") == {"group:1": 1, "pupil:2": 1}
    assert await bump(engine, a, "group:1", "group:1") == {"group:1": 2}  # once a write
    assert await bump(engine, b, "group:1") == {"group:1": 1}  # another school's own count
    async with engine.connect() as connection:
        assert await read_versions_of(connection, a, ["group:1", "pupil:2", "timetable"]) == {
            "group:1": 2,
            "pupil:2": 1,
            "timetable": 0,
        }


async def test_versions_only_move_forward_and_each_school_counts_its_changes(
    app: App,
) -> None:
    registry = ReadVersions(engine=app.services.engine, state=MemorySharedState())
    registry.apply(1, {"timetable": 3})
    registry.apply(1, {"timetable": 2})  # an older message, heard late
    registry.apply(1, {"timetable": 3})  # the same one again
    assert (registry.current(1, "timetable"), registry.current(2, "timetable")) == (3, 0)
    assert registry.changes == {1: 1}
    registry.apply(2, {"group:5": 1})
    assert registry.changes == {1: 1, 2: 1}


async def test_an_announce_reaches_every_process_and_a_lost_one_the_resync(
    app: App, shared_state: SharedState
) -> None:
    engine = app.services.engine
    a, _ = await two_schools(app)
    writer = ReadVersions(engine=engine, state=shared_state)
    reader = ReadVersions(engine=engine, state=shared_state)
    await reader.start()
    try:
        for _ in range(200):  # the subscription is taken in the background
            await writer.announce(a, {"probe": 1})
            if reader.current(a, "probe") == 1:
                break
            await asyncio.sleep(0.01)
        bumped = await bump(engine, a, "group:7")
        await writer.announce(a, bumped)
        assert writer.current(a, "group:7") == 1  # the writer's own process at once
        for _ in range(200):
            if reader.current(a, "group:7") == 1:
                break
            await asyncio.sleep(0.01)
        assert reader.current(a, "group:7") == 1
        # A bump whose message is lost (never announced) is found by the resync.
        await bump(engine, a, "group:7")
        assert reader.current(a, "group:7") == 1
        await reader.resync()
        assert reader.current(a, "group:7") == 2
    finally:
        await reader.stop()


@dataclass
class Entry:
    name: str
    valid_until: float


def test_entries_expire_and_the_least_recently_read_goes_first() -> None:
    entries: Entries[str, Entry] = Entries(max_entries=2)
    now = time.time()
    assert entries.keep("a", Entry("a", now + 10)) == []
    assert entries.keep("b", Entry("b", now + 1)) == []
    assert entries.fresh("b", now + 1) is None  # good strictly before its time
    assert entries.fresh("a", now) == Entry("a", now + 10)  # read: now the newest
    assert entries.keep("c", Entry("c", now + 10)) == ["b"]
    assert list(entries) == ["a", "c"]
    assert entries.fresh("missing", now) is None


async def test_what_is_kept_per_person_is_theirs_and_dropped_for_them_alone() -> None:
    cache = PersonCache()
    built: list[int] = []

    def builder(person_id: int, text: bytes) -> Callable[[], Awaitable[bytes]]:
        async def build() -> bytes:
            built.append(person_id)
            return text

        return build

    first = await kept_for_person(cache, 1, "inbox", builder(1, b"one"))
    assert first == (b"one", f'"{content_etag(b"one")}"')
    assert await kept_for_person(cache, 1, "inbox", builder(1, b"changed")) == first
    second = await kept_for_person(cache, 2, "inbox", builder(2, b"two"))
    assert second[0] == b"two"
    assert built == [1, 2]  # the second read of person 1 was kept
    cache.drop(1)  # an event about person 1
    assert cache.get(1, "inbox") is None
    assert cache.get(2, "inbox") == second
    # A read that started before the event is not kept (it may have missed the write).
    ticket = cache.ticket()
    cache.drop(2)
    cache.put(2, "inbox", b"stale", '"stale"', ticket)
    assert cache.get(2, "inbox") is None


PACKAGE = Path(__file__).resolve().parents[2] / "src" / "preau"


def imports_of(path: Path) -> set[tuple[str, str]]:
    found: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module is not None:
            found.update((node.module, alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update((alias.name, "") for alias in node.names)
    return found


def test_the_registry_is_one_module_that_no_area_borrows_from_another() -> None:
    """The read versions table is read and bumped through ``actions/warm.py`` alone
    (seeding aside), and the timetable and messages take nothing from classwork's caches."""
    touching = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if ("preau.adapters.sql.schema", "read_versions") in imports_of(path)
    }
    assert touching == {"actions/warm.py", "demo/academie.py"}
    borrowing = [
        str(path.relative_to(PACKAGE))
        for folder in ("actions/timetable", "actions/messages")
        for path in (PACKAGE / folder).rglob("*.py")
        if any(module.startswith("preau.actions.classwork.todo") for module, _ in imports_of(path))
    ] + [
        name
        for name in ("web/timetable.py", "api/timetable.py", "api/messages.py")
        if any(
            module.startswith("preau.actions.classwork") for module, _ in imports_of(PACKAGE / name)
        )
    ]
    assert borrowing == []
