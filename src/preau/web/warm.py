"""Warm reads: each hot read declared once, answered before the router when warm
(DESIGN.md §5).

The hottest reads (the pupil's to-do, the inbox, the unread counts, one's own week) are
kept rendered in per-process caches that the writers invalidate (the read versions of
``actions/warm.py``, the live events of ``live.py``). Each is one :class:`WarmRead`,
declared in its area's web or API module: its path, who it is for and under which key
(:attr:`WarmRead.key`), how to find a warm entry with no I/O, how to load one cold, and how
to turn an entry into the body and ETag sent. Both sides use that one object:

- :class:`WarmReads`, the ASGI layer in front of the router: when the signed-in reader's
  entry is warm it sends it with its ``ETag`` (or ``304 Not Modified``) straight from
  ASGI, with no routing, no parameter parsing, no query, no template;
- the router's handler, for everything else: it handles the other readers and parameters
  itself and answers the cached form with :meth:`WarmRead.respond`, which loads a cold
  entry (filling the cache) and sends the same bytes, ETag and ``304``.

``bootstrap`` lists the reads; ``tests/web/test_warm_reads.py`` checks that every listed
path is answered alike cold (by its handler) and warm (by this layer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, cast

from litestar import Request, Response

from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.asgi import COPY_TAG, ASGIApp, Receive, Scope, Send, headers_of
from preau.domain.people import Actor
from preau.web.render import for_reader

PRIVATE_NO_CACHE = b"private, no-cache"  # the browser may keep it, but must revalidate
HTML = b"text/html; charset=utf-8"
JSON = b"application/json"

# A warm answer: (body, ETag quoted as the header carries it). A plain tuple: building a
# NamedTuple costs more than the rest of a warm look-up.
Warm = tuple[bytes, bytes]

K = TypeVar("K")  # what identifies the entry beside the reader (a pupil, a week)
E = TypeVar("E")  # a cache entry


@dataclass(frozen=True, slots=True, kw_only=True)
class WarmRead(Generic[K, E]):
    """One hot read, for the ASGI fast path and its router handler alike."""

    path: str
    media_type: bytes
    # Who it is for: the key of the cached entry this request asks for, or None when the
    # request is not the cached form (another profile, a search, another page); the
    # handler answers those itself. No I/O.
    key: Callable[[Services, Actor, Scope], K | None]
    # The warm entry under a key `key` gave, or None when cold. No I/O.
    find: Callable[[Services, Actor, K], E | None]
    # The entry under any key the handler asks for: from the cache, or read and kept;
    # with the area's access checks and errors.
    load: Callable[[Services, Actor, K], Awaitable[E]]
    # The body and ETag this reader gets from an entry, or None when the entry lacks the
    # form they want (a page not rendered yet in their locale). No I/O.
    answer: Callable[[Services, E, Scope], Warm | None]
    # Renders the missing form into the entry (pages), so that `answer` finds it.
    render: Callable[[Request[Any, Any, Any], Actor, E], None] | None = None

    def warm(self, services: Services, session: Session, scope: Scope) -> Warm | None:
        """The fast path: the answer from a warm entry, or None (the router takes it)."""
        actor = session.actor
        key = self.key(services, actor, scope)
        if key is None:
            return None
        entry = self.find(services, actor, key)
        if entry is None:
            return None
        return self.answer(services, entry, scope)

    async def respond(
        self, request: Request[Any, Any, Any], services: Services, actor: Actor, key: K
    ) -> Response[bytes]:
        """The handler's answer for ``key``: the entry (read when cold), its form for
        this reader (rendered when missing), with its ETag, or ``304``."""
        entry = await self.load(services, actor, key)
        scope = cast("Scope", request.scope)
        answer = self.answer(services, entry, scope)
        if answer is None and self.render is not None:
            self.render(request, actor, entry)
            answer = self.answer(services, entry, scope)
        if answer is None:
            raise LookupError(f"{self.path}: the entry has no form for this reader")
        body, etag = answer
        # Litestar adds "; charset=utf-8" to a text type itself (it would say it twice).
        media_type = self.media_type.partition(b";")[0].decode()
        return cached_response(request, body, etag.decode(), media_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class WarmPage:
    """A hot page of one object (``/homework/<id>``), answered before the router when
    warm. Unlike a :class:`WarmRead` it carries no ETag: each answer is made for its
    reader (their CSRF token, a fresh form key), so it is never revalidated. ``answer``
    gives the body, or None whenever the page's handler must take the request (another
    profile, a query string, a cold entry); it reads the same cache entry as the
    handler, under the same versions, and does no I/O."""

    prefix: str
    media_type: bytes
    cache_control: bytes
    answer: Callable[[Services, Session, Scope], bytes | None]


def page_for_reader(services: Services, page: bytes | None, etag: str, scope: Scope) -> Warm | None:
    """A cached page (rendered with :func:`page_bytes`) for this reader: their CSRF token
    in it and their ETag (see :func:`for_reader`); None when it is not rendered yet."""
    if page is None:
        return None
    state = scope["state"]
    body, reader_etag = for_reader(
        page,
        etag,
        locale=state["locale"],
        secret=services.settings.secret_key,
        cookies=state["cookies"],
    )
    state[COPY_TAG] = f"{etag}-{state['locale']}".encode()  # the same for every reader
    return body, reader_etag.encode()


def etag_matches(request_etag: str | None, etag: str) -> bool:
    """``If-None-Match`` holds this ETag (or ``*``)."""
    if not request_etag:
        return False
    return any(candidate.strip() in (etag, "*") for candidate in request_etag.split(","))


class WarmReads:
    """The ASGI layer that answers the warm reads before the router."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        services: Services,
        reads: Iterable[WarmRead[Any, Any]],
        pages: Iterable[WarmPage] = (),
    ) -> None:
        self.app = app
        self.services = services
        self.reads: dict[str, WarmRead[Any, Any]] = {}
        for read in reads:
            if read.path in self.reads:
                raise ValueError(f"two warm reads for {read.path}")
            self.reads[read.path] = read
        self.pages = tuple(pages)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET":
            read = self.reads.get(scope["path"])
            if read is None and await self._page(scope, send):
                return
            if read is not None:
                session: Session | None = scope["state"].get("session")
                if session is not None:
                    warm = read.warm(self.services, session, scope)
                    if warm is not None:
                        body, etag = warm
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
                        headers.append((b"content-type", read.media_type))
                        headers.append((b"content-length", b"%d" % len(body)))
                        await send(
                            {"type": "http.response.start", "status": 200, "headers": headers}
                        )
                        await send({"type": "http.response.body", "body": body})
                        return
        await self.app(scope, receive, send)

    async def _page(self, scope: Scope, send: Send) -> bool:
        """Answer a warm page (True), or leave the request to the router (False)."""
        path: str = scope["path"]
        for page in self.pages:
            if path.startswith(page.prefix):
                session: Session | None = scope["state"].get("session")
                body = None if session is None else page.answer(self.services, session, scope)
                if body is None:
                    return False
                headers = [
                    (b"content-type", page.media_type),
                    (b"cache-control", page.cache_control),
                    (b"content-length", b"%d" % len(body)),
                ]
                await send({"type": "http.response.start", "status": 200, "headers": headers})
                await send({"type": "http.response.body", "body": body})
                return True
        return False


def cached_response(request: Any, body: bytes, etag: str, media_type: str) -> Response[bytes]:
    """What a handler sends for a cached read: the body, or ``304``."""
    headers = {"etag": etag, "cache-control": PRIVATE_NO_CACHE.decode()}
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(b"", status_code=304, headers=headers, media_type=media_type)
    return Response(body, headers=headers, media_type=media_type)
