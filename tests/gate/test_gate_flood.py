"""Floods through HTTP, on a clock the tests move: passes taken and dropped, tickets never
polled, many addresses of one network, the shape that turns proof of work on, its rising
cost, and waits told honestly while the room is full (issue 22)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import altcha
import httpx
import pytest
from prometheus_client import REGISTRY

from preau.adapters.clock import ManualClock
from preau.domain.admission import Lane
from preau.gate.control import read_gate_status
from preau.gate.middleware import GateMiddleware
from preau.gate.pow import ProofOfWork
from preau.ports import SharedState
from tests.gate.support import gate_on
from tests.gate.test_gate_http import SECRET, hello, settings, while_time_moves
from tests.helpers import as_served

GRACE = 2 * 0.1  # two flush intervals of the test settings


@pytest.fixture
async def make_gate(
    shared_state: SharedState, clock: ManualClock
) -> AsyncIterator[Callable[..., GateMiddleware]]:
    built: list[GateMiddleware] = []

    def make(**changes: Any) -> GateMiddleware:
        gate = gate_on(
            hello, settings=settings(**changes), secret_key=SECRET, state=shared_state, clock=clock
        )
        built.append(gate)
        return gate

    yield make
    for gate in built:
        await gate.stop()


def from_address(gate: GateMiddleware, address: str, **headers: str) -> httpx.AsyncClient:
    """A browser (or script) whose requests come from ``address``."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=as_served(gate), client=(address, 40000)),
        base_url="http://preau.test",
        headers=headers,
    )


async def arrive_once(gate: GateMiddleware, address: str, **headers: str) -> httpx.Response:
    """One request with no cookies, never followed up: the flood's way. A moment passes
    first, as between arrivals: admissions are paced at the rate (one every 1/rate)."""
    assert isinstance(gate.clock, ManualClock)
    gate.clock.advance(0.05)
    async with from_address(gate, address, **headers) as bot:
        return await bot.get("/")


async def test_passes_taken_and_dropped_free_the_room_in_seconds(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock
) -> None:
    """The issue: arrivals that each make one request and never come back held their slots
    for the whole idle timeout (5 minutes), so newcomers queued behind a room full of
    nobody. A pass that never comes back now lets its slot go after the unused timeout; one
    that does keeps it for the idle timeout."""
    gate = make_gate(capacity=5, idle_timeout_s=300.0, unused_pass_idle_s=10.0)
    async with from_address(gate, "192.0.2.10") as returning:
        assert (await returning.get("/")).status_code == 200
        for index in range(4):
            assert (await arrive_once(gate, f"198.51.{index}.7")).status_code == 200
        assert (await returning.get("/again")).text == "hello /again"  # its second request
    async with from_address(gate, "203.0.113.5", accept="application/json") as newcomer:
        assert (await newcomer.get("/api/x")).status_code == 429  # the room is full
        await gate.runtime.flush()
        figures = await read_gate_status(gate.runtime.store, gate.settings, now=clock.time())
        assert (figures.active, figures.unused) == (5, 4)
        clock.advance(10.0 + GRACE + 0.01)
        await gate.runtime.admission_round_soon()
        status = await while_time_moves(clock, newcomer.get("/gate/status?next=/api/x"))
        assert status.json() == {"admitted": True, "next": "/api/x"}
    figures = await read_gate_status(gate.runtime.store, gate.settings, now=clock.time())
    assert (figures.active, figures.unused) == (2, 1)  # the returning one, and the newcomer


@pytest.mark.parametrize("they_come_back", [False, True])
async def test_many_passes_little_use_turns_proof_of_work_on(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock, they_come_back: bool
) -> None:
    """A polite flood stays under every rate: it shows by its shape, passes handed out that
    are never used. The same arrivals going on to work are a crowd, not a flood."""
    gate = make_gate(
        capacity=1000,
        admission_rate_per_s=1000.0,
        under_attack="auto",
        attack_arrivals_per_s=10_000,
        attack_rate_limited_per_s=10_000,
        attack_unreturned_minimum=10,
        return_expected_s=2.0,
    )
    for index in range(12):
        clock.advance(0.05)
        async with from_address(gate, f"198.51.{index}.9") as visitor:
            assert (await visitor.get("/")).status_code == 200
            if they_come_back:
                assert (await visitor.get("/next")).status_code == 200
    await gate.runtime.flush()
    clock.advance(2.0 + GRACE + 0.01)
    await gate.runtime.admission_round_soon()
    assert gate.runtime.attack is not they_come_back
    page = await arrive_once(gate, "203.0.113.5")
    if they_come_back:
        assert "preau_pass" in page.cookies
    else:
        assert '<form id="gate-pow" method="post" action="/gate/join"' in page.text
        await gate.runtime.flush()  # every process learns it from the shared store
        view = await gate.runtime.store.view(now=clock.time(), pass_cutoff=0, ticket_cutoff=0)
        assert view.attack_until > clock.time()


async def test_one_network_takes_no_more_than_its_share(
    make_gate: Callable[..., GateMiddleware],
) -> None:
    """Each address under its own limit, many addresses of one /24 together still take no
    more than the network's share of tickets, and not a whole minute's share at once (6
    a minute: 3 in thirty seconds); another network is not held back."""
    gate = make_gate(capacity=100, network_share=0.0, network_minimum_per_minute=6)
    before = REGISTRY.get_sample_value("preau_gate_rate_limited_total", {"scope": "network"}) or 0.0
    codes = [(await arrive_once(gate, f"198.51.100.{host}")).status_code for host in range(1, 6)]
    assert codes == [200, 200, 200, 429, 429]
    assert (await arrive_once(gate, "198.51.101.1")).status_code == 200
    refused = await arrive_once(gate, "198.51.100.77", accept="application/json")
    assert refused.json()["type"] == "urn:preau:gate:rate-limited"
    assert refused.json()["limit"] == "network"  # the problem names the limit
    assert int(refused.headers["retry-after"]) >= 10
    after = REGISTRY.get_sample_value("preau_gate_rate_limited_total", {"scope": "network"})
    assert after == before + 3


async def test_a_ticket_never_polled_gives_up_its_place_in_seconds(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock
) -> None:
    """Tickets taken and never asked about again would sit in line for two minutes, each
    taking its turn; now they go after the unpolled timeout, and the first poll is asked
    for well within it (the cookie lives no longer than the place)."""
    gate = make_gate(capacity=1, unpolled_ticket_idle_s=20.0, ticket_idle_s=120.0)
    async with from_address(gate, "192.0.2.10") as holder:
        await holder.get("/")
        await holder.get("/again")
    api = {"accept": "application/json"}
    dropped = await arrive_once(gate, "198.51.100.1", **api)
    assert dropped.status_code == 429
    assert int(dropped.headers["retry-after"]) <= 5
    assert "Max-Age=20" in dropped.headers["set-cookie"]
    async with from_address(gate, "203.0.113.5", **api) as waiting:
        assert (await waiting.get("/api/x")).status_code == 429
        polled = await waiting.get("/gate/status?next=/api/x")
        assert "Max-Age=120" in polled.headers["set-cookie"]
        await gate.runtime.flush()
        clock.advance(20.0 + GRACE + 0.01)
        await gate.runtime.flush()
        await gate.runtime.admission_round_soon()
        assert gate.runtime.view is not None
        assert gate.runtime.view.queue.waiting == (0, 0, 1, 0)


async def test_a_full_room_never_promises_zero_seconds(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock
) -> None:
    """The issue: next in line behind a full room, told "0 s" (one person at 100/s) while
    slots only free as people leave. With nobody seen leaving, the wait is unknown."""
    gate = make_gate(capacity=1, admission_rate_per_s=100.0)
    async with from_address(gate, "192.0.2.10") as holder:
        await holder.get("/")
        await holder.get("/again")
    async with from_address(gate, "203.0.113.5", accept="application/json") as waiting:
        queued = await waiting.get("/api/x")
        assert queued.json()["estimated_wait_s"] is None
        status = (await waiting.get("/gate/status?next=/api/x")).json()
        assert status["estimated_wait_s"] is None
        assert status["texts"]["wait"] == "Attente estimée : plusieurs minutes."


async def test_proof_of_work_costs_more_while_arrivals_outrun_admissions(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock
) -> None:
    gate = make_gate(
        under_attack="on",
        admission_rate_per_s=2.0,
        pow_cost=10,
        pow_max_factor=4,
        capacity=100,
        # No join is held until its turn (the flood's tickets walk the line on credit, so
        # the first solvers' turns come soon): time moves only when the test says so.
        poll_minimum_s=0.01,
    )
    await gate.start()

    async def solved(browser: httpx.AsyncClient) -> tuple[int, str]:
        challenge = (await browser.get("/gate/challenge")).json()
        solution = altcha.solve_challenge(altcha.Challenge.from_dict(challenge))
        assert solution is not None
        payload = {"challenge": challenge, "solution": solution.to_dict()}
        return challenge["parameters"]["cost"], base64.b64encode(
            json.dumps(payload).encode()
        ).decode()

    async with (
        from_address(gate, "203.0.113.5") as early,
        from_address(gate, "203.0.114.5") as late,
    ):
        early_cost, early_proof = await solved(early)
        assert early_cost == 10
        # Arrivals that prove nothing (the flood that set the mode off) do not raise it…
        for _ in range(20):
            await gate.runtime.join(Lane.FIRST_TIME, device=None)
        clock.advance(2.0)
        await gate.runtime.flush()
        await gate.runtime.run_round()
        assert gate.runtime.pow_cost == 10
        # …those who solve do: forty in the four seconds seen, ten a second against two
        # admissions, five times over, so four times the cost (whole doublings, at most
        # pow_max_factor).
        for index in range(40):
            async with from_address(gate, f"198.51.{index}.7") as solver:
                _, proof = await solved(solver)
                await solver.post("/gate/join", data={"altcha": proof, "next": "/"})
        await gate.runtime.flush()
        clock.advance(2.0)
        await gate.runtime.run_round()
        assert gate.runtime.pow_cost == 40
        late_cost, late_proof = await solved(late)
        assert late_cost == 40
        refused = await early.post("/gate/join", data={"altcha": early_proof, "next": "/"})
        assert refused.status_code == 403
        joined = await late.post("/gate/join", data={"altcha": late_proof, "next": "/"})
        assert joined.status_code in (200, 303)
        assert "preau_ticket" in late.cookies or "preau_pass" in late.cookies


def solve(challenge: dict[str, Any]) -> str:
    solution = altcha.solve_challenge(altcha.Challenge.from_dict(challenge))
    assert solution is not None
    payload = {"challenge": challenge, "solution": solution.to_dict()}
    return base64.b64encode(json.dumps(payload).encode()).decode()


async def test_a_stock_of_cheap_solutions_is_refused_once_the_cost_rises(
    shared_state: SharedState,
) -> None:
    """One step below the cost in force is accepted only for a challenge issued just before
    the raise; solutions prepared earlier, while it was cheap, must be done again."""
    pow = ProofOfWork(SECRET, shared_state)
    rules = settings(pow_cost=10, pow_late_grace_s=30.0, pow_challenge_ttl_s=300.0)
    issued = float(int(time.time()))  # altcha also checks expiry on the system's clock
    fresh, kept, dearer = (pow.challenge(rules, now=issued, cost=10) for _ in range(3))
    assert await pow.verify(solve(fresh), rules, required_cost=20, now=issued + 20)
    assert not await pow.verify(solve(kept), rules, required_cost=20, now=issued + 31)
    assert not await pow.verify(solve(dearer), rules, required_cost=40, now=issued + 1)
    # The refused ones were not spent: at the cost in force they still count, until expiry.
    assert await pow.verify(solve(kept), rules, required_cost=10, now=issued + 31)
    assert not await pow.verify(solve(dearer), rules, required_cost=10, now=issued + 301)


async def test_a_forged_challenge_is_refused_not_a_server_error(
    make_gate: Callable[..., GateMiddleware],
) -> None:
    gate = make_gate(under_attack="on")
    async with from_address(gate, "203.0.113.5", accept="application/json") as forger:
        challenge = (await forger.get("/gate/challenge")).json()
        challenge["parameters"]["cost"] = "lots"
        payload = {"challenge": challenge, "solution": {"counter": 1, "derivedKey": "00"}}
        forged = base64.b64encode(json.dumps(payload).encode()).decode()
        answer = await forger.post("/gate/join", data={"altcha": forged})
        assert answer.status_code == 403
        assert answer.json()["type"] == "urn:preau:gate:proof-of-work-rejected"


async def test_tickets_taken_and_dropped_take_no_turn_from_those_behind(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock
) -> None:
    """The bench's polite flood: tickets taken and never polled took one admission each
    when their turn came, and the people behind waited for them. Once their first poll is
    overdue they are let through on credit, and the person behind is next."""
    gate = make_gate(
        capacity=100, admission_rate_per_s=1.0, admission_burst_s=1.0, unpolled_ticket_idle_s=6.0
    )
    api = {"accept": "application/json"}
    assert (await arrive_once(gate, "192.0.2.1", **api)).status_code == 200  # the one token
    for index in range(5):
        assert (await arrive_once(gate, f"198.51.{index}.9", **api)).status_code == 429
    async with from_address(gate, "203.0.113.5", **api) as person:
        assert (await person.get("/api/x")).status_code == 429
        assert (await person.get("/gate/status?next=/api/x")).json()["admitted"] is False
        await gate.runtime.flush()
        clock.advance(3.5)  # the flood's first polls are overdue; one token earned
        await gate.runtime.admission_round_soon()
        status = await while_time_moves(clock, person.get("/gate/status?next=/api/x"))
        assert status.json() == {"admitted": True, "next": "/api/x"}
        assert (await person.get("/api/x")).status_code == 200
    await gate.runtime.flush()
    assert gate.runtime.view is not None
    # Five on credit (never claimed), the first arrival, the person: all in the room for now.
    assert gate.runtime.view.queue.admitted == (0, 0, 2, 0)


async def test_a_polite_flood_shows_within_seconds_of_its_first_tickets(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock
) -> None:
    """Tickets never polled count as a flood's once their first poll was due and reported
    (2.5 s with the defaults), not after the 9 s that passes need: the polite flood of the
    bench went unseen for 11 s and the line it left behind outlasted it."""
    gate = make_gate(
        capacity=1000,
        admission_rate_per_s=1.0,
        under_attack="auto",
        attack_arrivals_per_s=10_000,
        attack_rate_limited_per_s=10_000,
        attack_unreturned_minimum=10,
        flush_interval_s=2.0,
    )
    api = {"accept": "application/json"}
    for index in range(12):
        await arrive_once(gate, f"198.51.{index}.9", **api)
    clock.advance(gate.settings.first_poll_due_s + 1.0 + 0.01)
    await gate.runtime.admission_round_soon()
    assert gate.runtime.attack
    assert (
        (await arrive_once(gate, "203.0.113.5", **api))
        .json()["type"]
        .endswith("proof-of-work-required")
    )


async def test_people_polling_once_are_no_flood_and_their_first_poll_is_asked_for_in_a_second(
    make_gate: Callable[..., GateMiddleware], clock: ManualClock
) -> None:
    """The same arrivals polling once, as asked (within a second), are reported at the next
    round, long before the two-second flush, and are a crowd, not a flood."""
    gate = make_gate(
        capacity=1000,
        admission_rate_per_s=0.001,
        under_attack="auto",
        attack_arrivals_per_s=10_000,
        attack_rate_limited_per_s=10_000,
        attack_unreturned_minimum=10,
        flush_interval_s=2.0,
    )
    await gate.start()
    api = {"accept": "application/json"}
    people = [from_address(gate, f"198.51.{index}.9", **api) for index in range(12)]
    try:
        waiting = []
        for person in people:
            clock.advance(0.05)
            first = await person.get("/api/x")
            if first.status_code == 429:  # all but the first, let in on the one token
                assert first.headers["retry-after"] == "1"
                waiting.append(person)
        assert len(waiting) == 11
        clock.advance(0.5)
        for person in waiting:
            await while_time_moves(clock, person.get("/gate/status?next=/api/x"))
        await gate.runtime.admission_round_soon()  # reported at the next round
        assert gate.runtime.view is not None
        assert gate.runtime.view.returns.returned == 11
        clock.advance(gate.settings.first_poll_due_s + 1.0 + 0.01)
        await gate.runtime.admission_round_soon()
        assert gate.runtime.view.returns.unreturned == 0
        assert not gate.runtime.attack
    finally:
        for person in people:
            await person.aclose()


@pytest.mark.parametrize(
    ("young_lead_s", "flood_admitted", "flood_paid", "person_waits"),
    [(10.0, 12, 12, (3.0, 4.0)), (0.25, 3, 6, (1.5, 2.5))],
)
async def test_a_rush_start_keeps_the_saved_budget_from_a_floods_first_tickets(
    make_gate: Callable[..., GateMiddleware],
    clock: ManualClock,
    *,
    young_lead_s: float,
    flood_admitted: int,
    flood_paid: int,
    person_waits: tuple[float, float],
) -> None:
    """At a rush's start the line is short, and every ticket in it too young to have been
    polled: the budget saved while the site was quiet (18 admissions here) went to whoever
    came first, 4 in 5 of them a flood's in the bench (59 admissions paid for its tickets
    in its first second), and the people behind waited for their turns in the paced stream.
    A ticket not polled yet is now let in only to keep the admissions going
    (``young_lead_s`` of them scheduled ahead): the flood's twelve arrivals take 3
    admissions in their 0.6 s, at the rate (3/s), and 6 in all, instead of 12; the person
    behind them, polling, comes in once their first polls are overdue (after 2.1 s), not
    after their 12 turns (3.5 s). ``young_lead_s`` 10 (past the burst): young tickets are
    admitted as any."""
    gate = make_gate(
        capacity=100,
        admission_rate_per_s=3.0,
        admission_burst_s=6.0,
        young_lead_s=young_lead_s,
        unpolled_ticket_idle_s=6.0,
    )
    api = {"accept": "application/json"}
    for index in range(12):  # 0.6 s of a flood's arrivals, never followed up
        await arrive_once(gate, f"198.51.{index}.9", **api)
    assert gate.runtime.view is not None
    assert gate.runtime.view.queue.admitted == (0, 0, flood_admitted, 0)
    async with from_address(gate, "203.0.113.5", **api) as person:
        joined_at = clock.time()
        assert (await person.get("/api/x")).status_code == 429
        while True:  # the person polls every half second, and the rounds follow
            clock.advance(0.5)
            status = await while_time_moves(clock, person.get("/gate/status?next=/api/x"))
            if status.json()["admitted"]:
                break
            await gate.runtime.flush()
            await gate.runtime.admission_round_soon()
        waited = clock.time() - joined_at
    assert person_waits[0] <= waited <= person_waits[1]
    await gate.runtime.flush()
    view = gate.runtime.view
    # The flood's other tickets went through on credit (nothing paid); the person paid.
    assert view.queue.admitted == (0, 0, flood_paid + 1, 0)
    assert view.queue.serving == (0, 0, 13, 0)
