"""pysaml2 in the SAML pool's worker processes: the answer is checked in another process,
a full pool answers a clear 503 with Retry-After, and a worker that dies fails only the
calls it held, the pool starting again for the next sign-in."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.sso import saml, saml_pool
from preau.actions.sso.saml import SamlServiceProvider
from preau.actions.sso.saml_pool import SamlBusy, SamlWorkerLost, SamlWorkers
from tests.helpers import App, School, make_settings, running_app
from tests.sso.conftest import Keys, roster_world, sso_settings
from tests.sso.identity_providers import SamlIdentityProvider
from tests.sso.test_saml import EDUCONNECT_PUPIL, post_answer, start


@asynccontextmanager
async def one_worker(database_url: str, keys: Keys, *, queue: int) -> AsyncIterator[App]:
    overrides = sso_settings(database_url, keys, saml_workers=1, saml_queue=queue)
    async with running_app(make_settings(database_url, **overrides)) as running:
        await roster_world(running.services)
        yield running


@pytest.fixture
async def one_worker_app(
    engine: AsyncEngine, database_url: str, saml_keys: Keys
) -> AsyncIterator[App]:
    """One worker and no queue: a second call at once is refused."""
    async with one_worker(database_url, saml_keys, queue=0) as running:
        yield running


@pytest.fixture
async def queued_app(engine: AsyncEngine, database_url: str, saml_keys: Keys) -> AsyncIterator[App]:
    """One worker and one call waiting for it."""
    async with one_worker(database_url, saml_keys, queue=1) as running:
        yield running


def sp_of(app: App) -> SamlServiceProvider:
    assert app.services.sso is not None
    assert app.services.sso.saml is not None
    return app.services.sso.saml


async def identity_provider(app: App, keys: Keys) -> SamlIdentityProvider:
    metadata = (await app.client.get("/sso/saml/metadata")).text
    return SamlIdentityProvider(keys.idp_key, keys.idp_cert, metadata)


async def wait_admitted(pool: SamlWorkers, count: int) -> None:
    for _ in range(500):
        if pool.admitted >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{pool.admitted} calls admitted, not {count}")


async def test_the_answer_is_checked_in_a_worker_process(
    sso_app: App, sso_world: dict[str, School], idp: SamlIdentityProvider
) -> None:
    sp = sp_of(sso_app)
    client = sso_app.client_for()
    location = await start(client, "/messages")
    answer = idp.answer(location, EDUCONNECT_PUPIL)
    login = await saml.finish_login(
        sso_app.services,
        sp,
        saml_response=answer.form["SAMLResponse"],
        relay_state=answer.form["RelayState"],
        label="test",
    )
    assert login.next_path == "/messages"
    assert login.result.session.actor.person_id == sso_world["a"].people["pupil"]
    assert login.worker_pid != os.getpid()
    assert login.worker_pid in sp.pool.pids()


async def test_the_pool_starts_on_first_use_and_stops_with_the_app(
    engine: AsyncEngine, database_url: str, saml_keys: Keys
) -> None:
    settings = make_settings(database_url, **sso_settings(database_url, saml_keys))
    async with running_app(settings) as running:
        pool = sp_of(running).pool
        assert not pool.started
        assert pool.pids() == []
        assert (await running.client.get("/login")).status_code == 200
        assert not pool.started  # only a SAML request starts it
        assert (await running.client.get("/sso/saml/metadata")).status_code == 200
        workers = pool.pids()
        assert workers
    assert not pool.started
    with pytest.raises(SamlBusy):  # a late request does not start a pool again
        await pool.run("metadata", saml_pool.metadata)
    assert not pool.started
    for pid in workers:  # stopped and reaped: no process outlives the app
        assert not Path(f"/proc/{pid}").exists()  # noqa: ASYNC240 - /proc, no disk


async def test_a_full_pool_answers_a_clear_503(one_worker_app: App) -> None:
    pool = sp_of(one_worker_app).pool
    busy = asyncio.create_task(pool.run("test", time.sleep, 2.0))
    await wait_admitted(pool, 1)
    refused = await one_worker_app.client.get("/sso/saml/educonnect/login")
    assert refused.status_code == 503
    assert refused.headers["retry-after"] == str(SamlWorkers.RETRY_AFTER_SECONDS)
    assert "Préau vérifie beaucoup de connexions en ce moment" in refused.text
    assert "réessayez dans 5 secondes" in refused.text
    await busy
    assert (await one_worker_app.client.get("/sso/saml/educonnect/login")).status_code == 302


async def test_an_answer_refused_by_a_full_pool_can_be_posted_again(
    one_worker_app: App, saml_keys: Keys
) -> None:
    """Refused before its pending request is taken: posting it again later signs in."""
    idp = await identity_provider(one_worker_app, saml_keys)
    pool = sp_of(one_worker_app).pool
    client = one_worker_app.client_for()
    answer = idp.answer(await start(client, "/messages"), EDUCONNECT_PUPIL)
    busy = asyncio.create_task(pool.run("test", time.sleep, 2.0))
    await wait_admitted(pool, 1)
    refused = await post_answer(client, answer)
    assert refused.status_code == 503
    assert "Préau vérifie beaucoup de connexions en ce moment" in refused.text
    await busy
    again = await post_answer(client, answer)
    assert again.status_code in {302, 303}, again.text
    assert again.headers["location"] == "/messages"


async def test_a_worker_killed_fails_its_calls_and_the_pool_recovers(
    queued_app: App, saml_keys: Keys
) -> None:
    one_worker_app = queued_app
    idp = await identity_provider(one_worker_app, saml_keys)
    pool = sp_of(one_worker_app).pool
    (first,) = pool.pids()
    # The worker busy with one call, a sign-in waiting behind it; then the worker is killed.
    held = asyncio.create_task(pool.run("test", time.sleep, 5.0))
    await wait_admitted(pool, 1)
    waiting = asyncio.create_task(one_worker_app.client.get("/sso/saml/educonnect/login"))
    await wait_admitted(pool, 2)
    os.kill(first, signal.SIGKILL)
    with pytest.raises(SamlWorkerLost):
        await held
    lost = await waiting
    assert lost.status_code == 503
    assert "Préau n’a pas pu terminer la vérification de cette connexion" in lost.text
    assert "retry-after" in lost.headers
    # The next sign-in goes through, in a new worker.
    client = one_worker_app.client_for()
    location = await start(client, "/messages")
    signed_in = await post_answer(client, idp.answer(location, EDUCONNECT_PUPIL))
    assert signed_in.status_code in {302, 303}, signed_in.text
    assert signed_in.headers["location"] == "/messages"
    (second,) = pool.pids()
    assert second != first


async def test_a_worker_killed_between_calls_is_replaced_without_failing_one(
    one_worker_app: App,
) -> None:
    pool = sp_of(one_worker_app).pool
    assert (await one_worker_app.client.get("/sso/saml/metadata")).status_code == 200
    (first,) = pool.pids()
    os.kill(first, signal.SIGKILL)
    for _ in range(500):  # the pool notices its worker's death
        executor = pool._executor
        if executor is None or getattr(executor, "_broken", False):
            break
        await asyncio.sleep(0.01)
    assert (await one_worker_app.client.get("/sso/saml/educonnect/login")).status_code == 302
    assert pool.pids()
    assert pool.pids() != [first]
