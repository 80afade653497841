"""The layer that keeps Préau readable while its database is down (docs/reliability.md).

Just outside the session layer, it watches every answer and every failure:

- a ``200`` to a signed-in ``GET`` of a hot read (to-do, homework, week, inbox, their
  API forms) is kept as the person's last copy (``actions/degraded.StaleCopies``: here,
  and in the shared state when it changed);
- a request that fails because the database cannot be reached (the router's handler
  answers such errors with a marked ``503``, layers outside it raise them) is, for a
  ``GET``, tried once more (the pool has dropped its dead connections by then), then
  answered from the last copy, marked possibly stale: a banner in the page, ``Warning:
  110 - "Response is Stale"`` and ``Preau-Stale`` in the API; anything else gets a ``503``
  with ``Retry-After`` and a sentence saying nothing was saved.
"""

from __future__ import annotations

import html
import logging
import re
import time
from collections.abc import Awaitable

import msgspec
from prometheus_client import Counter

from preau import i18n
from preau.actions.degraded import (
    MAX_BODY,
    DatabaseWatch,
    StaleCopies,
    StaleCopy,
    database_unavailable,
)
from preau.actions.sessions import Session
from preau.asgi import COPY_TAG, DEGRADED_KEY, ASGIApp, Message, Receive, Scope, Send, headers_of
from preau.i18n import lazy

log = logging.getLogger("preau.degraded")

# The marker the router's handler puts on a "database unreachable" 503 (web/errors.py);
# this layer takes it off before the answer leaves.
MARKER = b"x-preau-database-unavailable"
RETRY_AFTER = b"15"
STALE_WARNING = b'110 - "Response is Stale"'
# The hot reads a person needs in the morning: kept, and served stale when the database
# is down.
KEPT_PATHS = re.compile(
    r"^/(?:todo|timetable|messages|messages/\d+|homework/\d+|announcements"
    r"|api/v1/(?:todo|timetable/week|conversations|conversations/\d+|unread|homework/\d+))$"
)
_KEPT_LIMIT = 10_000  # paths remembered
MAIN_TAG = b'<main id="main" tabindex="-1">'

WRITE_REFUSED = lazy(
    "Préau cannot save anything right now: its database is unreachable. Nothing was saved; "
    "try again in a minute (work prepared offline stays on this device and is sent later)."
)
READ_REFUSED = lazy(
    "Préau cannot reach its database right now, and has no saved copy of this page for you. "
    "Try again in a minute."
)
STALE_BANNER = lazy(
    "Préau cannot reach its database right now: this is the copy saved at {time} (UTC). "
    "It may be out of date, and changes cannot be saved until the database is back."
)
TITLE = lazy("Temporarily unavailable")

DEGRADED = Counter(
    "preau_degraded_answers",
    "Answers given while the database was unreachable, by kind "
    "(stale: a kept copy; refused_write; no_copy: a read with no copy; retried_ok).",
    ["kind"],
)


class Degraded:
    def __init__(self, app: ASGIApp, *, copies: StaleCopies, watch: DatabaseWatch) -> None:
        self.app = app
        self.copies = copies
        self.watch = watch
        self._kept: dict[str, bool] = {}  # path -> whether its answers are kept

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: C901 - plain-ASGI hot path: the first try written out (bench/hot_paths.py)
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        reading = method in ("GET", "HEAD")
        kept = False
        if reading:
            known = self._kept.get(scope["path"])
            kept = self._is_kept(scope["path"]) if known is None else known
        if kept and self.watch.down_since is not None:  # down, without a property call
            scope[DEGRADED_KEY] = True
            watcher = await self._attempt_marked(scope, receive, send)
            if watcher is not None:
                await self._unavailable(scope, send, watcher, reading=reading, kept=kept)
            return
        # The first try, written out here: the one almost every request takes.
        watcher = _Watcher(send, keep=kept and method == "GET")
        try:
            await self.app(scope, receive, watcher.send)
        except Exception as error:
            if not database_unavailable(error) or watcher.started:
                raise
            log.warning("database unreachable on %s %s: %r", method, scope["path"], error)
        else:
            if not watcher.unavailable:
                if watcher.kept is not None:
                    self._keep(scope, watcher.kept)
                return
        if reading:  # once more: the pool has dropped its dead connections by then
            retried = await self._attempt(scope, receive, send, kept=kept)
            if retried is None:
                return
            watcher = retried
        await self._unavailable(scope, send, watcher, reading=reading, kept=kept)

    def _is_kept(self, path: str) -> bool:
        """Whether the answers to a read of ``path`` are kept (remembered per path)."""
        kept = self._kept.get(path)
        if kept is None:
            kept = KEPT_PATHS.match(path) is not None
            if len(self._kept) >= _KEPT_LIMIT:
                self._kept.clear()
            self._kept[path] = kept
        return kept

    async def _unavailable(
        self, scope: Scope, send: Send, watcher: _Watcher, *, reading: bool, kept: bool
    ) -> None:
        """The database could not be reached and nothing has been sent yet: a kept copy,
        the router's own sentence, or a refusal."""
        scope[DEGRADED_KEY] = True
        self.watch.noticed_down()
        if kept and await self._send_stale(scope, send):
            return
        if watcher.unavailable and watcher.held is not None:
            await watcher.release()  # the router's own sentence, as a page or a problem
        else:
            await refuse(scope, send, reading=reading)
        DEGRADED.labels("no_copy" if reading else "refused_write").inc()

    async def _attempt(
        self, scope: Scope, receive: Receive, send: Send, *, kept: bool
    ) -> _Watcher | None:
        """The second try of a read whose first found the database unreachable: None
        once it is answered, else its watcher."""
        watcher = _Watcher(send, keep=kept and scope["method"] == "GET")
        try:
            await self.app(scope, receive, watcher.send)
        except Exception as error:
            if not database_unavailable(error) or watcher.started:
                raise
            log.warning("database unreachable on %s %s: %r", scope["method"], scope["path"], error)
            return watcher
        if watcher.unavailable:
            return watcher
        DEGRADED.labels("retried_ok").inc()
        if watcher.kept is not None:
            self._keep(scope, watcher.kept)
        return None

    async def _attempt_marked(self, scope: Scope, receive: Receive, send: Send) -> _Watcher | None:
        """While the database is known to be down: a kept read answered from this
        process's warm caches is held back and sent marked possibly stale, like a copy."""
        watcher = _Watcher(send, keep=False, hold_all=True)
        try:
            await self.app(scope, receive, watcher.send)
        except Exception as error:
            if not database_unavailable(error):
                raise
            return watcher
        if watcher.unavailable or not watcher.held:
            return watcher
        start, *rest = watcher.held
        status = int(start["status"])
        headers: list[tuple[bytes, bytes]] = list(start.get("headers", []))
        body = b"".join(message.get("body", b"") for message in rest)
        if status in (200, 304):
            DEGRADED.labels("stale").inc()
            since = self.watch.down_since or time.time()
            age = b"%d" % max(0, int(time.time() - since))
            headers = [(n, v) for n, v in headers if n not in (b"cache-control", b"content-length")]
            headers += [
                (b"warning", STALE_WARNING),
                (b"preau-stale", age),
                (b"cache-control", b"no-store"),
            ]
            content_type = dict(headers).get(b"content-type", b"")
            if status == 200 and content_type.startswith(b"text/html"):
                body = with_banner(body, since, (scope.get("state") or {}).get("locale", ""))
                headers = [(n, v) for n, v in headers if n != b"etag"]
            headers.append((b"content-length", b"%d" % len(body)))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return None

    def _keep(self, scope: Scope, answer: tuple[bytes, bytes | None, bytes]) -> None:
        session: Session | None = scope["state"].get("session")
        if session is None:
            return
        content_type, etag, body = answer
        actor = session.actor
        key = self.copies.key(
            actor.school_id,
            actor.person_id,
            scope["path"],
            scope.get("query_string", b""),
            scope["state"].get("locale", ""),
        )
        self.copies.keep(
            key,
            StaleCopy(
                content_type=content_type,
                # A page made per reader is named by what it was made from (COPY_TAG).
                etag=scope["state"].get(COPY_TAG) or self.copies.etag_of(etag, body),
                body=body,
                saved_at=time.time(),
            ),
        )

    async def _send_stale(self, scope: Scope, send: Send) -> bool:
        state = scope.get("state") or {}
        session: Session | None = state.get("session")
        if session is None:
            return False
        actor = session.actor
        locale = state.get("locale", "")
        copy = await self.copies.find(
            self.copies.key(
                actor.school_id,
                actor.person_id,
                scope["path"],
                scope.get("query_string", b""),
                locale,
            )
        )
        if copy is None:
            return False
        DEGRADED.labels("stale").inc()
        age = max(0, int(time.time() - copy.saved_at))
        headers: list[tuple[bytes, bytes]] = [
            (b"warning", STALE_WARNING),
            (b"preau-stale", b"%d" % age),
            (b"age", b"%d" % age),
            (b"cache-control", b"no-store"),
        ]
        body = copy.body
        if copy.content_type.startswith(b"text/html"):
            body = with_banner(body, copy.saved_at, locale)
        else:
            headers.append((b"etag", copy.etag))
            condition = headers_of(scope).get(b"if-none-match")
            if condition is not None and copy.etag in (
                part.strip() for part in condition.split(b",")
            ):
                await send({"type": "http.response.start", "status": 304, "headers": headers})
                await send({"type": "http.response.body", "body": b""})
                return True
        headers += [
            (b"content-type", copy.content_type),
            (b"content-length", b"%d" % len(body)),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send(
            {"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body}
        )
        return True


def with_banner(page: bytes, saved_at: float, locale: str) -> bytes:
    """The page with a visible notice that it may be out of date, first in its main part."""
    token = i18n.current_locale.set(locale or i18n.current_locale.get())
    try:
        sentence = i18n.gettext(STALE_BANNER).format(
            time=time.strftime("%d/%m %H:%M", time.gmtime(saved_at))
        )
    finally:
        i18n.current_locale.reset(token)
    banner = (
        '<p class="offline-banner stale-banner" role="status" data-stale="1">'
        f"{html.escape(sentence)}</p>"
    ).encode()
    if MAIN_TAG in page:
        return page.replace(MAIN_TAG, MAIN_TAG + banner, 1)
    return banner + page


async def refuse(scope: Scope, send: Send, *, reading: bool) -> None:
    """A ``503`` with ``Retry-After`` and a sentence: a problem for the API, a page else."""
    locale = (scope.get("state") or {}).get("locale") or i18n.current_locale.get()
    token = i18n.current_locale.set(locale)
    try:
        detail = i18n.gettext(READ_REFUSED if reading else WRITE_REFUSED)
        title = i18n.gettext(TITLE)
    finally:
        i18n.current_locale.reset(token)
    if scope["path"].startswith("/api/"):
        body = msgspec.json.encode(
            {"type": "about:blank", "title": title, "status": 503, "detail": detail}
        )
        content_type = b"application/problem+json"
    else:
        body = (
            f'<!doctype html><html lang="{locale}"><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>Préau</title><link rel="stylesheet" href="/static/preau.css">'
            f'<main id="main"><h1>{html.escape(title)}</h1><p>{html.escape(detail)}</p>'
            "</main></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", content_type),
                (b"content-length", b"%d" % len(body)),
                (b"retry-after", RETRY_AFTER),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _nothing() -> None:
    """An awaitable for a message held back instead of sent."""


class _Watcher:
    """Wraps ``send``: holds back a marked ``503`` (so it can be replaced), forwards the
    rest, and keeps a copy of a kept read's ``200``."""

    __slots__ = (
        "_send", "chunks", "held", "hold_all", "keep", "kept", "size", "start", "started",
        "unavailable",
    )  # fmt: skip

    def __init__(self, send: Send, *, keep: bool, hold_all: bool = False) -> None:
        self._send = send
        self.keep = keep
        self.hold_all = hold_all
        self.started = False
        self.unavailable = False
        self.held: list[Message] | None = None
        self.start: Message | None = None
        self.chunks: list[bytes] = []
        self.size = 0
        self.kept: tuple[bytes, bytes | None, bytes] | None = None

    def send(self, message: Message) -> Awaitable[None]:
        # A plain function that hands back the awaitable of the ``send`` it wraps: no
        # coroutine of its own per message, on every answer.
        if self.hold_all:
            self._hold(message)
            return _nothing()
        if message["type"] == "http.response.start":
            status = message["status"]
            if status == 503:
                headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
                if any(name == MARKER for name, _ in headers):
                    self.unavailable = True
                    self.held = [
                        {**message, "headers": [(n, v) for n, v in headers if n != MARKER]}
                    ]
                    return _nothing()
            self.started = True
            if self.keep and status == 200:
                self.start = message
            else:
                self.keep = False
        elif self.held is not None:
            self.held.append(message)
            return _nothing()
        elif self.keep and message["type"] == "http.response.body":
            self._collect(message)
        return self._send(message)

    def _collect(self, message: Message) -> None:
        """A kept read's body, up to ``MAX_BODY``."""
        chunk = message.get("body", b"")
        self.chunks.append(chunk)
        self.size += len(chunk)
        if self.size > MAX_BODY:
            self.keep = False
            self.chunks = []
        elif not message.get("more_body", False) and self.start is not None:
            found: dict[bytes, bytes] = {}
            for name, value in self.start.get("headers", []):
                found[name.lower()] = value
            self.kept = (
                found.get(b"content-type", b"application/octet-stream"),
                found.get(b"etag"),
                b"".join(self.chunks),
            )

    def _hold(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = list(message.get("headers", []))
            self.unavailable = int(message["status"]) == 503 and any(
                name == MARKER for name, _ in headers
            )
            message = {
                **message,
                "headers": [(n, v) for n, v in headers if n != MARKER],
            }
            self.held = []
        if self.held is not None:
            self.held.append(message)

    async def release(self) -> None:
        for message in self.held or []:
            await self._send(message)
        self.held = None
