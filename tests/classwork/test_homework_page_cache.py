"""A pupil's own page for one homework is a warm read: served from the per-process cache
with no SQL while the pupil's to-do key holds; every write that changes what it shows
moves it on at once, in this process and in others; time alone turns it late or closed;
each page carries the reader's CSRF token and a new idempotency key."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.adapters.sql.schema import enrolments, hand_in_events
from preau.web.classwork import IDEMPOTENCY_MARK
from preau.web.render import CSRF_MARK
from tests.classwork.conftest import PDF, PNG, Api, Clock, iso, post_homework, two_processes
from tests.classwork.test_homework_flow import upload
from tests.helpers import (
    App,
    QueryCounter,
    School,
    api_token,
    csrf_from,
    login,
)

# The pupil's groups and zone, their versions (the to-do key, read first), then what
# get_homework and get_hand_in read with their access checks (the hand-in check reuses
# what the homework check read: whether it is set for the pupil).
COLD_QUERIES = 12


def idempotency_key(html: str) -> str:
    match = re.search(r'name="idempotency_key" value="([^"]+)"', html)
    assert match, "the page has no turn-in form"
    return match.group(1)


def without_keys(html: str) -> str:
    """The page with its per-request parts (CSRF token, idempotency key) blanked."""
    html = re.sub(r'name="csrf_token" value="[^"]+"', 'name="csrf_token" value=""', html)
    return re.sub(r'name="idempotency_key" value="[^"]+"', 'name="idempotency_key" value=""', html)


# The one-time confirmation, which takes the focus (keyboard and screen reader users land on it).
CONFIRMATION = '<p class="ok" role="status" id="confirmation" tabindex="-1" autofocus>{}</p>'


async def signed_in(app: App, username: str) -> httpx.AsyncClient:
    browser = app.client_for(headers={"accept-language": "en"})
    await login(browser, username)
    return browser


class Page:
    """One pupil's browser on one homework page, and the statements its views run."""

    def __init__(self, browser: httpx.AsyncClient, path: str, queries: QueryCounter) -> None:
        self.browser = browser
        self.path = path
        self.queries = queries

    async def view(self, status: int = 200) -> str:
        answer = await self.browser.get(self.path)
        assert answer.status_code == status, answer.text
        return answer.text

    async def warm(self) -> str:
        """The page, then the page again with no SQL at all: what the next write must move."""
        first = await self.view()
        with self.queries.counting() as statements:
            again = await self.view()
        assert statements == [], statements
        assert without_keys(again) == without_keys(first)
        return again


async def test_a_warm_page_runs_no_query(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock, title="Rédaction")
    browser = await signed_in(app, "pupil.a")
    with queries.counting() as cold:
        first = await browser.get(f"/homework/{work['id']}")
    assert first.status_code == 200
    assert "Rédaction" in first.text
    assert len(cold) == COLD_QUERIES, cold
    with queries.counting() as warm:
        second = await browser.get(f"/homework/{work['id']}")
    assert warm == []
    assert second.headers["content-type"] == first.headers["content-type"]
    assert second.headers["cache-control"] == "no-store"
    assert "etag" not in second.headers  # a kept page would turn in with a used key
    assert without_keys(second.text) == without_keys(first.text)
    # While the pupil's to-do key is known (read by the first page), a cold page skips it.
    other = await post_homework(teacher, world["a"], clock, title="Lecture")
    with queries.counting() as cold_with_key:
        assert (await browser.get(f"/homework/{other['id']}")).status_code == 200
    assert len(cold_with_key) == COLD_QUERIES - 2, cold_with_key
    # The pupil's groups are read again after a minute; if nothing else moved, that is all.
    clock.advance(61)
    with queries.counting() as groups_again:
        assert (await browser.get(f"/homework/{other['id']}")).status_code == 200
    assert len(groups_again) == 2, groups_again
    # A flash message, a `pupil` parameter: the current way, with the database.
    with queries.counting() as flashed:
        done = await browser.get(f"/homework/{work['id']}?done=taken-back")
    assert "Your work is taken back" in done.text
    assert flashed != []
    await browser.aclose()


async def test_each_page_has_a_new_idempotency_key_and_the_readers_csrf_token(
    app: App, world: dict[str, School], clock: Clock, as_user: Any
) -> None:
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock)
    path = f"/homework/{work['id']}"
    browser = await signed_in(app, "pupil.a")
    pages = [(await browser.get(path)).text for _ in range(3)]
    keys = [idempotency_key(page) for page in pages]
    assert len(set(keys)) == 3
    assert all(len(key) >= 20 for key in keys)
    token = csrf_from(pages[0])
    assert {csrf_from(page) for page in pages} == {token}
    for page in pages:
        assert CSRF_MARK not in page
        assert IDEMPOTENCY_MARK.decode() not in page
    # Another browser of the same pupil shares the cached page, with its own token.
    other = await signed_in(app, "pupil.a")
    theirs = (await other.get(path)).text
    assert csrf_from(theirs) != token
    assert without_keys(theirs) == without_keys(pages[0])
    # The token in the page is the one its reader's form must carry.
    taken = await other.post(
        f"{path}/turn-in",
        data={"csrf_token": csrf_from(theirs), "text": "ok", "idempotency_key": keys[0]},
    )
    assert taken.status_code in (302, 303), taken.text
    refused = await other.post(
        f"{path}/take-back", data={"csrf_token": token}
    )  # the first browser's token
    assert refused.status_code == 403
    for client in (browser, other):
        await client.aclose()


async def test_turning_in_with_a_warm_pages_key_works_once(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock)
    path = f"/homework/{work['id']}"
    browser = await signed_in(app, "pupil.a")
    page = await Page(browser, path, queries).warm()
    form = {
        "csrf_token": csrf_from(page),
        "text": "Mes réponses",
        "idempotency_key": idempotency_key(page),
    }
    first = await browser.post(f"{path}/turn-in", data=form)
    retry = await browser.post(f"{path}/turn-in", data=form)  # a double click, a retry
    assert first.status_code in (302, 303), first.text
    assert retry.status_code in (302, 303), retry.text
    async with app.services.engine.connect() as connection:
        turned_in = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(hand_in_events)
                .where(hand_in_events.c.to_state == "turned_in")
            )
        ).scalar_one()
    assert turned_in == 1
    confirmed = await Page(browser, path, queries).view()
    assert "Your work is turned in." in confirmed
    after = await Page(browser, path, queries).warm()
    assert "Turned in on" in after
    assert "Mes réponses" in after
    assert 'name="idempotency_key"' not in after  # turned in: take back, no turn-in form
    await browser.aclose()


async def test_the_confirmation_after_turning_in_leaves_the_page_cacheable(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    """The form sends the pupil back to the page's plain address with what they did in a
    short-lived cookie for that page alone: the first view shows it in their language,
    clears it and fills the cache, so the next view is warm and shows it no more."""
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock)
    other = await post_homework(teacher, world["a"], clock, title="Lecture")
    path = f"/homework/{work['id']}"
    browser = await signed_in(app, "pupil.a")
    page = Page(browser, path, queries)
    before = await page.warm()
    turned = await browser.post(
        f"{path}/turn-in",
        data={
            "csrf_token": csrf_from(before),
            "text": "Mes réponses",
            "idempotency_key": idempotency_key(before),
        },
    )
    assert turned.status_code in (302, 303), turned.text
    assert turned.headers["location"] == path  # no query string: the cached page
    assert f"path={path}" in turned.headers["set-cookie"].lower()
    # Another homework's page does not take it.
    elsewhere = (await browser.get(f"/homework/{other['id']}")).text
    assert 'id="confirmation"' not in elsewhere
    confirmed = await page.view()
    assert CONFIRMATION.format("Your work is turned in.") in confirmed
    assert "Turned in on" in confirmed
    with queries.counting() as next_view:
        after = await page.view()
    assert next_view == []
    assert 'id="confirmation"' not in after
    assert without_keys(after) == without_keys(confirmed).replace(
        CONFIRMATION.format("Your work is turned in."), ""
    )
    # In French, taking it back.
    browser.headers["accept-language"] = "fr"
    taken = await browser.post(f"{path}/take-back", data={"csrf_token": csrf_from(after)})
    assert taken.status_code in (302, 303), taken.text
    assert taken.headers["location"] == path
    confirmed = await page.view()
    assert "Votre travail est repris : modifiez-le et rendez-le à nouveau." in confirmed
    with queries.counting() as next_view:
        after = await page.view()
    assert next_view == []
    assert 'id="confirmation"' not in after
    for html in (before, confirmed, after, elsewhere):
        assert "@@preau-" not in html  # no placeholder left in a page sent
    # An address from before the cookie (a process not yet updated) still says it.
    old_style = (await browser.get(f"{path}?done=turned-in")).text
    assert "Votre travail est rendu." in old_style
    await browser.aclose()


async def test_homework_writes_show_at_once(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock, title="Exercices page 42")
    path = f"/homework/{work['id']}"
    browser = await signed_in(app, "pupil.a")
    page = Page(browser, path, queries)
    assert "Exercices page 42" in await page.warm()

    edited = await teacher.patch(path.replace("/homework", "/api/v1/homework"), json={
        "title": "Exercices page 43", "instructions": "Faire **tout**.",
        "instructions_format": "markdown",
    })  # fmt: skip
    assert edited.status_code == 200, edited.text
    shown = await page.view()
    assert "Exercices page 43" in shown
    assert "<strong>tout</strong>" in shown
    assert "The teacher changed this homework" in shown

    pdf = await upload(teacher, "fiche.pdf", PDF)
    await page.warm()
    attached = await teacher.patch(f"/api/v1/homework/{work['id']}", json={
        "attachment_ids": [pdf["id"]],
    })  # fmt: skip
    assert attached.status_code == 200, attached.text
    assert "fiche.pdf" in await page.view()
    await page.warm()
    await teacher.patch(f"/api/v1/homework/{work['id']}", json={"attachment_ids": []})
    assert "fiche.pdf" not in await page.view()

    await page.warm()
    await teacher.patch(f"/api/v1/homework/{work['id']}", json={"due_at": iso(clock, 5 * 86400)})
    assert "extended" not in await page.view()  # the new time, and no extension
    await page.warm()
    # Publication moved to tomorrow: gone at once, back at its time.
    await teacher.patch(f"/api/v1/homework/{work['id']}", json={"publish_at": iso(clock, 86400)})
    await page.view(404)
    clock.advance(86400 + 1)
    assert "Exercices page 43" in await page.warm()

    copied = await teacher.post(
        f"/api/v1/homework/{work['id']}/copy", json={"group_id": world["a"].class_id}
    )
    assert copied.status_code == 201, copied.text
    copy_page = Page(browser, f"/homework/{copied.json()['id']}", queries)
    assert "Exercices page 43" in await copy_page.warm()
    await teacher.patch(f"/api/v1/homework/{copied.json()['id']}", json={"title": "Copie"})
    assert "Copie" in await copy_page.view()
    assert "Exercices page 43" in await page.view()

    await page.warm()
    assert (await teacher.delete(f"/api/v1/homework/{work['id']}")).status_code == 204
    await page.view(404)
    await browser.aclose()


async def test_hand_in_writes_show_at_once(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    pupil: Api = await as_user("pupil.a")
    work = await post_homework(teacher, world["a"], clock)
    api_path = f"/api/v1/homework/{work['id']}"
    pupil_id = world["a"].people["pupil"]
    review = f"{api_path}/hand-ins/{pupil_id}"
    browser = await signed_in(app, "pupil.a")
    page = Page(browser, f"/homework/{work['id']}", queries)

    assert "state-assigned" in await page.warm()
    photo = await upload(pupil, "copie.png", PNG)
    turned = await pupil.post(
        f"{api_path}/turn-in", json={"text": "Première version", "file_ids": [photo["id"]]}
    )
    assert turned.status_code == 200, turned.text
    shown = await page.view()
    assert "state-turned_in" in shown
    assert "copie.png" in shown  # a file added to the hand-in
    assert "Première version" in shown

    await page.warm()
    assert (await pupil.post(f"{api_path}/take-back")).status_code == 200
    shown = await page.view()
    assert "state-assigned" in shown
    assert 'name="idempotency_key"' in shown

    states = (("missing", "missing"), ("excused", "excused"), ("reset", "assigned"))
    for action, state in states:
        await page.warm()
        answer = await teacher.post(f"{review}/{action}")
        assert answer.status_code == 200, answer.text
        assert f"state-{state}" in await page.view()

    await page.warm()
    returned = await teacher.post(
        f"{review}/return", json={"feedback": "Bien vu.", "mark": 14, "mark_out_of": 20}
    )
    assert returned.status_code == 200, returned.text
    shown = await page.view()
    assert "Bien vu." in shown
    assert "mark 14\xa0/\xa020" in shown

    await page.warm()
    extended = await teacher.put(
        f"{api_path}/extensions/{pupil_id}", json={"due_at": iso(clock, 4 * 86400)}
    )
    assert extended.status_code == 200, extended.text
    assert "extended for you" in await page.view()
    await page.warm()
    assert (await teacher.delete(f"{api_path}/extensions/{pupil_id}")).status_code == 204
    assert "extended for you" not in await page.view()
    await browser.aclose()


async def test_renaming_the_group_or_the_teacher_shows_at_once(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    admin: Api = await as_user("admin.a")
    work = await post_homework(teacher, world["a"], clock)
    browser = await signed_in(app, "pupil.a")
    page = Page(browser, f"/homework/{work['id']}", queries)
    assert "class a · Teacher SchoolA" in await page.warm()
    renamed = await admin.patch(f"/api/v1/groups/{world['a'].class_id}", json={"name": "3e B"})
    assert renamed.status_code == 200, renamed.text
    assert "3e B · Teacher SchoolA" in await page.view()
    await page.warm()
    teacher_id = world["a"].people["teacher"]
    renamed = await admin.patch(f"/api/v1/people/{teacher_id}", json={"family_name": "Martin"})
    assert renamed.status_code == 200, renamed.text
    assert "3e B · Teacher Martin" in await page.view()
    await browser.aclose()


async def test_late_and_closed_come_with_time_alone(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(
        teacher, world["a"], clock, due_at=iso(clock, 86400), cutoff_at=iso(clock, 2 * 86400)
    )
    browser = await signed_in(app, "pupil.a")
    page = Page(browser, f"/homework/{work['id']}", queries)
    shown = await page.warm()
    assert "badge bad" not in shown
    assert 'name="idempotency_key"' in shown
    clock.advance(86400)  # exactly the due time: not late yet
    assert "badge bad" not in await page.warm()
    clock.advance(1)
    shown = await page.warm()
    assert "badge bad" in shown  # late
    assert 'name="idempotency_key"' in shown  # still open until the cut-off
    clock.advance(86400)
    shown = await page.warm()
    assert "The cut-off time for this homework has passed" in shown
    assert 'name="idempotency_key"' not in shown
    await browser.aclose()


async def test_scheduled_homework_is_not_shown_before_its_time(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    later = await post_homework(
        teacher,
        world["a"],
        clock,
        title="Demain",
        publish_at=iso(clock, 86400),
        due_at=iso(clock, 3 * 86400),
    )
    browser = await signed_in(app, "pupil.a")
    page = Page(browser, f"/homework/{later['id']}", queries)
    await browser.get("/todo")  # the pupil's to-do key is known and current
    await page.view(404)
    await page.view(404)
    clock.advance(86400 - 1)
    await page.view(404)
    clock.advance(2)
    assert "Demain" in await page.warm()
    await browser.aclose()


async def test_who_may_not_see_the_homework_still_gets_not_found(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    teacher: Api = await as_user("teacher.a")
    work = await post_homework(teacher, world["a"], clock)
    path = f"/homework/{work['id']}"
    own = await signed_in(app, "pupil.a")
    await Page(own, path, queries).warm()
    for username in ("other-pupil.a", "pupil.b"):
        stranger = await signed_in(app, username)
        await stranger.get("/todo")  # their to-do key is warm too
        missing = await stranger.get("/homework/999999")
        for _ in range(2):
            refused = await stranger.get(path)
            assert refused.status_code == missing.status_code == 404
            assert "This homework does not exist or is not for you." in refused.text
            assert without_keys(refused.text).replace(path, "") == without_keys(
                missing.text
            ).replace("/homework/999999", "")
        await stranger.aclose()
    # A parent still reads the child's hand-in the current way (read-only, no form).
    parent = await signed_in(app, "parent.a")
    answer = await parent.get(path)
    assert answer.status_code == 200
    assert "turn-in" not in answer.text
    for client in (own, parent):
        await client.aclose()


async def test_work_for_chosen_pupils_is_not_kept_for_one_who_left_the_group(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, queries: QueryCounter
) -> None:
    """Its group's version is not in the pupil's to-do key any more, so nothing would
    move a kept copy on: it is read each time, as before."""
    teacher: Api = await as_user("teacher.a")
    pupil_id = world["a"].people["pupil"]
    work = await post_homework(teacher, world["a"], clock, pupil_ids=[pupil_id])
    async with app.services.engine.begin() as connection:
        await connection.execute(
            enrolments.delete().where(
                enrolments.c.person_id == pupil_id,
                enrolments.c.group_id == world["a"].class_id,
            )
        )
    clock.advance(61)  # the pupil's groups are read again after a minute
    browser = await signed_in(app, "pupil.a")
    page = Page(browser, f"/homework/{work['id']}", queries)
    assert "Exercices page 42" in await page.view()
    with queries.counting() as statements:
        await page.view()
    assert statements != []
    await teacher.patch(f"/api/v1/homework/{work['id']}", json={"title": "Pour toi seul"})
    assert "Pour toi seul" in await page.view()
    await browser.aclose()


@pytest.mark.parametrize("shared", ["redis"])
async def test_another_process_sees_the_write(
    engine: AsyncEngine,
    database_url: str,
    tmp_path: Any,
    shared: str,
    request: pytest.FixtureRequest,
) -> None:
    """Two app instances on one database and one Redis: a write through the first moves
    the second's cached page on, through pub/sub after the commit."""
    async with two_processes(database_url, tmp_path, request) as (first, second, world):
        clock = Clock()
        teacher = Api(first.client, await api_token(first.client, "teacher.a"))
        work = await post_homework(teacher, world["a"], clock, title="Premier titre")
        browser = second.client_for(headers={"accept-language": "en"})
        await login(browser, "pupil.a")
        page = Page(browser, f"/homework/{work['id']}", QueryCounter(second.services.engine))
        assert "Premier titre" in await page.warm()
        pupil_id = world["a"].people["pupil"]
        writes: list[tuple[Callable[[], Awaitable[httpx.Response]], str]] = [
            (
                lambda: teacher.patch(
                    f"/api/v1/homework/{work['id']}", json={"title": "Second titre"}
                ),
                "Second titre",
            ),
            (
                lambda: teacher.post(
                    f"/api/v1/homework/{work['id']}/hand-ins/{pupil_id}/return",
                    json={"feedback": "Vu en classe."},
                ),
                "Vu en classe.",
            ),
        ]
        for write, expected in writes:
            await page.warm()
            assert (await write()).status_code == 200
            for _ in range(200):  # the message crosses Redis; wait for it, not for a timer
                if expected in await page.view():
                    break
                await asyncio.sleep(0.01)
            assert expected in await page.view()
        await browser.aclose()
