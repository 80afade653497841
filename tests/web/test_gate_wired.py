"""The whole application as servers run it (``build_app``): the gate in front, its operator
page and API for the platform's operators only, and live streams outside the shedder."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.bootstrap import build_app
from preau.gate.settings import GateSettings
from tests.helpers import PASSWORD, as_served, build_world, csrf_from, make_settings, serving


@pytest.fixture
async def client(engine: AsyncEngine, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database_url, operator_uais="0750001A")
    app = build_app(settings, GateSettings(capacity=50, admission_rate_per_s=100.0))
    # Seed through a second composition on the same database.
    from preau.bootstrap import build_services, stop_services

    services = build_services(settings)
    await build_world(services, await services.passwords.hash(PASSWORD))
    await stop_services(services)
    transport = httpx.ASGITransport(app=as_served(app))
    async with (
        serving(app),
        httpx.AsyncClient(transport=transport, base_url="http://testserver") as client,
    ):
        yield client


async def log_in(client: httpx.AsyncClient, username: str) -> None:
    page = await client.get("/login")
    assert page.status_code == 200, page.text
    response = await client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_from(page.text)},
    )
    assert response.status_code in (302, 303), response.text


async def test_a_first_visit_gets_a_pass_and_the_page(client: httpx.AsyncClient) -> None:
    response = await client.get("/login")
    assert response.status_code == 200
    assert "preau_pass" in client.cookies
    assert "content-security-policy" in response.headers
    assert (await client.get("/healthz")).text == "ok"


async def test_operator_page_and_api_are_for_operators_only(client: httpx.AsyncClient) -> None:
    await log_in(client, "admin.a")  # school A is the operator school
    page = await client.get("/admin/gate")
    assert page.status_code == 200
    assert "/ 50" in page.text
    changed = await client.post(
        "/admin/gate",
        data={
            "capacity": "80",
            "admission_rate_per_s": "",
            "opening_time": "",
            "under_attack": "auto",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert changed.status_code in (302, 303)
    bad = await client.post(
        "/admin/gate", data={"capacity": "many", "csrf_token": csrf_from(page.text)}
    )
    assert bad.status_code == 400
    token = (
        await client.post(
            "/api/v1/session",
            json={"username": "admin.a", "password": PASSWORD},
            headers={"cookie": ""},
        )
    ).json()["token"]
    status = await client.get("/api/v1/gate", headers={"authorization": f"Bearer {token}"})
    assert status.status_code == 200
    assert status.json()["capacity"] == 80
    for username in ("admin.b", "teacher.a"):
        other = httpx.AsyncClient(transport=client._transport, base_url="http://testserver")
        await log_in(other, username)
        assert (await other.get("/admin/gate")).status_code == 403
        await other.aclose()


async def test_the_operator_sets_the_opening_in_local_time_and_sees_a_chart(
    client: httpx.AsyncClient,
) -> None:
    await log_in(client, "admin.a")
    page = await client.get("/admin/gate")
    assert 'type="datetime-local"' in page.text
    assert "Europe/Paris" in page.text
    changed = await client.post(
        "/admin/gate",
        data={"opening_local": "2099-09-01T08:00", "csrf_token": csrf_from(page.text)},
    )
    assert changed.status_code in (302, 303)
    page = await client.get("/admin/gate")
    assert 'value="2099-09-01T08:00"' in page.text  # shown back in the platform's zone
    assert "L’accès ouvre le mardi 1 septembre 2099 à 08:00." in page.text
    bad = await client.post(
        "/admin/gate", data={"opening_local": "tomorrow", "csrf_token": csrf_from(page.text)}
    )
    assert bad.status_code == 400
    assert "Choisissez le jour et l’heure d’ouverture" in bad.text
    cleared = await client.post(
        "/admin/gate", data={"opening_local": "", "csrf_token": csrf_from(page.text)}
    )
    assert cleared.status_code in (302, 303)
    live = await client.get("/admin/gate/live")
    assert live.status_code == 200
    assert 'value="2099' not in (await client.get("/admin/gate")).text
    # The page's own loads and the gate's rounds sample the figures; two make a chart.
    assert "<svg" in live.text or "Le graphique se remplit" in live.text


async def test_the_gate_limits_the_address_the_trusted_proxy_gives(
    engine: AsyncEngine, database_url: str
) -> None:
    """Behind nginx every request comes from 127.0.0.1: the per-address limit must use the
    X-Forwarded-For it sets, and only when it comes from a trusted proxy."""
    app = build_app(make_settings(database_url), GateSettings(rate_limit_address="2/minute"))

    async def arrive(peer: str, forwarded_for: str) -> int:
        transport = httpx.ASGITransport(app=as_served(app), client=(peer, 4321))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as fresh:
            response = await fresh.get("/login", headers={"x-forwarded-for": forwarded_for})
            return response.status_code

    async with serving(app):
        assert [await arrive("127.0.0.1", "203.0.113.7") for _ in range(3)] == [200, 200, 429]
        assert await arrive("127.0.0.1", "203.0.113.8") == 200  # another pupil's home
        # Not from a trusted proxy: the header is ignored and the peer's address is limited.
        spoofed = [await arrive("198.51.100.9", f"203.0.113.{n}") for n in (20, 21, 22)]
        assert spoofed == [200, 200, 429]
