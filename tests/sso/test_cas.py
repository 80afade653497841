"""Préau as a CAS 3.0 server, validated by the python-cas client over real HTTP: tickets
for signed-in people, single use, for the one service they were issued to, only to the
services a school allows (never an open redirect), on memory and on Redis."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from cas import CASClientV2, CASClientV3

from preau.cookies import DEVICE_COOKIE, SESSION_COOKIE
from tests.helpers import PASSWORD, csrf_from
from tests.sso.conftest import Served, roster_world

PRONOTE = "https://pronote.test/0750001A/eleve.html"


async def signed_in(preau: Served, username: str, *, remember: bool = False) -> httpx.AsyncClient:
    client = preau.client()
    page = await client.get("/login")
    response = await client.post(
        "/login",
        data={
            "username": username,
            "password": PASSWORD,
            "csrf_token": csrf_from(page.text),
            "next": "/home",
            **({"remember": "on"} if remember else {}),
        },
    )
    assert response.status_code in {302, 303}, response.text
    return client


async def ticket_for(client: httpx.AsyncClient, service: str) -> str:
    response = await client.get("/cas/login", params={"service": service})
    assert response.status_code in {302, 303}, response.text
    location = response.headers["location"]
    assert location.startswith(service + ("&" if "?" in service else "?") + "ticket=ST-")
    return parse_qs(urlsplit(location).query)["ticket"][0]


async def validate(
    preau: Served, service: str, ticket: str, *, version: int = 3
) -> tuple[str | None, dict[str, object] | None]:
    kind = CASClientV3 if version == 3 else CASClientV2
    client = kind(service_url=service, server_url=preau.base_url + "/cas/")
    # python-cas is synchronous (requests); the server runs in this event loop.
    try:
        user, attributes, _proxy = await asyncio.to_thread(client.verify_ticket, ticket)
    finally:
        client.session.close()
    return user, attributes


async def test_a_signed_in_pupil_reaches_pronote(cas_preau: Served) -> None:
    await roster_world(cas_preau.services)
    client = await signed_in(cas_preau, "pupil.a")
    ticket = await ticket_for(client, PRONOTE)
    user, attributes = await validate(cas_preau, PRONOTE, ticket)
    assert user == "pupil.a"
    assert attributes is not None
    assert attributes["uai"] == "0750001A"
    assert attributes["profile"] == "pupil"
    assert attributes["givenName"] == "Pupil"
    assert attributes["sourceId"] == "fr-educonnect-pupil-a"


async def test_a_ticket_is_used_once(cas_preau: Served) -> None:
    await roster_world(cas_preau.services)
    client = await signed_in(cas_preau, "teacher.a")
    ticket = await ticket_for(client, PRONOTE)
    assert (await validate(cas_preau, PRONOTE, ticket))[0] == "teacher.a"
    assert (await validate(cas_preau, PRONOTE, ticket))[0] is None
    answer = await cas_preau.client().get(
        "/cas/p3/serviceValidate", params={"service": PRONOTE, "ticket": ticket}
    )
    assert 'code="INVALID_TICKET"' in answer.text
    assert "already used" in answer.text


async def test_a_ticket_for_another_service_is_refused_and_spent(cas_preau: Served) -> None:
    await roster_world(cas_preau.services)
    client = await signed_in(cas_preau, "pupil.a")
    ticket = await ticket_for(client, PRONOTE)
    other = "https://pronote.test/0750001A/professeur.html"
    answer = await cas_preau.client().get(
        "/cas/serviceValidate", params={"service": other, "ticket": ticket}
    )
    assert 'code="INVALID_SERVICE"' in answer.text
    assert (await validate(cas_preau, PRONOTE, ticket))[0] is None


async def test_a_cas_2_client_validates_too(cas_preau: Served) -> None:
    await roster_world(cas_preau.services)
    client = await signed_in(cas_preau, "pupil.a")
    ticket = await ticket_for(client, PRONOTE)
    user, _attributes = await validate(cas_preau, PRONOTE, ticket, version=2)
    assert user == "pupil.a"


async def test_bad_validation_requests_say_why(cas_preau: Served) -> None:
    client = cas_preau.client()
    missing = await client.get("/cas/serviceValidate", params={"service": PRONOTE})
    assert 'code="INVALID_REQUEST"' in missing.text
    forged = await client.get(
        "/cas/serviceValidate", params={"service": PRONOTE, "ticket": "ST-made-up"}
    )
    assert 'code="INVALID_TICKET"' in forged.text
    foreign = await client.get(
        "/cas/serviceValidate", params={"service": PRONOTE, "ticket": "PT-made-up"}
    )
    assert 'code="INVALID_TICKET"' in foreign.text


async def test_someone_not_signed_in_signs_in_first(cas_preau: Served) -> None:
    await roster_world(cas_preau.services)
    client = cas_preau.client()
    response = await client.get("/cas/login", params={"service": PRONOTE})
    assert response.status_code in {302, 303}
    back = "/cas/login?" + urlencode({"service": PRONOTE})
    assert response.headers["location"] == "/login?" + urlencode({"next_path": back})
    page = await client.get(response.headers["location"])
    logged_in = await client.post(
        "/login",
        data={
            "username": "parent.a",
            "password": PASSWORD,
            "csrf_token": csrf_from(page.text),
            "next": back,
        },
    )
    assert logged_in.headers["location"] == back
    ticket = await ticket_for(client, PRONOTE)
    assert (await validate(cas_preau, PRONOTE, ticket))[0] == "parent.a"


async def test_gateway_returns_without_a_ticket(cas_preau: Served) -> None:
    response = await cas_preau.client().get(
        "/cas/login", params={"service": PRONOTE, "gateway": "true"}
    )
    assert response.headers["location"] == PRONOTE


@pytest.mark.parametrize(
    "service",
    [
        "https://evil.test/0750001A/",
        "https://pronote.test.evil.test/0750001A/",
        "https://pronote.test/0750001AB/",  # not under the prefix's path
        "https://pronote.test/0750001A/../0750002B/",
        "https://someone@pronote.test/0750001A/",
        "http://pronote.test/0750001A/",  # another scheme
        "https://pronote.test:8443/0750001A/",  # another port
        "javascript:alert(1)//pronote.test/0750001A/",
        "//pronote.test/0750001A/",
        "https://pronote.test\\@evil.test/0750001A/",
    ],
)
async def test_services_outside_the_list_are_refused(cas_preau: Served, service: str) -> None:
    await roster_world(cas_preau.services)
    client = await signed_in(cas_preau, "pupil.a")
    refused = await client.get("/cas/login", params={"service": service})
    assert refused.status_code == 403
    assert "ne figure pas dans la liste des applications" in refused.text
    assert "location" not in refused.headers
    anonymous = await cas_preau.client().get("/cas/login", params={"service": service})
    assert anonymous.status_code == 403
    logout = await client.get("/cas/logout", params={"service": service})
    assert logout.status_code == 403


async def test_another_schools_service_is_refused(cas_preau: Served) -> None:
    await roster_world(cas_preau.services)
    client = await signed_in(cas_preau, "pupil.b")  # school B allows no service
    refused = await client.get("/cas/login", params={"service": PRONOTE})
    assert refused.status_code == 403


async def test_cas_logout_ends_the_session_and_returns_to_an_allowed_service(
    cas_preau: Served,
) -> None:
    await roster_world(cas_preau.services)
    client = await signed_in(cas_preau, "pupil.a")
    token = client.cookies[SESSION_COOKIE]
    response = await client.get("/cas/logout", params={"service": PRONOTE})
    assert response.headers["location"] == PRONOTE
    again = cas_preau.client()
    again.cookies.set(SESSION_COOKIE, token)
    assert (await again.get("/home")).status_code in {302, 303}


async def renewed_validation(preau: Served, ticket: str) -> str:
    answer = await preau.client().get(
        "/cas/p3/serviceValidate", params={"service": PRONOTE, "ticket": ticket, "renew": "true"}
    )
    assert answer.status_code == 200
    return answer.text


async def test_renew_asks_for_the_credentials_again_and_is_checked_at_validation(
    cas_preau: Served,
) -> None:
    """renew=true: a person whose session was resumed from a device credential signs in
    again before the ticket; a validation with renew accepts only such a ticket."""
    await roster_world(cas_preau.services)
    signed = await signed_in(cas_preau, "pupil.a", remember=True)
    resumed = cas_preau.client()
    resumed.cookies.set(DEVICE_COOKIE, signed.cookies[DEVICE_COOKIE])
    # Without renew, the resumed session is enough: a ticket at once.
    plain = await ticket_for(resumed, PRONOTE)
    assert (await validate(cas_preau, PRONOTE, plain))[0] == "pupil.a"
    # ...but not for a validation that asks for renew (python-cas sends renew only to the
    # login address, so the validation is asked for here as a CAS client would).
    answer = await renewed_validation(cas_preau, await ticket_for(resumed, PRONOTE))
    assert 'code="INVALID_TICKET_SPEC"' in answer
    assert "<cas:user>" not in answer

    # With renew, the login page comes back even though the person is signed in.
    asked = await resumed.get("/cas/login", params={"service": PRONOTE, "renew": "true"})
    assert asked.status_code in {302, 303}
    login_page = await resumed.get(asked.headers["location"])
    assert login_page.status_code == 200
    assert 'name="password"' in login_page.text
    next_path = parse_qs(urlsplit(asked.headers["location"]).query)["next_path"][0]
    assert next_path == "/cas/login?" + urlencode({"service": PRONOTE, "renew": "true"})
    typed = await resumed.post(
        "/login",
        data={
            "username": "pupil.a",
            "password": PASSWORD,
            "csrf_token": csrf_from(login_page.text),
            "next": next_path,
        },
    )
    assert typed.status_code in {302, 303}, typed.text
    assert typed.headers["location"] == next_path
    renewed = await resumed.get(next_path)
    location = renewed.headers["location"]
    assert location.startswith(PRONOTE + "?ticket=ST-")
    ticket = parse_qs(urlsplit(location).query)["ticket"][0]
    assert "<cas:user>pupil.a</cas:user>" in await renewed_validation(cas_preau, ticket)


async def test_renew_is_refused_for_a_service_outside_the_list(cas_preau: Served) -> None:
    await roster_world(cas_preau.services)
    client = await signed_in(cas_preau, "pupil.a")
    refused = await client.get(
        "/cas/login", params={"service": "https://evil.test/steal", "renew": "true"}
    )
    assert refused.status_code == 403
