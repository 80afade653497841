"""Every warm read ``bootstrap`` lists (``web/warm.py``) has a router handler that answers
the very bytes and ETag the fast path sends: cold through the router, warm before it, and
cold again in another process (empty caches), where the handler answers ``304`` to the
warm answer's ETag too."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.asgi import ASGIApp
from preau.bootstrap import (
    WARM_READS,
    around,
    build_router,
    build_services,
    start_services,
    stop_services,
)
from preau.cookies import CONFIRMATION_COOKIE
from preau.settings import Settings
from preau.web.warm import WarmReads
from tests.classwork.conftest import Api, Clock, post_homework
from tests.helpers import PASSWORD, api_token, as_served, build_world, login, make_settings

# Paths whose warm answer this test expects to find (a read added to bootstrap's list is
# checked without being named here; one dropped from it fails the first assertion).
EXPECTED = {
    "/todo",
    "/api/v1/todo",
    "/api/v1/conversations",
    "/messages",
    "/api/v1/unread",
    "/timetable",
    "/api/v1/timetable/week",
}


class Process:
    """One application as bootstrap serves it (no gate), with its warm-reads layer at
    hand, so a test can see whether a request reached the router."""

    def __init__(self, settings: Settings) -> None:
        self.services = build_services(settings)
        app = around(
            cast("ASGIApp", build_router(self.services)), self.services, settings, gate=None
        )
        layer: Any = app
        while not isinstance(layer, WarmReads):
            layer = layer.app
        self.warm: WarmReads = layer
        self.router = layer.app
        self.routed: list[str] = []
        self.app = app

    async def _counting_router(self, scope: Any, receive: Any, send: Any) -> None:
        self.routed.append(scope["path"])
        await self.router(scope, receive, send)

    async def _no_router(self, scope: Any, _receive: Any, _send: Any) -> None:
        raise AssertionError(f"{scope['path']}: a warm read reached the router")

    def count_routed(self) -> None:
        self.warm.app = self._counting_router

    def refuse_routing(self) -> None:
        self.warm.app = self._no_router

    def client(self, cookies: httpx.Cookies | None = None) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            transport=httpx.ASGITransport(app=as_served(self.app)),
            base_url="http://testserver",
            cookies=cookies,
        )


@asynccontextmanager
async def process(settings: Settings) -> AsyncIterator[Process]:
    running = Process(settings)
    await start_services(running.services)
    try:
        yield running
    finally:
        await stop_services(running.services)


def same(first: httpx.Response, second: httpx.Response) -> tuple[Any, ...]:
    return (
        first.status_code,
        second.status_code,
        first.content == second.content,
        first.headers["etag"] == second.headers["etag"],
        first.headers["content-type"] == second.headers["content-type"],
    )


async def test_every_warm_read_is_answered_alike_by_its_handler_and_before_the_router(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    del engine  # empties the tables afterwards
    paths = [read.path for read in WARM_READS]
    assert set(paths) == EXPECTED
    assert len(paths) == len(set(paths))
    settings = make_settings(database_url, files_dir=tmp_path / "files")
    async with process(settings) as first, process(settings) as second:
        world = await build_world(first.services, await first.services.passwords.hash(PASSWORD))
        async with first.client() as api_client, first.client() as pupil:
            teacher = Api(api_client, await api_token(api_client, "teacher.a"))
            # Something on the to-do, so the bodies compared are not empty ones.
            await post_homework(teacher, world["a"], Clock(), title="Servi")
            await login(pupil, "pupil.a")

            first.count_routed()
            cold = {path: await pupil.get(path) for path in paths}
            assert first.routed == paths  # each went through its handler
            first.refuse_routing()
            warm = {path: await pupil.get(path) for path in paths}
            revalidated = {
                path: await pupil.get(path, headers={"if-none-match": warm[path].headers["etag"]})
                for path in paths
            }
            async with second.client(pupil.cookies) as elsewhere:
                second.count_routed()
                cold_there = {
                    path: await elsewhere.get(
                        path, headers={"if-none-match": warm[path].headers["etag"]}
                    )
                    for path in paths
                }
                assert second.routed == paths
                filled_there = {path: await elsewhere.get(path) for path in paths}
    for path in paths:
        assert same(cold[path], warm[path]) == (200, 200, True, True, True), (
            path,
            cold[path].headers,
            warm[path].headers,
        )
        assert (revalidated[path].status_code, revalidated[path].content) == (304, b""), path
        assert (cold_there[path].status_code, cold_there[path].content) == (304, b""), path
        assert same(warm[path], filled_there[path]) == (200, 200, True, True, True), path
        assert warm[path].headers["cache-control"] == "private, no-cache", path
    assert "Servi" in warm["/api/v1/todo"].json()["days"][0]["items"][0]["title"]
    assert "Servi" in warm["/todo"].text


async def test_a_warm_read_is_only_for_whom_it_is_kept(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    """Who a read is for is decided before any cache: with a pupil's to-do, inbox and
    week warm, a parent's /todo and another pupil's to-do, a search of the inbox and
    another week all go to the router."""
    del engine
    settings = make_settings(database_url, files_dir=tmp_path / "files")
    async with process(settings) as running:
        world = await build_world(running.services, await running.services.passwords.hash(PASSWORD))
        async with (
            running.client() as api_client,
            running.client() as pupil,
            running.client() as parent,
            running.client() as other,
        ):
            teacher = Api(api_client, await api_token(api_client, "teacher.a"))
            await post_homework(teacher, world["a"], Clock(), title="Servi")
            await login(pupil, "pupil.a")
            await login(parent, "parent.a")
            await login(other, "other-pupil.a")
            for path in EXPECTED:
                await pupil.get(path)
            running.count_routed()
            assert (await parent.get("/todo")).headers["location"] == "/children"
            assert (await parent.get("/api/v1/todo")).status_code == 403
            assert "Servi" not in (await other.get("/api/v1/todo")).text
            searched = await pupil.get("/api/v1/conversations", params={"q": "Servi"})
            next_week = await pupil.get("/api/v1/timetable/week", params={"week": "2030-W02"})
            assert (searched.status_code, next_week.status_code) == (200, 200)
            assert running.routed == [
                "/todo",
                "/api/v1/todo",
                "/api/v1/todo",
                "/api/v1/conversations",
                "/api/v1/timetable/week",
            ]


def without_form_key(page: str) -> str:
    return re.sub(r'name="idempotency_key" value="[^"]+"', 'name="idempotency_key"', page)


async def test_a_pupils_warm_homework_page_is_answered_before_the_router_as_its_handler_does(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    """The pupil's own page for one homework (``WARM_PAGES``): cold through its handler,
    warm before the router with the same bytes but a fresh form key; the handler again
    for a query string, a confirmation to show, another reader, and once the homework
    changed (the warm entry is dropped with the pupil's to-do version)."""
    del engine
    settings = make_settings(database_url, files_dir=tmp_path / "files")
    async with process(settings) as running:
        world = await build_world(running.services, await running.services.passwords.hash(PASSWORD))
        async with (
            running.client() as api_client,
            running.client() as pupil,
            running.client() as parent,
        ):
            teacher = Api(api_client, await api_token(api_client, "teacher.a"))
            work = await post_homework(teacher, world["a"], Clock(), title="Servi")
            path = f"/homework/{work['id']}"
            await login(pupil, "pupil.a")
            await login(parent, "parent.a")
            running.count_routed()
            cold = await pupil.get(path)
            assert running.routed == [path]
            running.refuse_routing()
            warm = await pupil.get(path)
            kept = [c for k, c in running.services.stale_copies.entries.items() if path in k]
            again = await pupil.get(path)
            kept_again = [c for k, c in running.services.stale_copies.entries.items() if path in k]
            # Its copy for the degraded mode is kept once, not again for every fresh key.
            assert len(kept) == 1
            assert kept_again == kept
            assert (cold.status_code, warm.status_code) == (200, 200)
            assert without_form_key(warm.text) == without_form_key(cold.text)
            assert warm.text != again.text  # a fresh key on every page sent
            for header in ("content-type", "cache-control"):
                assert warm.headers[header] == cold.headers[header], header
            assert warm.headers["cache-control"] == "no-store"
            assert "Servi" in warm.text

            running.count_routed()
            running.routed.clear()
            await pupil.get(path, params={"done": "1"})
            pupil.cookies.set(CONFIRMATION_COOKIE, "turned-in", path=path)
            confirmed = await pupil.get(path)
            pupil.cookies.delete(CONFIRMATION_COOKIE, path=path)
            assert (await parent.get(path)).status_code in (200, 404)
            await pupil.get(f"/homework/{work['id']}x")
            edited = await teacher.patch(f"/api/v1/homework/{work['id']}", json={"title": "Revu"})
            assert edited.status_code == 200, edited.text
            fresh = await pupil.get(path)
            api_path = f"/api/v1/homework/{work['id']}"
            assert running.routed == [path, path, path, f"{path}x", api_path, path]
            assert confirmed.status_code == 200
            assert 'id="confirmation"' in confirmed.text
            assert "Revu" in fresh.text
            assert "Servi" not in fresh.text
            running.refuse_routing()
            assert "Revu" in (await pupil.get(path)).text


async def test_a_page_made_per_reader_is_kept_for_the_degraded_mode_once_per_content(
    engine: AsyncEngine, database_url: str, tmp_path: Path
) -> None:
    """The to-do page differs per reader (their CSRF token, their ETag): the pupil's copy
    kept for when the database is down is written (here and to the shared state) when
    the to-do changes, not again for each of their devices."""
    del engine
    settings = make_settings(database_url, files_dir=tmp_path / "files")
    async with process(settings) as running:
        world = await build_world(running.services, await running.services.passwords.hash(PASSWORD))
        copies = running.services.stale_copies
        async with (
            running.client() as api_client,
            running.client() as phone,
            running.client() as laptop,
        ):
            teacher = Api(api_client, await api_token(api_client, "teacher.a"))
            await post_homework(teacher, world["a"], Clock(), title="Servi")
            await login(phone, "pupil.a")
            await login(laptop, "pupil.a")

            def kept() -> list[Any]:
                return [copy for key, copy in copies.entries.items() if key.endswith(":/todo:-")]

            on_phone = await phone.get("/todo")
            first = kept()
            on_laptop = await laptop.get("/todo")
            assert on_phone.headers["etag"] != on_laptop.headers["etag"]  # one per reader
            assert len(first) == 1
            assert kept() == first
            assert kept()[0].body == on_phone.content
            await post_homework(teacher, world["a"], Clock(), title="Nouveau")
            changed = await laptop.get("/todo")
            assert "Nouveau" in changed.text
            assert len(kept()) == 1
            assert kept()[0].body == changed.content
