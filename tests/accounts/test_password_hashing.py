"""Password hashing: argon2id parameters chosen by measurement (bench/password_hash.py),
older hashes upgraded at the next successful login, and a bounded pool beside the event
loop that answers 503 with Retry-After when its queue is full."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher, Type
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.accounts import HashingBusy, Passwords
from preau.adapters.sql.schema import people
from preau.settings import Settings
from tests.helpers import PASSWORD, App, build_world, login, make_settings, running_app


def test_the_default_parameters_are_owasps_measured_row() -> None:
    settings = Settings()
    assert (settings.argon2_memory_kib, settings.argon2_time_cost) == (7 * 1024, 5)
    assert settings.argon2_parallelism == 1


async def stored_hash(app: App, username: str) -> str:
    async with app.services.engine.connect() as connection:
        return str(
            (
                await connection.execute(
                    sa.select(people.c.password_hash).where(people.c.username == username)
                )
            ).scalar_one()
        )


@pytest.fixture
async def upgraded_app(engine: AsyncEngine, database_url: str) -> AsyncIterator[App]:
    """Préau whose parameters changed since the world's hashes were made."""
    settings = make_settings(database_url, argon2_time_cost=2, argon2_memory_kib=2048)
    async with running_app(settings) as running:
        old = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.ID)
        await build_world(running.services, old.hash(PASSWORD))
        yield running


async def test_an_old_hash_is_upgraded_at_the_next_login(upgraded_app: App) -> None:
    assert "$m=1024,t=1,p=1$" in await stored_hash(upgraded_app, "pupil.a")
    failed = await login(upgraded_app.client_for(), "pupil.a", "not the password")
    assert failed.status_code == 401
    assert "$m=1024,t=1,p=1$" in await stored_hash(upgraded_app, "pupil.a")
    assert (await login(upgraded_app.client_for(), "pupil.a")).status_code in {302, 303}
    assert "$m=2048,t=2,p=1$" in await stored_hash(upgraded_app, "pupil.a")
    # The upgraded hash still opens the door, and is not rewritten again.
    upgraded = await stored_hash(upgraded_app, "pupil.a")
    assert (await login(upgraded_app.client_for(), "pupil.a")).status_code in {302, 303}
    assert await stored_hash(upgraded_app, "pupil.a") == upgraded
    # Someone who did not log in keeps the old hash.
    assert "$m=1024,t=1,p=1$" in await stored_hash(upgraded_app, "teacher.a")


@pytest.fixture
async def production_app(engine: AsyncEngine, database_url: str) -> AsyncIterator[App]:
    """Préau with its production parameters, whose hashes were made with the former ones
    (OWASP's m=19 MiB, t=2, p=1, until December 2026)."""
    defaults = Settings()
    settings = make_settings(
        database_url,
        argon2_time_cost=defaults.argon2_time_cost,
        argon2_memory_kib=defaults.argon2_memory_kib,
        argon2_parallelism=defaults.argon2_parallelism,
    )
    async with running_app(settings) as running:
        former = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1, type=Type.ID)
        await build_world(running.services, former.hash(PASSWORD))
        yield running


async def test_a_hash_of_the_former_parameters_is_upgraded_to_the_current_ones(
    production_app: App,
) -> None:
    assert "$m=19456,t=2,p=1$" in await stored_hash(production_app, "pupil.a")
    assert (await login(production_app.client_for(), "pupil.a")).status_code in {302, 303}
    upgraded = await stored_hash(production_app, "pupil.a")
    assert "$argon2id$v=19$m=7168,t=5,p=1$" in upgraded
    assert not production_app.services.passwords.hasher.check_needs_rehash(upgraded)
    assert (await login(production_app.client_for(), "pupil.a")).status_code in {302, 303}
    assert await stored_hash(production_app, "pupil.a") == upgraded
    failed = await login(production_app.client_for(), "pupil.a", "not the password")
    assert failed.status_code == 401
    assert "$m=19456,t=2,p=1$" in await stored_hash(production_app, "teacher.a")


class BusyPasswords(Passwords):
    """A pool whose threads are all taken by other logins' hashes."""

    @property
    def has_idle_thread(self) -> bool:
        return False


async def test_a_busy_pool_lets_the_login_through_and_upgrades_the_hash_later(
    upgraded_app: App,
) -> None:
    settings = upgraded_app.services.settings
    original = upgraded_app.services.passwords
    upgraded_app.services.passwords = BusyPasswords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        parallelism=1,
        concurrency=1,
    )
    try:
        assert (await login(upgraded_app.client_for(), "pupil.a")).status_code in {302, 303}
        assert "$m=1024,t=1,p=1$" in await stored_hash(upgraded_app, "pupil.a")
    finally:
        upgraded_app.services.passwords.close()
        upgraded_app.services.passwords = original
    assert (await login(upgraded_app.client_for(), "pupil.a")).status_code in {302, 303}
    assert "$m=2048,t=2,p=1$" in await stored_hash(upgraded_app, "pupil.a")


class HeldPasswords(Passwords):
    """Verifications that wait for the test to let them finish (no timing involved)."""

    def __init__(self, *, concurrency: int, queue: int) -> None:
        super().__init__(
            time_cost=1, memory_kib=1024, parallelism=1, concurrency=concurrency, queue=queue
        )
        self.release = threading.Event()
        self.started = threading.Semaphore(0)

    def _verify(self, stored_hash: str, password: str) -> bool:
        self.started.release()
        self.release.wait(timeout=30)
        return super()._verify(stored_hash, password)


async def test_the_queue_is_bounded_and_refusals_are_immediate() -> None:
    passwords = HeldPasswords(concurrency=1, queue=1)
    stored = await passwords.hash(PASSWORD)
    try:
        running = asyncio.ensure_future(passwords.verify(stored, PASSWORD))
        await asyncio.to_thread(passwords.started.acquire)  # the one thread is busy
        waiting = asyncio.ensure_future(passwords.verify(stored, "wrong"))
        await asyncio.sleep(0)
        assert passwords.admitted == 2
        with pytest.raises(HashingBusy) as refused:
            await passwords.verify(stored, PASSWORD)
        assert refused.value.status == 503
        assert refused.value.retry_after == Passwords.RETRY_AFTER_SECONDS
        passwords.release.set()
        assert await running is True
        assert await waiting is False
        assert passwords.admitted == 0
        assert await passwords.verify(stored, PASSWORD) is True  # room again
    finally:
        passwords.release.set()
        passwords.close()


def idle(passwords: Passwords) -> bool:
    return passwords.has_idle_thread  # read anew each time (mypy would narrow the property)


async def test_a_thread_is_idle_until_a_hash_takes_it() -> None:
    passwords = HeldPasswords(concurrency=1, queue=1)
    stored = await passwords.hash(PASSWORD)
    try:
        assert idle(passwords)
        running = asyncio.ensure_future(passwords.verify(stored, PASSWORD))
        await asyncio.to_thread(passwords.started.acquire)
        assert not idle(passwords)
        passwords.release.set()
        assert await running is True
        assert idle(passwords)
    finally:
        passwords.release.set()
        passwords.close()


async def test_a_full_queue_answers_503_with_retry_after(app: App, world: object) -> None:
    held = HeldPasswords(concurrency=1, queue=0)
    original = app.services.passwords
    app.services.passwords = held
    try:
        first = asyncio.ensure_future(login(app.client_for(), "pupil.a"))
        await asyncio.to_thread(held.started.acquire)
        busy = await login(app.client_for(), "teacher.a")
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == str(Passwords.RETRY_AFTER_SECONDS)
        assert "vérifie beaucoup de mots de passe" in busy.text
        api = await app.client_for().post(
            "/api/v1/session", json={"username": "teacher.a", "password": PASSWORD}
        )
        assert api.status_code == 503
        assert api.headers["retry-after"] == str(Passwords.RETRY_AFTER_SECONDS)
        held.release.set()
        assert (await first).status_code in {302, 303}
        # The refusal counted no failed attempt: the throttle is as it was.
        assert (await login(app.client_for(), "teacher.a")).status_code in {302, 303}
    finally:
        held.release.set()
        held.close()
        app.services.passwords = original
