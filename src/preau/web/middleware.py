"""Plain ASGI middleware around the router: security headers, request context
(request id, locale, metrics, access log) and sessions (checked with no I/O)."""

from __future__ import annotations

import itertools
import logging
import secrets
import time
from typing import Any

from prometheus_client import Counter

from preau import i18n
from preau.actions.sessions import Session, Sessions
from preau.asgi import ASGIApp, Message, Receive, Scope, Send
from preau.observability import REQUEST_STATS
from preau.web.cookies import (
    CSRF_COOKIE,
    DEVICE_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    parse_cookies,
    set_cookie,
)

log = logging.getLogger("preau.access")

session_resumes = Counter(
    "preau_session_resumes_total", "Sessions resumed from a device credential.", ["outcome"]
)

_PARSED_COOKIES_LIMIT = 10_000
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class SecurityHeaders:
    """Strict headers on every HTTP response (no inline script anywhere in Préau)."""

    def __init__(self, app: ASGIApp, *, hsts: bool) -> None:
        self.app = app
        headers = [
            (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"cross-origin-opener-policy", b"same-origin"),
            (b"cross-origin-resource-policy", b"same-origin"),
            (
                b"permissions-policy",
                b"camera=(self), microphone=(self), geolocation=(), payment=()",
            ),
        ]
        if hsts:
            headers.append((b"strict-transport-security", b"max-age=63072000; includeSubDomains"))
        self.headers = headers
        self.headers_without_policy = [h for h in headers if h[0] != b"content-security-policy"]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] != 304:
                # A 304 carries no content: the browser keeps the headers it stored with
                # the response it revalidates (RFC 9111 §4.3.4).
                own = message.get("headers", [])
                headers = self.headers
                # A page that needs its own policy (the virtual class page must reach the
                # Janus nodes) sets a stricter-or-equal one itself; keep it, not both.
                for name, _ in own:
                    if name == b"content-security-policy":
                        headers = self.headers_without_policy
                        break
                message["headers"] = [*own, *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RequestContext:
    """Request id, locale, per-route metrics and one JSON access-log line per request."""

    def __init__(self, app: ASGIApp, *, default_locale: str, access_log: bool = True) -> None:
        self.app = app
        self.default_locale = default_locale
        self.access_log = access_log
        # Request ids: a random prefix per process and a counter, so making one costs no
        # system call; they only have to tell requests apart in the logs.
        self._id_prefix = secrets.token_hex(4)
        self._ids = itertools.count(1)
        # Parsed cookie headers: a browser sends the same one request after request.
        self._cookies: dict[str, dict[str, str]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        cookie_header = ""
        accept_language = None
        for name, value in scope["headers"]:
            if name == b"cookie":
                text = value.decode("latin-1")
                # HTTP/2 may split the cookies over several header lines.
                cookie_header = f"{cookie_header}; {text}" if cookie_header else text
            elif name == b"accept-language":
                accept_language = value.decode("latin-1")
            elif name == b"x-request-id":
                request_id = value.decode("latin-1")[:64]
        if not request_id:
            request_id = f"{self._id_prefix}{next(self._ids) & 0xFFFFFFFF:08x}"
        if cookie_header:
            parsed = self._cookies.get(cookie_header)
            if parsed is None:
                if len(self._cookies) >= _PARSED_COOKIES_LIMIT:
                    self._cookies.clear()
                parsed = self._cookies[cookie_header] = parse_cookies(cookie_header)
            cookies = dict(parsed)  # the layers inside may add to their copy
        else:
            cookies = {}
        locale = i18n.negotiate(cookies.get(LANG_COOKIE), accept_language)
        state: dict[str, Any] = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["cookies"] = cookies
        state["locale"] = locale
        token = i18n.current_locale.set(locale)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                    (b"content-language", locale.encode()),
                    (b"vary", b"Accept-Language, Cookie"),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            i18n.current_locale.reset(token)
            elapsed = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            method = scope["method"]
            if method not in _METHODS:
                method = "OTHER"  # a client's made-up method must not add label sets
            REQUEST_STATS.observe(method, route, status, elapsed)
            if self.access_log and log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "request_id": request_id,
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )


class SessionMiddleware:
    """Puts the verified session (or None) in ``scope["state"]["session"]``.

    A valid session cookie is checked with no I/O. Without one, a device credential
    resumes a session (one database read) and a fresh session cookie is set. An API
    client may send the session token as ``Authorization: Bearer``. Also makes sure a
    CSRF cookie exists for forms.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        sessions: Sessions,
        session_seconds: int,
        secure_cookies: bool,
        clock: Any = time.time,
    ) -> None:
        self.app = app
        self.sessions = sessions
        self.session_seconds = session_seconds
        self.secure = secure_cookies
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope["state"]
        cookies: dict[str, str] = state.get("cookies", {})
        now = self.clock()
        new_cookies: list[str] = []
        session: Session | None = None
        bearer = _bearer(scope)
        state["bearer"] = bearer is not None
        if bearer is not None:
            session = self.sessions.check(bearer, now=now)
        else:
            session = self.sessions.check(cookies.get(SESSION_COOKIE), now=now)
            if session is None and DEVICE_COOKIE in cookies and scope["path"] != "/logout":
                session = await self.sessions.resume(cookies[DEVICE_COOKIE], now=now)
                session_resumes.labels("resumed" if session else "refused").inc()
                if session is not None:
                    token = self.sessions.issue_session(session.actor, session.device_id, now=now)
                    new_cookies.append(
                        set_cookie(
                            SESSION_COOKIE, token, max_age=self.session_seconds, secure=self.secure
                        )
                    )
                else:
                    new_cookies.append(set_cookie(DEVICE_COOKIE, "", max_age=0, secure=self.secure))
            if CSRF_COOKIE not in cookies:
                cookies[CSRF_COOKIE] = secrets.token_urlsafe(24)
                new_cookies.append(
                    set_cookie(
                        CSRF_COOKIE,
                        cookies[CSRF_COOKIE],
                        max_age=None,
                        secure=self.secure,
                        same_site="Strict",
                    )
                )
        state["session"] = session

        if not new_cookies:
            await self.app(scope, receive, send)
            return

        async def send_with_cookies(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    *((b"set-cookie", value.encode()) for value in new_cookies),
                ]
            await send(message)

        await self.app(scope, receive, send_with_cookies)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token:
                return str(token).strip()
    return None
