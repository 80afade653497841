"""Plain ASGI middleware around the router: the edge (proxy address, request id, security
headers, metrics, access log), outside the gate, and the session layer (cookies, locale,
session checked with no I/O), inside it."""

from __future__ import annotations

import bisect
import ipaddress
import itertools
import logging
import secrets
import time
from collections.abc import Awaitable
from typing import Any

from prometheus_client import Counter

from preau import i18n
from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.asgi import ASGIApp, Message, Receive, Scope, Send, headers_of
from preau.cookies import (
    CSRF_COOKIE,
    DEVICE_COOKIE,
    LANG_COOKIE,
    SESSION_COOKIE,
    cookie_header,
    new_csrf,
    parse_cookies,
)
from preau.observability import LATENCY_BUCKETS, REQUEST_STATS

log = logging.getLogger("preau.access")
_perf_counter = time.perf_counter
_bisect_left = bisect.bisect_left

session_resumes = Counter(
    "preau_session_resumes_total", "Sessions resumed from a device credential.", ["outcome"]
)

_KNOWN_HEADERS_LIMIT = 10_000
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; media-src 'self' blob:; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class Edge:
    """What every HTTP exchange gets, in one outermost layer (one ``send`` wrapper instead
    of one per concern, which the hottest reads feel): the client's address and scheme as
    a trusted proxy gives them, a request id, strict security headers (no inline script
    anywhere in Préau), per-route metrics and one JSON access-log line per request.

    It wraps the gate, so the gate's own refusals are counted, logged and carry the same
    headers. Proxy headers (and an ``X-Request-Id`` to log under, such as nginx's
    ``$request_id``) are read only from the addresses in ``forwarded_allow_ips``
    (comma-separated addresses or networks, or ``*``), as uvicorn's ``--forwarded-allow-ips``
    does: the client is the right-most ``X-Forwarded-For`` entry that is not itself a
    trusted proxy.
    """

    def __init__(
        self, app: ASGIApp, *, hsts: bool, forwarded_allow_ips: str, access_log: bool = True
    ) -> None:
        self.app = app
        self.access_log = access_log
        self.trusted = TrustedProxies(forwarded_allow_ips)
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
        self.header_names = frozenset(name for name, _ in headers)
        # Request ids: a random prefix per process and a counter in eight hex digits, so
        # making one costs no system call; they only have to tell requests apart in the
        # logs. The counter's last three digits come from a table and the others are
        # formatted once per 4,096 requests: one concatenation per request.
        self._id_prefix = secrets.token_hex(4).encode()
        self._id_base = self._id_prefix + b"00000"
        self._ids = itertools.count(1)
        # The metrics' rows, looked up here (one call fewer per request).
        self._rows = REQUEST_STATS.rows
        self._trusted: dict[str, bool] = {}  # client address -> whether it is a proxy's

    def _trusts(self, host: str) -> bool:
        """Whether ``host`` is a trusted proxy (remembered per address)."""
        if len(self._trusted) >= _KNOWN_HEADERS_LIMIT:
            self._trusted.clear()
        trusted = self._trusted[host] = host in self.trusted
        return trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: C901, PLR0915 - plain-ASGI hot path, one call per request by design (each extra call is measured in bench/hot_paths.py)
        if scope["type"] != "http":
            if scope["type"] == "websocket":
                self.trusted.apply(scope)
            await self.app(scope, receive, send)
            return
        request_id = b""
        client = scope.get("client")
        trusted = False
        if client is not None:
            known = self._trusted.get(client[0])
            trusted = self._trusts(client[0]) if known is None else known
        if trusted:
            # Only a trusted proxy says who the client is and names the request.
            headers = headers_of(scope)
            request_id = headers.get(b"x-request-id", b"")[:64]
            proto = headers.get(b"x-forwarded-proto")
            forwarded = headers.get(b"x-forwarded-for")
            if forwarded is not None or proto is not None:
                self.trusted.resolve(scope, proto, forwarded)
        if not request_id:
            number = next(self._ids)
            low = number & 0xFFF
            if not low:
                self._id_base = self._id_prefix + b"%05x" % (number >> 12)
            request_id = self._id_base + _HEX3[low]
        started = _perf_counter()
        status = 500

        # A plain function that hands back the server's awaitable: one coroutine fewer
        # per message than an ``async def`` wrapper, on every response.
        def send_with_headers(message: Message) -> Awaitable[None]:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                own = message.get("headers") or ()
                if status == 304:
                    # A 304 carries no content: the browser keeps the headers it stored
                    # with the response it revalidates (RFC 9111 §4.3.4); Vary is due.
                    message["headers"] = [*own, (b"x-request-id", request_id), _VARY_HEADER]
                else:
                    headers = self.headers
                    # An answer that sets one of these itself keeps its own: a page that
                    # needs its own policy (the virtual class page must reach the Janus
                    # nodes) sets a stricter-or-equal one; the gate's pages, which also
                    # stand alone, set theirs.
                    for name, _ in own:
                        if name in self.header_names:
                            own_names = {n for n, _ in own}
                            headers = [h for h in headers if h[0] not in own_names]
                            break
                    # The session layer, inside the gate, chose the locale; the gate's
                    # own pages say theirs.
                    state = scope.get("state")
                    locale = state.get("locale") if state else None
                    message["headers"] = [
                        *own,
                        *headers,
                        (b"x-request-id", request_id),
                        *_COMMON.get(locale, _VARY),
                    ]
            return send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            elapsed = _perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            method = scope["method"]
            # A known row (only known methods make rows): RequestStats.observe inlined.
            row = self._rows.get((method, route, status))
            if row is None:
                if method not in _METHODS:
                    method = "OTHER"  # a client's made-up method must not add label sets
                REQUEST_STATS.observe(method, route, status, elapsed)
            else:
                row[_bisect_left(LATENCY_BUCKETS, elapsed)] += 1
                row[-1] += elapsed
            if self.access_log and log.isEnabledFor(logging.INFO):
                log.info(
                    "request",
                    extra={
                        "request_id": request_id.decode("latin-1"),
                        "method": method,
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                    },
                )


_HEX3 = [b"%03x" % number for number in range(0x1000)]
_VARY_HEADER = (b"vary", b"Accept-Language, Cookie")
_VARY = [_VARY_HEADER]
_COMMON: dict[str | None, list[tuple[bytes, bytes]]] = {
    locale: [(b"content-language", locale.encode()), *_VARY] for locale in i18n.LOCALES
}


class TrustedProxies:
    """The addresses whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed."""

    def __init__(self, allowed: str) -> None:
        entries = [entry.strip() for entry in allowed.split(",") if entry.strip()]
        self.everyone = "*" in entries
        self.hosts: set[str] = set()
        self.networks: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
        for entry in entries:
            if entry == "*":
                continue
            try:
                if "/" in entry:
                    self.networks.append(ipaddress.ip_network(entry, strict=False))
                else:
                    self.hosts.add(str(ipaddress.ip_address(entry)))
            except ValueError:
                self.hosts.add(entry)  # a name, e.g. a unix socket's literal
        self._known: dict[str, bool] = {}

    def __contains__(self, host: str | None) -> bool:
        if host is None:
            return False
        if self.everyone or host in self.hosts:
            return True
        known = self._known.get(host)
        if known is None:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                known = False
            else:
                known = any(address in network for network in self.networks)
            if len(self._known) >= 10_000:
                self._known.clear()
            self._known[host] = known
        return known

    def apply(self, scope: Scope) -> None:
        """Take the client and scheme from the proxy headers, if the peer is trusted."""
        headers = headers_of(scope)
        self.resolve(scope, headers.get(b"x-forwarded-proto"), headers.get(b"x-forwarded-for"))

    def resolve(self, scope: Scope, proto: bytes | None, forwarded: bytes | None) -> None:
        client = scope.get("client")
        if client is None or client[0] not in self:
            return
        if proto is not None:
            # Several values (lines or a list): the last proxy's, the one next to us.
            scheme = proto.decode("latin-1").rpartition(",")[2].strip()
            if scheme in ("http", "https", "ws", "wss"):
                if scope["type"] == "websocket":
                    scheme = scheme.replace("http", "ws")
                scope["scheme"] = scheme
        if forwarded:
            hosts = [h.strip() for h in forwarded.decode("latin-1").split(",")]
            chosen = next((h for h in reversed(hosts) if h not in self), hosts[0])
            if chosen:
                scope["client"] = (chosen, 0)


class SessionMiddleware:
    """Who is asking: the cookies, the locale and the verified session (or None), in
    ``scope["state"]`` as ``cookies``, ``locale`` and ``session``.

    A browser sends the same cookie header request after request: its parsing and the
    locale are remembered per header. A valid session cookie is checked with no I/O.
    Without one, a device credential resumes a session (one database read) and a fresh
    session cookie is set. An API client may send the session token as
    ``Authorization: Bearer``. Also makes sure a CSRF cookie exists for forms.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        services: Services,
        session_seconds: int,
        secure_cookies: bool,
        default_locale: str = i18n.DEFAULT_LOCALE,
    ) -> None:
        self.app = app
        # The services' clock, read at each request: the application's one clock (tests
        # set it), the one that issued the sessions checked here.
        self.services = services
        self.sessions = services.sessions
        self.session_seconds = session_seconds
        self.secure = secure_cookies
        self.default_locale = default_locale
        # (cookie header, Accept-Language) -> (cookies, locale); the cookies are shared by
        # the requests that sent the same header, so no layer may change them in place.
        self._known: dict[tuple[bytes | None, bytes | None], tuple[dict[str, str], str]] = {}
        # Authorization header -> its bearer token or None, likewise remembered.
        self._bearers: dict[bytes, str | None] = {}

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain function: a signed-in request (valid session cookie or token) that sets
        # no cookie, in the locale already current, goes on with the inner layer's own
        # awaitable, no coroutine of this layer's; anything else takes :meth:`_slow`.
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        headers = headers_of(scope)
        raw_cookies = headers.get(b"cookie")
        accept_language = headers.get(b"accept-language")
        authorization = headers.get(b"authorization")
        bearer: str | None = None
        if authorization is not None:
            bearer = self._bearers.get(authorization, "")
            if bearer == "":
                bearer = _bearer(authorization)
                if len(self._bearers) >= _KNOWN_HEADERS_LIMIT:
                    self._bearers.clear()
                self._bearers[authorization] = bearer
        known = self._known.get((raw_cookies, accept_language))
        if known is None:
            cookies = parse_cookies(raw_cookies.decode("latin-1")) if raw_cookies else {}
            locale = i18n.negotiate(
                cookies.get(LANG_COOKIE),
                accept_language.decode("latin-1") if accept_language else None,
                default=self.default_locale,
            )
            if len(self._known) >= _KNOWN_HEADERS_LIMIT:
                self._known.clear()
            known = self._known[(raw_cookies, accept_language)] = (cookies, locale)
        cookies, locale = known
        state: dict[str, Any] = scope.setdefault("state", {})
        state["locale"] = locale
        state["cookies"] = cookies
        state["bearer"] = bearer is not None
        now = self.services.clock()
        session = self.sessions.check(
            bearer if bearer is not None else cookies.get(SESSION_COOKIE), now=now
        )
        state["session"] = session
        if (session is not None or bearer is not None or DEVICE_COOKIE not in cookies) and (
            bearer is not None or CSRF_COOKIE in cookies or scope["path"].startswith("/api/")
        ):
            if i18n.current_locale.get() == locale:
                return self.app(scope, receive, send)
            return self._in_locale(scope, receive, send, locale, [])
        return self._slow(
            scope, receive, send, session=session, cookies=cookies, locale=locale, now=now
        )

    async def _slow(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        session: Session | None,
        cookies: dict[str, str],
        locale: str,
        now: float,
    ) -> None:
        """A cookie request that resumes a session from its device credential, or needs
        a CSRF cookie: the cookies to set."""
        new_cookies: list[bytes] = []
        if session is None and DEVICE_COOKIE in cookies and scope["path"] != "/logout":
            session = await self.sessions.resume(cookies[DEVICE_COOKIE], now=now)
            session_resumes.labels("resumed" if session else "refused").inc()
            if session is not None:
                fresh = self.sessions.issue_session(session.actor, session.device_id, now=now)
                # This response's forms are bound to the session cookie it sets.
                cookies = {**cookies, SESSION_COOKIE: fresh}
                new_cookies.append(
                    cookie_header(
                        SESSION_COOKIE, fresh, max_age=self.session_seconds, secure=self.secure
                    )
                )
            else:
                new_cookies.append(cookie_header(DEVICE_COOKIE, "", max_age=0, secure=self.secure))
        # An API client gets no cookie it did not ask for (POST /api/v1/session).
        if CSRF_COOKIE not in cookies and not scope["path"].startswith("/api/"):
            csrf = new_csrf()
            cookies = {**cookies, CSRF_COOKIE: csrf}
            new_cookies.append(
                cookie_header(
                    CSRF_COOKIE, csrf, max_age=None, secure=self.secure, same_site="strict"
                )
            )
        state = scope["state"]
        state["cookies"] = cookies
        state["session"] = session
        await self._in_locale(scope, receive, send, locale, new_cookies)

    async def _in_locale(
        self, scope: Scope, receive: Receive, send: Send, locale: str, new_cookies: list[bytes]
    ) -> None:
        """The inner layers in the reader's locale, with the cookies to set (if any)."""
        token = i18n.current_locale.set(locale)
        try:
            if not new_cookies:
                await self.app(scope, receive, send)
                return

            async def send_with_cookies(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [
                        *message.get("headers", []),
                        *((b"set-cookie", value) for value in new_cookies),
                    ]
                await send(message)

            await self.app(scope, receive, send_with_cookies)
        finally:
            i18n.current_locale.reset(token)


def _bearer(authorization: bytes) -> str | None:
    """The token of an ``Authorization: Bearer`` header, or None."""
    scheme, _, credential = authorization.decode("latin-1").partition(" ")
    if scheme.lower() == "bearer" and credential.strip():
        return credential.strip()
    return None
