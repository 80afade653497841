"""Pages for logging in, activating an account, the account page and the language switch."""

from __future__ import annotations

import weakref
from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery
from litestar.response import Redirect
from litestar.response.base import ASGIResponse
from litestar.types import ControllerRouterHandler

from preau import i18n
from preau.actions import accounts
from preau.actions.accounts import LoginResult
from preau.actions.context import Services
from preau.actions.directory import get_person, school_name
from preau.actions.sso import LoginButton, saml
from preau.cookies import (
    CSRF_COOKIE,
    DEVICE_COOKIE,
    LANG_COOKIE,
    SAME_SITE,
    SESSION_COOKIE,
    cookie_header,
    new_csrf,
)
from preau.domain.errors import InvalidInput, PreauError
from preau.settings import Settings
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.render import (
    CSRF_MARK_BYTES,
    csrf_token,
    page_bytes,
    render,
    session_of,
    translate_error,
)

Req = Request[Any, Any, Any]


def login_cookies(settings: Settings, result: LoginResult, *, csrf: str) -> list[Cookie]:
    """The session (and device) cookies of a login, and a new CSRF cookie: the forms of
    the new session are bound to both (``web/render.csrf_binding``)."""
    cookies = [
        Cookie(
            key=CSRF_COOKIE,
            value=csrf,
            httponly=True,
            secure=settings.cookie_secure,
            samesite="strict",
        ),
        Cookie(
            key=SESSION_COOKIE,
            value=result.session_token,
            max_age=settings.session_seconds,
            httponly=True,
            secure=settings.cookie_secure,
            samesite=SAME_SITE,
        ),
    ]
    if result.device_token is not None:
        cookies.append(
            Cookie(
                key=DEVICE_COOKIE,
                value=result.device_token,
                max_age=settings.device_days * 86400,
                httponly=True,
                secure=settings.cookie_secure,
                samesite=SAME_SITE,
            )
        )
    return cookies


class SignedInRedirect(Redirect):
    """The redirect of a password login with :func:`login_cookies`' cookies written
    straight as ``Set-Cookie`` values (``cookies.cookie_header``), the same attributes:
    Litestar's ``Cookie`` copies each one through ``dataclasses.asdict`` on the way out
    (the response built and encoded: 77 µs with ``Cookie`` objects, 14 µs so)."""

    def __init__(self, path: str, settings: Settings, result: LoginResult, *, csrf: str):
        super().__init__(path)
        secure = settings.cookie_secure
        self.set_cookies = [
            cookie_header(CSRF_COOKIE, csrf, max_age=None, secure=secure, same_site="strict"),
            cookie_header(
                SESSION_COOKIE, result.session_token, max_age=settings.session_seconds,
                secure=secure,
            ),
        ]  # fmt: skip
        if result.device_token is not None:
            self.set_cookies.append(
                cookie_header(
                    DEVICE_COOKIE, result.device_token, max_age=settings.device_days * 86400,
                    secure=secure,
                )
            )  # fmt: skip

    def to_asgi_response(self, app: Any, request: Req, **named: Any) -> ASGIResponse:
        response = super().to_asgi_response(app, request, **named)
        for value in self.set_cookies:
            response.headers.add("set-cookie", value.decode("latin-1"))
        return response


def logout_cookies(settings: Settings) -> list[Cookie]:
    return [
        Cookie(
            key=name,
            value="",
            max_age=0,
            httponly=True,
            secure=settings.cookie_secure,
            samesite=SAME_SITE,
        )
        for name in (SESSION_COOKIE, DEVICE_COOKIE)
    ]


def safe_next(target: str | None) -> str:
    """Only local paths: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/home"


def device_label(request: Req) -> str:
    return request.headers.get("user-agent", "")[:200]


def client_address(request: Req) -> str:
    return request.client.host if request.client else "unknown"


@get("/", include_in_schema=False)
async def index(request: Req) -> Redirect:
    return Redirect("/home" if session_of(request) else "/login")


def sso_buttons(services: Services, school: str | None, next_path: str) -> list[LoginButton]:
    """The "Se connecter avec …" buttons of the login page: the identity providers of every
    school, and those of ``school`` (a UAI, from the school's own link to Préau)."""
    if services.sso is None:
        return []
    suffix = "?" + urlencode({"next_path": next_path})
    return [
        LoginButton(button.label, button.address + suffix)
        for button in services.sso.buttons(school.strip().upper()[:8] if school else None)
    ]


# The login page of someone not signed in, rendered once per language, target and school
# (the CSRF token left as a mark, replaced by each reader's own), per Services: the pages
# differ only by those. Bounded, as the target and the school come from the address; the
# Services only weakly referenced (an id can be reused once they are gone).
_LOGIN_PAGES: dict[tuple[int, str, str, str | None], tuple[weakref.ref[Services], bytes]] = {}
_LOGIN_PAGES_LIMIT = 512


def anonymous_login_page(
    request: Req, services: Services, target: str, school: str | None
) -> Response[bytes]:
    key = (id(services), i18n.current_locale.get(), target, school)
    cached = _LOGIN_PAGES.get(key)
    if cached is None or cached[0]() is not services:
        if len(_LOGIN_PAGES) >= _LOGIN_PAGES_LIMIT:
            _LOGIN_PAGES.clear()
        page = page_bytes(
            request,
            "login.html",
            next_path=target,
            username="",
            buttons=sso_buttons(services, school, target),
        )
        cached = _LOGIN_PAGES[key] = (weakref.ref(services), page)
    return Response(
        cached[1].replace(CSRF_MARK_BYTES, csrf_token(request).encode()),
        media_type="text/html",
        headers={"cache-control": "no-store"},
    )


@get("/login", include_in_schema=False)
async def login_page(
    request: Req,
    services: AppServices,
    next_path: FromQuery[str | None] = None,
    school: FromQuery[str | None] = None,
    renew: FromQuery[str | None] = None,
) -> Response[Any]:
    # renew: an application (CAS) asks the person to sign in again, session or not.
    if session_of(request) and not renew:
        return Redirect(safe_next(next_path))
    target = safe_next(next_path)
    if session_of(request) is None:
        return anonymous_login_page(request, services, target, school)
    return render(
        request,
        "login.html",
        next_path=target,
        username="",
        buttons=sso_buttons(services, school, target),
    )


@post("/login", include_in_schema=False)
async def login_submit(request: Req, services: AppServices) -> Response[Any]:
    form = await request.form()
    username = str(form.get("username", ""))
    next_path = safe_next(str(form.get("next", "")))
    try:
        result = await accounts.log_in(
            services,
            username=username,
            password=str(form.get("password", "")),
            address=client_address(request),
            remember=form.get("remember") == "on",
            label=device_label(request),
        )
    except PreauError as error:
        response = render(
            request,
            "login.html",
            status_code=error.status,
            error=translate_error(error),
            username=username,
            next_path=next_path,
            buttons=sso_buttons(services, None, next_path),
        )
        retry_after = getattr(error, "retry_after", None)  # throttled (429), or busy (503)
        if retry_after is not None:
            response.headers["retry-after"] = str(retry_after)
        return response
    return SignedInRedirect(next_path, services.settings, result, csrf=new_csrf())


@get("/activate", include_in_schema=False)
async def activate_page(request: Req) -> Response[str]:
    return render(request, "activate.html", username="")


@post("/activate", include_in_schema=False)
async def activate_submit(request: Req, services: AppServices) -> Response[Any]:
    form = await request.form()
    username = str(form.get("username", ""))
    password = str(form.get("password", ""))
    if password != str(form.get("password_again", "")):
        return render(
            request,
            "activate.html",
            status_code=400,
            username=username,
            error=i18n.gettext("The two passwords are different. Type the same password twice."),
        )
    try:
        result = await accounts.activate_account(
            services,
            username=username,
            code=str(form.get("code", "")),
            password=password,
            address=client_address(request),
            remember=form.get("remember") == "on",
            label=device_label(request),
        )
    except PreauError as error:
        response = render(
            request,
            "activate.html",
            status_code=error.status,
            username=username,
            error=translate_error(error),
        )
        retry_after = getattr(error, "retry_after", None)  # throttled (429), or busy (503)
        if retry_after is not None:
            response.headers["retry-after"] = str(retry_after)
        return response
    return Redirect(
        "/home?welcome=1", cookies=login_cookies(services.settings, result, csrf=new_csrf())
    )


@post("/logout", include_in_schema=False)
async def logout(request: Req, services: AppServices) -> Redirect:
    session = session_of(request)
    target = "/login"
    if session is not None:
        await accounts.log_out(services, session)
        if services.sso is not None and services.sso.saml is not None:
            # Signed in by SAML: the identity provider ends its own session too.
            target = await saml.logout_address(services, services.sso.saml, session) or target
    return Redirect(target, cookies=logout_cookies(services.settings))


@get("/account", include_in_schema=False)
async def account_page(
    request: Req, services: AppServices, actor: SignedInActor, done: FromQuery[str | None] = None
) -> Response[Any]:
    person = await get_person(services, actor, actor.person_id)
    return render(
        request,
        "account.html",
        person=person,
        school=await school_name(services, actor.school_id),
        done=done,
    )


# The two forms of the account page send someone whose session ended to the login page
# itself: coming back to their address after logging in would be a GET of a form's target.


@post("/account/logout-others", include_in_schema=False)
async def logout_others(request: Req, services: AppServices) -> Response[Any]:
    session = session_of(request)
    if session is None:
        return Redirect("/login")
    result = await accounts.log_out_other_devices(services, session)
    return Redirect(
        "/account?done=others", cookies=login_cookies(services.settings, result, csrf=new_csrf())
    )


@post("/account/password", include_in_schema=False)
async def change_password(request: Req, services: AppServices) -> Response[Any]:
    session = session_of(request)
    if session is None:
        return Redirect("/login")
    form = await request.form()
    new = str(form.get("new_password", ""))
    try:
        if new != str(form.get("new_password_again", "")):
            raise InvalidInput("The two passwords are different. Type the same password twice.")
        result = await accounts.change_password(
            services,
            session,
            current=str(form.get("current_password", "")),
            new=new,
            address=client_address(request),
        )
    except PreauError as error:
        person = await get_person(services, session.actor, session.actor.person_id)
        return render(
            request,
            "account.html",
            status_code=error.status,
            person=person,
            school=await school_name(services, session.actor.school_id),
            password_error=translate_error(error),
        )
    return Redirect(
        "/account?done=password", cookies=login_cookies(services.settings, result, csrf=new_csrf())
    )


@post("/lang", include_in_schema=False)
async def switch_language(request: Req, services: AppServices) -> Redirect:
    form = await request.form()
    locale = str(form.get("lang", ""))
    back = safe_next(str(form.get("next", "")))
    if locale not in i18n.LOCALES:
        return Redirect(back)
    return Redirect(
        back,
        cookies=[
            Cookie(
                key=LANG_COOKIE,
                value=locale,
                max_age=365 * 86400,
                httponly=True,
                samesite=SAME_SITE,
                secure=services.settings.cookie_secure,
            )
        ],
    )


routes: list[ControllerRouterHandler] = [
    index,
    login_page,
    login_submit,
    activate_page,
    activate_submit,
    logout,
    Router("/", guards=[signed_in], route_handlers=[account_page]),
    logout_others,
    change_password,
    switch_language,
]
