"""The inbox page as most people open it is a warm read: rendered once per locale from the
kept inbox, answered again with no SQL and with a 304 for the same reader, and dropped by
any event concerning the person (a new message, a read, an archive)."""

from __future__ import annotations

import httpx

from preau.cookies import LANG_COOKIE
from tests.helpers import App, QueryCounter, School, login
from tests.messages.support import headers_for


async def _browser(app: App, username: str) -> httpx.AsyncClient:
    client = app.client_for()
    assert (await login(client, username)).status_code in (302, 303)
    return client


async def test_the_inbox_page_is_served_warm_then_dropped_by_a_new_message(
    app: App, world: dict[str, School]
) -> None:
    teacher = await _browser(app, "teacher.a")
    parent = await headers_for(app, "parent.a")
    started = await app.client.post(
        "/api/v1/conversations",
        json={"subject": "Sortie", "body": "Bonjour", "person_ids": [world["a"].people["teacher"]]},
        headers=parent,
    )
    assert started.status_code == 201, started.text
    queries = QueryCounter(app.services.engine)

    cold = await teacher.get("/messages")
    assert cold.status_code == 200
    assert "Sortie" in cold.text
    with queries.counting() as warm_statements:
        warm = await teacher.get("/messages")
        again = await teacher.get("/messages", headers={"if-none-match": warm.headers["etag"]})
    assert warm_statements == []
    assert warm.text == cold.text
    assert again.status_code == 304

    # In the other locale: its own page, from the same kept inbox.
    teacher.cookies.set(LANG_COOKIE, "en")
    english = await teacher.get("/messages")
    assert english.status_code == 200
    assert english.headers["etag"] != warm.headers["etag"]
    assert 'lang="en"' in english.text
    with queries.counting() as warm_statements:
        assert (await teacher.get("/messages")).text == english.text
    assert warm_statements == []

    # A new message drops the kept inbox and its pages: the next view is read again.
    answered = await app.client.post(
        "/api/v1/conversations",
        json={
            "subject": "Cantine",
            "body": "Bonjour",
            "person_ids": [world["a"].people["teacher"]],
        },
        headers=parent,
    )
    assert answered.status_code == 201, answered.text
    with queries.counting() as cold_statements:
        fresh = await teacher.get("/messages")
    assert cold_statements
    assert "Cantine" in fresh.text
    assert fresh.headers["etag"] != english.headers["etag"]


async def test_a_search_or_another_page_is_never_the_warm_page(
    app: App, world: dict[str, School]
) -> None:
    teacher = await _browser(app, "teacher.a")
    assert (await teacher.get("/messages")).status_code == 200
    queries = QueryCounter(app.services.engine)
    with queries.counting() as statements:
        found = await teacher.get("/messages", params={"q": "sortie"})
    assert found.status_code == 200
    assert statements
