"""A tiny application behind the gate, served by uvicorn in the multi-process tests.

Run as ``python gate_app.py PORT``; ``PREAU_GATE_*`` variables configure the gate and
``PREAU_TEST_REDIS_URL`` / ``PREAU_TEST_REDIS_PREFIX`` the shared state.
"""

from __future__ import annotations

import os
import sys

import uvicorn

from preau.adapters.clock import SystemClock
from preau.adapters.redis.shared_state import RedisSharedState
from preau.adapters.shared import shared_on_redis
from preau.asgi import Receive, Scope, Send
from preau.gate import build_gate
from preau.gate.settings import GateSettings

SECRET = "multi-process-test-secret-0123456789abcdef"


async def hello(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            await send({"type": message["type"] + ".complete"})
            if message["type"] == "lifespan.shutdown":
                return
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


def main() -> None:
    shared = shared_on_redis(
        RedisSharedState(
            os.environ["PREAU_TEST_REDIS_URL"], prefix=os.environ["PREAU_TEST_REDIS_PREFIX"]
        )
    )
    gate = build_gate(
        hello,
        settings=GateSettings.from_environ(os.environ),
        secret_key=SECRET,
        shared=shared,
        clock=SystemClock(),
    )
    uvicorn.run(gate, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")


if __name__ == "__main__":
    main()
