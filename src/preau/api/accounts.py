"""API sessions: log in for a bearer token (or cookies), activate, log out, who am I."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, Response, delete, get, post
from litestar.params import JSONBody

from preau.actions import accounts
from preau.actions.directory import get_person
from preau.actions.sessions import Session
from preau.domain.directory import PersonView
from preau.domain.errors import NotAuthenticated
from preau.web.accounts import client_address, device_label, login_cookies, logout_cookies
from preau.web.render import services_of, session_of

Req = Request[Any, Any, Any]


class LoginRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: str
    password: str
    remember: bool = False


class ActivationRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    username: str
    code: str
    password: str
    remember: bool = False


class SessionToken(msgspec.Struct, kw_only=True):
    """Send ``token`` as ``Authorization: Bearer <token>``; it expires at ``expires_in``."""

    token: str
    expires_in: int
    device_token: str | None
    person_id: int
    school_id: int
    profile: str


def require_session(request: Req) -> Session:
    session = session_of(request)
    if session is None:
        raise NotAuthenticated("Log in first, then try again.")
    return session


def _token_response(request: Req, result: accounts.LoginResult) -> Response[SessionToken]:
    services = services_of(request)
    return Response(
        SessionToken(
            token=result.session_token,
            expires_in=services.settings.session_seconds,
            device_token=result.device_token,
            person_id=result.session.actor.person_id,
            school_id=result.session.actor.school_id,
            profile=result.session.actor.profile.value,
        ),
        status_code=201,
        cookies=login_cookies(request, result),
    )


@post("/api/v1/session", tags=["accounts"], summary="Log in with a username and password")
async def create_session(request: Req, data: JSONBody[LoginRequest]) -> Response[SessionToken]:
    result = await accounts.log_in(
        services_of(request),
        username=data.username,
        password=data.password,
        address=client_address(request),
        remember=data.remember,
        label=device_label(request),
    )
    return _token_response(request, result)


@post("/api/v1/activation", tags=["accounts"], summary="Activate an account with its code")
async def activate(request: Req, data: JSONBody[ActivationRequest]) -> Response[SessionToken]:
    result = await accounts.activate_account(
        services_of(request),
        username=data.username,
        code=data.code,
        password=data.password,
        address=client_address(request),
        remember=data.remember,
        label=device_label(request),
    )
    return _token_response(request, result)


@delete("/api/v1/session", tags=["accounts"], summary="Log out this device", status_code=204)
async def end_session(request: Req) -> Response[None]:
    await accounts.log_out(services_of(request), require_session(request))
    return Response(None, status_code=204, cookies=logout_cookies(request))


@post("/api/v1/session/others", tags=["accounts"], summary="Log out my other devices")
async def end_other_sessions(request: Req) -> Response[SessionToken]:
    result = await accounts.log_out_other_devices(services_of(request), require_session(request))
    return _token_response(request, result)


@get("/api/v1/me", tags=["accounts"], summary="The person behind this session")
async def me(request: Req) -> PersonView:
    session = require_session(request)
    return await get_person(services_of(request), session.actor, session.actor.person_id)


routes = [create_session, activate, end_session, end_other_sessions, me]
