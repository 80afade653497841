"""A device credential resumes a session with no database read while this process's
revocations are fresh, and every way of ending a device still ends it: logout elsewhere,
a person deactivated or given another profile, a password change (actions/sessions)."""

from __future__ import annotations

import sqlalchemy as sa

from preau.actions import directory
from preau.actions.sessions import TRUSTED_FOR_SECONDS
from preau.adapters.sql.schema import devices
from preau.cookies import DEVICE_COOKIE, SESSION_COOKIE
from preau.domain.directory import PersonChanges
from preau.domain.people import Actor, Profile
from tests.helpers import PASSWORD, App, QueryCounter, School, csrf_from, login


async def _device_of(app: App, username: str, *, remember: bool = True) -> str:
    client = app.client_for()
    await login(client, username, remember=remember)
    return str(client.cookies[DEVICE_COOKIE])


async def test_a_device_resumes_with_no_sql_and_its_last_seen_is_written_behind(
    app: App, world: dict[str, School]
) -> None:
    device = await _device_of(app, "pupil.a")
    sessions = app.services.sessions
    counter = QueryCounter(app.services.engine)
    later = app.services.clock() + 10
    with counter.counting() as statements:
        first = await sessions.resume(device, now=later)
        again = await sessions.resume(device, now=later + 1)
    assert statements == []
    assert first is not None
    assert again is not None
    assert first.actor.person_id == world["a"].people["pupil"]
    assert first.actor.profile is Profile.PUPIL
    # Seen once within the hour, written in one batch, then nothing is left to write.
    with counter.counting() as statements:
        assert await sessions.flush_seen() == 1
    assert len(statements) == 1
    assert await sessions.flush_seen() == 0
    async with app.services.engine.connect() as connection:
        seen = await connection.scalar(
            sa.select(devices.c.last_seen_at).where(devices.c.id == first.device_id)
        )
    assert seen is not None
    assert abs(seen.timestamp() - later) < 0.01


async def test_the_next_day_over_http_gets_a_session_cookie(
    app: App, world: dict[str, School]
) -> None:
    device = await _device_of(app, "pupil.a")
    next_day = app.client_for(cookies={DEVICE_COOKIE: device})
    home = await next_day.get("/home")
    assert home.status_code == 200
    assert SESSION_COOKIE in home.cookies


async def test_a_device_revoked_by_another_process_is_refused_after_the_resync(
    app: App, world: dict[str, School]
) -> None:
    """The other process's announcement was lost: the database resync brings it."""
    device = await _device_of(app, "pupil.a")
    sessions = app.services.sessions
    claimed = sessions.check_device(device, now=app.services.clock())
    assert claimed is not None
    async with app.services.engine.begin() as connection:
        await connection.execute(
            devices.update()
            .where(devices.c.id == claimed.device_id)
            .values(revoked_at=app.services.now())
        )
    now = app.services.clock()
    await sessions.resync(now=now)
    counter = QueryCounter(app.services.engine)
    with counter.counting() as statements:
        assert await sessions.resume(device, now=now) is None
    assert statements == []


async def test_with_stale_revocations_the_device_row_is_read(
    app: App, world: dict[str, School]
) -> None:
    device = await _device_of(app, "pupil.a")
    sessions = app.services.sessions
    claimed = sessions.check_device(device, now=app.services.clock())
    assert claimed is not None
    now = app.services.clock() + TRUSTED_FOR_SECONDS + 1  # no resync since: not fresh
    counter = QueryCounter(app.services.engine)
    with counter.counting() as statements:
        assert await sessions.resume(device, now=now) is not None
    assert statements  # the device was read
    async with app.services.engine.begin() as connection:
        await connection.execute(
            devices.update()
            .where(devices.c.id == claimed.device_id)
            .values(revoked_at=app.services.now())
        )
    assert await sessions.resume(device, now=now) is None


async def test_a_person_deactivated_or_given_another_profile_cannot_resume(
    app: App, world: dict[str, School]
) -> None:
    admin = Actor(world["a"].people["admin"], world["a"].id, Profile.ADMIN)
    sessions = app.services.sessions
    pupil_device = await _device_of(app, "pupil.a")
    teacher_device = await _device_of(app, "teacher.a")
    await directory.update_person(
        app.services, admin, world["a"].people["pupil"], PersonChanges(active=False)
    )
    await directory.update_person(
        app.services, admin, world["a"].people["teacher"], PersonChanges(profile=Profile.STAFF)
    )
    now = app.services.clock()
    assert sessions.revocations_fresh(now)
    assert await sessions.resume(pupil_device, now=now) is None
    assert await sessions.resume(teacher_device, now=now) is None


async def test_a_password_change_gives_a_device_credential_only_to_a_remembered_device(
    app: App, world: dict[str, School]
) -> None:
    for username, remember in (("staff.a", False), ("teacher.a", True)):
        client = app.client_for()
        await login(client, username, PASSWORD, remember=remember)
        page = await client.get("/account")
        done = await client.post(
            "/account/password",
            data={
                "csrf_token": csrf_from(page.text),
                "current_password": PASSWORD,
                "new_password": "a brand new passphrase",
                "new_password_again": "a brand new passphrase",
            },
        )
        assert done.status_code in (302, 303), done.text
        if not remember:
            assert DEVICE_COOKIE not in done.cookies
            continue
        token = done.cookies[DEVICE_COOKIE]
        claims = app.services.sessions.device_signer.verify(token, now=app.services.clock())
        async with app.services.engine.connect() as connection:
            stored = await connection.scalar(
                sa.select(devices.c.expires_at).where(devices.c.id == claims["did"])
            )
        # The new credential expires with the stored device, never after it.
        assert stored is not None
        assert abs(float(claims["exp"]) - stored.timestamp()) < 1
