"""bench/gate_flood.py's scenarios at a tiny scale, against a real server: the people, the
floods and the bots still speak the gate's protocol, so the benchmark cannot rot. No time
is asserted: only that each scenario ran as it says and the report names them all."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
import gate_flood

TINY = gate_flood.Scale(
    duration_s=2.5,
    drain_s=4.0,
    legit_per_s=4.0,
    polite_per_s=12.0,
    polite_networks=3,
    fast_per_s=40.0,
    fast_addresses=2,
    bot_cores=2,
    hold_every_s=1.0,
)


async def test_every_scenario_runs_at_a_tiny_scale() -> None:
    iteration_s = gate_flood.iteration_seconds()
    results = {
        scenario: await gate_flood.run_scenario(scenario, TINY, iteration_s=iteration_s)
        for scenario in gate_flood.SCENARIOS
    }
    for result in results.values():
        assert result["people"] > 0
        assert 0.0 <= result["success"] <= 1.0
        assert result["timeline"], "the gate's gauges were read"
    assert results["no attack"]["attack_requests"] == 0
    for flood in ("polite flood", "fast flood"):
        assert results[flood]["attack_requests"] > 0
        assert results[flood]["attack_solves"] == 0
    bots = results["proof-of-work bots"]
    # Under attack from the start: bots and people alike solved challenges to join.
    assert bots["attack_solves"] > 0
    assert bots["legit_solves"] > 0
    assert all(sample[2] == 1.0 for sample in bots["timeline"])
    assert bots["attack_passes"] == 0 or bots["iterations_per_pass"] > 0
    table = gate_flood.report(list(results.values()), TINY, True, iteration_s)
    for scenario in gate_flood.SCENARIOS:
        assert f"| {scenario} |" in table
