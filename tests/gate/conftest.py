"""Fixtures for the gate: both admission stores, and a clock the tests move by hand."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis_asyncio

from preau.adapters.clock import ManualClock
from preau.adapters.memory.admission import MemoryAdmissionStore
from preau.adapters.redis.admission import RedisAdmissionStore
from preau.gate.store import AdmissionStore


@pytest.fixture(params=["memory", "redis"])
async def admission_store(request: pytest.FixtureRequest) -> AsyncIterator[AdmissionStore]:
    if request.param == "memory":
        yield MemoryAdmissionStore()
        return
    url = request.getfixturevalue("redis_url")
    prefix = request.getfixturevalue("redis_prefix")
    client = redis_asyncio.Redis.from_url(url)
    yield RedisAdmissionStore(client, prefix=prefix)
    await client.aclose()


@pytest.fixture
def clock() -> ManualClock:
    # It starts at the real time and stands still: the proof-of-work library checks a
    # challenge's expiry against the system clock, as the tests' own signed cookies are.
    return ManualClock(time.time())
