"""Préau as a SAML 2.0 service provider (pysaml2, signatures checked in process by
``signatures``) for EduConnect and the académies' identity providers: metadata, the
request, the signed answer checked, the person found, single logout. docs/sso.md.

pysaml2 is synchronous, mostly pure Python, and its checks take milliseconds: every call
runs in a worker process of the SAML pool (``saml_pool``), not in a thread, which would
hold the event loop's GIL. What must outlive one request (the pending request ids, the
assertion ids already used, who to log out) is kept in the shared state, so any process
may receive the answer."""

from __future__ import annotations

import base64
import binascii
import json
import logging
from dataclasses import dataclass
from typing import Any

from lxml import etree
from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

from preau.actions.accounts import LoginResult
from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.actions.sso import saml_pool
from preau.actions.sso.people import sign_in
from preau.actions.sso.saml_pool import Refused, SamlWorkers
from preau.domain.errors import InvalidInput, NotFound
from preau.domain.people import Actor, Profile
from preau.domain.sso import SamlProvider, identifier_of, safe_relay_state
from preau.i18n import lazy

log = logging.getLogger("preau.sso")

PENDING_SECONDS = 600  # how long a sign-in may take at the identity provider
MAX_MESSAGE_BYTES = 256 * 1024
HEAD_BYTES = 2048  # read until the root's start tag, which comes first

NO_PROVIDER = lazy("This identity provider is not configured for Préau.")
EXPIRED = lazy(
    "This sign-in was started too long ago, or its answer was already used. Nothing was done: "
    "go back to Préau's login page and sign in again."
)
UNSOLICITED = lazy(
    "This answer from the identity provider does not answer a sign-in started on Préau. "
    "Nothing was done: go to Préau's login page and sign in from there."
)
NOT_VERIFIED = lazy(
    "The identity provider's answer could not be verified (its signature, its audience or "
    "its validity period is wrong), so you were not signed in. Try again from Préau's login "
    "page; if it happens again, tell your school's office."
)
REPLAYED = lazy(
    "This answer from the identity provider was already used once, so it was refused. Sign "
    "in again from Préau's login page."
)
UNREADABLE = lazy("The identity provider's answer could not be read. Sign in again.")


@dataclass(frozen=True)
class SamlLogin:
    result: LoginResult
    next_path: str
    worker_pid: int  # the SAML worker process that checked the answer


class SamlServiceProvider:
    """The one service provider of this deployment, for every configured identity provider."""

    def __init__(
        self,
        *,
        base_url: str,
        providers: tuple[SamlProvider, ...],
        key_file: str,
        cert_file: str,
        identifier_attributes: tuple[str, ...],
        workers: int = 1,
        queue: int = 64,
    ) -> None:
        self.providers = {provider.name: provider for provider in providers}
        self.entity_id = f"{base_url}/sso/saml/metadata"
        self.acs_url = f"{base_url}/sso/saml/acs"
        self.sls_url = f"{base_url}/sso/saml/sls"
        self.identifier_attributes = identifier_attributes
        self._config: dict[str, Any] = {
            "entityid": self.entity_id,
            "name": "Préau",
            "service": {
                "sp": {
                    "endpoints": {
                        "assertion_consumer_service": [(self.acs_url, BINDING_HTTP_POST)],
                        "single_logout_service": [(self.sls_url, BINDING_HTTP_REDIRECT)],
                    },
                    # Every assertion signed; an answer for another audience, expired, or
                    # not answering a request of ours (InResponseTo) is refused by pysaml2.
                    "want_assertions_signed": True,
                    "want_response_signed": False,
                    "allow_unsolicited": False,
                    "authn_requests_signed": True,
                    "logout_requests_signed": True,
                    "logout_responses_signed": True,
                }
            },
            "key_file": key_file,
            "cert_file": cert_file,
            # Not used: the client's security context is replaced by ours (signatures
            # module) before any use; this backend is the one pysaml2 builds without
            # needing an xmlsec1 binary.
            "crypto_backend": "XMLSecurity",
            "allow_unknown_attributes": True,
            "accepted_time_diff": 60,  # clocks of the two sides may differ by a minute
            "metadata": _metadata_sources(providers),
        }
        # Each worker builds its pysaml2 client from this once (reading the metadata may
        # fetch it over HTTPS) and keeps it.
        self.pool = SamlWorkers(self._config, workers=workers, queue=queue)

    def provider(self, name: str) -> SamlProvider:
        provider = self.providers.get(name)
        if provider is None:
            raise NotFound(NO_PROVIDER)
        return provider

    async def metadata(self) -> str:
        return await self.pool.run("metadata", saml_pool.metadata)

    async def close(self) -> None:
        await self.pool.close()


def _metadata_sources(providers: tuple[SamlProvider, ...]) -> dict[str, Any]:
    local = [p.metadata for p in providers if not p.metadata.startswith(("https:", "http:"))]
    remote = [{"url": p.metadata} for p in providers if p.metadata.startswith(("https:", "http:"))]
    sources: dict[str, Any] = {}
    if local:
        sources["local"] = local
    if remote:
        sources["remote"] = remote
    return sources


def _pending_key(request_id: str) -> str:
    return f"sso:saml:pending:{request_id}"


async def start_login(
    services: Services, sp: SamlServiceProvider, name: str, next_path: str
) -> str:
    """The address of the identity provider's sign-in page, with a signed request."""
    provider = sp.provider(name)
    next_path = safe_relay_state(next_path)
    request_id, location, _pid = await sp.pool.run(
        "authn_request", saml_pool.prepare_authenticate, provider.entity_id, next_path
    )
    await services.state.set(
        _pending_key(request_id),
        json.dumps({"provider": provider.name, "next": next_path}).encode(),
        ttl_seconds=PENDING_SECONDS,
    )
    return location


def _decode(message: str) -> bytes:
    if not message or len(message) > MAX_MESSAGE_BYTES:
        raise InvalidInput(UNREADABLE)
    try:
        return base64.b64decode(message, validate=False)
    except (binascii.Error, ValueError):
        raise InvalidInput(UNREADABLE) from None


def _in_response_to(xml: bytes) -> str:
    """The request an answer claims to answer, read before it is verified only to find
    which pending request to verify it against: from the root's start tag alone, so the
    event loop does not parse the whole answer (pysaml2 does, in a worker process)."""
    if b"<!DOCTYPE" in xml:  # SAML has none; a DTD's entities can make a parser work hard
        raise InvalidInput(UNREADABLE)
    parser = etree.XMLPullParser(
        events=("start",), resolve_entities=False, no_network=True, load_dtd=False
    )
    root = None
    try:
        for offset in range(0, len(xml), HEAD_BYTES):
            parser.feed(xml[offset : offset + HEAD_BYTES])
            root = next((element for _event, element in parser.read_events()), None)
            if root is not None:
                break
    except etree.XMLSyntaxError:
        raise InvalidInput(UNREADABLE) from None
    if root is None or root.getroottree().docinfo.internalDTD is not None:
        raise InvalidInput(UNREADABLE)
    in_response_to = root.get("InResponseTo")
    if not in_response_to or len(in_response_to) > 200:
        raise InvalidInput(UNSOLICITED)
    return str(in_response_to)


async def finish_login(
    services: Services,
    sp: SamlServiceProvider,
    *,
    saml_response: str,
    relay_state: str,
    label: str,
) -> SamlLogin:
    """Check the identity provider's answer and sign the person in.

    Refused: a RelayState outside Préau, an answer to no pending request of ours (or to
    one already answered), a bad or missing signature, another audience, an expired
    assertion, an assertion id already used, a person Préau does not know."""
    safe_relay_state(relay_state)
    xml = _decode(saml_response)
    request_id = _in_response_to(xml)
    # A full pool refuses before the pending request is taken: the same answer may then be
    # posted again in a few seconds.
    sp.pool.check_room()
    # The request is answered once: taken and deleted at once, so a second answer to it (a
    # replay, or the same answer posted twice at the same moment) finds nothing.
    pending_raw = await services.state.take(_pending_key(request_id))
    if pending_raw is None:
        raise InvalidInput(EXPIRED)
    pending = json.loads(pending_raw)
    provider = sp.provider(str(pending["provider"]))
    try:
        # Signature, audience, validity and InResponseTo (this one pending request only)
        # checked by pysaml2 in a worker process.
        answer = await sp.pool.run(
            "answer", saml_pool.parse_answer, saml_response, request_id, str(pending["next"])
        )
    except Refused as error:
        log.info("SAML answer refused: %s", error)
        raise InvalidInput(NOT_VERIFIED) from None
    if answer is None or answer.issuer != provider.entity_id:
        raise InvalidInput(NOT_VERIFIED)
    ttl = max(60.0, answer.not_on_or_after - services.clock() + 120)
    if not await services.state.add(
        f"sso:saml:assertion:{provider.name}:{answer.assertion_id}",
        b"1",
        ttl_seconds=min(ttl, 86400.0),
    ):
        raise InvalidInput(REPLAYED)
    result = await sign_in(
        services,
        provider=provider.label,
        identifiers=identifier_of(answer.attributes, sp.identifier_attributes),
        uais=provider.uais,
        label=label,
    )
    if answer.name_id is not None and answer.name_id_text is not None:
        await _remember_for_logout(services, provider, result.session, answer)
    return SamlLogin(result=result, next_path=str(pending["next"]), worker_pid=answer.pid)


async def _remember_for_logout(
    services: Services,
    provider: SamlProvider,
    session: Session,
    answer: saml_pool.Answer,
) -> None:
    """Kept for single logout: what to send the identity provider when this session ends,
    and which session to end when the identity provider asks."""
    ttl = float(services.settings.session_seconds)
    actor = session.actor
    device_id = session.device_id
    await services.state.set(
        f"sso:saml:session:{device_id}",
        json.dumps(
            {
                "provider": provider.name,
                "name_id": answer.name_id,
                "session_index": answer.session_index,
            }
        ).encode(),
        ttl_seconds=ttl,
    )
    await services.state.set(
        f"sso:saml:name:{provider.name}:{answer.name_id_text}",
        json.dumps([actor.school_id, actor.person_id, actor.profile.value, device_id]).encode(),
        ttl_seconds=ttl,
    )


async def logout_address(
    services: Services, sp: SamlServiceProvider, session: Session
) -> str | None:
    """After a local logout, where to send the browser so the identity provider ends its
    session too (single logout), or None when the session was not opened by SAML."""
    raw = await services.state.get(f"sso:saml:session:{session.device_id}")
    if raw is None:
        return None
    await services.state.delete(f"sso:saml:session:{session.device_id}")
    saved = json.loads(raw)
    provider = sp.providers.get(str(saved["provider"]))
    if provider is None:
        return None
    return await sp.pool.run(
        "logout_request",
        saml_pool.logout_request,
        provider.entity_id,
        str(saved["name_id"]),
        saved.get("session_index") or None,
    )


async def single_logout(
    services: Services,
    sp: SamlServiceProvider,
    *,
    request: str | None,
    response: str | None,
    relay_state: str,
    signature: str | None,
    sig_alg: str | None,
) -> str:
    """Where the browser goes after the identity provider's answer to Préau's logout
    request, or after its own logout request (the person logged out elsewhere): checked,
    the session ended, answered."""
    if response:
        _decode(response)
        try:
            verified = await sp.pool.run(
                "logout_answer", saml_pool.logout_response_verified, response
            )
        except Refused as error:
            log.info("SAML logout answer refused: %s", error)
            raise InvalidInput(NOT_VERIFIED) from None
        if not verified:
            raise InvalidInput(NOT_VERIFIED)
        return "/login"
    if not request:
        raise InvalidInput(UNREADABLE)
    _decode(request)
    try:
        # Its signature checked, and Préau's signed answer built, in one call: the answer
        # is sent only once the session below is ended.
        checked = await sp.pool.run(
            "logout_request_in",
            saml_pool.answer_logout_request,
            request,
            relay_state,
            sig_alg,
            signature,
        )
    except Refused as error:
        log.info("SAML logout request refused: %s", error)
        raise InvalidInput(NOT_VERIFIED) from None
    if checked is None:
        raise InvalidInput(NOT_VERIFIED)
    issuer, name_id_text, location = checked
    provider = next((p for p in sp.providers.values() if p.entity_id == issuer), None)
    if provider is None:
        raise InvalidInput(NOT_VERIFIED)
    key = f"sso:saml:name:{provider.name}:{name_id_text}"
    saved = await services.state.get(key)
    if saved is not None:
        school_id, person_id, profile, device_id = json.loads(saved)
        actor = Actor(int(person_id), int(school_id), Profile(profile))
        await services.sessions.revoke_device(actor, str(device_id), now=services.clock())
        await services.state.delete(key)
    return location
