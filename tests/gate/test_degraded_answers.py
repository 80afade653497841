"""The mark ``web/degraded`` leaves in the scope for the gate: set on an answer given
because the database was unreachable (a refusal, a kept copy), absent otherwise."""

from __future__ import annotations

from pathlib import Path

from preau.actions.degraded import DatabaseWatch, StaleCopies
from preau.adapters.memory.shared_state import MemorySharedState
from preau.adapters.sql.engine import make_engine
from preau.asgi import DEGRADED_KEY, Message, Receive, Scope, Send
from preau.web.degraded import Degraded


async def answered(app: Degraded, method: str) -> tuple[int, Scope]:
    scope: Scope = {
        "type": "http",
        "method": method,
        "path": "/api/v1/conversations",
        "headers": [],
        "query_string": b"",
        "state": {},
    }
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"]), scope


async def test_only_answers_degraded_by_the_database_are_marked(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    down = {"now": False}

    async def router(scope: Scope, receive: Receive, send: Send) -> None:
        if down["now"]:
            raise ConnectionRefusedError("database down")
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b"busy"})

    watch = DatabaseWatch(engine)
    app = Degraded(router, copies=StaleCopies(MemorySharedState()), watch=watch)
    try:
        status, scope = await answered(app, "POST")
        assert status == 503  # the app's own 503: an error the gate counts
        assert DEGRADED_KEY not in scope
        down["now"] = True
        status, scope = await answered(app, "POST")
        assert status == 503
        assert scope[DEGRADED_KEY] is True
        status, scope = await answered(app, "GET")  # no kept copy: refused, marked
        assert status == 503
        assert scope[DEGRADED_KEY] is True
    finally:
        watch.noticed_up()
        await engine.dispose()
