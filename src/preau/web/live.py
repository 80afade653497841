"""``GET /live``: Server-Sent Events telling an open page its new unread counts.

A plain ASGI handler (web/sse.py), so an idle connection costs one small coroutine, one
watcher task and a bounded queue in this process's :class:`preau.live.LiveHub` (measured
in docs/performance.md). The first event carries the current counts; afterwards one
arrives for each change, and a comment line every ``live_heartbeat_seconds`` keeps
proxies from closing the connection. Pages without EventSource poll ``/api/v1/unread``.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import asgi
from litestar.types import Receive, Scope, Send

from preau.actions.context import Services
from preau.actions.messages.unread import unread_counts_cached
from preau.actions.sessions import Session
from preau.domain.messages import UnreadCounts
from preau.live import Frame, sse_frame
from preau.web.sse import send_problem, stream

UNAUTHENTICATED = (
    b'{"type":"about:blank","title":"You need to log in","status":401,'
    b'"detail":"Log in first, then try again."}'
)


@asgi("/live", is_mount=False, copy_scope=False)
async def live(scope: Scope, receive: Receive, send: Send) -> None:
    services: Services = scope["litestar_app"].state.services
    session: Session | None = scope["state"].get("session")
    if session is None:
        await send_problem(send, 401, UNAUTHENTICATED)
        return
    actor = session.actor
    body, _etag = await unread_counts_cached(services, actor)
    counts = msgspec.json.decode(body, type=UnreadCounts)
    hub = services.live
    listener = hub.connect(actor.person_id)
    first = Frame(
        kind="hello",
        messages=counts.messages,
        announcements=counts.announcements,
        notify=False,
    )
    try:
        await stream(
            receive,
            send,
            listener,
            first=b"retry: 5000\n\n" + sse_frame(first),
            heartbeat_seconds=services.settings.live_heartbeat_seconds,
        )
    finally:
        hub.disconnect(listener)


routes: list[Any] = [live]
