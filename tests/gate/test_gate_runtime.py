"""The gate's runtime on a clock the test moves: how it adapts the admission rate."""

from __future__ import annotations

import pytest

from preau.adapters.clock import ManualClock
from preau.adapters.memory.admission import MemoryAdmissionStore
from preau.gate.runtime import GateRuntime
from preau.gate.settings import GateSettings


@pytest.mark.parametrize(("cpu_share", "rate_after"), [(0.9, 90.0), (0.1, 100.0)])
async def test_a_late_event_loop_cuts_the_rate_only_if_this_process_kept_its_cpu_busy(
    cpu_share: float, rate_after: float
) -> None:
    """The CPU share comes from the clock's process time over the health period: a loop
    running late while the worker hardly ran (other processes on its core) is no reason
    to admit fewer people."""
    clock = ManualClock(1000.0, cpu_share=cpu_share)
    store = MemoryAdmissionStore()
    settings = GateSettings(admission_rate_per_s=100.0, adaptive=True, under_attack="off")
    runtime = GateRuntime(settings, store, clock=clock)
    await runtime.run_round()
    assert runtime.view is not None
    assert runtime.view.queue.rate == 100.0
    # The loop-lag watcher's samples over the next two seconds: 100 ms late on average.
    runtime.loop_lag_total, runtime.loop_lag_samples = 4.0, 40
    clock.advance(2.0)
    await runtime.run_round()
    view = await store.view(now=clock.time(), pass_cutoff=0, ticket_cutoff=0)
    assert view.queue.rate == pytest.approx(rate_after)
    assert view.rate_at == clock.time()


@pytest.mark.parametrize(("degraded", "rate_after"), [(False, 90.0), (True, 100.0)])
async def test_answers_degraded_by_a_database_outage_do_not_cut_the_rate(
    degraded: bool, rate_after: float
) -> None:
    """A 503 because the database is unreachable (``web/degraded`` marks the scope) is left
    out of the health the rate adapts to: fewer admissions cannot bring the database back,
    and the cut would make people wait long after it is back. Any other 503 still counts."""
    clock = ManualClock(1000.0, cpu_share=0.5)
    store = MemoryAdmissionStore()
    settings = GateSettings(admission_rate_per_s=100.0, adaptive=True, under_attack="off")
    runtime = GateRuntime(settings, store, clock=clock)
    await runtime.run_round()
    for _ in range(50):
        runtime.record_response(503, 0.01, degraded=degraded)
    clock.advance(2.0)
    await runtime.run_round()
    view = await store.view(now=clock.time(), pass_cutoff=0, ticket_cutoff=0)
    assert view.queue.rate == pytest.approx(rate_after)
