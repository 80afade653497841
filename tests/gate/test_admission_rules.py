"""The pure admission rules: order, fairness between lanes, pacing, shedding choices, and
what tells a flood from a crowd."""

from __future__ import annotations

import functools
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from preau.domain.admission import (
    AdmissionPlan,
    AttackThresholds,
    Criticality,
    Health,
    Lane,
    LaneShares,
    PreQueue,
    QueueSnapshot,
    ReturnCounts,
    adjust_concurrency_limit,
    adjust_rate,
    attack_detected,
    candidates_after,
    codel_wait_budget,
    criticality_for,
    door_slot,
    estimated_wait,
    first_poll_interval,
    flood_shaped,
    front_rate,
    full_jitter,
    honest_wait,
    judge_health,
    lane_for_profile,
    network_arrivals_per_minute,
    network_of,
    paced_until,
    people_ahead,
    plan_admissions,
    poll_interval,
    position_of_ticket,
    proof_cost_accepted,
    proof_of_work_cost,
    release_spacing,
    release_time,
    shuffle_index,
    split_admissions,
    ticket_at_position,
    under_attack,
    victim_to_shed,
    young_limited,
    young_to_keep_going,
)
from preau.gate.settings import GateSettings, GateSettingsError


def test_lanes_follow_profiles() -> None:
    assert lane_for_profile("teacher") is Lane.PRIORITY
    assert lane_for_profile("admin") is Lane.PRIORITY
    assert lane_for_profile("pupil") is Lane.KNOWN
    assert lane_for_profile("parent") is Lane.KNOWN
    assert lane_for_profile(None) is Lane.FIRST_TIME
    assert lane_for_profile("hacker") is Lane.FIRST_TIME
    assert criticality_for(Lane.FIRST_TIME, signed_in=True) is Criticality.ADMITTED_SESSION
    assert criticality_for(Lane.FIRST_TIME, signed_in=False) is Criticality.FIRST_TIME
    assert criticality_for(Lane.PRIORITY, signed_in=False) is Criticality.PRIORITY


@given(size=st.integers(1, 3000), seed=st.text(min_size=1, max_size=8))
@settings(max_examples=60, deadline=None)
def test_shuffle_is_a_permutation_with_an_inverse(size: int, seed: str) -> None:
    image = [shuffle_index(i, size, seed) for i in range(size)]
    assert sorted(image) == list(range(size))
    assert [shuffle_index(j, size, seed, inverse=True) for j in image] == list(range(size))


def test_shuffle_depends_on_the_seed() -> None:
    first = [shuffle_index(i, 50, "a") for i in range(50)]
    second = [shuffle_index(i, 50, "b") for i in range(50)]
    assert first != second
    assert first != list(range(50))


@given(
    first=st.integers(0, 50),
    size=st.integers(1, 200),
    extra=st.integers(0, 50),
    seed=st.text(min_size=1, max_size=4),
)
@settings(max_examples=80, deadline=None)
def test_fifo_after_the_pre_queue(first: int, size: int, extra: int, seed: str) -> None:
    pre_queue = PreQueue(first, first + size, seed)
    issued = first + size + extra
    positions = [position_of_ticket(n, pre_queue) for n in range(1, issued + 1)]
    # Every position is taken exactly once.
    assert sorted(positions) == list(range(1, issued + 1))
    # Tickets taken before the pre-queue, and after opening, keep their arrival order.
    assert positions[:first] == list(range(1, first + 1))
    assert positions[first + size :] == list(range(first + size + 1, issued + 1))
    for n in range(1, issued + 1):
        assert ticket_at_position(position_of_ticket(n, pre_queue), pre_queue) == n


@given(
    waiting=st.lists(st.integers(0, 40), min_size=3, max_size=3),
    slots=st.integers(0, 60),
    credits=st.lists(st.floats(-1, 1), min_size=3, max_size=3),
    shares=st.tuples(st.floats(0.01, 0.6), st.floats(0.01, 0.39)),
)
def test_split_hands_out_exactly_what_it_can(
    waiting: list[int], slots: int, credits: list[float], shares: tuple[float, float]
) -> None:
    weights = LaneShares(*shares).weights()
    grants, carried = split_admissions(slots, waiting, weights, credits)
    assert sum(grants) == min(slots, sum(waiting))
    assert all(0 <= g <= w for g, w in zip(grants, waiting, strict=True))
    assert all(-1 <= c <= 1 for c in carried)


@given(
    rounds=st.lists(st.integers(1, 5), min_size=50, max_size=200),
    shares=st.tuples(st.floats(0.05, 0.6), st.floats(0.05, 0.35)),
)
def test_no_lane_starves(rounds: list[int], shares: tuple[float, float]) -> None:
    """With every lane always busy, each gets its share give or take a couple of slots."""
    weights = LaneShares(*shares).weights()
    credits: tuple[float, ...] = (0.0, 0.0, 0.0, 0.0)
    totals = [0, 0, 0, 0]
    for slots in rounds:
        grants, credits = split_admissions(slots, (10**6,) * 4, weights, credits)
        totals = [t + g for t, g in zip(totals, grants, strict=True)]
    given_out = sum(rounds)
    for lane in range(4):
        assert abs(totals[lane] - weights[lane] * given_out) <= 2.5
        if weights[lane] * given_out >= 3:
            assert totals[lane] > 0


def test_unused_share_goes_to_the_others() -> None:
    grants, _ = split_admissions(10, (0, 3, 100), (0.5, 0.3, 0.2), (0.0, 0.0, 0.0))
    assert grants == (0, 3, 7)


def snapshot(**changes: object) -> QueueSnapshot:
    values: dict[str, object] = {
        "version": 1,
        "active": 0,
        "issued": (0, 0, 0, 0),
        "serving": (0, 0, 0, 0),
        "waiting": (0, 0, 0, 0),
        "admitted": (0, 0, 0, 0),
        "tokens": 0.0,
        "tokens_at": 0.0,
        "credits": (0.0, 0.0, 0.0, 0.0),
        "pre_queues": (None, None, None, None),
        "sealed_for": 0.0,
        "rate": 0.0,
    }
    values.update(changes)
    return QueueSnapshot(**values)  # type: ignore[arg-type]  # defaults and overrides, mixed types


def plan(state: QueueSnapshot, **changes: object) -> AdmissionPlan:
    arguments: dict[str, object] = {
        "now": 100.0,
        "capacity": 10,
        "rate": 5.0,
        "burst": 5.0,
        "shares": LaneShares(),
        "opening_at": None,
        "seed": "s",
    }
    arguments.update(changes)
    return plan_admissions(state, **arguments)  # type: ignore[arg-type]  # mixed-type keywords


def test_plan_respects_capacity_and_rate() -> None:
    busy = snapshot(waiting=(0, 50, 0, 0), issued=(0, 50, 0, 0), tokens_at=99.0)
    assert plan(busy).grants == (0, 5, 0, 0)
    assert plan(busy, capacity=3).grants == (0, 3, 0, 0)
    assert plan(snapshot(waiting=(0, 50, 0, 0), active=10)).grants == (0, 0, 0, 0)
    # Half a second at 5/s buys two admissions (and a half saved for later).
    half = plan(busy, now=99.5)
    assert half.grants == (0, 2, 0, 0)
    assert half.tokens == 2.5


def test_credit_goes_only_to_the_room_left_and_only_when_asked() -> None:
    busy = snapshot(waiting=(0, 50, 0, 0), issued=(0, 50, 0, 0), tokens_at=99.0, active=2)
    assert (plan(busy).room, plan(busy).credit_before) == (0, 0.0)
    credit = plan(busy, credit_before=97.0)
    assert (credit.grants, credit.room, credit.credit_before) == ((0, 5, 0, 0), 3, 97.0)
    # A negative budget (claims paid after the round) admits nobody until it is earned back.
    owing = snapshot(waiting=(0, 50, 0, 0), issued=(0, 50, 0, 0), tokens=-3.0, tokens_at=99.0)
    assert plan(owing).grants == (0, 2, 0, 0)


def test_newcomers_not_polled_yet_only_keep_the_admissions_going() -> None:
    """A young ticket is admitted only to bring what is scheduled ahead up to
    ``young_lead_s`` of the rate (5/s here); at least one when nothing is ahead."""
    busy = snapshot(waiting=(0, 0, 50, 0), issued=(0, 0, 50, 0), tokens_at=90.0)
    assert plan(busy).young is None
    assert plan(busy, young_lead_s=0.25).young == 2  # nothing ahead: 1.25 admissions
    ahead = snapshot(waiting=(0, 0, 50, 0), issued=(0, 0, 50, 0), paced_until=100.1)
    assert plan(ahead, young_lead_s=0.25).young == 1
    enough = snapshot(waiting=(0, 0, 50, 0), issued=(0, 0, 50, 0), paced_until=100.25)
    assert plan(enough, young_lead_s=0.25).young == 0
    assert young_to_keep_going(0.0, now=100.0, rate=0.1, lead_s=0.25) == 1
    assert young_to_keep_going(0.0, now=100.0, rate=0.0, lead_s=0.25) == 0
    assert [young_limited(lane) for lane in Lane] == [False, False, True, True]
    with pytest.raises(GateSettingsError, match="YOUNG_LEAD_S"):
        GateSettings(young_lead_s=0.0).check()


def test_nobody_is_admitted_before_opening_and_the_draw_comes_first() -> None:
    busy = snapshot(waiting=(0, 50, 0, 0), issued=(0, 50, 0, 0), tokens=5.0, tokens_at=100.0)
    early = plan(busy, opening_at=200.0)
    assert early.grants == (0, 0, 0, 0)
    assert early.seal is None
    opening = plan(busy, now=200.0, opening_at=200.0, seed="x")
    assert opening.grants == (0, 0, 0, 0)
    assert opening.seal is not None
    assert opening.seal.seed == "x"
    sealed = snapshot(
        waiting=(0, 50, 0, 0), issued=(0, 50, 0, 0), sealed_for=200.0, tokens=5.0, tokens_at=200.0
    )
    assert plan(sealed, now=200.0, opening_at=200.0).grants == (0, 5, 0, 0)


@given(
    served_per_round=st.lists(st.integers(0, 7), min_size=1, max_size=30),
    size=st.integers(1, 120),
    seed=st.text(min_size=1, max_size=4),
)
def test_no_ticket_is_admitted_twice(served_per_round: list[int], size: int, seed: str) -> None:
    """Walking the serving counter with candidates never offers a ticket twice."""
    pre_queue = PreQueue(0, size // 2, seed) if size > 1 else None
    serving = 0
    offered: list[int] = []
    for grants in served_per_round:
        candidates = candidates_after(serving, size, pre_queue, grants)
        offered.extend(number for _, number in candidates)
        if candidates:
            serving = candidates[-1][0]
    assert len(offered) == len(set(offered))
    assert serving == min(size, sum(served_per_round))


def test_a_round_starts_where_the_last_schedule_ends() -> None:
    busy = snapshot(waiting=(0, 50, 0, 0), issued=(0, 50, 0, 0), tokens_at=99.0)
    assert plan(busy).release_start == 100.0
    assert plan(snapshot(waiting=(0, 50, 0, 0), paced_until=100.4)).release_start == 100.4


@given(
    rounds=st.lists(
        st.tuples(st.floats(0.0, 2.0), st.integers(0, 12), st.booleans()),
        min_size=1,
        max_size=20,
    ),
    rate=st.floats(0.5, 500.0),
)
def test_paced_admissions_come_in_order_one_every_1_over_rate(
    rounds: list[tuple[float, int, bool]], rate: float
) -> None:
    """However rounds are timed and sized, the people admitted come in in queue order, no
    sooner than the round that admitted them and one every 1/rate; an abandoned ticket
    among them only takes its share of the round's time."""
    now, until, serving = 0.0, 0.0, 0
    released: list[tuple[float, float]] = []  # release time, time of the admitting round
    for pause, granted, with_abandoned in rounds:
        now += pause
        if not granted:
            continue
        start = max(now, until)
        walked = granted + (1 if with_abandoned else 0)
        spacing = release_spacing(granted, walked, rate)
        times = [
            release_time(p, release_from=serving, release_at=start, spacing=spacing)
            for p in range(serving + 1, serving + walked + 1)
        ]
        if with_abandoned:
            times.pop(len(times) // 2)
        released.extend((at, now) for at in times)
        serving += walked
        until = paced_until(start, granted, rate)
        # The schedule ends one spacing after the last position walked.
        assert abs(until - (start + walked * spacing)) < 1e-6 * max(1.0, until)
    times = [at for at, _ in released] or [0.0]
    assert all(at >= admitted_at - 1e-9 for at, admitted_at in released)
    assert times == sorted(times)
    # Never more than the rate allows, give or take one person (a bucket of one).
    slack = 1e-6 * max(1.0, times[-1]) * rate
    for i, j in itertools.combinations(range(len(times)), 2):
        assert j - i <= rate * (times[j] - times[i]) + 1 + slack
    if not any(with_abandoned for _, _, with_abandoned in rounds):
        assert all(b - a >= 1 / rate - slack / rate for a, b in itertools.pairwise(times))


def test_a_round_is_spread_over_the_time_it_earned() -> None:
    # Four admissions at 8/s take half a second: one every 1/8 s, the first at once.
    spacing = release_spacing(4, 4, 8.0)
    assert spacing == 0.125
    assert [
        release_time(p, release_from=10, release_at=50.0, spacing=spacing) for p in (11, 14)
    ] == [
        50.0,
        50.375,
    ]
    assert paced_until(50.0, 4, 8.0) == 50.5
    # Two abandoned tickets among six positions walked: positions are closer together.
    assert release_spacing(4, 6, 8.0) == 0.5 / 6
    assert release_spacing(0, 0, 8.0) == 0.0
    assert paced_until(50.0, 0, 8.0) == 50.0


@settings(max_examples=200, deadline=None)
@given(
    arrivals=st.lists(st.floats(0.0, 3.0), min_size=1, max_size=30),
    rate=st.floats(0.5, 200.0),
    hold=st.floats(0.0, 3.0),
)
def test_the_door_lets_people_in_at_the_rate_holding_nobody_past_the_hold(
    arrivals: list[float], rate: float, hold: float
) -> None:
    """However people reach the door, they come in in the order they reached it, never
    before they reached it nor more than ``hold`` after, and one every 1/rate unless the
    hold ran out (a schedule running late lets people in as they come)."""
    now, free_at = 0.0, 0.0
    slots: list[tuple[float, float]] = []
    for gap in arrivals:
        now += gap
        slot, later = door_slot(now, free_at, rate, hold)
        assert now - 1e-9 <= slot <= now + hold + 1e-9
        assert later == pytest.approx(slot + 1 / rate)
        if slot < now + hold - 1e-9:  # not cut short by the hold: the door's own pace
            assert slot == pytest.approx(max(now, free_at))
        slots.append((now, slot))
        free_at = later
    times = [slot for _, slot in slots]
    assert times == sorted(times)


def test_the_door_spaces_a_clump_and_lets_in_at_once_when_free() -> None:
    # Three people at the same instant, at 10 a second: in at 0, 0.1 and 0.2 s.
    free_at = 0.0
    slots = []
    for _ in range(3):
        slot, free_at = door_slot(5.0, free_at, 10.0, hold_s=1.0)
        slots.append(slot)
    assert slots == pytest.approx([5.0, 5.1, 5.2])
    # Someone coming later than the door's pace comes in at once.
    assert door_slot(9.0, free_at, 10.0, hold_s=1.0) == pytest.approx((9.0, 9.1))
    # No rate (nothing admitted yet): nobody is held, the door keeps its time.
    assert door_slot(9.0, 12.0, 0.0, hold_s=1.0) == (9.0, 12.0)
    # A schedule running late by more than the hold: held the hold, not longer.
    assert door_slot(9.0, 20.0, 10.0, hold_s=1.0) == pytest.approx((10.0, 10.1))
    # A door slower than the rate would let fewer in than are admitted: refused.
    with pytest.raises(GateSettingsError, match="DOOR_RATE_FACTOR"):
        GateSettings(door_rate_factor=0.8).check()


def test_what_a_waiting_person_is_told() -> None:
    assert people_ahead(10, 4, 6, 10) == 5
    # Half the unserved tickets were abandoned: half as many people ahead.
    assert people_ahead(10, 0, 5, 10) == 4
    assert people_ahead(3, 5, 0, 10) == 0
    assert estimated_wait(10, 2.0) == 5.0
    assert estimated_wait(10, 0.0) is None
    assert estimated_wait(0, 0.0) == 0.0
    assert poll_interval(4.0) == 2.0
    assert poll_interval(80.0) == 20.0
    assert poll_interval(10_000.0) == 30.0
    assert poll_interval(None) == 15.0
    assert full_jitter(10.0, 0.0) == 1.0
    assert full_jitter(10.0, 1.0) == 10.0


def test_aimd() -> None:
    assert adjust_rate(10, True, minimum=1, maximum=20, increase=2) == 12
    assert adjust_rate(10, False, minimum=1, maximum=20, increase=2) == 9
    assert adjust_rate(19.5, True, minimum=1, maximum=20, increase=2) == 20
    assert adjust_rate(1.05, False, minimum=1, maximum=20, increase=2) == 1
    assert adjust_rate(10, None, minimum=1, maximum=20, increase=2) == 10
    fast = adjust_concurrency_limit(
        10, latency=0.01, latency_target=0.1, in_flight=8, minimum=2, maximum=20
    )
    slow = adjust_concurrency_limit(
        10, latency=0.5, latency_target=0.1, in_flight=8, minimum=2, maximum=20
    )
    idle = adjust_concurrency_limit(
        10, latency=0.01, latency_target=0.1, in_flight=1, minimum=2, maximum=20
    )
    assert slow < idle == 10 < fast


def test_a_late_event_loop_is_unhealthy_only_if_the_worker_kept_the_cpu() -> None:
    judge = functools.partial(
        judge_health, error_ratio_limit=0.05, slow_ratio_limit=0.1, minimum_requests=20
    )
    saturated = Health(40, 0, 0, loop_lag_s=0.2, cpu_share=0.95)
    assert judge(saturated, loop_lag_limit=0.05) is False
    assert judge(saturated, loop_lag_limit=0.5) is True
    # Late while hardly running: other processes have the CPU; fewer admissions won't help.
    starved = Health(40, 0, 0, loop_lag_s=0.2, cpu_share=0.2)
    assert judge(starved, loop_lag_limit=0.05) is True
    assert judge(Health(3, 0, 0, loop_lag_s=0.2, cpu_share=0.2)) is None


def test_codel_and_shedding_order() -> None:
    assert codel_wait_budget(10.0, 9.95) == 0.1
    assert codel_wait_budget(10.0, 9.8) == 0.005
    waiting = [Criticality.KNOWN, Criticality.FIRST_TIME, Criticality.FIRST_TIME]
    assert victim_to_shed(waiting, Criticality.PRIORITY) == 2
    assert victim_to_shed(waiting, Criticality.FIRST_TIME) is None
    assert victim_to_shed([], Criticality.PRIORITY) is None


def test_under_attack() -> None:
    thresholds = AttackThresholds(arrivals_per_s=100, rate_limited_per_s=10)
    assert attack_detected(150, 0, thresholds)
    assert attack_detected(0, 11, thresholds)
    assert not attack_detected(50, 5, thresholds)
    assert under_attack("on", attack_until=0, now=5)
    assert not under_attack("off", attack_until=10, now=5)
    assert under_attack("auto", attack_until=10, now=5)
    assert not under_attack("auto", attack_until=10, now=15)


def test_unused_passes_hold_slots_against_capacity() -> None:
    """Admitted but not yet back, a pass still holds its slot: the room never takes more
    than its capacity while people are on their way in."""
    waiting = snapshot(waiting=(0, 50, 0, 0), issued=(0, 50, 0, 0), tokens_at=99.0)
    assert plan(waiting, capacity=10).grants == (0, 5, 0, 0)
    on_their_way = snapshot(
        waiting=(0, 50, 0, 0), issued=(0, 50, 0, 0), tokens_at=99.0, active=8, unused=8
    )
    assert plan(on_their_way, capacity=10).grants == (0, 2, 0, 0)


# --- A flood that never comes back --------------------------------------------------------


FLOOD = AttackThresholds(
    arrivals_per_s=500,
    rate_limited_per_s=50,
    unreturned_minimum=100,
    unreturned_share=0.5,
    unreturned_capacity_share=0.25,
)


def test_a_polite_flood_has_the_shape_of_one() -> None:
    # The flood: arrivals at 95/s under every rate threshold, none of them back.
    assert not attack_detected(95, 0, FLOOD)
    flood = ReturnCounts(returned=300, unreturned=2400)
    assert attack_detected(95, 0, FLOOD, returns=flood, capacity=5000)
    # A morning crowd: people poll and work; a few close the tab.
    crowd = ReturnCounts(returned=3000, unreturned=300)
    assert not attack_detected(95, 0, FLOOD, returns=crowd, capacity=5000)
    # Under the minimum nothing is proved, whatever the share.
    assert not flood_shaped(ReturnCounts(returned=0, unreturned=99), FLOOD, capacity=5000)
    # A minority of the arrivals, but a quarter of the room: a flood beside a busy morning.
    busy = ReturnCounts(returned=4000, unreturned=1300)
    assert flood_shaped(busy, FLOOD, capacity=5000)
    off = AttackThresholds(arrivals_per_s=500, rate_limited_per_s=50, unreturned_minimum=0)
    assert not flood_shaped(ReturnCounts(returned=0, unreturned=10**6), off, capacity=5000)


@given(
    returned=st.integers(0, 10_000),
    unreturned=st.integers(0, 10_000),
    more=st.integers(0, 10_000),
    capacity=st.integers(1, 20_000),
)
def test_the_flood_shape_is_monotonic(
    returned: int, unreturned: int, more: int, capacity: int
) -> None:
    """More arrivals that never came back never clear a suspicion; more that did never
    raise one."""
    seen = flood_shaped(ReturnCounts(returned, unreturned), FLOOD, capacity=capacity)
    if seen:
        assert flood_shaped(ReturnCounts(returned, unreturned + more), FLOOD, capacity=capacity)
    else:
        assert not flood_shaped(ReturnCounts(returned + more, unreturned), FLOOD, capacity=capacity)


@given(
    arrivals=st.floats(0, 10_000),
    rate=st.floats(0.1, 1000),
    more=st.floats(0, 10_000),
    maximum=st.sampled_from([1, 2, 4, 8, 16]),
)
def test_proof_of_work_cost_rises_with_pressure_in_doublings(
    arrivals: float, rate: float, more: float, maximum: int
) -> None:
    cost = proof_of_work_cost(
        1000, arrivals_per_s=arrivals, admission_rate=rate, maximum_factor=maximum
    )
    factor = cost // 1000
    assert cost % 1000 == 0
    assert 1 <= factor <= maximum
    assert factor & (factor - 1) == 0  # a whole doubling
    higher = proof_of_work_cost(
        1000, arrivals_per_s=arrivals + more, admission_rate=rate, maximum_factor=maximum
    )
    assert higher >= cost
    # A solution fetched one doubling earlier is still worth it, for a short while.
    late = {"issued_at": 100.0, "late_grace_s": 30.0}
    assert proof_cost_accepted(max(1000, cost // 2), cost, now=130.0, **late)
    if cost > 1000:
        assert not proof_cost_accepted(cost // 2, cost, now=131.0, **late)


def test_proof_of_work_cost_examples() -> None:
    def cost(arrivals: float) -> int:
        return proof_of_work_cost(
            5000, arrivals_per_s=arrivals, admission_rate=20, maximum_factor=8
        )

    assert cost(0) == cost(20) == cost(39) == 5000  # arrivals the gate can admit: base cost
    assert cost(40) == 10_000
    assert cost(100) == 20_000
    assert cost(10_000) == 40_000  # never over the maximum factor
    fresh = {"issued_at": 100.0, "now": 110.0, "late_grace_s": 30.0}
    kept = {"issued_at": 100.0, "now": 200.0, "late_grace_s": 30.0}
    assert proof_cost_accepted(5000, 5000, **kept)  # at the cost in force: until it expires
    assert proof_cost_accepted(5000, 10_000, **fresh)  # fetched just before the raise
    assert not proof_cost_accepted(5000, 10_000, **kept)  # a stock solved while it was cheap
    assert not proof_cost_accepted(5000, 20_000, **fresh)  # two steps below: never


@given(
    ahead=st.integers(0, 100_000),
    expected=st.floats(0, 1000),
    observed=st.floats(0, 1000),
    full=st.booleans(),
    minimum=st.floats(0.05, 5),
)
def test_someone_in_line_is_never_told_zero_seconds(
    ahead: int, expected: float, observed: float, full: bool, minimum: float
) -> None:
    wait = honest_wait(
        ahead, expected_rate=expected, observed_rate=observed, full=full, minimum=minimum
    )
    if wait is not None:
        assert wait >= minimum
        rate = observed if full else (min(observed, expected) if observed > 0 else expected)
        assert wait >= (ahead + 1) / rate - 1e-9


def test_a_full_room_is_waited_on_at_the_pace_people_leave() -> None:
    # The issue: a full room, next in line, 200/s in force: "0 s" then, 110 s in fact.
    assert round(estimated_wait(1, 200.0) or 0.0, 1) == 0.0
    assert honest_wait(0, expected_rate=200, observed_rate=0, full=True, minimum=1.0) is None
    assert honest_wait(99, expected_rate=200, observed_rate=2, full=True, minimum=1.0) == 50.0
    # Not full: the old rule, the observed rate capped by the one in force, and a floor.
    assert honest_wait(99, expected_rate=10, observed_rate=50, full=False, minimum=1.0) == 10.0
    assert honest_wait(99, expected_rate=10, observed_rate=0, full=False, minimum=1.0) == 10.0
    assert honest_wait(0, expected_rate=200, observed_rate=0, full=False, minimum=1.0) == 1.0


def test_the_first_poll_is_asked_for_soon_whatever_the_wait() -> None:
    assert first_poll_interval(30.0, 1.0) == 1.0
    assert first_poll_interval(30.0, 3.0) == 3.0
    assert first_poll_interval(2.0, 3.0) == 2.0  # a shorter wait is polled sooner anyway
    assert first_poll_interval(30.0, 0.2) == 1.0  # Retry-After counts whole seconds


def test_a_first_poll_is_due_soon_but_within_half_an_unpolled_tickets_life() -> None:
    assert GateSettings().first_poll_due_s == 1.5
    assert GateSettings(first_poll_s=4.0, unpolled_ticket_idle_s=6.0).first_poll_due_s == 3.0
    with pytest.raises(GateSettingsError):
        GateSettings(first_poll_s=0.5).check()


def test_networks() -> None:
    assert network_of("203.0.113.7") == "203.0.113.0/24"
    assert network_of("203.0.113.250") == network_of("203.0.113.1")
    assert network_of("203.0.114.1") != network_of("203.0.113.1")
    assert network_of("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert network_of("2001:db8:1:2:ffff::9") == network_of("2001:db8:1:2::1")
    assert network_of("2001:db8:1:3::1") != network_of("2001:db8:1:2::1")
    assert network_of("::ffff:203.0.113.7") == "203.0.113.0/24"  # IPv4 seen through IPv6
    assert network_of("testclient") == "testclient"
    assert network_arrivals_per_minute(200.0, share=0.1, minimum=600) == 1200
    assert network_arrivals_per_minute(16.0, share=0.1, minimum=600) == 600


@given(a=st.integers(0, 2**32 - 1), b=st.integers(0, 2**32 - 1))
def test_two_ipv4_addresses_share_a_network_exactly_when_their_first_24_bits_match(
    a: int, b: int
) -> None:
    def dotted(value: int) -> str:
        return ".".join(str((value >> shift) & 255) for shift in (24, 16, 8, 0))

    assert (network_of(dotted(a)) == network_of(dotted(b))) == (a >> 8 == b >> 8)


WEIGHTS = LaneShares(priority=0.5, first_time=0.2, deferred=0.1).weights()


def test_front_rate_passes_on_the_share_of_a_lane_that_empties() -> None:
    # Deferred lane: 200 waiting; the first-time lane holds 2 (a network's cap), nobody
    # else. The 2 first-timers go in a fraction of a second; then the deferred lane has
    # the whole rate, not its tenth of the first-time share.
    waiting = (0, 0, 2, 200)
    rate = front_rate(int(Lane.DEFERRED), 100, 50.0, waiting, WEIGHTS)
    assert 49.0 < rate <= 50.0
    # The old reading, a lane's share of the lanes with people in them, says 5 a second.
    share = WEIGHTS[int(Lane.DEFERRED)] / (WEIGHTS[2] + WEIGHTS[3])
    assert share * 50.0 == pytest.approx(5.0)


def test_front_rate_is_the_lane_share_while_every_lane_stays_busy() -> None:
    waiting = (1000, 1000, 1000, 1000)
    for lane in Lane:
        share = WEIGHTS[int(lane)] / sum(WEIGHTS)
        assert front_rate(int(lane), 10, 100.0, waiting, WEIGHTS) == pytest.approx(100.0 * share)


def test_front_rate_of_a_lane_with_no_share_waits_for_the_others() -> None:
    weights = (0.5, 0.5, 0.0, 0.0)
    # 10 people in each weighted lane at 10/s: 2 s before the unweighted lane starts, then
    # its 5 people at the whole rate in 0.5 s.
    assert front_rate(2, 5, 10.0, (10, 10, 5, 0), weights) == pytest.approx(5 / 2.5)
    assert front_rate(0, 0, 10.0, (10, 10, 5, 0), weights) == 10.0
