"""Warm reads, answered before the router (DESIGN.md §5).

The hottest reads (the pupil's to-do, the inbox, the unread counts) are kept rendered in
per-process caches that the writers invalidate. When the signed-in reader's copy is warm,
this layer sends it straight from ASGI with its ``ETag`` (or ``304 Not Modified``): no
routing, no parameter parsing, no query, no template. Anything else, or a cold cache,
goes on to the router, whose handler fills the cache.

Each area says which of its paths have a warm answer (``WARM_READS`` in its web or API
module); ``bootstrap.build_app`` puts them together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from litestar import Response

from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.asgi import ASGIApp, Receive, Scope, Send, headers_of

PRIVATE_NO_CACHE = b"private, no-cache"  # the browser may keep it, but must revalidate
HTML = b"text/html; charset=utf-8"
JSON = b"application/json"


# A warm answer: (body, ETag quoted as the header carries it, content type). A plain
# tuple: building a NamedTuple costs more than the rest of a warm look-up.
Warm = tuple[bytes, bytes, bytes]


WarmLookup = Callable[[Services, Session, Scope], Warm | None]


def etag_matches(request_etag: str | None, etag: str) -> bool:
    """``If-None-Match`` holds this ETag (or ``*``)."""
    if not request_etag:
        return False
    return any(candidate.strip() in (etag, "*") for candidate in request_etag.split(","))


class WarmReads:
    def __init__(
        self, app: ASGIApp, *, services: Services, lookups: Mapping[str, WarmLookup]
    ) -> None:
        self.app = app
        self.services = services
        self.lookups = dict(lookups)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            lookup = self.lookups.get(scope["path"])
            if lookup is not None:
                session: Session | None = scope["state"].get("session")
                if session is not None:
                    warm = lookup(self.services, session, scope)
                    if warm is not None:
                        body, etag, content_type = warm
                        scope["path_template"] = scope["path"]  # for metrics and logs
                        condition = headers_of(scope).get(b"if-none-match")
                        headers: list[tuple[bytes, Any]] = [
                            (b"etag", etag),
                            (b"cache-control", PRIVATE_NO_CACHE),
                        ]
                        if condition is not None and (
                            condition == etag
                            or etag_matches(condition.decode("latin-1"), etag.decode("latin-1"))
                        ):
                            await send(
                                {"type": "http.response.start", "status": 304, "headers": headers}
                            )
                            await send({"type": "http.response.body", "body": b""})
                            return
                        headers.append((b"content-type", content_type))
                        headers.append((b"content-length", b"%d" % len(body)))
                        await send(
                            {"type": "http.response.start", "status": 200, "headers": headers}
                        )
                        await send({"type": "http.response.body", "body": body})
                        return
        await self.app(scope, receive, send)


def cached_response(request: Any, body: bytes, etag: str, media_type: str) -> Response[bytes]:
    """What a handler sends for a cached read it had to fill: the body, or ``304``."""
    headers = {"etag": etag, "cache-control": PRIVATE_NO_CACHE.decode()}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(b"", status_code=304, headers=headers, media_type=media_type)
    return Response(body, headers=headers, media_type=media_type)
