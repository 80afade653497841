"""CSRF tokens bound to the session, rotated at login; API clients with a bearer token get
no cookie; a client that keeps cookies gets its CSRF token and can log in one person after
another (issue 20)."""

from __future__ import annotations

from preau.adapters.sql.schema import groups
from preau.cookies import CSRF_COOKIE, SESSION_COOKIE
from tests.helpers import PASSWORD, App, School, count_rows, csrf_from, login


async def test_a_planted_csrf_cookie_with_its_own_token_is_refused(
    app: App, world: dict[str, School]
) -> None:
    del world
    # The attacker's own pair, as anyone gets it from the login page.
    attacker = app.client_for()
    page = await attacker.get("/login")
    planted_cookie, planted_token = attacker.cookies[CSRF_COOKIE], csrf_from(page.text)
    # The victim is signed in; the attacker plants their cookie on the domain.
    victim = app.client_for()
    await login(victim, "admin.a")
    victim.cookies.set(CSRF_COOKIE, planted_cookie)
    before = await count_rows(app.services, groups)
    forged = await victim.post(
        "/admin/groups", data={"name": "Forged", "kind": "group", "csrf_token": planted_token}
    )
    assert forged.status_code == 403, forged.text
    api = await victim.post(
        "/api/v1/groups", json={"name": "Forged"}, headers={"x-csrf-token": planted_token}
    )
    assert api.status_code == 403, api.text
    assert await count_rows(app.services, groups) == before
    # The victim's own page, read with the cookies they hold, gives a token that works.
    own = await victim.get("/admin/groups")
    allowed = await victim.post(
        "/admin/groups",
        data={"name": "Real", "kind": "group", "csrf_token": csrf_from(own.text)},
        follow_redirects=False,
    )
    assert allowed.status_code in (302, 303), allowed.text
    assert await count_rows(app.services, groups) == before + 1


async def test_the_token_changes_at_login_and_the_old_one_stops_working(
    app: App, world: dict[str, School]
) -> None:
    del world
    client = app.client_for()
    page = await client.get("/login")
    before_login = csrf_from(page.text)
    cookie_before = client.cookies[CSRF_COOKIE]
    response = await client.post(
        "/login",
        data={"username": "admin.a", "password": PASSWORD, "csrf_token": before_login},
    )
    assert response.status_code in (302, 303), response.text
    assert client.cookies[CSRF_COOKIE] != cookie_before  # rotated
    home = await client.get("/home")
    after_login = csrf_from(home.text)
    assert after_login != before_login
    stale = await client.post(
        "/admin/groups", data={"name": "Stale", "kind": "group", "csrf_token": before_login}
    )
    assert stale.status_code == 403


async def test_bearer_clients_get_no_cookies(app: App, world: dict[str, School]) -> None:
    del world
    client = app.client_for()
    login_response = await client.post(
        "/api/v1/session", json={"username": "teacher.a", "password": PASSWORD}
    )
    assert login_response.status_code == 201
    assert "set-cookie" not in login_response.headers
    assert login_response.json()["csrf_token"] is None
    token = login_response.json()["token"]
    for method, path in (("GET", "/api/v1/me"), ("GET", "/api/v1/unread"), ("GET", "/nope")):
        answer = await client.request(method, path, headers={"authorization": f"Bearer {token}"})
        assert "set-cookie" not in answer.headers, (path, answer.headers)
    ended = await client.delete("/api/v1/session", headers={"authorization": f"Bearer {token}"})
    assert ended.status_code == 204
    assert "set-cookie" not in ended.headers


async def test_a_client_that_keeps_cookies_logs_in_two_people_one_after_the_other(
    app: App, world: dict[str, School]
) -> None:
    school = world["a"]
    client = app.client_for()  # httpx keeps cookies, like most HTTP libraries
    for username in ("teacher.a", "pupil.a"):
        answer = await client.post(
            "/api/v1/session", json={"username": username, "password": PASSWORD}
        )
        assert answer.status_code == 201, answer.text
    # Asking for cookies: the CSRF token comes in the answer, documented in the schema.
    for username, person in (("teacher.a", "teacher"), ("admin.a", "admin")):
        answer = await client.post(
            "/api/v1/session",
            json={"username": username, "password": PASSWORD, "cookies": True},
        )
        assert answer.status_code == 201, answer.text
        assert SESSION_COOKIE in client.cookies
        csrf = answer.json()["csrf_token"]
        assert csrf
        assert answer.headers["x-csrf-token"] == csrf
        me = await client.get("/api/v1/me")
        assert me.json()["id"] == school.people[person]
        refused = await client.post("/api/v1/session/others")
        assert refused.status_code == 403, refused.text
        allowed = await client.post("/api/v1/session/others", headers={"x-csrf-token": csrf})
        assert allowed.status_code == 201, allowed.text
    schema = (await client.get("/api/v1/schema/openapi.json")).json()
    assert "csrf_token" in schema["components"]["schemas"]["SessionToken"]["properties"]
    assert "cookies" in schema["components"]["schemas"]["LoginRequest"]["properties"]
