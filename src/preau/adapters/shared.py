"""The stores that must live where the shared state lives, built together for each kind of
shared state: this process's memory, or one Redis for every process. Which kind an
application gets is the composition root's choice (``bootstrap.build_shared``)."""

from __future__ import annotations

from typing import NamedTuple

from limits.aio.storage import Storage

from preau.adapters.memory.admission import MemoryAdmissionStore
from preau.adapters.memory.shared_state import MemorySharedState
from preau.adapters.ratelimit import memory_storage, redis_storage
from preau.adapters.redis.admission import RedisAdmissionStore
from preau.adapters.redis.shared_state import RedisSharedState
from preau.gate.store import AdmissionStore
from preau.ports import SharedState

__all__ = ["Shared", "shared_in_memory", "shared_on_redis"]


class Shared(NamedTuple):
    state: SharedState
    admission: AdmissionStore  # the gate's queue, passes and operator settings
    limits: Storage  # the login throttle's and sending's counters
    gate_limits: Storage  # the gate's limits on arrivals, per address and per route


def shared_on_redis(state: RedisSharedState) -> Shared:
    return Shared(
        state=state,
        admission=RedisAdmissionStore(state.client, prefix=state.prefix),
        limits=redis_storage(state, "limits"),
        gate_limits=redis_storage(state, "gate-limits"),
    )


def shared_in_memory(state: MemorySharedState) -> Shared:
    """New stores each time: two applications in one process never share a queue."""
    return Shared(
        state=state,
        admission=MemoryAdmissionStore(),
        limits=memory_storage(),
        gate_limits=memory_storage(),
    )
