"""The gate's rate controller against a slow database and without Redis (issue 18's
``slow-db`` and ``redis-stop`` drills, docs/reliability.md): the latency of every admitted
request counts, a cut acts on the admissions people actually get, and a process that lost
Redis admits its share of the configured rate, round after round."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import redis.asyncio as redis_asyncio
from prometheus_client import REGISTRY

from preau.adapters.clock import ManualClock
from preau.adapters.memory.admission import MemoryAdmissionStore
from preau.adapters.memory.shared_state import MemorySharedState
from preau.adapters.redis.admission import RedisAdmissionStore
from preau.asgi import Receive, Scope, Send
from preau.domain.admission import Lane
from preau.gate.runtime import GateRuntime
from preau.gate.settings import GateSettings
from preau.gate.store import AdmissionStore
from tests.conftest import missing_service
from tests.gate.gate_app import SECRET
from tests.gate.support import gate_on
from tests.gate.test_multiprocess import free_port, wait_for_port
from tests.helpers import as_served


def adaptive(**changes: Any) -> GateSettings:
    base = GateSettings(admission_rate_per_s=20.0, adaptive=True, under_attack="off")
    return msgspec.structs.replace(base, **changes)


async def arrive_and_admit(runtime: GateRuntime, clock: ManualClock, seconds: int) -> None:
    """Five people a second join and are admitted by the rounds (the rate is not binding)."""
    for _ in range(seconds):
        for _ in range(5):
            await runtime.join(Lane.FIRST_TIME, device=None)
        clock.advance(1.0)
        await runtime.run_round()


async def rate_in_force(store: AdmissionStore, clock: ManualClock) -> float:
    view = await store.view(now=clock.time(), pass_cutoff=0, ticket_cutoff=0)
    return view.queue.rate


@pytest.mark.parametrize(("latency", "lowered"), [(1.5, True), (0.9, True), (0.05, False)])
async def test_slow_admitted_answers_cut_the_admissions_people_get(
    latency: float, lowered: bool
) -> None:
    """A slow database raises neither the loop lag nor the CPU: only the admitted answers'
    latency shows it. Their share over the latency target (the target is a high quantile:
    more than 10 % over 0.5 s) cuts the rate from what is actually admitted (5 a second
    here, under a configured 20 that never binds), deeper the larger that share."""
    clock = ManualClock(1000.0, cpu_share=0.1)
    store = MemoryAdmissionStore()
    runtime = GateRuntime(adaptive(), store, clock=clock)
    await runtime.run_round()
    await arrive_and_admit(runtime, clock, 4)
    assert await rate_in_force(store, clock) == pytest.approx(20.0)
    assert sum(runtime.lane_rates) == pytest.approx(5.0, rel=0.3)
    for _ in range(200):
        runtime.record_latency(latency)
    clock.advance(2.0)
    await runtime.run_round()
    rate = await rate_in_force(store, clock)
    if lowered:
        # Every answer was slow: the deepest cut, half of the observed admissions.
        assert rate <= 0.9 * sum(runtime.lane_rates)
        assert rate >= adaptive().adaptive_minimum_rate_per_s
    else:
        assert rate == pytest.approx(20.0)


async def test_a_p99_over_its_bound_cuts_the_rate_though_most_answers_are_quick() -> None:
    """The slow-db drill: most reads come from warm caches and stay quick; the writes and
    cache misses wait on each statement. Fewer than 10 % of the answers over 0.5 s, but
    3 % over the 1 s bound (the admitted p99 above it): the rate is cut, by 30 %."""
    clock = ManualClock(1000.0, cpu_share=0.1)
    store = MemoryAdmissionStore()
    runtime = GateRuntime(adaptive(admission_rate_per_s=100.0), store, clock=clock)
    await runtime.run_round()
    for index in range(100):
        runtime.record_latency(1.5 if index < 3 else 0.05)
    clock.advance(2.0)
    await runtime.run_round()
    assert await rate_in_force(store, clock) == pytest.approx(70.0)


async def test_one_answer_over_the_bound_is_no_trend() -> None:
    """A cold cache or a pause makes one answer slow: the admitted p99 of a couple of
    dozen answers is that one, and a cut would halve the admissions for nothing."""
    clock = ManualClock(1000.0, cpu_share=0.1)
    store = MemoryAdmissionStore()
    runtime = GateRuntime(adaptive(admission_rate_per_s=100.0), store, clock=clock)
    await runtime.run_round()
    for index in range(40):
        runtime.record_latency(1.5 if index == 0 else 0.05)
    clock.advance(2.0)
    await runtime.run_round()
    assert await rate_in_force(store, clock) == pytest.approx(100.0)


async def test_answers_over_the_bound_on_a_crowded_machine_do_not_cut_the_rate() -> None:
    """The event loop running late while this process hardly ran: other processes hold
    the CPU, and the answers over the bound are theirs to fix, not the admissions'."""
    clock = ManualClock(1000.0, cpu_share=0.1)
    store = MemoryAdmissionStore()
    runtime = GateRuntime(adaptive(admission_rate_per_s=100.0), store, clock=clock)
    await runtime.run_round()
    for index in range(100):
        runtime.record_latency(1.5 if index < 3 else 0.05)
    runtime.loop_lag_total, runtime.loop_lag_samples = 4.0, 40  # 100 ms late on average
    clock.advance(2.0)
    await runtime.run_round()
    assert await rate_in_force(store, clock) == pytest.approx(100.0)


async def test_the_cut_deepens_with_the_share_of_slow_answers() -> None:
    clock = ManualClock(1000.0, cpu_share=0.1)
    cuts = []
    for slow_share in (0.15, 0.3, 0.9):
        store = MemoryAdmissionStore()
        runtime = GateRuntime(adaptive(admission_rate_per_s=100.0), store, clock=clock)
        await runtime.run_round()
        for index in range(100):
            runtime.record_latency(1.0 if index < 100 * slow_share else 0.01)
        clock.advance(2.0)
        await runtime.run_round()
        cuts.append(await rate_in_force(store, clock))
    # No admissions observed: cut from the configured 100, by 15 %, 30 %, then at most half.
    assert cuts == [pytest.approx(85.0), pytest.approx(70.0), pytest.approx(50.0)]


async def test_every_admitted_request_is_timed_on_the_hot_path() -> None:
    """The hot path (an admitted browser's requests, most of the traffic) used to time one
    request in 64: a few samples a minute on a quiet process, too few to see a slow
    database. Each is now timed, to its answer's start; its status is still sampled."""
    clock = ManualClock(time.time())

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        """Answers after a second of the test's clock (a database that got slow), or at
        once but with a body that takes two seconds to go (a slow client's download)."""
        if scope["type"] != "http":
            return
        download = scope["path"] == "/download"
        if not download:
            clock.advance(1.0)
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if download:
            clock.advance(2.0)
        await send({"type": "http.response.body", "body": b"slow"})

    gate = gate_on(
        app,
        settings=GateSettings(
            capacity=5, admission_rate_per_s=100.0, adaptive=False, under_attack="off"
        ),
        secret_key=SECRET,
        state=MemorySharedState(),
        clock=clock,
    )
    transport = httpx.ASGITransport(app=as_served(gate))
    async with httpx.AsyncClient(
        transport=transport, base_url="http://preau.test", headers={"accept": "application/json"}
    ) as person:
        try:
            assert (await person.get("/api/home")).status_code == 200
            runtime = gate.runtime
            runtime.health = [0, 0, 0, 0]
            for _ in range(10):
                assert (await person.get("/api/home")).status_code == 200
            assert runtime.health == [10, 0, 10, 0]  # slow (1 s), not over the bound
            # Timed to the answer's start: a slow client's download is not a slow app.
            for _ in range(5):
                assert (await person.get("/download")).status_code == 200
            assert runtime.health == [15, 0, 10, 0]
        finally:
            await gate.stop()


@pytest.fixture
def stopped_redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A Redis server of this test's own on a free port (never the shared one), which the
    test stops."""
    port = free_port()
    command = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no",
               "--dir", str(tmp_path)]  # fmt: skip
    try:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    except FileNotFoundError:
        missing_service("redis-server is not installed (apt-get install redis-server)")
    wait_for_port(port, process)
    yield f"redis://127.0.0.1:{port}/0", process
    if process.poll() is None:
        process.kill()
        process.wait(5)


def local_admissions() -> float:
    return REGISTRY.get_sample_value("preau_gate_local_admissions_total") or 0.0


async def test_without_redis_each_process_admits_its_share_of_the_rate(
    stopped_redis: tuple[str, subprocess.Popen[bytes]],
) -> None:
    """Redis stopped: this process admits the configured rate ÷ the process count (20 ÷ 2
    here), round after round. It used to divide the rate it had stored in its local queue
    again at each round (10, 5, 2.5…): 0.3 admissions a second in the redis-stop drill."""
    url, server = stopped_redis
    client = redis_asyncio.Redis.from_url(url, socket_connect_timeout=1.0, socket_timeout=1.0)
    store = RedisAdmissionStore(client, prefix="rate-share-test:")
    clock = ManualClock(time.time())
    settings = adaptive(process_count=2, capacity=10_000)
    runtime = GateRuntime(settings, store, clock=clock)
    try:
        await runtime.run_round()
        assert not runtime.degraded
        server.kill()
        server.wait(5)
        counted = local_admissions()
        seconds = 10
        for _ in range(seconds):
            for _ in range(20):  # more people than the share admits
                origin, lane, number = await runtime.join(Lane.FIRST_TIME, device=None)
                assert origin == runtime.local_origin
                runtime.saw_ticket(origin, lane, number, young=True)  # people: they poll
            clock.advance(1.0)
            await runtime.report_tickets()
            await runtime.run_round()
        assert REGISTRY.get_sample_value("preau_gate_degraded") == 1
        admitted = local_admissions() - counted
        share = settings.admission_rate_per_s / settings.process_count
        burst = share * settings.admission_burst_s
        assert 0.8 * share * seconds <= admitted <= share * seconds + burst + 1
        # What the process reports: its share, times the processes it expects.
        assert REGISTRY.get_sample_value("preau_gate_admission_rate") == pytest.approx(20.0)
    finally:
        await client.aclose()
