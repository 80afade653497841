"""Jinja2 rendering with the request's locale, CSRF token and session in every page."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
from babel.numbers import format_decimal
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie

from preau import i18n
from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.cookies import CSRF_COOKIE, SESSION_COOKIE
from preau.domain.errors import PreauError
from preau.web.subjects import subject_class, subject_tag

TEMPLATES = Path(__file__).parent / "templates"

# Values shown through `_(value)` in templates: listed here so they are extracted.
SHOWN_VALUES = [
    i18n.lazy("pupil"),
    i18n.lazy("parent"),
    i18n.lazy("teacher"),
    i18n.lazy("staff"),
    i18n.lazy("admin"),
    i18n.lazy("class"),
    i18n.lazy("group"),
    i18n.lazy("Error"),
]

environment = jinja2.Environment(
    loader=jinja2.FileSystemLoader(
        [TEMPLATES, Path(__file__).parent.parent / "gate" / "templates"]
    ),
    autoescape=True,
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)
environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)  # type: ignore[attr-defined]  # Jinja2's i18n extension adds this method at run time

# A hand-in's state as a person reads it (the values are code: "turned_in").
STATE_LABELS = {
    "assigned": i18n.lazy("assigned"),
    "turned_in": i18n.lazy("turned in"),
    "returned": i18n.lazy("returned"),
    "missing": i18n.lazy("missing"),
    "excused": i18n.lazy("excused"),
}


def state_label(state: str) -> str:
    return i18n.gettext(STATE_LABELS.get(state, state))


def decimal_number(value: float | int | None) -> str:
    """A number in the reader's locale, without a useless ".0": 15,5 in French, 15.5 in
    English, 200 rather than 200.0."""
    if value is None:
        return ""
    return format_decimal(value, "#,##0.##", locale=i18n.current_locale.get())


def mark_out_of(mark: float | None, out_of: float | None) -> str:
    """ "15,5 / 20", the slash held to its numbers by no-break spaces."""
    if mark is None:
        return ""
    shown = decimal_number(mark)
    return f"{shown}\u00a0/\u00a0{decimal_number(out_of)}" if out_of is not None else shown


environment.globals.update(
    state_label=state_label,
    decimal_number=decimal_number,
    mark_out_of=mark_out_of,
    subject_tag=subject_tag,
    subject_class=subject_class,
)


def services_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Services:
    """For what runs around the handlers (rendering, CSRF, guards); handlers are given
    ``services`` (``web/dependencies.py``)."""
    services: Services = connection.app.state.services
    return services


def session_of(connection: ASGIConnection[Any, Any, Any, Any]) -> Session | None:
    session: Session | None = connection.scope["state"].get("session")
    return session


def csrf_binding(cookies: Mapping[str, str]) -> str:
    """What a form's token is bound to: the CSRF cookie and the session cookie together.
    Someone able to plant a CSRF cookie (a sibling subdomain) knows the token of that
    cookie alone, never the one of the victim's session; a new login is a new binding."""
    return f"{cookies.get(CSRF_COOKIE, '')}|{cookies.get(SESSION_COOKIE, '')}"


def csrf_token(request: Request[Any, Any, Any]) -> str:
    binding = csrf_binding(request.scope["state"].get("cookies", {}))
    return _reader_marks(services_of(request).settings.secret_key, binding)[0].decode()


@functools.lru_cache(maxsize=65_536)
def _reader_marks(secret: str, binding: str) -> tuple[bytes, str]:
    """A reader's CSRF token and the short hash of it that their ETags carry, remembered
    per binding (:func:`csrf_binding`): a browser sends the same cookies with every warm
    page it reads."""
    csrf = expected_csrf(secret, binding)
    return csrf.encode(), hashlib.blake2b(csrf.encode(), digest_size=4).hexdigest()


def expected_csrf(secret: str, binding: str) -> str:
    mac = hmac.digest(secret.encode(), b"csrf:" + binding.encode(), "sha256")
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def translate_error(error: PreauError) -> str:
    text = i18n.gettext(error.message)
    if error.params:
        try:
            return text.format(**error.params)
        except (KeyError, IndexError, ValueError):
            return text
    return text


def render(
    request: Request[Any, Any, Any],
    template: str,
    *,
    status_code: int = 200,
    cookies: list[Cookie] | None = None,
    **context: Any,
) -> Response[str]:
    page = environment.get_template(template).render(
        request=request,
        session=session_of(request),
        actor=session.actor if (session := session_of(request)) else None,
        csrf_token=csrf_token(request),
        locale=i18n.current_locale.get(),
        path=request.url.path,
        **context,
    )
    return Response(
        page,
        status_code=status_code,
        media_type="text/html",
        cookies=cookies or [],
        headers={"cache-control": "no-store"},
    )


# -- pages kept rendered in a cache ---------------------------------------------------------

# Replaced by the reader's own token when a cached page is sent. Random for each process,
# so text someone typed (a title, Markdown instructions with a link) cannot carry the mark
# and have another reader's token put into it.
CSRF_MARK = f"@@preau-csrf-{secrets.token_hex(8)}@@"
CSRF_MARK_BYTES = CSRF_MARK.encode()


def page_bytes(request: Request[Any, Any, Any], template: str, **context: Any) -> bytes:
    """A page rendered with a placeholder for the CSRF token, so it can be cached and
    sent to each reader with their own token (:func:`for_reader`)."""
    session = session_of(request)
    return (
        environment.get_template(template)
        .render(
            request=request,
            session=session,
            actor=session.actor if session else None,
            csrf_token=CSRF_MARK,
            locale=i18n.current_locale.get(),
            path=request.url.path,
            **context,
        )
        .encode()
    )


def reader_csrf(secret: str, cookies: Mapping[str, str]) -> bytes:
    """The CSRF token of the reader with these cookies (remembered per binding)."""
    return _reader_marks(secret, csrf_binding(cookies))[0]


def for_reader(
    page: bytes, etag: str, *, locale: str, secret: str, cookies: dict[str, str]
) -> tuple[bytes, str]:
    """A cached page with the reader's CSRF token in it, and its ETag: the cached
    version's, the locale's and (hashed) the reader's."""
    csrf, reader = _reader_marks(secret, csrf_binding(cookies))
    return page.replace(CSRF_MARK_BYTES, csrf), f'W/"{etag}-{locale}-{reader}"'
