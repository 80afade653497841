"""Single sign-on pages: SAML (metadata, sign-in, the answer, single logout), OpenID
Connect (sign-in, callback) and Préau's CAS server (login, validation, logout). Every
refusal is a page with a sentence (4xx); CAS validation answers XML, as the protocol says."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from preau.actions import accounts
from preau.actions.context import Services
from preau.actions.sso import SingleSignOn, cas, oidc, saml
from preau.actions.sso.cas import CasServer
from preau.actions.sso.oidc import OidcRelyingParty
from preau.actions.sso.saml import SamlServiceProvider
from preau.cookies import new_csrf
from preau.domain.errors import NotFound
from preau.i18n import lazy
from preau.web.accounts import device_label, login_cookies, logout_cookies
from preau.web.dependencies import AppServices
from preau.web.render import session_of

Req = Request[Any, Any, Any]

NOT_CONFIGURED = lazy("This sign-in method is not configured on this Préau.")


def _sso(services: Services) -> SingleSignOn:
    if services.sso is None:
        raise NotFound(NOT_CONFIGURED)
    return services.sso


def _saml(services: Services) -> SamlServiceProvider:
    sp = _sso(services).saml
    if sp is None:
        raise NotFound(NOT_CONFIGURED)
    return sp


def _oidc(services: Services, name: str) -> OidcRelyingParty:
    party = _sso(services).oidc.get(name)
    if party is None:
        raise NotFound(NOT_CONFIGURED)
    return party


def _cas(services: Services) -> CasServer:
    server = _sso(services).cas
    if server is None:
        raise NotFound(NOT_CONFIGURED)
    return server


# -- SAML -----------------------------------------------------------------------------


@get("/sso/saml/metadata", include_in_schema=False)
async def saml_metadata(services: AppServices) -> Response[str]:
    """What an identity provider is given to trust Préau (its entity id is this address)."""
    return Response(
        await _saml(services).metadata(),
        media_type="application/samlmetadata+xml",
        headers={"cache-control": "public, max-age=3600"},
    )


@get("/sso/saml/{name:str}/login", include_in_schema=False)
async def saml_login(
    services: AppServices, name: FromPath[str], next_path: FromQuery[str | None] = None
) -> Redirect:
    return Redirect(await saml.start_login(services, _saml(services), name, next_path or ""))


@post("/sso/saml/acs", include_in_schema=False, opt={"csrf": False})
async def saml_acs(request: Req, services: AppServices) -> Response[Any]:
    """The identity provider's answer, posted by the browser (no CSRF token: the answer is
    signed and answers a pending request of ours, once)."""
    form = await request.form()
    login = await saml.finish_login(
        services,
        _saml(services),
        saml_response=str(form.get("SAMLResponse", "")),
        relay_state=str(form.get("RelayState", "")),
        label=device_label(request),
    )
    return Redirect(
        login.next_path, cookies=login_cookies(services.settings, login.result, csrf=new_csrf())
    )


@get("/sso/saml/sls", include_in_schema=False)
async def saml_single_logout(request: Req, services: AppServices) -> Redirect:
    """The identity provider's answer to Préau's logout, or its own logout request (the
    SAML names of the parameters, read as they are)."""
    query = request.query_params
    location = await saml.single_logout(
        services,
        _saml(services),
        request=query.get("SAMLRequest"),
        response=query.get("SAMLResponse"),
        relay_state=query.get("RelayState") or "",
        signature=query.get("Signature"),
        sig_alg=query.get("SigAlg"),
    )
    return Redirect(location, cookies=logout_cookies(services.settings))


# -- OpenID Connect -------------------------------------------------------------------


@get("/sso/oidc/{name:str}/login", include_in_schema=False)
async def oidc_login(
    services: AppServices, name: FromPath[str], next_path: FromQuery[str | None] = None
) -> Redirect:
    return Redirect(await oidc.start_login(services, _oidc(services, name), next_path or ""))


@get("/sso/oidc/{name:str}/callback", include_in_schema=False)
async def oidc_callback(request: Req, services: AppServices, name: FromPath[str]) -> Response[Any]:
    """The provider's answer: ``code`` and ``state`` (or ``error``), read from the query
    as they are (``state`` is a name Litestar keeps for itself)."""
    query = request.query_params
    login = await oidc.finish_login(
        services,
        _oidc(services, name),
        code=query.get("code"),
        state=query.get("state"),
        error=query.get("error"),
        label=device_label(request),
    )
    return Redirect(
        login.next_path, cookies=login_cookies(services.settings, login.result, csrf=new_csrf())
    )


# -- CAS server -----------------------------------------------------------------------


@get("/cas/login", include_in_schema=False)
async def cas_login(
    request: Req,
    services: AppServices,
    service: FromQuery[str | None] = None,
    gateway: FromQuery[str | None] = None,
    renew: FromQuery[str | None] = None,
) -> Response[Any]:
    server = _cas(services)
    session = session_of(request)
    if not service:
        return Redirect("/home" if session else "/login")
    # renew: the person signs in again, whatever their session (gateway is then ignored).
    renewing = renew == "true"
    fresh = session is not None and cas.freshly_signed_in(session.signed_in_at, services.clock())
    if session is None or (renewing and not fresh):
        # Refused before the login page too, so /cas/login is no redirector for anyone.
        cas.check_service(server, service, None)
        if gateway == "true" and not renewing:
            return Redirect(service)
        back = "/cas/login?" + urlencode(
            {"service": service, **({"renew": "true"} if renewing else {})}
        )
        query = {"next_path": back, **({"renew": "1"} if renewing else {})}
        return Redirect("/login?" + urlencode(query))
    return Redirect(
        await cas.issue_ticket(services, server, session.actor, service, renewed=renewing)
    )


async def _validate(
    services: Services, service: str | None, ticket: str | None, renew: str | None
) -> Response[str]:
    _cas(services)
    # CAS 3.0 releases attributes on both addresses; /p3/ is where 2.0 clients expect none.
    body = await cas.validate_ticket(
        services, service, ticket, with_attributes=True, renew=renew == "true"
    )
    return Response(body, media_type="application/xml", headers={"cache-control": "no-store"})


@get("/cas/serviceValidate", include_in_schema=False)
async def cas_service_validate(
    services: AppServices,
    service: FromQuery[str | None] = None,
    ticket: FromQuery[str | None] = None,
    renew: FromQuery[str | None] = None,
) -> Response[str]:
    return await _validate(services, service, ticket, renew)


@get("/cas/p3/serviceValidate", include_in_schema=False)
async def cas_p3_service_validate(
    services: AppServices,
    service: FromQuery[str | None] = None,
    ticket: FromQuery[str | None] = None,
    renew: FromQuery[str | None] = None,
) -> Response[str]:
    return await _validate(services, service, ticket, renew)


@get("/cas/logout", include_in_schema=False)
async def cas_logout(
    request: Req, services: AppServices, service: FromQuery[str | None] = None
) -> Response[Any]:
    """The CAS logout (a GET, as the protocol has it): the Préau session ends; the browser
    goes back to ``service`` only if the person's school allows it."""
    server = _cas(services)
    session = session_of(request)
    target = "/login"
    if service:
        uai = await cas.school_uai(services, session.actor.school_id) if session else None
        cas.check_service(server, service, uai)
        target = service
    if session is not None:
        await accounts.log_out(services, session)
    return Redirect(target, cookies=logout_cookies(services.settings))


routes: list[ControllerRouterHandler] = [
    saml_metadata,
    saml_login,
    saml_acs,
    saml_single_logout,
    oidc_login,
    oidc_callback,
    cas_login,
    cas_service_validate,
    cas_p3_service_validate,
    cas_logout,
]
