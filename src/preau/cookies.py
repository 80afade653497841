"""The cookie contract: every cookie Préau sets, the attributes they share, and the one
reader of ``Cookie`` headers and writer of ``Set-Cookie`` headers, for the gate, the session
layer and the pages alike (renaming a cookie in one of them alone would lose its meaning in
the others: a teacher's device cookie, say, would no longer earn the gate's priority lane)."""

from __future__ import annotations

import secrets
from typing import Final, Literal

__all__ = [
    "CONFIRMATION_COOKIE",
    "CSRF_COOKIE",
    "DEVICE_COOKIE",
    "LANG_COOKIE",
    "PASS_COOKIE",
    "PATH",
    "SAME_SITE",
    "SESSION_COOKIE",
    "TICKET_COOKIE",
    "cookie_header",
    "parse_cookies",
]

# The gate's: the pass of an admitted browser, the ticket of a waiting one.
PASS_COOKIE: Final = "preau_pass"  # noqa: S105 - a cookie name, not a secret
TICKET_COOKIE: Final = "preau_ticket"
# The session layer's, read by the gate too to choose a waiting browser's lane.
SESSION_COOKIE: Final = "preau_session"
DEVICE_COOKIE: Final = "preau_device"
# The pages': the chosen language, the CSRF token forms carry back.
LANG_COOKIE: Final = "preau_lang"
CSRF_COOKIE: Final = "preau_csrf"
# "Your work is turned in": shown once by the page a form redirects to, then cleared, so
# that page's address carries no query string and it can be served from a cache.
CONFIRMATION_COOKIE: Final = "preau_done"

# Every cookie is for the whole site (but the confirmation, sent to its one page) and sent
# on top-level navigation from elsewhere (a link in an email), but the CSRF token: Strict.
PATH: Final = "/"
SAME_SITE: Final = "lax"


def new_csrf() -> str:
    """A new CSRF cookie value: the session layer sets one before login, a login a new one."""
    return secrets.token_urlsafe(24)


def parse_cookies(header: str) -> dict[str, str]:
    """The cookies of a ``Cookie`` header by name; the first of a repeated name wins."""
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in cookies:
            cookies[name] = value.strip('"')
    return cookies


def cookie_header(
    name: str,
    value: str,
    *,
    max_age: int | None,
    secure: bool,
    http_only: bool = True,
    same_site: Literal["lax", "strict"] = SAME_SITE,
    path: str = PATH,
) -> bytes:
    """A ``Set-Cookie`` header value as the plain-ASGI layers send it (the pages use
    Litestar's ``Cookie`` with the same attributes); ``max_age=0`` removes the cookie."""
    parts = [f"{name}={value}", f"Path={path}", f"SameSite={same_site.capitalize()}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts).encode("latin-1")
