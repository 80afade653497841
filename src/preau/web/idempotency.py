"""The ``Idempotency-Key`` layer: one mechanism for every write of the API and the forms.

A signed-in request with ``POST``, ``PUT``, ``PATCH`` or ``DELETE`` and the header is
looked up by (person, key) before it reaches the router, and recorded in the transaction
of its first write (``actions/idempotency``). The same key again replays the first
answer; with another request it gets a 422 with a sentence. Requests without the header
pass untouched. How a process killed between the commit and the answer is handled:
docs/offline.md.
"""

from __future__ import annotations

import html
import logging
import os
from collections.abc import Awaitable
from typing import Any

import msgspec

from preau import i18n
from preau.actions import idempotency
from preau.actions.context import Services
from preau.actions.sessions import Session
from preau.asgi import ASGIApp, Message, Receive, Scope, Send, headers_of
from preau.domain.errors import InvalidInput
from preau.domain.idempotency import (
    MAX_KEPT_BODY,
    WRITE_METHODS,
    Replay,
    check_key,
    fingerprint,
    kept_headers,
)
from preau.i18n import lazy

log = logging.getLogger("preau.idempotency")

KEY_REUSED = lazy(
    "This Idempotency-Key was already used for a different request: send this one with a new key."
)
STILL_RUNNING = lazy("The same request is still being handled: try again in a moment.")
ALREADY_DONE = lazy(
    "This was already received and saved before the connection was lost; "
    "it was not saved a second time."
)
TITLES = {400: lazy("The request is not valid"), 409: lazy("Conflict"), 422: lazy("Not accepted")}
PURGE_EVERY_SECONDS = 600.0
EXIT_CODE = 70  # the test-only exit (settings.test_exit_after_commit)


class IdempotencyKeys:
    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        self.app = app
        self.services = services
        self.exit_after_commit = services.settings.test_exit_after_commit
        self._purged_at = 0.0

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # A plain function handing back the inner layer's awaitable for what it leaves
        # alone (every read): no coroutine of its own on the hot reads.
        if scope["type"] != "http" or scope["method"] not in WRITE_METHODS:
            return self.app(scope, receive, send)
        return self._write(scope, receive, send)

    async def _write(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_key = headers_of(scope).get(b"idempotency-key")
        session: Session | None = scope["state"].get("session")
        if raw_key is None or session is None:  # keys are per person
            await self.app(scope, receive, send)
            return
        try:
            key = check_key(raw_key.decode("latin-1"))
        except InvalidInput as error:
            await _sentence(scope, send, 400, error.message)
            return
        body, more = await _whole_body(receive)
        headers = headers_of(scope)
        actor = session.actor
        replay, claim, answer = await idempotency.claim(
            self.services,
            school_id=actor.school_id,
            person_id=actor.person_id,
            key=key,
            fingerprint=fingerprint(
                scope["method"],
                scope["path"],
                scope.get("query_string", b""),
                headers.get(b"content-type", b""),
                body,
            ),
            method=scope["method"],
            path=scope["path"],
        )
        await self._purge_now_and_then()
        if replay is Replay.OTHER_REQUEST:
            await _sentence(scope, send, 422, KEY_REUSED)
        elif replay is Replay.IN_PROGRESS:
            await _sentence(scope, send, 409, STILL_RUNNING, retry_after=b"2")
        elif replay is Replay.DONE:
            await _sentence(scope, send, 200, ALREADY_DONE, replayed=b"done")
        elif replay is Replay.ANSWER:
            assert answer is not None  # an ANSWER comes with it
            await _send(send, answer.status, answer.headers, answer.body, replayed=b"answer")
        else:
            await self._first_time(scope, _replaying(body, more, receive), send, claim)

    async def _first_time(
        self, scope: Scope, receive: Receive, send: Send, claim: idempotency.Claim
    ) -> None:
        start: Message | None = None
        chunks: list[bytes] = []

        async def keep(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            with idempotency.running(claim):
                await self.app(scope, receive, keep)
        except idempotency.ClaimTaken:
            pass  # answered below, as the request that committed first was
        if claim.taken:  # its transaction was rolled back: nothing of it was written
            await self._answer_as_the_first(scope, send, claim)
            return
        assert start is not None  # the router always answers
        status = int(start["status"])
        headers = list(start.get("headers", []))
        body = b"".join(chunks)
        if (
            self.exit_after_commit
            and claim.done
            and scope["path"].startswith(self.exit_after_commit)
        ):
            log.warning("test-only exit after commit on %s", scope["path"])
            os._exit(EXIT_CODE)  # TEST ONLY: see settings.test_exit_after_commit
        if status < 500 or claim.done:  # a failure that wrote nothing leaves no record
            kept = (
                idempotency.StoredAnswer(status, kept_headers(headers), body)
                if len(body) <= MAX_KEPT_BODY and status < 500
                else None
            )
            await idempotency.keep_answer(self.services, claim, kept)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _answer_as_the_first(
        self, scope: Scope, send: Send, claim: idempotency.Claim
    ) -> None:
        log.info("idempotency key %s committed first by another request", claim.key[:8])
        replay, answer = await idempotency.replay_of(self.services, claim)
        if replay is Replay.ANSWER:
            assert answer is not None  # an ANSWER comes with it
            await _send(send, answer.status, answer.headers, answer.body, replayed=b"answer")
        else:  # done, its answer not kept yet
            await _sentence(scope, send, 200, ALREADY_DONE, replayed=b"done")

    async def _purge_now_and_then(self) -> None:
        now = self.services.clock()
        if now - self._purged_at >= PURGE_EVERY_SECONDS:
            self._purged_at = now
            removed = await idempotency.purge_expired(self.services)
            if removed:
                log.info("forgot %d expired idempotency records", removed)


async def _whole_body(receive: Receive) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client went away
            return b"".join(chunks), False
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), True


def _replaying(body: bytes, complete: bool, receive: Receive) -> Receive:
    given = False

    async def replayed() -> Message:
        nonlocal given
        if not given and complete:
            given = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _send(
    send: Send,
    status: int,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    *,
    replayed: bytes,
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                *headers,
                (b"idempotency-replayed", replayed),
                (b"content-length", b"%d" % len(body)),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _sentence(
    scope: Scope,
    send: Send,
    status: int,
    message: str,
    *,
    retry_after: bytes | None = None,
    replayed: bytes | None = None,
) -> None:
    """A sentence the person reads: problem+json for the API, a small page for forms."""
    detail = i18n.gettext(message)
    extra: list[tuple[bytes, bytes]] = []
    if retry_after is not None:
        extra.append((b"retry-after", retry_after))
    if scope["path"].startswith("/api/"):
        title = i18n.gettext(TITLES.get(status, "")) if status in TITLES else ""
        body = msgspec.json.encode(
            {"type": "about:blank", "title": title, "status": status, "detail": detail}
        )
        content_type = b"application/problem+json"
    else:
        body = (
            f'<!doctype html><html lang="{i18n.current_locale.get()}"><meta charset="utf-8">'
            f"<title>Préau</title><p>{html.escape(detail)}</p></html>"
        ).encode()
        content_type = b"text/html; charset=utf-8"
    headers: list[tuple[bytes, Any]] = [(b"content-type", content_type), *extra]
    if replayed is not None:
        await _send(send, status, headers, body, replayed=replayed)
        return
    await _send_plain(send, status, headers, body)


async def _send_plain(
    send: Send, status: int, headers: list[tuple[bytes, Any]], body: bytes
) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})
