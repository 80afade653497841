"""One contract for both admission stores (memory and Redis)."""

from __future__ import annotations

from preau.domain.admission import (
    Lane,
    LaneShares,
    PerLane,
    ReturnCounts,
    candidates_after,
    plan_admissions,
    position_of_ticket,
)
from preau.gate.store import AdmissionStore, Fairness, StoreView

NOW = 1_000_000.0


async def view(store: AdmissionStore, now: float = NOW) -> StoreView:
    return await store.view(now=now, pass_cutoff=now - 60, ticket_cutoff=now - 60)


async def admit(
    store: AdmissionStore,
    *,
    now: float = NOW,
    capacity: int = 100,
    rate: float = 10.0,
    opening_at: float | None = None,
    seed: str = "seed",
    credit_before: float | None = None,
    young_lead_s: float | None = None,
) -> PerLane | None:
    snapshot = (await view(store, now)).queue
    plan = plan_admissions(
        snapshot,
        now=now,
        capacity=capacity,
        rate=rate,
        burst=rate,
        shares=LaneShares(),
        opening_at=opening_at,
        seed=seed,
        credit_before=credit_before,
        young_lead_s=young_lead_s,
    )
    candidates = [
        candidates_after(
            snapshot.serving[lane],
            snapshot.issued[lane],
            snapshot.pre_queues[lane],
            2 * plan.grants[lane] + 8,
        )
        if plan.grants[lane]
        else []
        for lane in Lane
    ]
    return await store.apply(plan, candidates, now=now, rate=rate, rate_at=now)


async def test_tickets_are_numbered_per_lane(admission_store: AdmissionStore) -> None:
    numbers = [
        await admission_store.join(lane, now=NOW, device=None, ticket_idle_s=60)
        for lane in (Lane.KNOWN, Lane.KNOWN, Lane.PRIORITY)
    ]
    assert numbers == [(Lane.KNOWN, 1), (Lane.KNOWN, 2), (Lane.PRIORITY, 1)]
    snapshot = (await view(admission_store)).queue
    assert snapshot.issued == (1, 2, 0, 0)
    assert snapshot.waiting == (1, 2, 0, 0)
    assert (await view(admission_store)).stats["arrivals"] == 3


async def test_a_device_keeps_its_ticket(admission_store: AdmissionStore) -> None:
    first = await admission_store.join(Lane.KNOWN, now=NOW, device="d1", ticket_idle_s=60)
    await admission_store.join(Lane.KNOWN, now=NOW, device="d2", ticket_idle_s=60)
    again = await admission_store.join(Lane.FIRST_TIME, now=NOW, device="d1", ticket_idle_s=60)
    assert again == first


async def test_admission_follows_ticket_order_and_uses_the_rate(
    admission_store: AdmissionStore,
) -> None:
    for _ in range(5):
        await admission_store.join(Lane.FIRST_TIME, now=NOW, device=None, ticket_idle_s=60)
    assert await admit(admission_store, rate=3.0) == (0, 0, 3, 0)
    snapshot = (await view(admission_store)).queue
    assert snapshot.serving == (0, 0, 3, 0)
    assert snapshot.waiting == (0, 0, 2, 0)
    assert snapshot.active == 3
    assert snapshot.admitted == (0, 0, 3, 0)
    # The budget is spent: nothing more until time passes.
    assert await admit(admission_store, rate=3.0) == (0, 0, 0, 0)
    assert await admit(admission_store, now=NOW + 1, rate=3.0) == (0, 0, 2, 0)


async def test_a_round_is_paced_after_the_previous_one(admission_store: AdmissionStore) -> None:
    for _ in range(6):
        await admission_store.join(Lane.FIRST_TIME, now=NOW, device=None, ticket_idle_s=60)
    assert await admit(admission_store, rate=4.0) == (0, 0, 4, 0)
    snapshot = (await view(admission_store)).queue
    # Four admissions at 4/s: one every 0.25 s from now; the schedule runs out in 1 s.
    assert snapshot.release_from == (0, 0, 0, 0)
    assert snapshot.release_at[Lane.FIRST_TIME] == NOW
    assert snapshot.release_spacing[Lane.FIRST_TIME] == 0.25
    assert snapshot.paced_until == NOW + 1.0
    # Half a second later two more tokens: they queue behind the first schedule.
    assert await admit(admission_store, now=NOW + 0.5, rate=4.0) == (0, 0, 2, 0)
    later = (await view(admission_store, NOW + 0.5)).queue
    assert later.release_from[Lane.FIRST_TIME] == 4
    assert later.release_at[Lane.FIRST_TIME] == NOW + 1.0
    assert later.release_spacing[Lane.FIRST_TIME] == 0.25
    assert later.paced_until == NOW + 1.5


async def test_capacity_bounds_active_passes(admission_store: AdmissionStore) -> None:
    for _ in range(5):
        await admission_store.join(Lane.KNOWN, now=NOW, device=None, ticket_idle_s=60)
    assert await admit(admission_store, capacity=2) == (0, 2, 0, 0)
    assert await admit(admission_store, now=NOW + 5, capacity=2) == (0, 0, 0, 0)


async def test_abandoned_tickets_are_skipped(admission_store: AdmissionStore) -> None:
    for _ in range(3):
        await admission_store.join(Lane.KNOWN, now=NOW, device=None, ticket_idle_s=60)
    # Ticket 2 keeps polling; 1 and 3 went away.
    await admission_store.touch(now=NOW + 50, passes=[], tickets=[(1, 2)], stats={})
    later = NOW + 100
    snapshot = (
        await admission_store.view(now=later, pass_cutoff=later - 60, ticket_cutoff=later - 60)
    ).queue
    assert snapshot.waiting == (0, 1, 0, 0)
    assert await admit(admission_store, now=later) == (0, 1, 0, 0)
    assert (await view(admission_store, later)).queue.serving == (0, 2, 0, 0)


async def test_idle_passes_free_their_slot(admission_store: AdmissionStore) -> None:
    for _ in range(2):
        await admission_store.join(Lane.KNOWN, now=NOW, device=None, ticket_idle_s=60)
    await admit(admission_store)
    await admission_store.touch(now=NOW + 30, passes=["1.1"], tickets=[], stats={"shed": 2})
    later = NOW + 70
    state = await admission_store.view(now=later, pass_cutoff=later - 60, ticket_cutoff=later)
    assert state.queue.active == 1
    assert state.stats["shed"] == 2


async def test_a_stale_plan_is_refused(admission_store: AdmissionStore) -> None:
    await admission_store.join(Lane.KNOWN, now=NOW, device=None, ticket_idle_s=60)
    snapshot = (await view(admission_store)).queue
    plan = plan_admissions(
        snapshot,
        now=NOW,
        capacity=10,
        rate=10,
        burst=10,
        shares=LaneShares(),
        opening_at=None,
        seed="s",
    )
    assert await admission_store.apply(plan, [[], [(1, 1)], [], []], now=NOW, rate=1, rate_at=NOW)
    assert await admission_store.apply(
        plan, [[], [(1, 1)], [], []], now=NOW, rate=1, rate_at=NOW
    ) is (None)


async def test_pre_queue_is_shuffled_at_opening_then_fifo(
    admission_store: AdmissionStore,
) -> None:
    opening = NOW + 10
    for _ in range(20):
        await admission_store.join(Lane.KNOWN, now=NOW, device=None, ticket_idle_s=600)
    assert await admit(admission_store, opening_at=opening) == (0, 0, 0, 0)
    # At opening the first plan only seals the pre-queue; admissions follow.
    assert await admit(admission_store, now=opening, opening_at=opening) == (0, 0, 0, 0)
    late = await admission_store.join(Lane.KNOWN, now=opening, device=None, ticket_idle_s=600)
    state = await view(admission_store, opening)
    pre_queue = state.queue.pre_queues[Lane.KNOWN]
    assert pre_queue is not None
    assert (pre_queue.first, pre_queue.last) == (0, 20)
    order = sorted(range(1, 21), key=lambda n: position_of_ticket(n, pre_queue))
    assert order != list(range(1, 21))
    assert position_of_ticket(late[1], pre_queue) == 21
    assert await admit(admission_store, now=opening + 1, opening_at=opening, rate=5) == (0, 5, 0, 0)
    assert (await view(admission_store, opening + 1)).queue.serving == (0, 5, 0, 0)


async def test_runtime_settings_and_attack_flag(admission_store: AdmissionStore) -> None:
    await admission_store.write_runtime_settings(b'{"capacity":3}')
    await admission_store.raise_attack_until(NOW + 100)
    await admission_store.raise_attack_until(NOW + 50)
    state = await view(admission_store)
    assert state.runtime_settings == b'{"capacity":3}'
    assert state.attack_until == NOW + 100
    await admission_store.reset()
    assert (await view(admission_store)).runtime_settings is None


async def test_a_pass_never_used_frees_its_slot_soon_and_a_used_one_stays(
    admission_store: AdmissionStore,
) -> None:
    """Admitted slots are unused until their pass comes back; unused ones go after their
    own short cutoff, used ones after the idle timeout."""
    for _ in range(3):
        await admission_store.join(Lane.KNOWN, now=NOW, device=None, ticket_idle_s=60)
    assert await admit(admission_store) == (0, 3, 0, 0)
    state = (await view(admission_store)).queue
    assert (state.active, state.unused) == (3, 3)
    await admission_store.touch(now=NOW + 5, passes=["1.2"], tickets=[], stats={})
    state = (await view(admission_store, NOW + 5)).queue
    assert (state.active, state.unused) == (3, 2)
    later = NOW + 20
    state = (
        await admission_store.view(
            now=later, pass_cutoff=later - 60, ticket_cutoff=later - 60, unused_cutoff=later - 10
        )
    ).queue
    assert (state.active, state.unused) == (1, 0)
    # Seen again after its unused slot was let go, a pass holds a slot once more.
    await admission_store.touch(now=later, passes=["1.1"], tickets=[], stats={})
    assert (await view(admission_store, later)).queue.active == 2


async def test_a_ticket_never_polled_is_forgotten_soon_and_a_polled_one_stays(
    admission_store: AdmissionStore,
) -> None:
    for _ in range(3):
        await admission_store.join(Lane.FIRST_TIME, now=NOW, device=None, ticket_idle_s=60)
    await admission_store.touch(now=NOW + 2, passes=[], tickets=[(2, 2)], stats={})
    later = NOW + 30
    state = await admission_store.view(
        now=later, pass_cutoff=later - 60, ticket_cutoff=later - 60, unpolled_cutoff=later - 20
    )
    assert state.queue.waiting == (0, 0, 1, 0)
    # The walk skips the forgotten tickets and admits the one that polled.
    assert await admit(admission_store, now=later) == (0, 0, 1, 0)
    assert (await view(admission_store, later)).queue.serving == (0, 0, 2, 0)
    # A forgotten ticket polled later does not come back to life.
    await admission_store.touch(now=later, passes=[], tickets=[(2, 3)], stats={})
    assert (await view(admission_store, later)).queue.waiting == (0, 0, 0, 0)


async def test_an_unpolled_ticket_is_admitted_while_it_lives(
    admission_store: AdmissionStore,
) -> None:
    """Nobody has to poll to be let in: with room free, a newcomer gets in at once."""
    await admission_store.join(Lane.KNOWN, now=NOW, device=None, ticket_idle_s=60)
    assert await admit(admission_store) == (0, 1, 0, 0)
    assert (await view(admission_store)).queue.unused == 1


async def test_who_came_back_is_counted(admission_store: AdmissionStore) -> None:
    """Tickets polled and passes used came back; tickets never polled and passes never used
    did not, once they were out long enough to have done so."""
    for _ in range(4):
        await admission_store.join(Lane.FIRST_TIME, now=NOW, device=None, ticket_idle_s=60)
    assert await admit(admission_store, rate=2.0) == (0, 0, 2, 0)  # tickets 1 and 2
    await admission_store.touch(now=NOW + 1, passes=["2.1"], tickets=[(2, 3)], stats={})
    for _ in range(2):  # late arrivals, not out long enough to count either way
        await admission_store.join(Lane.FIRST_TIME, now=NOW + 9, device=None, ticket_idle_s=60)
    later = NOW + 10
    state = await admission_store.view(
        now=later, pass_cutoff=later - 60, ticket_cutoff=later - 60, settled_before=later - 5
    )
    # Back: pass 2.1 and ticket 3. Not back: pass 2.2 and ticket 4.
    assert state.returns == ReturnCounts(returned=2, unreturned=2)
    assert state.queue.waiting == (0, 0, 4, 0)
    # Without a settling time nothing counts as not back.
    assert (await view(admission_store, later)).returns.unreturned == 0


async def test_tickets_never_polled_count_as_not_back_sooner_than_passes(
    admission_store: AdmissionStore,
) -> None:
    """A ticket's first poll is asked for within a second or so and reported at the next
    round, a pass's second request only at the next flush: tickets never polled count as
    not back from their own, earlier settling time."""
    for _ in range(3):
        await admission_store.join(Lane.FIRST_TIME, now=NOW, device=None, ticket_idle_s=60)
    assert await admit(admission_store, rate=1.0) == (0, 0, 1, 0)  # ticket 1: a pass, unused
    later = NOW + 3
    cutoffs = {"now": later, "pass_cutoff": later - 60, "ticket_cutoff": later - 60}
    passes_only = await admission_store.view(**cutoffs, settled_before=later - 5)
    assert passes_only.returns.unreturned == 0  # nothing out for 5 s yet
    both = await admission_store.view(
        **cutoffs, settled_before=later - 5, unpolled_settled_before=later - 2
    )
    assert both.returns == ReturnCounts(returned=0, unreturned=2)  # tickets 2 and 3
    await admission_store.touch(now=later, passes=["2.1"], tickets=[(2, 2)], stats={})
    after = await admission_store.view(
        **cutoffs, settled_before=later - 5, unpolled_settled_before=later - 2
    )
    assert after.returns == ReturnCounts(returned=2, unreturned=1)


async def test_tickets_never_polled_are_admitted_on_credit(
    admission_store: AdmissionStore,
) -> None:
    """Tickets whose first poll was due and never came take no admission from the people
    behind them: they are let through on credit, and pay only if they come for the pass."""
    for _ in range(3):
        await admission_store.join(Lane.FIRST_TIME, now=NOW, device=None, ticket_idle_s=60)
    await admission_store.touch(now=NOW + 1, passes=[], tickets=[(2, 3)], stats={})  # 3 polls
    later = NOW + 5
    fresh = await admission_store.join(Lane.FIRST_TIME, now=later, device=None, ticket_idle_s=60)
    snapshot = (await view(admission_store, later)).queue
    plan = plan_admissions(
        snapshot,
        now=later,
        capacity=100,
        rate=2.0,
        burst=2.0,
        shares=LaneShares(),
        opening_at=None,
        seed="s",
        credit_before=later - 3,
    )
    assert plan.grants == (0, 0, 2, 0)
    candidates = [[], [], candidates_after(0, 4, None, 8), []]
    # 1 and 2 on credit; 3 (polled) and 4 (just joined, its first poll not due) paid.
    assert await admission_store.apply(plan, candidates, now=later, rate=2, rate_at=later) == (
        0,
        0,
        2,
        0,
    )
    state = (await view(admission_store, later)).queue
    assert fresh == (Lane.FIRST_TIME, 4)
    assert (state.serving, state.active, state.admitted) == ((0, 0, 4, 0), 4, (0, 0, 2, 0))
    assert state.tokens == 0.0
    # Ticket 1 comes for its pass: it pays from the budget (below zero) and counts.
    await admission_store.touch(now=later + 1, passes=[], tickets=[(2, 1)], stats={})
    claimed = (await view(admission_store, later + 1)).queue
    assert (claimed.tokens, claimed.admitted) == (-1.0, (0, 0, 3, 0))
    assert claimed.version == state.version + 1  # a round planned before cannot undo it
    # Ticket 2 never comes: counted as not back, then its slot goes with its short life.
    moment = later + 2
    shape = await admission_store.view(
        now=moment,
        pass_cutoff=moment - 60,
        ticket_cutoff=moment - 60,
        unpolled_cutoff=NOW - 1,
        settled_before=NOW + 1,
    )
    assert (shape.queue.active, shape.returns.unreturned) == (4, 1)
    gone = await admission_store.view(
        now=moment, pass_cutoff=moment - 60, ticket_cutoff=moment - 60, unpolled_cutoff=NOW + 1
    )
    assert gone.queue.active == 3


async def test_newcomers_not_polled_yet_come_in_only_to_keep_admissions_going(
    admission_store: AdmissionStore,
) -> None:
    """A first-time ticket within its first poll is admitted only while what is scheduled
    ahead is short of the lead (``plan.young``); past it the lane stops there, its place
    kept, until the ticket is polled, its first poll is overdue, or the stream runs short
    again. Known devices' lanes go on."""
    for _ in range(4):
        await admission_store.join(Lane.FIRST_TIME, now=NOW, device=None, ticket_idle_s=60)
    await admission_store.join(Lane.KNOWN, now=NOW, device=None, ticket_idle_s=60)

    async def round_at(now: float) -> tuple[PerLane | None, StoreView]:
        granted = await admit(admission_store, now=now, credit_before=now - 1.5, young_lead_s=0.15)
        return granted, await view(admission_store, now)

    # Nothing ahead: two young (0.15 s at 10/s, rounded up), and the known ticket.
    granted, after = await round_at(NOW + 0.1)
    assert granted == (0, 1, 2, 0)
    assert after.queue.serving == (0, 1, 2, 0)
    assert after.queue.paced_until == NOW + 0.1 + 0.3
    # Ticket 3 polls: a person, admitted from the rate; ticket 4, young, waits (0.2 s ahead).
    await admission_store.touch(now=NOW + 0.15, passes=[], tickets=[(2, 3)], stats={})
    granted, after = await round_at(NOW + 0.2)
    assert granted == (0, 0, 1, 0)
    assert after.queue.serving == (0, 1, 3, 0)
    # Its first poll overdue, ticket 4 goes through on credit, paying nothing; ticket 5,
    # young, comes in: nothing is scheduled ahead any more.
    await admission_store.join(Lane.FIRST_TIME, now=NOW + 1.0, device=None, ticket_idle_s=60)
    granted, after = await round_at(NOW + 1.6)
    assert granted == (0, 0, 1, 0)
    assert after.queue.serving == (0, 1, 5, 0)
    assert after.queue.admitted == (0, 1, 4, 0)


async def test_a_network_over_its_fair_share_of_a_long_line_joins_the_deferred_lane(
    admission_store: AdmissionStore,
) -> None:
    """fair_lane, applied atomically by both stores: while the line is long, a network holds
    at most ``places`` first-time places (tickets not reached, or let in and their pass not
    back); its further arrivals wait in the deferred lane, other networks and known devices
    are not touched, and once its people come in the network takes places again."""
    crowded = Fairness("203.0.113.0/24", places=2, line_minimum=3)
    other = Fairness("198.51.100.0/24", places=2, line_minimum=3)

    async def join(fairness: Fairness, lane: Lane = Lane.FIRST_TIME) -> tuple[Lane, int]:
        return await admission_store.join(
            lane, now=NOW, device=None, ticket_idle_s=60, fairness=fairness
        )

    # Two places held, but a line of two is not long: the third still takes a place.
    assert [await join(crowded) for _ in range(3)] == [
        (Lane.FIRST_TIME, 1),
        (Lane.FIRST_TIME, 2),
        (Lane.FIRST_TIME, 3),
    ]
    assert await join(crowded) == (Lane.DEFERRED, 1)
    assert await join(crowded) == (Lane.DEFERRED, 2)
    assert await join(other) == (Lane.FIRST_TIME, 4)
    assert await join(crowded, Lane.KNOWN) == (Lane.KNOWN, 1)  # a known device: exempt
    device = "device-of-the-crowded-network"
    held = await admission_store.join(
        Lane.FIRST_TIME, now=NOW, device=device, ticket_idle_s=60, fairness=crowded
    )
    assert held == (Lane.DEFERRED, 3)
    assert (
        await admission_store.join(
            Lane.FIRST_TIME, now=NOW, device=device, ticket_idle_s=60, fairness=crowded
        )
        == held
    )
    snapshot = (await view(admission_store)).queue
    assert snapshot.waiting == (0, 1, 4, 3)
    # The lanes' shares: the first-time line first (the deferred lane has a tenth of its
    # share). Let in, the crowded network's three still hold their places until their
    # passes come back: a flood's never do.
    assert await admit(admission_store, rate=5.0) == (0, 1, 4, 0)
    assert await join(crowded) == (Lane.DEFERRED, 4)
    await admission_store.touch(now=NOW, passes=["2.1", "2.2"], tickets=[], stats={})
    assert [await join(crowded) for _ in range(2)] == [
        (Lane.FIRST_TIME, 5),
        (Lane.DEFERRED, 5),
    ]
    # What the first-time line leaves goes to the deferred lane: nobody starves.
    assert await admit(admission_store, now=NOW + 1, rate=5.0) == (0, 0, 1, 4)
    assert (await view(admission_store, NOW + 1)).queue.waiting == (0, 0, 0, 1)
