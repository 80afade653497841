"""Fairness between networks in line (issue 22): a network's burst of tickets cannot hold
the places ahead of newcomers from other networks. Past its fair share of a long line, a
network's first-time arrivals wait in the deferred lane; a short line, a network holding
a few places and known devices are not touched. On memory and on Redis (``shared_state``)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from preau.domain.admission import Lane, LaneShares, fair_lane, split_admissions
from preau.gate.middleware import GateMiddleware
from tests.gate.test_gate_flood import arrive_once, from_address, make_gate
from tests.gate.test_gate_http import device_cookie

__all__ = ["make_gate"]  # the fixture, shared with the flood tests

RULE = {"places": 4, "line_minimum": 40}


@pytest.mark.parametrize(
    ("lane", "network_places", "line", "joins"),
    [
        (Lane.FIRST_TIME, 3, 500, Lane.FIRST_TIME),  # a few places held: not touched
        (Lane.FIRST_TIME, 4, 39, Lane.FIRST_TIME),  # a short line: not touched
        (Lane.FIRST_TIME, 4, 40, Lane.DEFERRED),
        (Lane.FIRST_TIME, 300, 500, Lane.DEFERRED),
        (Lane.KNOWN, 300, 500, Lane.KNOWN),  # known devices (a school's pupils): exempt
        (Lane.PRIORITY, 300, 500, Lane.PRIORITY),
    ],
)
def test_a_network_past_its_places_in_a_long_line_is_deferred(
    lane: Lane, network_places: int, line: int, joins: Lane
) -> None:
    assert fair_lane(lane, network_places=network_places, line=line, **RULE) == joins


def test_no_places_means_no_fairness() -> None:
    assert fair_lane(Lane.FIRST_TIME, network_places=300, line=500, places=0, line_minimum=0) == (
        Lane.FIRST_TIME
    )


def test_the_deferred_lane_gets_its_share_and_whatever_the_first_time_line_leaves() -> None:
    weights = LaneShares().weights()
    assert weights[Lane.DEFERRED] == pytest.approx(0.1 * weights[Lane.FIRST_TIME] / 0.9)
    busy, _ = split_admissions(100, (0, 0, 1000, 1000), weights, (0.0,) * 4)
    assert busy == (0, 0, 90, 10)
    leaves, _ = split_admissions(100, (0, 0, 5, 1000), weights, (0.0,) * 4)
    assert leaves == (0, 0, 5, 95)


@pytest.mark.parametrize("fair", [True, False])
async def test_a_burst_of_two_networks_does_not_stand_ahead_of_a_newcomer(
    make_gate: Callable[..., GateMiddleware], fair: bool
) -> None:
    """Two networks take 30 tickets each, from ever new addresses, each under every limit;
    the room is full, so nobody moves. With fairness each holds its places (2) of the
    first-time line and the rest wait behind, deferred: the newcomer from a third network
    finds 4 ahead of it. Without (the control), all 60."""
    places = 2  # off by default (docs/admission.md): switched on here
    gate = make_gate(capacity=1, admission_rate_per_s=1.0, network_fair_places=places * fair)
    async with from_address(gate, "192.0.2.10") as holder:
        await holder.get("/")
        await holder.get("/again")
    api = {"accept": "application/json"}
    for network in ("203.0.113", "203.0.114"):
        for host in range(1, 31):
            answer = await arrive_once(gate, f"{network}.{host}", **api)
            assert answer.json()["type"] == "urn:preau:gate:queued"
    async with from_address(gate, "198.51.100.9", **api) as newcomer:
        queued = (await newcomer.get("/api/x")).json()
    if fair:
        assert queued["ahead"] == 2 * places
        # The room is full: no short wait is promised, in either lane.
        assert queued["estimated_wait_s"] is None
        deferred = (await arrive_once(gate, "203.0.113.200", **api)).json()
        assert deferred["ahead"] == 2 * (30 - places)
        assert deferred["estimated_wait_s"] is None
        # A pupil's device, known from an earlier sign-in, behind the same network: exempt.
        async with from_address(gate, "203.0.113.77", **api) as pupil:
            pupil.cookies.set("preau_device", device_cookie("pupil"), domain="preau.test")
            assert (await pupil.get("/api/x")).json()["ahead"] == 0
    else:
        assert queued["ahead"] == 60
    assert gate.runtime.view is not None
    deferred_count = 2 * (30 - places) + 1 if fair else 0
    assert gate.runtime.view.queue.waiting[Lane.DEFERRED] == deferred_count
