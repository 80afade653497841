"""Cookie names, parsing and ``Set-Cookie`` values shared by the middleware and the pages."""

from __future__ import annotations

from preau.actions.sessions import DEVICE_COOKIE, SESSION_COOKIE

__all__ = [
    "CONFIRMATION_COOKIE",
    "CSRF_COOKIE",
    "DEVICE_COOKIE",
    "LANG_COOKIE",
    "SESSION_COOKIE",
    "parse_cookies",
    "set_cookie",
]

CSRF_COOKIE = "preau_csrf"
# "Your work is turned in": shown once by the page a form redirects to, then cleared, so
# that page's address carries no query string and it can be served from a cache.
CONFIRMATION_COOKIE = "preau_done"
LANG_COOKIE = "preau_lang"


def parse_cookies(header: str) -> dict[str, str]:
    cookies: dict[str, str] = {}
    for part in header.split(";"):
        name, sep, value = part.strip().partition("=")
        if sep and name and name not in cookies:
            cookies[name] = value.strip('"')
    return cookies


def set_cookie(
    name: str,
    value: str,
    *,
    max_age: int | None,
    secure: bool,
    http_only: bool = True,
    same_site: str = "Lax",
) -> str:
    parts = [f"{name}={value}", "Path=/", f"SameSite={same_site}"]
    if max_age is not None:
        parts.append(f"Max-Age={max_age}")
    if http_only:
        parts.append("HttpOnly")
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
