"""API sessions: log in for a bearer token (or cookies), activate, log out, who am I."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, Router, delete, get, post
from litestar.params import JSONBody
from litestar.types import ControllerRouterHandler

from preau.actions import accounts
from preau.actions.context import Services
from preau.actions.directory import get_person
from preau.cookies import CSRF_COOKIE, SESSION_COOKIE, new_csrf
from preau.domain.directory import PersonView
from preau.web.accounts import client_address, device_label, login_cookies, logout_cookies
from preau.web.dependencies import AppServices, SignedInActor, SignedInSession
from preau.web.guards import signed_in
from preau.web.render import csrf_binding, expected_csrf

Req = Request[Any, Any, Any]


class LoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``cookies``: also set the session cookies (for a client that keeps cookies rather
    than sending the token); the answer then carries the CSRF token to send back."""

    username: str
    password: str
    remember: bool = False
    cookies: bool = False


class ActivationRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: str
    code: str
    password: str
    remember: bool = False
    cookies: bool = False


class SessionToken(msgspec.Struct, kw_only=True):
    """Send ``token`` as ``Authorization: Bearer <token>``; it expires at ``expires_in``."""

    token: str
    expires_in: int
    device_token: str | None
    person_id: int
    school_id: int
    profile: str
    # Only when cookies were asked for: send it as `X-CSRF-Token` with every POST, PUT,
    # PATCH and DELETE made with those cookies (also in the `X-CSRF-Token` header).
    csrf_token: str | None = None


def _token_response(
    services: Services, result: accounts.LoginResult, *, cookies: bool
) -> Response[SessionToken]:
    """The new session's token; with ``cookies``, its cookies too and the CSRF token they
    need (a bearer client is given no cookie it did not ask for)."""
    csrf = new_csrf() if cookies else None
    csrf_token = (
        expected_csrf(
            services.settings.secret_key,
            csrf_binding({CSRF_COOKIE: csrf, SESSION_COOKIE: result.session_token}),
        )
        if csrf is not None
        else None
    )
    return Response(
        SessionToken(
            token=result.session_token,
            expires_in=services.settings.session_seconds,
            device_token=result.device_token,
            person_id=result.session.actor.person_id,
            school_id=result.session.actor.school_id,
            profile=result.session.actor.profile.value,
            csrf_token=csrf_token,
        ),
        status_code=201,
        cookies=login_cookies(services.settings, result, csrf=csrf) if csrf is not None else [],
        headers={"x-csrf-token": csrf_token} if csrf_token is not None else None,
    )


# Logging in uses no ambient authority (the credentials are in the body): no CSRF token is
# asked for, so a client that keeps cookies can log one person in after another.
@post(
    "/api/v1/session",
    tags=["accounts"],
    summary="Log in with a username and password",
    description=(
        "Answers the session token to send as `Authorization: Bearer`. With `cookies: true` "
        "the session is also set as cookies, and the answer's `csrf_token` (also in the "
        "`X-CSRF-Token` header) must be sent as `X-CSRF-Token` with each POST, PUT, PATCH "
        "and DELETE made with those cookies."
    ),
    opt={"csrf": False},
)
async def create_session(
    request: Req, services: AppServices, data: JSONBody[LoginRequest]
) -> Response[SessionToken]:
    result = await accounts.log_in(
        services,
        username=data.username,
        password=data.password,
        address=client_address(request),
        remember=data.remember,
        label=device_label(request),
    )
    return _token_response(services, result, cookies=data.cookies)


@post(
    "/api/v1/activation",
    tags=["accounts"],
    summary="Activate an account with its code",
    opt={"csrf": False},
)
async def activate(
    request: Req, services: AppServices, data: JSONBody[ActivationRequest]
) -> Response[SessionToken]:
    result = await accounts.activate_account(
        services,
        username=data.username,
        code=data.code,
        password=data.password,
        address=client_address(request),
        remember=data.remember,
        label=device_label(request),
    )
    return _token_response(services, result, cookies=data.cookies)


# Its path is also the public log-in's, and Litestar routes one path from one router: the
# guard goes on the handler rather than on the router of the signed-in routes below.
@delete(
    "/api/v1/session",
    tags=["accounts"],
    summary="Log out this device",
    status_code=204,
    guards=[signed_in],
)
async def end_session(
    request: Req, services: AppServices, session: SignedInSession
) -> Response[None]:
    await accounts.log_out(services, session)
    cookies = [] if request.scope["state"].get("bearer") else logout_cookies(services.settings)
    return Response(None, status_code=204, cookies=cookies)


@post("/api/v1/session/others", tags=["accounts"], summary="Log out my other devices")
async def end_other_sessions(
    request: Req, services: AppServices, session: SignedInSession
) -> Response[SessionToken]:
    result = await accounts.log_out_other_devices(services, session)
    return _token_response(services, result, cookies=not request.scope["state"].get("bearer"))


@get("/api/v1/me", tags=["accounts"], summary="The person behind this session")
async def me(services: AppServices, actor: SignedInActor) -> PersonView:
    return await get_person(services, actor, actor.person_id)


routes: list[ControllerRouterHandler] = [
    create_session,
    activate,
    end_session,
    Router("/", guards=[signed_in], route_handlers=[end_other_sessions, me]),
]
