"""The pupil's to-do is the cheapest read in Préau: a warm request runs no SQL at all, a
cold one a small fixed number whatever the number of homework; writes move it on at once,
in this process and in others; scheduled work appears at its time without any write."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.web.render import CSRF_MARK
from tests.classwork.conftest import Api, Clock, iso, post_homework, two_processes
from tests.helpers import (
    PASSWORD,
    App,
    QueryCounter,
    School,
    api_token,
    as_served,
    build_world,
    login,
    make_settings,
)

COLD_QUERIES = 3  # the pupil's groups and zone, their versions, the homework with everything


def titles(todo: dict[str, Any]) -> list[str]:
    return [item["title"] for day in todo["days"] for item in day["items"]]


async def test_warm_to_do_runs_no_query_and_cold_a_fixed_few(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    await post_homework(teacher, world["a"], clock, title="Un")
    with queries.counting() as cold:
        first = await pupil.get("/api/v1/todo")
    assert first.status_code == 200
    assert len(cold) == COLD_QUERIES, cold
    with queries.counting() as warm:
        second = await pupil.get("/api/v1/todo")
    assert warm == []
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    # Ten more homework, with files and hand-ins: still the same few queries (no N+1).
    for number in range(10):
        await post_homework(teacher, world["a"], clock, title=f"Devoir {number}")
    await pupil.post(
        f"/api/v1/homework/{(await post_homework(teacher, world['a'], clock))['id']}/turn-in",
        json={"text": "fait"},
    )
    with queries.counting() as cold_again:
        third = await pupil.get("/api/v1/todo")
    assert len(titles(third.json())) == 12
    assert len(cold_again) == COLD_QUERIES, cold_again


async def test_revalidation_answers_304_until_something_changes(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(teacher, world["a"], clock)
    first = await pupil.get("/api/v1/todo")
    etag = first.headers["etag"]
    with queries.counting() as warm:
        unchanged = await pupil.get("/api/v1/todo", headers={"if-none-match": etag})
    assert (unchanged.status_code, unchanged.content, warm) == (304, b"", [])
    await teacher.patch(f"/api/v1/homework/{work['id']}", json={"title": "Exercices page 43"})
    changed = await pupil.get("/api/v1/todo", headers={"if-none-match": etag})
    assert changed.status_code == 200
    assert changed.headers["etag"] != etag
    item = changed.json()["days"][0]["items"][0]
    assert (item["title"], item["changed"]) == ("Exercices page 43", True)


async def test_a_to_do_rebuilt_unchanged_keeps_its_etag(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    """The pupil's groups are read again every minute and a write elsewhere in the school
    moves a version: the to-do is rebuilt, but a browser's copy still revalidates."""
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    await post_homework(teacher, world["a"], clock, title="Un", due_at=iso(clock, 30 * 86400))
    etag = (await pupil.get("/api/v1/todo")).headers["etag"]
    clock.advance(120)  # past the membership's minute: the next read is cold
    with queries.counting() as rebuilt:
        again = await pupil.get("/api/v1/todo", headers={"if-none-match": etag})
    assert len(rebuilt) == COLD_QUERIES
    assert again.status_code == 304


async def test_the_page_is_cached_too_with_each_readers_form_token(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    await post_homework(
        teacher, world["a"], clock, title="Lire le chapitre 2", hand_in_expected=False
    )
    browser = app.client_for()
    await login(browser, "pupil.a")
    cold = await browser.get("/todo")
    assert cold.status_code == 200
    assert "Lire le chapitre 2" in cold.text
    with queries.counting() as warm:
        again = await browser.get("/todo")
    assert warm == []
    assert again.text == cold.text
    assert CSRF_MARK not in again.text
    assert (
        await browser.get("/todo", headers={"if-none-match": again.headers["etag"]})
    ).status_code == 304
    # Another reader gets their own token in the same cached page.
    other = app.client_for()
    await login(other, "pupil.a")
    theirs = await other.get("/todo")
    assert theirs.text != again.text
    assert theirs.headers["etag"] != again.headers["etag"]
    await browser.aclose()
    await other.aclose()


async def test_a_pupils_own_write_shows_at_once(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(teacher, world["a"], clock, hand_in_expected=False)
    assert (await pupil.get("/api/v1/todo")).json()["days"][0]["items"][0]["done"] is False
    ticked = await pupil.post(f"/api/v1/homework/{work['id']}/done", json={"done": True})
    assert ticked.status_code == 204
    assert (await pupil.get("/api/v1/todo")).json()["days"][0]["items"][0]["done"] is True
    # Another pupil's to-do is untouched by this one's tick.
    other = await as_user("other-pupil.a")
    assert titles((await other.get("/api/v1/todo")).json()) == []


async def test_scheduled_work_appears_at_its_time_without_a_write(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    await post_homework(teacher, world["a"], clock, title="Maintenant")
    later = await post_homework(
        teacher,
        world["a"],
        clock,
        title="Demain",
        publish_at=iso(clock, 86400),
        due_at=iso(clock, 3 * 86400),
    )
    assert titles((await pupil.get("/api/v1/todo")).json()) == ["Maintenant"]
    assert (await pupil.get(f"/api/v1/homework/{later['id']}")).status_code == 404
    clock.advance(86400 + 1)
    assert titles((await pupil.get("/api/v1/todo")).json()) == ["Maintenant", "Demain"]
    # And "late" appears when the due time passes, again without a write.
    clock.advance(86400)
    items = (await pupil.get("/api/v1/todo")).json()["days"][0]["items"]
    assert (items[0]["title"], items[0]["late"]) == ("Maintenant", True)


@pytest.mark.parametrize("shared", ["redis"])
async def test_another_process_hears_the_write(
    engine: AsyncEngine,
    database_url: str,
    tmp_path: Any,
    shared: str,
    request: pytest.FixtureRequest,
) -> None:
    """Two app instances on one database and one Redis: a write through the first moves
    the second's cached to-do on, through pub/sub after the commit."""
    async with two_processes(database_url, tmp_path, request) as (first, second, world):
        clock = Clock()
        teacher = Api(first.client, await api_token(first.client, "teacher.a"))
        pupil_there = Api(second.client, await api_token(second.client, "pupil.a"))
        await post_homework(teacher, world["a"], clock, title="Premier")
        assert titles((await pupil_there.get("/api/v1/todo")).json()) == ["Premier"]
        counter = QueryCounter(second.services.engine)
        with counter.counting() as warm:
            await pupil_there.get("/api/v1/todo")
        assert warm == []
        await post_homework(teacher, world["a"], clock, title="Second")
        for _ in range(200):  # the message crosses Redis; wait for it, not for a timer
            if titles((await pupil_there.get("/api/v1/todo")).json()) == ["Premier", "Second"]:
                break
            import asyncio

            await asyncio.sleep(0.01)
        assert titles((await pupil_there.get("/api/v1/todo")).json()) == ["Premier", "Second"]


async def test_the_served_stack_answers_a_warm_to_do_before_the_router(
    engine: AsyncEngine, database_url: str, tmp_path: Any
) -> None:
    """``bootstrap.build_app`` puts the warm reads inside the session layer: a warm request
    never reaches Litestar (the router is swapped for one that would fail)."""
    import httpx

    from preau.bootstrap import build_app, start_services, stop_services
    from preau.web.warm import WarmReads

    app = build_app(make_settings(database_url, files_dir=tmp_path / "files"))
    # Headers > gate > request context > sessions > warm reads > router.
    fast: Any = app
    for _ in range(10):
        if isinstance(fast, WarmReads):
            break
        fast = fast.app
    assert isinstance(fast, WarmReads)
    services = fast.services
    assert services is not None
    await start_services(services)
    try:
        world = await build_world(services, await services.passwords.hash(PASSWORD))
        clock = Clock()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=as_served(app)), base_url="http://testserver"
        ) as client:
            teacher = Api(client, await api_token(client, "teacher.a"))
            pupil = Api(client, await api_token(client, "pupil.a"))
            await post_homework(teacher, world["a"], clock, title="Servi")
            paths = ("/api/v1/todo", "/api/v1/conversations", "/api/v1/unread")
            cold = [await pupil.get(path) for path in paths]
            router = fast.app

            async def no_router(*_args: Any) -> None:
                raise AssertionError("a warm read reached the router")

            fast.app = no_router
            warm = [await pupil.get(path) for path in paths]
            again = [
                await pupil.get(path, headers={"if-none-match": answer.headers["etag"]})
                for path, answer in zip(paths, warm, strict=True)
            ]
            fast.app = router
        from preau.observability import REQUEST_STATS

        for path in paths:  # a warm read is counted under its own route, not "unmatched"
            assert REQUEST_STATS.count("GET", path, 304) >= 1
        for cold_answer, warm_answer, revalidated in zip(cold, warm, again, strict=True):
            assert cold_answer.status_code == warm_answer.status_code == 200
            assert warm_answer.content == cold_answer.content
            assert warm_answer.headers["etag"] == cold_answer.headers["etag"]
            assert revalidated.status_code == 304
            assert revalidated.content == b""
    finally:
        await stop_services(services)
