"""The waiting room and offline: a person held in the queue is told where their device's
saved pages are, and that page, the service worker and the icons are never held."""

from __future__ import annotations

import httpx

from preau.asgi import Receive, Scope, Send
from preau.gate.settings import GateSettings
from preau.ports import SharedState
from tests.gate.support import gate_on
from tests.helpers import as_served


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"app " + scope["path"].encode()})


async def test_a_held_person_reads_what_their_device_saved(shared_state: SharedState) -> None:
    gate = gate_on(
        app,
        settings=GateSettings(capacity=1, adaptive=False, under_attack="off"),
        secret_key="s" * 40,
        state=shared_state,
    )
    transport = httpx.ASGITransport(app=as_served(gate))
    try:
        async with (
            httpx.AsyncClient(transport=transport, base_url="http://preau.test") as first,
            httpx.AsyncClient(
                transport=transport, base_url="http://preau.test", follow_redirects=True
            ) as held,
        ):
            assert (await first.get("/todo")).text == "app /todo"
            waiting = await held.get("/todo", headers={"accept-language": "fr"})
            assert "/gate/wait" in str(waiting.url)
            assert '<a href="/offline">Voir ce que cet appareil a enregistré.</a>' in waiting.text
            for path in ("/offline", "/sw.js", "/manifest.webmanifest", "/icons/preau.svg"):
                assert (await held.get(path)).text == f"app {path}"
            assert "/gate/wait" in str((await held.get("/todo")).url)  # still held
    finally:
        await gate.stop()
