"""The proof of work priced per network (issue 22): a network whose cores solve challenge
after challenge pays each next one dearer, so a few networks of bots cannot buy more than a
few places ahead of a newcomer from elsewhere, however much work they spend; a challenge is
bound to the network it was priced for; a known device is not surcharged. On memory and on
Redis (the ``shared_state`` fixture)."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import altcha
import httpx
import pytest

from preau.adapters.clock import ManualClock
from preau.domain.admission import network_proof_factor, priced_networks
from preau.gate.middleware import GateMiddleware
from tests.gate.test_gate_flood import from_address, make_gate
from tests.gate.test_gate_http import device_cookie, while_time_moves

__all__ = ["make_gate"]  # the fixture, shared with the flood tests

PRICED = {
    "under_attack": "on",
    "pow_cost": 10,
    "pow_network_free": 2,
    "pow_network_growth": 2,
    "pow_network_max_factor": 64,
    "poll_minimum_s": 0.01,  # no answer held for its turn: time moves only when told
    # The price alone: fairness in line (test_network_fairness.py) would also keep the
    # unpriced bots' tickets from standing ahead of the newcomer.
    "network_fair_places": 0,
}


@pytest.mark.parametrize(
    ("fetched", "factor"),
    [(0, 1), (1, 1), (2, 2), (3, 4), (4, 8), (7, 64), (8, 64), (100, 64)],
)
def test_a_network_pays_more_for_each_challenge_beyond_its_free_ones(
    fetched: int, factor: int
) -> None:
    assert network_proof_factor(fetched, free=2, growth=2, maximum_factor=64) == factor


def test_no_growth_or_no_room_means_no_surcharge() -> None:
    assert network_proof_factor(50, free=0, growth=1, maximum_factor=64) == 1
    assert network_proof_factor(50, free=0, growth=2, maximum_factor=1) == 1
    # A factor that would overshoot the maximum stays at the last whole step.
    assert network_proof_factor(50, free=0, growth=4, maximum_factor=32) == 16


def test_addresses_count_for_their_network_and_ipv6_for_its_site_too() -> None:
    assert priced_networks("203.0.113.77") == [("203.0.113.0/24", 1)]
    assert priced_networks("::ffff:203.0.113.77") == [("203.0.113.0/24", 1)]
    assert priced_networks("2001:db8:7:42::1") == [
        ("2001:db8:7:42::/64", 1),
        ("2001:db8:7::/48", 16),
    ]
    assert priced_networks("unknown") == [("unknown", 1)]


async def challenge_from(browser: httpx.AsyncClient) -> dict[str, Any]:
    answer = await browser.get("/gate/challenge", headers={"accept": "application/json"})
    assert answer.status_code == 200
    challenge: dict[str, Any] = answer.json()
    return challenge


def solved(challenge: dict[str, Any]) -> str:
    solution = altcha.solve_challenge(altcha.Challenge.from_dict(challenge))
    assert solution is not None
    payload = {"challenge": challenge, "solution": solution.to_dict()}
    return base64.b64encode(json.dumps(payload).encode()).decode()


async def join(browser: httpx.AsyncClient, proof: str, clock: ManualClock) -> httpx.Response:
    """Join with ``proof``; time moves while the answer is held for its turn."""
    return await while_time_moves(
        clock,
        browser.post(
            "/gate/join",
            data={"altcha": proof, "next": "/"},
            headers={"accept": "application/json"},
        ),
    )


async def test_a_network_that_keeps_fetching_pays_more_and_the_others_do_not(
    make_gate: Callable[..., GateMiddleware],
) -> None:
    gate = make_gate(**PRICED)
    costs = []
    for host in range(6):
        async with from_address(gate, f"203.0.113.{host + 1}") as bot:
            costs.append((await challenge_from(bot))["parameters"]["cost"])
    assert costs == [10, 10, 20, 40, 80, 160]
    async with from_address(gate, "198.51.100.9") as newcomer:
        assert (await challenge_from(newcomer))["parameters"]["cost"] == 10
    # IPv6: every /64 of one site (/48) is a network, and the site has 16 times the room.
    site_costs = []
    for subnet in range(34):
        async with from_address(gate, f"2001:db8:7:{subnet:x}::1") as bot:
            site_costs.append((await challenge_from(bot))["parameters"]["cost"])
    assert site_costs[:32] == [10] * 32
    assert site_costs[32:] == [20, 40]


async def test_a_challenge_is_good_only_for_the_network_or_device_it_was_priced_for(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock
) -> None:
    gate = make_gate(**PRICED)
    await gate.start()
    async with (
        from_address(gate, "198.51.100.9") as cheap,
        from_address(gate, "203.0.113.9") as flooded,
    ):
        proof = solved(await challenge_from(cheap))
        refused = await join(flooded, proof, clock)
        assert refused.status_code == 403
        assert refused.json()["type"] == "urn:preau:gate:proof-of-work-rejected"
        # Refused without being spent: from its own network it still buys a ticket.
        assert (await join(cheap, proof, clock)).status_code == 200
    # A known device (it signed in once) is not surcharged, even from a flooded network;
    # its challenge is bound to the device instead, wherever it moves meanwhile.
    for host in range(8):
        async with from_address(gate, f"203.0.113.{host + 20}") as bot:
            await challenge_from(bot)
    async with from_address(gate, "203.0.113.50") as pupil:
        pupil.cookies.set("preau_device", device_cookie("pupil"), domain="preau.test")
        challenge = await challenge_from(pupil)
        assert challenge["parameters"]["cost"] == 10
        proof = solved(challenge)
    async with from_address(gate, "192.0.2.50") as stranger:
        assert (await join(stranger, proof, clock)).status_code == 403
    async with from_address(gate, "192.0.2.50") as moved:
        moved.cookies.set("preau_device", device_cookie("pupil"), domain="preau.test")
        assert (await join(moved, proof, clock)).status_code == 200


@pytest.mark.parametrize("priced", [True, False])
async def test_networks_of_bots_cannot_buy_more_than_a_few_places_ahead_of_a_newcomer(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock, priced: bool
) -> None:
    """Two networks each spend the work of 64 challenges at the base price, solving and
    joining one after another from ever new addresses. Priced per network, each gets its
    two free places and one per doubling (7 in all); unpriced (the control), 64 each. The
    newcomer from a third network finds only the bots' few tickets ahead of it."""
    gate = make_gate(
        **PRICED | ({} if priced else {"pow_network_max_factor": 1}),
        capacity=1,
        admission_rate_per_s=1.0,
    )
    await gate.start()
    budget = 64 * 10  # PBKDF2 iterations per attempt, summed over the challenges solved
    tickets = {}
    for network in ("203.0.113", "203.0.114"):
        spent = host = 0
        tickets[network] = 0
        while True:
            host += 1
            async with from_address(gate, f"{network}.{host}") as bot:
                challenge = await challenge_from(bot)
                cost = challenge["parameters"]["cost"]
                if spent + cost > budget:
                    break
                spent += cost
                assert (await join(bot, solved(challenge), clock)).status_code == 200
                tickets[network] += 1
            clock.advance(0.01)
    expected = 7 if priced else 64
    assert tickets == {"203.0.113": expected, "203.0.114": expected}
    async with from_address(gate, "198.51.100.9") as newcomer:
        joined = await join(newcomer, solved(await challenge_from(newcomer)), clock)
        assert joined.status_code == 200
        ahead = joined.json()["ahead"]
        # Capacity 1: one bot is inside, the others wait before the newcomer.
        if priced:
            assert ahead <= 2 * expected
        else:
            assert ahead >= 2 * expected - 2
