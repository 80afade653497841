"""Préau as an OpenID Connect relying party: the authorization code flow with PKCE (Authlib
builds the request and the challenge), ``state`` and ``nonce`` single use in the shared
state, the ID token's signature checked against the provider's JWKS and its issuer,
audience, expiry and nonce checked (joserfc, which Authlib's own JOSE module now points
to). docs/sso.md."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from preau.actions.accounts import LoginResult
from preau.actions.context import Services
from preau.actions.sso.people import sign_in
from preau.domain.errors import InvalidInput, ServiceUnavailable
from preau.domain.sso import OidcProvider, identifier_of, safe_relay_state
from preau.i18n import lazy

log = logging.getLogger("preau.sso")

PENDING_SECONDS = 600
DISCOVERY_SECONDS = 3600.0
ALGORITHMS = ["RS256", "PS256", "ES256"]

EXPIRED = lazy(
    "This sign-in was started too long ago, or its answer was already used. Nothing was done: "
    "go back to Préau's login page and sign in again."
)
REFUSED = lazy(
    "The identity provider did not sign you in ({reason}). Go back to Préau's login page and "
    "try again."
)
NOT_VERIFIED = lazy(
    "The identity provider's answer could not be verified (its signature, its audience or "
    "its validity period is wrong), so you were not signed in. Try again from Préau's login "
    "page; if it happens again, tell your school's office."
)
UNREACHABLE = lazy(
    "The identity provider cannot be reached at the moment. Try again in a few minutes, or "
    "sign in with your Préau username and password."
)


@dataclass(frozen=True)
class OidcLogin:
    result: LoginResult
    next_path: str


class OidcRelyingParty:
    """One provider: its discovery document and keys, fetched and kept for an hour."""

    def __init__(
        self, provider: OidcProvider, *, base_url: str, identifier_claims: tuple[str, ...]
    ) -> None:
        self.provider = provider
        self.redirect_uri = f"{base_url}/sso/oidc/{provider.name}/callback"
        self.identifier_claims = identifier_claims
        self.http = httpx.AsyncClient(timeout=10.0)
        self._discovery: dict[str, Any] | None = None
        self._discovered_at = 0.0
        self._keys: KeySet | None = None

    async def close(self) -> None:
        await self.http.aclose()

    async def discovery(self) -> dict[str, Any]:
        if self._discovery is None or time.monotonic() - self._discovered_at > DISCOVERY_SECONDS:
            url = self.provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
            document = await self._get_json(url)
            if document.get("issuer") != self.provider.issuer:
                log.warning("OIDC discovery of %s names another issuer", self.provider.name)
                raise ServiceUnavailable(UNREACHABLE)
            self._discovery = document
            self._discovered_at = time.monotonic()
            self._keys = None
        return self._discovery

    async def keys(self, *, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            document = await self.discovery()
            jwks = await self._get_json(str(document["jwks_uri"]))
            self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]  # checked by joserfc
        return self._keys

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self.http.get(url)
            response.raise_for_status()
            document = response.json()
        except (httpx.HTTPError, ValueError) as error:
            log.warning("OIDC provider unreachable at %s: %s", url, error)
            raise ServiceUnavailable(UNREACHABLE) from None
        if not isinstance(document, dict):
            raise ServiceUnavailable(UNREACHABLE)
        return document


def _pending_key(state: str) -> str:
    return f"sso:oidc:pending:{state}"


async def start_login(services: Services, party: OidcRelyingParty, next_path: str) -> str:
    """The provider's authorization address: code flow, PKCE (S256), state and nonce."""
    next_path = safe_relay_state(next_path)
    document = await party.discovery()
    state = generate_token(32)
    nonce = generate_token(32)
    verifier = generate_token(64)
    await services.state.set(
        _pending_key(state),
        json.dumps({"nonce": nonce, "verifier": verifier, "next": next_path}).encode(),
        ttl_seconds=PENDING_SECONDS,
    )
    return str(
        prepare_grant_uri(
            document["authorization_endpoint"],
            party.provider.client_id,
            "code",
            redirect_uri=party.redirect_uri,
            scope="openid profile",
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
        )
    )


async def finish_login(
    services: Services,
    party: OidcRelyingParty,
    *,
    code: str | None,
    state: str | None,
    error: str | None,
    label: str,
) -> OidcLogin:
    if not state or len(state) > 200:
        raise InvalidInput(EXPIRED)
    raw = await services.state.get(_pending_key(state))
    if raw is None or not await services.state.add(
        f"sso:oidc:answered:{state}", b"1", ttl_seconds=PENDING_SECONDS
    ):
        raise InvalidInput(EXPIRED)
    await services.state.delete(_pending_key(state))
    pending = json.loads(raw)
    if error:
        raise InvalidInput(REFUSED, reason=error[:100])
    if not code or len(code) > 2000:
        raise InvalidInput(NOT_VERIFIED)
    claims = await _exchange(party, code=code, verifier=str(pending["verifier"]))
    check_claims(party, claims, nonce=str(pending["nonce"]))
    identifiers = identifier_of(
        {name: [str(claims[name])] for name in party.identifier_claims if name in claims},
        party.identifier_claims,
    )
    result = await sign_in(
        services,
        provider=party.provider.label,
        identifiers=identifiers,
        uais=party.provider.uais,
        label=label,
    )
    return OidcLogin(result=result, next_path=str(pending["next"]))


async def _exchange(party: OidcRelyingParty, *, code: str, verifier: str) -> dict[str, Any]:
    """The code for tokens, at the token endpoint; the ID token's signature checked."""
    document = await party.discovery()
    try:
        response = await party.http.post(
            str(document["token_endpoint"]),
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": party.redirect_uri,
                "code_verifier": verifier,
            },
            auth=(party.provider.client_id, party.provider.client_secret),
        )
    except httpx.HTTPError as error:
        log.warning("OIDC token endpoint of %s unreachable: %s", party.provider.name, error)
        raise ServiceUnavailable(UNREACHABLE) from None
    if response.status_code != 200:
        log.info("OIDC code refused by %s: %s", party.provider.name, response.text[:300])
        raise InvalidInput(NOT_VERIFIED)
    try:
        id_token = str(response.json()["id_token"])
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(NOT_VERIFIED) from None
    return await decode_id_token(party, id_token)


async def decode_id_token(party: OidcRelyingParty, id_token: str) -> dict[str, Any]:
    """The ID token's claims, once its signature is checked against the provider's keys
    (fetched again once if it is signed by a key not seen yet: a rotation)."""
    for refresh in (False, True):
        keys = await party.keys(refresh=refresh)
        try:
            return dict(jwt.decode(id_token, keys, algorithms=ALGORITHMS).claims)
        except ValueError as error:  # no key with this kid (joserfc raises ValueError)
            if refresh or ("kid" not in str(error).lower() and "key" not in str(error).lower()):
                log.info("ID token refused: %s", error)
                raise InvalidInput(NOT_VERIFIED) from None
        except JoseError as error:
            log.info("ID token refused: %s", error)
            raise InvalidInput(NOT_VERIFIED) from None
    raise InvalidInput(NOT_VERIFIED)


def check_claims(party: OidcRelyingParty, claims: dict[str, Any], *, nonce: str) -> None:
    registry = jwt.JWTClaimsRegistry(
        leeway=60,
        iss={"essential": True, "value": party.provider.issuer},
        aud={"essential": True, "value": party.provider.client_id},
        sub={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        nonce={"essential": True, "value": nonce},
    )
    try:
        registry.validate(claims)
    except JoseError as error:
        log.info("ID token claims refused: %s", error)
        raise InvalidInput(NOT_VERIFIED) from None
    audiences = claims["aud"] if isinstance(claims["aud"], list) else [claims["aud"]]
    if len(audiences) > 1 and claims.get("azp") != party.provider.client_id:
        raise InvalidInput(NOT_VERIFIED)
