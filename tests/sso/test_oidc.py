"""Préau as an OpenID Connect relying party, against oidc-provider running under Node:
the code flow with PKCE, state and nonce, and ID tokens refused when forged, expired, for
another audience or from another issuer."""

from __future__ import annotations

import base64
import json
import time
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from preau.actions.sso import oidc
from preau.cookies import SESSION_COOKIE
from preau.domain.errors import InvalidInput
from tests.sso.conftest import OIDC_CLIENT_ID, OidcProviderProcess, Served, roster_world


async def to_callback(preau: Served, browser: httpx.AsyncClient, login: str) -> str:
    """From Préau's button to the provider and back: the callback address with the code."""
    started = await browser.get(
        preau.base_url + "/sso/oidc/academie/login", params={"next_path": "/messages"}
    )
    assert started.status_code in {302, 303}, started.text
    location = started.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["response_type"] == ["code"]
    assert "nonce" in query
    assert "state" in query
    for _ in range(10):
        if location.startswith(preau.base_url):
            return location
        if "/interaction/" in location and "login=" not in location:
            location += "?login=fr-educonnect-pupil-a" if login == "pupil" else f"?login={login}"
        response = await browser.get(location)
        assert response.status_code in {302, 303}, response.text
        location = response.headers["location"]
        if location.startswith("/"):
            parts = urlsplit(str(response.url))
            location = f"{parts.scheme}://{parts.netloc}{location}"
    raise AssertionError(f"never came back to Préau: {location}")


async def test_a_pupil_signs_in_through_the_academie(oidc_preau: Served) -> None:
    world = await roster_world(oidc_preau.services)
    browser = oidc_preau.client()
    callback = await to_callback(oidc_preau, browser, "pupil")
    assert "code=" in callback
    answered = await browser.get(callback)
    assert answered.status_code in {302, 303}, answered.text
    assert answered.headers["location"] == "/messages"
    session = oidc_preau.services.sessions.check(
        answered.cookies[SESSION_COOKIE], now=oidc_preau.services.clock()
    )
    assert session is not None
    assert session.actor.person_id == world["a"].people["pupil"]


async def test_the_same_callback_twice_is_refused(oidc_preau: Served) -> None:
    await roster_world(oidc_preau.services)
    browser = oidc_preau.client()
    callback = await to_callback(oidc_preau, browser, "pupil")
    assert (await browser.get(callback)).status_code in {302, 303}
    replay = await oidc_preau.client().get(callback)
    assert replay.status_code == 400
    assert "sa réponse a déjà servi" in replay.text


async def test_a_callback_with_an_unknown_state_is_refused(oidc_preau: Served) -> None:
    await roster_world(oidc_preau.services)
    browser = oidc_preau.client()
    callback = await to_callback(oidc_preau, browser, "pupil")
    forged = callback.replace("state=", "state=x")
    refused = await browser.get(forged)
    assert refused.status_code == 400
    assert SESSION_COOKIE not in refused.cookies


async def test_a_wrong_code_verifier_is_refused_by_the_provider(oidc_preau: Served) -> None:
    """PKCE is enforced: a stolen code without Préau's verifier gets no token."""
    await roster_world(oidc_preau.services)
    browser = oidc_preau.client()
    callback = await to_callback(oidc_preau, browser, "pupil")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    key = f"sso:oidc:pending:{state}"
    pending = await oidc_preau.services.state.get(key)
    assert pending is not None
    await oidc_preau.services.state.set(
        key, pending.replace(b'"verifier": "', b'"verifier": "wrong')
    )
    refused = await browser.get(callback)
    assert refused.status_code == 400
    assert "n’a pas pu être vérifiée" in refused.text


async def test_the_provider_saying_no_is_a_clear_page(oidc_preau: Served) -> None:
    browser = oidc_preau.client()
    started = await browser.get(oidc_preau.base_url + "/sso/oidc/academie/login")
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    refused = await browser.get(
        "/sso/oidc/academie/callback", params={"state": state, "error": "access_denied"}
    )
    assert refused.status_code == 400
    assert "ne vous a pas connecté (access_denied)" in refused.text


async def test_someone_unknown_gets_a_clear_page(oidc_preau: Served) -> None:
    await roster_world(oidc_preau.services)
    browser = oidc_preau.client()
    callback = await to_callback(oidc_preau, browser, "nobody-at-all")
    refused = await browser.get(callback)
    assert refused.status_code == 403
    assert "personne dans Préau n’a ce compte (nobody-at-all)" in refused.text


async def test_an_open_redirect_in_next_is_refused(oidc_preau: Served) -> None:
    refused = await oidc_preau.client().get(
        "/sso/oidc/academie/login", params={"next_path": "https://evil.test/"}
    )
    assert refused.status_code == 400
    assert "adresse en dehors de Préau" in refused.text


def signed(key: dict[str, str | list[str]], claims: dict[str, object]) -> str:
    return jwt.encode({"alg": "RS256", "kid": str(key["kid"])}, claims, RSAKey.import_key(key))


def claims_for(provider: OidcProviderProcess, **changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": provider.issuer,
        "aud": OIDC_CLIENT_ID,
        "sub": "fr-educonnect-pupil-a",
        "iat": now,
        "exp": now + 300,
        "nonce": "the-nonce",
    }
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


async def test_the_providers_own_token_passes(
    oidc_preau: Served, oidc_provider: OidcProviderProcess
) -> None:
    assert oidc_preau.services.sso is not None
    party = oidc_preau.services.sso.oidc["academie"]
    token = signed(oidc_provider.private_key, claims_for(oidc_provider))
    claims = await oidc.decode_id_token(party, token)
    oidc.check_claims(party, claims, nonce="the-nonce")
    assert claims["sub"] == "fr-educonnect-pupil-a"


@pytest.mark.parametrize(
    ("changes", "why"),
    [
        ({"aud": "another-client"}, "another audience"),
        ({"iss": "https://impostor.test"}, "another issuer"),
        ({"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, "expired"),
        ({"nonce": "another-nonce"}, "another sign-in's nonce"),
        ({"nonce": None}, "no nonce"),
        ({"aud": [OIDC_CLIENT_ID, "other"]}, "several audiences without azp"),
    ],
)
async def test_bad_id_tokens_are_refused(
    oidc_preau: Served, oidc_provider: OidcProviderProcess, changes: dict[str, object], why: str
) -> None:
    assert oidc_preau.services.sso is not None
    party = oidc_preau.services.sso.oidc["academie"]
    token = signed(oidc_provider.private_key, claims_for(oidc_provider, **changes))
    claims = await oidc.decode_id_token(party, token)
    with pytest.raises(InvalidInput):
        oidc.check_claims(party, claims, nonce="the-nonce")
    del why


async def test_a_token_signed_by_another_key_is_refused(
    oidc_preau: Served, oidc_provider: OidcProviderProcess
) -> None:
    assert oidc_preau.services.sso is not None
    party = oidc_preau.services.sso.oidc["academie"]
    impostor = RSAKey.generate_key(2048, parameters={"kid": "test-1", "alg": "RS256"})
    token = signed(dict(impostor.as_dict(private=True)), claims_for(oidc_provider))
    with pytest.raises(InvalidInput):
        await oidc.decode_id_token(party, token)
    unknown_kid = RSAKey.generate_key(2048, parameters={"kid": "never-seen", "alg": "RS256"})
    token = signed(dict(unknown_kid.as_dict(private=True)), claims_for(oidc_provider))
    with pytest.raises(InvalidInput):
        await oidc.decode_id_token(party, token)
    unsigned = (
        ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"alg": "none"}, claims_for(oidc_provider))
        )
        + "."
    )
    with pytest.raises(InvalidInput):
        await oidc.decode_id_token(party, unsigned)
