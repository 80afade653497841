"""The gate as the composition root builds it beside a given shared state, for the tests
that run one gate on memory and on Redis."""

from __future__ import annotations

from preau.adapters.clock import SystemClock
from preau.adapters.memory.shared_state import MemorySharedState
from preau.adapters.redis.shared_state import RedisSharedState
from preau.adapters.shared import Shared, shared_in_memory, shared_on_redis
from preau.asgi import ASGIApp
from preau.gate import build_gate
from preau.gate.middleware import GateMiddleware
from preau.gate.settings import GateSettings
from preau.ports import Clock, SharedState


def shared_beside(state: SharedState) -> Shared:
    """The stores :func:`preau.bootstrap.build_shared` would put beside ``state``."""
    if isinstance(state, RedisSharedState):
        return shared_on_redis(state)
    assert isinstance(state, MemorySharedState)
    return shared_in_memory(state)


def gate_on(
    app: ASGIApp,
    *,
    settings: GateSettings,
    secret_key: str,
    state: SharedState,
    clock: Clock | None = None,
) -> GateMiddleware:
    """The gate on ``state``, reading time from ``clock`` (the system's unless a test moves it)."""
    return build_gate(
        app,
        settings=settings,
        secret_key=secret_key,
        shared=shared_beside(state),
        clock=clock or SystemClock(),
    )
