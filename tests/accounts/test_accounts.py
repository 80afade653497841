"""Logging in, activation, device credentials, logout and revocation, through HTTP."""

from __future__ import annotations

import asyncio

import pytest

from preau.actions.accounts import password_hashes
from preau.cookies import DEVICE_COOKIE, SESSION_COOKIE
from tests.helpers import PASSWORD, App, School, api_token, csrf_from, login


async def test_login_sets_session_and_device_and_opens_home(
    app: App, world: dict[str, School]
) -> None:
    response = await login(app.client, "pupil.a")
    assert response.status_code in (302, 303)
    assert response.headers["location"] == "/home"
    assert SESSION_COOKIE in app.client.cookies
    assert DEVICE_COOKIE in app.client.cookies
    home = await app.client.get("/home")
    assert home.status_code == 200
    assert "Collège A" in home.text


async def test_login_without_remember_sets_no_device_credential(
    app: App, world: dict[str, School]
) -> None:
    await login(app.client, "pupil.a", remember=False)
    assert SESSION_COOKIE in app.client.cookies
    assert DEVICE_COOKIE not in app.client.cookies


async def test_wrong_password_and_unknown_user_get_the_same_answer(
    app: App, world: dict[str, School]
) -> None:
    wrong = await login(app.client, "pupil.a", "not the password")
    unknown = await login(app.client, "nobody.here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert "incorrect" in wrong.text or "incorrect" in wrong.text.lower()
    # Same page apart from the echoed username and the token: no account enumeration.
    assert wrong.text.replace("pupil.a", "X") == unknown.text.replace("nobody.here", "X")


async def test_repeated_failures_are_throttled_with_a_clear_message(
    app: App, world: dict[str, School]
) -> None:
    for _ in range(app.services.settings.login_attempts_per_account):
        assert (await login(app.client, "teacher.a", "wrong password")).status_code == 401
    blocked = await login(app.client, "teacher.a", PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["retry-after"] == "900"
    assert "15" in blocked.text
    # Another account behind the same address still gets in.
    assert (await login(app.client, "staff.a")).status_code in (302, 303)


async def test_activation_code_works_once_then_password_logs_in(
    app: App, world: dict[str, School]
) -> None:
    admin = await api_token(app.client, "admin.a")
    issued = await app.client.post(
        "/api/v1/activation-codes",
        json={"person_ids": [world["a"].people["other_pupil"]], "reset": True},
        headers={"authorization": f"Bearer {admin}"},
    )
    assert issued.status_code == 201, issued.text
    code = issued.json()[0]["code"]
    client = app.client_for()
    page = await client.get("/activate")
    form = {
        "username": "other-pupil.a",
        "code": code.lower(),
        "password": "my new password",
        "password_again": "my new password",
        "csrf_token": csrf_from(page.text),
        "remember": "on",
    }
    activated = await client.post("/activate", data=form)
    assert activated.status_code in (302, 303), activated.text
    assert (await client.get("/home")).status_code == 200
    again = await app.client_for().post(
        "/api/v1/activation",
        json={"username": "other-pupil.a", "code": code, "password": "another password"},
    )
    assert again.status_code == 401
    assert "activation code" in again.json()["detail"] or "code" in again.json()["detail"]
    fresh = app.client_for()
    assert (await login(fresh, "other-pupil.a", "my new password")).status_code in (302, 303)
    assert (await login(app.client_for(), "other-pupil.a", PASSWORD)).status_code == 401


async def test_device_credential_resumes_without_a_password_hash(
    app: App, world: dict[str, School]
) -> None:
    await login(app.client, "pupil.a")
    device = app.client.cookies[DEVICE_COOKIE]
    next_day = app.client_for(cookies={DEVICE_COOKIE: device})
    before = password_hashes.labels("verify")._value.get()
    home = await next_day.get("/home")
    assert home.status_code == 200
    assert SESSION_COOKIE in home.cookies
    assert password_hashes.labels("verify")._value.get() == before


async def test_logout_revokes_the_device_credential(app: App, world: dict[str, School]) -> None:
    await login(app.client, "pupil.a")
    session = app.client.cookies[SESSION_COOKIE]
    device = app.client.cookies[DEVICE_COOKIE]
    page = await app.client.get("/home")
    assert (
        await app.client.post("/logout", data={"csrf_token": csrf_from(page.text)})
    ).status_code in (302, 303)
    stolen = app.client_for(cookies={SESSION_COOKIE: session, DEVICE_COOKIE: device})
    response = await stolen.get("/home")
    assert response.status_code in (302, 303)
    assert response.headers["location"].startswith("/login")


async def test_log_out_other_devices(app: App, world: dict[str, School]) -> None:
    phone = app.client_for()
    laptop = app.client_for()
    await login(phone, "parent.a")
    await login(laptop, "parent.a")
    page = await laptop.get("/account")
    done = await laptop.post("/account/logout-others", data={"csrf_token": csrf_from(page.text)})
    assert done.status_code in (302, 303)
    assert (await laptop.get("/account")).status_code == 200
    assert (await phone.get("/account")).status_code in (302, 303)


async def test_bearer_token_for_api_clients(app: App, world: dict[str, School]) -> None:
    token = await api_token(app.client, "teacher.a")
    me = await app.client.get("/api/v1/me", headers={"authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["username"] == "teacher.a"
    assert (await app.client.get("/api/v1/me")).status_code == 401
    bad = await app.client.get("/api/v1/me", headers={"authorization": "Bearer forged.token"})
    assert bad.status_code == 401
    assert bad.headers["content-type"].startswith("application/problem+json")


async def test_admin_password_reset_ends_sessions(app: App, world: dict[str, School]) -> None:
    pupil = app.client_for()
    await login(pupil, "pupil.a")
    admin = app.client_for()
    await login(admin, "admin.a")
    page = await admin.get(f"/admin/people/{world['a'].people['pupil']}")
    reset = await admin.post(
        f"/admin/people/{world['a'].people['pupil']}/reset",
        data={"csrf_token": csrf_from(page.text)},
    )
    assert reset.status_code == 200
    assert "pupil.a" in reset.text
    assert (await pupil.get("/home")).status_code in (302, 303)
    assert (await login(app.client_for(), "pupil.a")).status_code == 401


async def test_change_password(app: App, world: dict[str, School]) -> None:
    await login(app.client, "staff.a")
    page = await app.client.get("/account")
    short = await app.client.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": PASSWORD,
            "new_password": "short",
            "new_password_again": "short",
        },
    )
    assert short.status_code == 400
    assert "10" in short.text
    done = await app.client.post(
        "/account/password",
        data={
            "csrf_token": csrf_from(page.text),
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
            "new_password_again": "a brand new passphrase",
        },
    )
    assert done.status_code in (302, 303)
    assert (await login(app.client_for(), "staff.a", "a brand new passphrase")).status_code in (
        302,
        303,
    )


@pytest.mark.slow
async def test_revocation_reaches_another_process_through_redis(
    engine: object, database_url: str, redis_url: str, redis_prefix: str
) -> None:
    """Two app instances (as two processes would be) on one database and one Redis."""
    from tests.helpers import build_world, make_settings, running_app

    settings = make_settings(database_url, redis_url=redis_url, redis_prefix=redis_prefix)
    async with running_app(settings) as first, running_app(settings) as second:
        world = await build_world(first.services, await first.services.passwords.hash(PASSWORD))
        await login(first.client, "pupil.a")
        session = first.client.cookies[SESSION_COOKIE]
        other = second.client_for(cookies={SESSION_COOKIE: session})
        assert (await other.get("/home")).status_code == 200
        page = await first.client.get("/home")
        await first.client.post("/logout", data={"csrf_token": csrf_from(page.text)})
        for _ in range(50):
            if (await other.get("/home")).status_code != 200:
                break
            await asyncio.sleep(0.05)
        refused = await other.get("/home")
        assert refused.status_code in (302, 303), (
            "the second process still accepts a revoked session"
        )
        assert world["a"].id
