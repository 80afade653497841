"""The capacity model (bench/capacity_model.py) on tiny scenarios whose answer is known."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import capacity_model as model

MS = 0.001


def tiny(**overrides: float) -> model.Scenario:
    """3,000 pupils arriving evenly over a window, every request 1 ms, no logins."""
    values: dict[str, float] = {
        "pupils": 3000, "staff": 0, "pupil_share": 1.0, "window_s": 300.0, "peak_share": 0.0,
        "peak_start_s": 0.0, "peak_width_s": 0.0, "end_s": 600.0, "login_share": 0.0,
        "turn_in_share": 0.0, "later_interval_s": 1e9, "server_overhead_ms": 0.0,
    }  # fmt: skip
    values.update(overrides)
    return model.Scenario(**values)  # type: ignore[arg-type]  # counts written as floats


def test_fifo_servers_match_a_plain_loop() -> None:
    rng = np.random.default_rng(1)
    tier = model.Tier(3, 1.0, rng)
    times = np.sort(rng.uniform(0, 10, 400))
    work = rng.exponential(0.02, 400)
    latency, delay = tier.serve(times, work)
    # Replay with the same server choice, one request at a time.
    replay = model.Tier(3, 1.0, np.random.default_rng(1))
    replay.rng.uniform(0, 10, 400)
    replay.rng.exponential(0.02, 400)
    servers = replay.rng.integers(0, 3, 400)
    free = [0.0, 0.0, 0.0]
    for index in range(400):
        server = servers[index]
        start = max(times[index], free[server])
        free[server] = start + work[index]
        assert latency[index] == pytest.approx(free[server] - times[index], abs=1e-6)
        assert delay[index] == pytest.approx(start - times[index], abs=1e-6)


@pytest.mark.parametrize(("sso_share", "sign_in"), [(0.0, 3.0), (0.7, 0.3 * 3 + 0.7 * 4)])
def test_a_person_makes_about_eight_requests_in_the_first_minutes(
    sso_share: float, sign_in: float
) -> None:
    scenario = model.Scenario(sso_share=sso_share)
    costs = model.Costs.uniform(MS)
    # todo API + 2 homework + inbox + timetable + 304 + 0.3 turn-in + join + claiming poll,
    # then a device resume (80 %) or a sign-in (20 %): login page + password login + to-do
    # page, or through SSO login page + redirect to the IdP + its answer + to-do page.
    assert model.loop_cpu_per_arrival(scenario, costs) == pytest.approx(
        (8.3 + 0.8 * 1 + 0.2 * sign_in) * MS
    )
    assert model.peak_arrival_rate(scenario) == pytest.approx(6800)


def test_the_sign_in_pool_runs_password_hashes_and_saml_checks() -> None:
    costs = model.Costs.uniform(MS, hash_s=0.020)
    costs.sso_s = 0.005
    for share, per_sign_in in ((0.0, 0.020), (0.7, 0.3 * 0.020 + 0.7 * 0.005)):
        scenario = model.Scenario(sso_share=share, login_share=0.2, hash_utilisation=0.5)
        assert model.hash_cores_for(scenario, costs, 1000.0) == pytest.approx(
            1000.0 * 0.2 * per_sign_in / 0.5
        )
    # In the simulation each SSO sign-in waits for its check in the pool.
    scenario = tiny(login_share=1.0, sso_share=1.0)
    result = model.simulate(scenario, costs, 4, shard_cores=4)
    assert len(result.login_latencies) == result.served
    servers = max(1, round(result.hash_cores))
    speed = result.hash_cores / servers  # the pool's cores, spread over whole servers
    assert result.login_latencies.min() == pytest.approx(MS + 0.005 / speed)


def test_below_capacity_nobody_waits() -> None:
    result = model.simulate(tiny(), model.Costs.uniform(MS), 4, shard_cores=4)
    assert result.served == result.people > 2500
    assert result.waits.max() <= 1.0 + 1e-9  # admitted at the first round after arriving
    assert result.latency_p99 < 10 * MS
    assert result.gave_up == 0


def test_more_cores_shorten_the_wait() -> None:
    scenario = tiny(window_s=30.0)  # 100 arrivals/s for 30 s
    costs = model.Costs.uniform(MS)
    one = model.simulate(scenario, costs, 1, shard_cores=1)
    two = model.simulate(scenario, costs, 2, shard_cores=1)
    assert one.wait_p95 > 5.0  # 1 core admits 0.6 / 9 ms ≈ 67 per second: a queue forms
    assert two.wait_p95 < one.wait_p95 / 2
    assert one.served == one.people  # everyone gets in eventually, nobody gives up


def test_the_quota_refuses_and_wastes_requests_under_overload() -> None:
    scenario = tiny(window_s=10.0, quota_session_s=5.0, quota_retry_s=20.0)
    costs = model.Costs.uniform(MS)
    quota = model.simulate(scenario, costs, 1, variant="quota", shard_cores=1)
    preau = model.simulate(scenario, costs, 1, shard_cores=1)
    refused = sum(quota.series.wasted)
    assert refused > 1000
    assert quota.gave_up > 0
    assert preau.gave_up == 0
    assert preau.served == preau.people
