"""The login throttle through HTTP: failures per account and per address, shared by every
process on Redis, what it costs in Redis commands, and failing open when Redis is down."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest
from prometheus_client import REGISTRY

from tests.helpers import (
    PASSWORD,
    App,
    build_world,
    csrf_from,
    make_settings,
    redis_commands,
    running_app,
)


async def attempt(
    app: App, username: str, password: str = PASSWORD, *, address: str = "203.0.113.7"
) -> httpx.Response:
    """A password login from ``address`` (the edge trusts the test client's X-Forwarded-For,
    as it trusts nginx)."""
    async with app.client_for() as client:
        page = await client.get("/login")
        return await client.post(
            "/login",
            data={
                "username": username,
                "password": password,
                "csrf_token": csrf_from(page.text),
                "next": "/home",
            },
            headers={"x-forwarded-for": address},
        )


def page_apart_from(response: httpx.Response, username: str) -> str:
    """The page without the echoed username and the client's CSRF token."""
    return response.text.replace(username, "X").replace(csrf_from(response.text), "T")


async def test_failures_lock_the_account_in_every_process(
    engine: object, database_url: str, redis_url: str, redis_prefix: str
) -> None:
    """Two app instances on one Redis, as two processes would be."""
    settings = make_settings(
        database_url, redis_url=redis_url, redis_prefix=redis_prefix, login_attempts_per_account=3
    )
    async with running_app(settings) as first, running_app(settings) as second:
        await build_world(first.services, await first.services.passwords.hash(PASSWORD))
        for app, address in ((first, "203.0.113.7"), (first, "203.0.113.8"), (second, "::1")):
            assert (await attempt(app, "teacher.a", "wrong", address=address)).status_code == 401
            assert (await attempt(app, "nobody.here", "wrong", address=address)).status_code == 401
        for app in (first, second):
            locked = await attempt(app, "teacher.a", address="198.51.100.1")
            assert locked.status_code == 429
            assert locked.headers["retry-after"] == "900"
            # An unknown username is locked the same way: the throttle reveals nothing.
            unknown = await attempt(app, "nobody.here", address="198.51.100.1")
            assert unknown.status_code == 429
            assert page_apart_from(unknown, "nobody.here") == page_apart_from(locked, "teacher.a")
        # A success forgets the account's failures, in every process.
        for app in (first, second, first):
            for _ in range(2):
                assert (await attempt(app, "pupil.a", "wrong")).status_code == 401
            assert (await attempt(second, "pupil.a")).status_code in (302, 303)


@pytest.fixture(params=["memory", "redis"])
def shared_state_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "memory":
        return {}
    return {
        "redis_url": request.getfixturevalue("redis_url"),
        "redis_prefix": request.getfixturevalue("redis_prefix"),
    }


async def test_failures_from_one_address_lock_it_for_every_account(
    engine: object, database_url: str, shared_state_settings: dict[str, str]
) -> None:
    settings = make_settings(database_url, login_attempts_per_address=3, **shared_state_settings)
    async with running_app(settings) as app:
        await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        for username in ("pupil.a", "nobody.here", "teacher.b"):
            assert (await attempt(app, username, "wrong")).status_code == 401
        locked = await attempt(app, "staff.a")
        assert locked.status_code == 429
        assert locked.headers["retry-after"] == "900"
        assert "15" in locked.text
        # The accounts themselves are not locked: from another address they get in.
        assert (await attempt(app, "pupil.a", address="203.0.113.8")).status_code in (302, 303)
        assert (await attempt(app, "staff.a", address="203.0.113.8")).status_code in (302, 303)


def command_names(commands: list[str]) -> Counter[str]:
    return Counter(command.split(" ", 1)[0].upper() for command in commands)


async def test_a_password_login_costs_two_redis_commands(
    engine: object, database_url: str, redis_url: str, redis_prefix: str
) -> None:
    """The throttle's whole cost in Redis, Lua scripts' own commands included: reading the
    account's and the address's failure counters (GET), counting a failure in each (a script:
    INCRBY, and EXPIRE when it opens the window), forgetting the account's after a success
    that followed failures (DEL). Nothing else a password login does touches Redis."""
    settings = make_settings(database_url, redis_url=redis_url, redis_prefix=redis_prefix)
    async with running_app(settings) as app:
        await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        # Once per process redis-py loads the script (NOSCRIPT, SCRIPT LOAD): not counted.
        assert (await attempt(app, "nobody.here", "wrong", address="::1")).status_code == 401

        async with redis_commands(redis_url, redis_prefix) as success:
            assert (await attempt(app, "pupil.a")).status_code in (302, 303)
        assert command_names(success) == {"GET": 2}, success

        async with redis_commands(redis_url, redis_prefix) as failure:
            assert (await attempt(app, "teacher.a", "wrong")).status_code == 401
        assert command_names(failure) == {"GET": 2, "EVALSHA": 2, "INCRBY": 2, "EXPIRE": 2}

        async with redis_commands(redis_url, redis_prefix) as next_failure:
            assert (await attempt(app, "teacher.a", "wrong")).status_code == 401
        assert command_names(next_failure) == {"GET": 2, "EVALSHA": 2, "INCRBY": 2}

        async with redis_commands(redis_url, redis_prefix) as success_after_failures:
            assert (await attempt(app, "teacher.a")).status_code in (302, 303)
        assert command_names(success_after_failures) == {"GET": 2, "DEL": 1}


async def test_the_throttle_fails_open_when_redis_is_down(
    engine: object, database_url: str
) -> None:
    # Nothing listens on port 1: the shared state and its rate-limit storage are down.
    settings = make_settings(
        database_url, redis_url="redis://127.0.0.1:1/0", login_attempts_per_account=1
    )
    async with running_app(settings) as app:
        await build_world(app.services, await app.services.passwords.hash(PASSWORD))
        before = (
            REGISTRY.get_sample_value("preau_rate_limit_fail_open_total", {"limiter": "login"})
            or 0.0
        )
        for _ in range(2):  # over the limit of 1 failure, not locked
            assert (await attempt(app, "teacher.a", "wrong")).status_code == 401
        assert (await attempt(app, "teacher.a")).status_code in (302, 303)
        after = (
            REGISTRY.get_sample_value("preau_rate_limit_fail_open_total", {"limiter": "login"})
            or 0.0
        )
        # Each failure: the check and the count; the success: the check only.
        assert after - before == 5
