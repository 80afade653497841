"""The sending limit and the waiting room count separately (issue 20): behind the gate, a
fresh account signed in on two devices sends exactly its per-minute allowance, the first
message is never refused, and the refusal that follows is the sending limit's sentence,
not the gate's."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.bootstrap import build_app, build_services, stop_services
from preau.gate.settings import GateSettings
from tests.helpers import (
    PASSWORD,
    School,
    as_served,
    build_world,
    csrf_from,
    make_settings,
    serving,
)

PER_MINUTE = 3


@pytest.fixture
async def gated(
    engine: AsyncEngine, database_url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, School]]]:
    del engine  # empties the tables afterwards
    settings = make_settings(database_url, messages_per_minute=PER_MINUTE)
    app = build_app(settings, GateSettings(capacity=50, admission_rate_per_s=100.0))
    services = build_services(settings)
    world = await build_world(services, await services.passwords.hash(PASSWORD))
    await stop_services(services)
    transport = httpx.ASGITransport(app=as_served(app))
    async with (
        serving(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client, world


async def test_a_fresh_account_on_two_devices_sends_its_whole_allowance(
    gated: tuple[httpx.AsyncClient, dict[str, School]],
) -> None:
    client, world = gated
    pupil = world["a"].people["pupil"]
    # Device one: a browser, admitted by the gate (its pass cookie), signed in.
    page = await client.get("/login")
    assert page.status_code == 200
    assert "preau_pass" in client.cookies
    signed = await client.post(
        "/login",
        data={"username": "teacher.a", "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert signed.status_code in (302, 303), signed.text
    assert (await client.get("/messages")).status_code == 200
    # Device two: an API client with a bearer token and no cookie.
    logged = await client.post(
        "/api/v1/session",
        json={"username": "teacher.a", "password": PASSWORD},
        headers={"cookie": ""},
    )
    assert logged.status_code == 201, logged.text
    headers = {"authorization": f"Bearer {logged.json()['token']}", "cookie": ""}
    answers = []
    for number in range(PER_MINUTE + 1):
        answer = await client.post(
            "/api/v1/conversations",
            json={"subject": f"Message {number}", "body": "Bonjour", "person_ids": [pupil]},
            headers=headers,
        )
        answers.append(answer)
    assert [answer.status_code for answer in answers] == [201] * PER_MINUTE + [429]
    refused = answers[-1].json()
    assert "messages" in refused["detail"], refused  # the sending limit's sentence
    assert "connexion" not in refused["detail"], refused  # not the gate's
    assert answers[-1].headers["retry-after"] == "60"
