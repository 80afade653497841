"""Putting the gate together: the admission store and limit storage that match the
shared state, the runtime, the credentials and the middleware."""

from __future__ import annotations

from limits.aio.storage import MemoryStorage, RedisStorage, Storage

from preau.adapters.memory.admission import MemoryAdmissionStore
from preau.adapters.redis.admission import RedisAdmissionStore
from preau.adapters.redis.shared_state import RedisSharedState
from preau.asgi import ASGIApp
from preau.gate.middleware import GateMiddleware
from preau.gate.passes import Credentials
from preau.gate.pow import ProofOfWork
from preau.gate.runtime import GateRuntime
from preau.gate.settings import GateSettings
from preau.gate.store import AdmissionStore
from preau.ports import Clock, SharedState

__all__ = ["admission_store_for", "assemble"]


def admission_store_for(state: SharedState) -> AdmissionStore:
    """The admission store that lives where ``state`` lives (this process, or Redis)."""
    if isinstance(state, RedisSharedState):
        return RedisAdmissionStore(state.client, prefix=state.prefix)
    return _memory_stores.setdefault(id(state), MemoryAdmissionStore())


# One in-process store per in-process shared state, so the operator functions in
# ``control`` see the same queue as the middleware built on that state.
_memory_stores: dict[int, MemoryAdmissionStore] = {}


def _limits_storage(state: SharedState) -> Storage:
    if isinstance(state, RedisSharedState):
        return RedisStorage(
            "async+redis://",
            implementation="redispy",
            key_prefix=state.prefix + "gate-limits",
            # Share the application's pool; limits types its options as scalars only.
            connection_pool=state.client.connection_pool,  # type: ignore[arg-type]  # see above
        )
    return MemoryStorage()


def assemble(
    app: ASGIApp, *, settings: GateSettings, secret_key: str, state: SharedState, clock: Clock
) -> GateMiddleware:
    runtime = GateRuntime(settings, admission_store_for(state), clock=clock)
    return GateMiddleware(
        app,
        settings=settings,
        runtime=runtime,
        credentials=Credentials(secret_key),
        pow=ProofOfWork(secret_key, state),
        shared_limits=_limits_storage(state),
    )
