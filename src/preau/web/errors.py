"""CSRF checking and the translation of errors into pages or problem+json.

API paths (``/api/``) answer ``application/problem+json`` with a sentence a person can
read; pages answer an error page. Nothing reaches the user as a stack trace.
"""

from __future__ import annotations

import hmac
import logging
from typing import Any

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException, PermissionDeniedException
from litestar.response import Redirect
from sqlalchemy.exc import DBAPIError

from preau import i18n
from preau.actions.degraded import database_unavailable
from preau.cookies import DEVICE_COOKIE, SESSION_COOKIE
from preau.domain.errors import InvalidInput, NotAuthenticated, PreauError
from preau.i18n import lazy
from preau.web.bodies import check_body
from preau.web.degraded import MARKER, READ_REFUSED, RETRY_AFTER, WRITE_REFUSED
from preau.web.render import csrf_token, render, translate_error

log = logging.getLogger("preau.errors")

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_FAILED = lazy(
    "This form has expired or did not come from Préau. Reload the page and try again."
)

STATUS_TITLES = {  # translated where shown
    400: lazy("The request is not valid"),
    401: lazy("You need to log in"),
    403: lazy("Not allowed"),
    404: lazy("Not found"),
    405: lazy("Method not allowed"),
    409: lazy("Conflict"),
    413: lazy("Too large"),
    415: lazy("Unsupported type"),
    429: lazy("Too many requests"),
    500: lazy("Something went wrong on our side"),
    503: lazy("Temporarily unavailable"),
    507: lazy("Storage full"),
}
STATUS_DETAILS = {
    400: lazy("The request could not be read. Check what you sent and try again."),
    401: lazy("Log in first, then try again."),
    403: lazy("You are not allowed to do this."),
    404: lazy("This page or object does not exist, or you cannot see it."),
    405: lazy("This address does not accept this kind of request."),
    413: lazy("What you sent is too large."),
    415: lazy("This type of content is not accepted here."),
    500: lazy("An unexpected error happened. It has been recorded; please try again in a moment."),
    503: lazy("Préau is busy. Please try again in a moment."),
}


def is_api(request: Request[Any, Any, Any]) -> bool:
    return request.url.path.startswith("/api/")


async def check_csrf(request: Request[Any, Any, Any]) -> None:
    """Refuse unsafe requests without the form's token (or the X-CSRF-Token header).

    API clients authenticating with a bearer token, or sending no credential cookie at
    all, carry no ambient authority a forged request could borrow, and are exempt; so are
    the API's log-in and activation (``opt={"csrf": False}``: the credentials are in the
    body). The token is bound to the session (``render.csrf_binding``).
    """
    state = request.scope["state"]
    if (
        request.method not in UNSAFE_METHODS
        or state.get("bearer")
        or request.route_handler.opt.get("csrf") is False
    ):
        return
    cookies = state.get("cookies", {})
    if is_api(request) and SESSION_COOKIE not in cookies and DEVICE_COOKIE not in cookies:
        return
    given = request.headers.get("x-csrf-token")
    if given is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            given = str((await request.form()).get("csrf_token", ""))
    if not given or not hmac.compare_digest(given, csrf_token(request)):
        raise PreauError(CSRF_FAILED) from None


async def check_request(request: Request[Any, Any, Any]) -> None:
    """The ``before_request`` hook: the body is of its declared type and shape
    (``web/bodies.py``), then the CSRF token is checked."""
    await check_body(request)
    await check_csrf(request)


def problem(
    status: int, detail: str, *, title: str | None = None, **extra: Any
) -> Response[dict[str, Any]]:
    body = {
        "type": "about:blank",
        "title": i18n.gettext(title or STATUS_TITLES.get(status, "Error")),
        "status": status,
        "detail": detail,
        **{key: value for key, value in extra.items() if value is not None},
    }
    return Response(body, status_code=status, media_type="application/problem+json")


def handle_preau_error(request: Request[Any, Any, Any], error: PreauError) -> Response[Any]:
    status = 403 if error.message == CSRF_FAILED else error.status
    detail = translate_error(error)
    retry_after: int | None = getattr(error, "retry_after", None)  # 429, and a busy 503
    if is_api(request):
        response: Response[Any] = problem(status, detail, field=error.field)
    elif isinstance(error, NotAuthenticated):
        return Redirect(f"/login?next_path={request.url.path}")
    else:
        response = render(
            request,
            "error.html",
            status_code=status,
            status=status,
            title=i18n.gettext(STATUS_TITLES.get(status, "Error")),
            detail=detail,
        )
    if retry_after is not None:
        response.headers["retry-after"] = str(retry_after)
    return response


def handle_http_exception(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    if status >= 500:
        log.error("http error %s: %s", status, error.detail)
    detail = i18n.gettext(STATUS_DETAILS.get(status, STATUS_DETAILS[400]))
    if status == 400 and error.extra:
        detail = i18n.gettext("Some fields are missing or have the wrong type: {fields}.").format(
            fields=", ".join(_fields(error.extra))
        )
    if isinstance(error, NotAuthorizedException | PermissionDeniedException) and not is_api(
        request
    ):
        return Redirect(f"/login?next_path={request.url.path}")
    if is_api(request):
        return problem(status, detail, headers=None)
    return render(
        request,
        "error.html",
        status_code=status,
        status=status,
        title=i18n.gettext(STATUS_TITLES.get(status, "Error")),
        detail=detail,
    )


def handle_unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=error)
    detail = i18n.gettext(STATUS_DETAILS[500])
    if is_api(request):
        return problem(500, detail)
    return render(
        request,
        "error.html",
        status_code=500,
        status=500,
        title=i18n.gettext(STATUS_TITLES[500]),
        detail=detail,
    )


NOT_TEXT = lazy(
    "A text field of this form is not UTF-8 text: send a file as a file (with its file "
    "name) and text as UTF-8."
)


def handle_undecodable(request: Request[Any, Any, Any], error: UnicodeDecodeError) -> Response[Any]:
    """Litestar decodes every multipart part without a file name as UTF-8 and lets the
    error through: bytes where text was expected are the sender's mistake, a 400."""
    log.info("undecodable text on %s %s: %s", request.method, request.url.path, error)
    return handle_preau_error(request, InvalidInput(NOT_TEXT))


def _fields(extra: Any) -> list[str]:
    names: list[str] = []
    items = extra if isinstance(extra, list) else [extra]
    for item in items:
        if isinstance(item, dict):
            key = item.get("key") or item.get("source") or ""
            message = item.get("message", "")
            names.append(f"{key} ({message})" if key else str(message))
    return names[:10] or ["?"]


def handle_database_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    """The database cannot be reached: a ``503`` marked for the layer that may answer
    from a kept copy instead (``web/degraded.py``); any other database error is a bug."""
    if not database_unavailable(error):
        return handle_unexpected(request, error)
    log.warning("database unreachable on %s %s: %r", request.method, request.url.path, error)
    reading = request.method in ("GET", "HEAD")
    detail = i18n.gettext(READ_REFUSED if reading else WRITE_REFUSED)
    response: Response[Any]
    if is_api(request):
        response = problem(503, detail)
    else:
        response = render(
            request,
            "error.html",
            status_code=503,
            status=503,
            title=i18n.gettext(STATUS_TITLES[503]),
            detail=detail,
        )
    response.headers["retry-after"] = RETRY_AFTER.decode()
    response.headers["cache-control"] = "no-store"
    response.headers[MARKER.decode()] = "1"
    return response


exception_handlers: dict[type[Exception], Any] = {
    PreauError: handle_preau_error,
    DBAPIError: handle_database_error,
    OSError: handle_database_error,
    HTTPException: handle_http_exception,
    UnicodeDecodeError: handle_undecodable,
    Exception: handle_unexpected,
}

_ = MediaType
