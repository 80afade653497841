"""The gate's decisions: lanes, queue order, who is admitted next, pacing and shedding.

Everything here is pure: the middleware and the stores feed it a snapshot of the shared
counters, the current time and any random draw, and act on what it returns.
"""

from __future__ import annotations

import enum
import hashlib
import ipaddress
import math
from collections.abc import Sequence

import msgspec

LANE_COUNT = 4


class Lane(enum.IntEnum):
    """Queues of the waiting room, served in this order of precedence."""

    PRIORITY = 0  # teachers, staff and administrators, known from their device cookie
    KNOWN = 1  # pupils and parents who have signed in on this device before
    FIRST_TIME = 2  # anyone else
    # First-time arrivals of a network that already holds its fair share of places in a
    # long first-time line (:func:`fair_lane`): served at a small share behind them.
    DEFERRED = 3


PerLane = tuple[int, int, int, int]
PerLaneFloat = tuple[float, float, float, float]


class Criticality(enum.IntEnum):
    """How much it costs the school to drop a request; the lowest is shed first."""

    FIRST_TIME = 0
    KNOWN = 1
    PRIORITY = 2
    ADMITTED_SESSION = 3  # a signed-in person already working: dropping them hurts most


PRIORITY_PROFILES = frozenset({"teacher", "staff", "admin"})
KNOWN_PROFILES = frozenset({"pupil", "parent"})


def lane_for_profile(profile: object) -> Lane:
    if profile in PRIORITY_PROFILES:
        return Lane.PRIORITY
    if profile in KNOWN_PROFILES:
        return Lane.KNOWN
    return Lane.FIRST_TIME


def criticality_for(lane: Lane, *, signed_in: bool) -> Criticality:
    if signed_in:
        return Criticality.ADMITTED_SESSION
    return (
        Criticality.PRIORITY,
        Criticality.KNOWN,
        Criticality.FIRST_TIME,
        Criticality.FIRST_TIME,
    )[lane]


# --- The pre-queue shuffle ------------------------------------------------------------
#
# Arrivals before the opening time take ordinary ticket numbers. At opening, the numbers
# of that pre-queue are permuted by a keyed pseudo-random permutation whose key is drawn
# only then, so nobody can try again for a better draw, and no list of a million tickets
# has to be rewritten: a position and a ticket number convert into each other on demand.


class PreQueue(msgspec.Struct, frozen=True):
    """Ticket numbers ``first + 1 … last`` were drawn into a random order at opening."""

    first: int
    last: int
    seed: str

    @property
    def size(self) -> int:
        return self.last - self.first


_FEISTEL_ROUNDS = 4


def _round_value(seed: str, round_index: int, half: int, bits: int) -> int:
    digest = hashlib.blake2b(f"{seed}:{round_index}:{half}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & ((1 << bits) - 1)


def _half_bits(size: int) -> int:
    return max(1, math.ceil(max(1, (size - 1).bit_length()) / 2))


def _feistel(value: int, seed: str, half_bits: int, *, inverse: bool) -> int:
    mask = (1 << half_bits) - 1
    left, right = value >> half_bits, value & mask
    rounds = range(_FEISTEL_ROUNDS - 1, -1, -1) if inverse else range(_FEISTEL_ROUNDS)
    for round_index in rounds:
        if inverse:
            left, right = right ^ _round_value(seed, round_index, left, half_bits), left
        else:
            left, right = right, left ^ _round_value(seed, round_index, right, half_bits)
    return (left << half_bits) | right


def shuffle_index(index: int, size: int, seed: str, *, inverse: bool = False) -> int:
    """A bijection of ``range(size)`` chosen by ``seed`` (Feistel network, cycle walking)."""
    if not 0 <= index < size:
        raise ValueError("index out of range")
    half_bits = _half_bits(size)
    value = index
    while True:
        value = _feistel(value, seed, half_bits, inverse=inverse)
        if value < size:
            return value


def position_of_ticket(number: int, pre_queue: PreQueue | None) -> int:
    """Where ticket ``number`` stands in its lane (1 is served first)."""
    if pre_queue is None or not pre_queue.first < number <= pre_queue.last:
        return number
    offset = shuffle_index(number - pre_queue.first - 1, pre_queue.size, pre_queue.seed)
    return pre_queue.first + 1 + offset


def ticket_at_position(position: int, pre_queue: PreQueue | None) -> int:
    """The inverse of :func:`position_of_ticket`."""
    if pre_queue is None or not pre_queue.first < position <= pre_queue.last:
        return position
    offset = shuffle_index(
        position - pre_queue.first - 1, pre_queue.size, pre_queue.seed, inverse=True
    )
    return pre_queue.first + 1 + offset


def candidates_after(
    serving: int, issued: int, pre_queue: PreQueue | None, count: int
) -> list[tuple[int, int]]:
    """The next ``count`` (position, ticket number) pairs after ``serving``, in order."""
    last = min(issued, serving + count)
    return [(p, ticket_at_position(p, pre_queue)) for p in range(serving + 1, last + 1)]


# --- Sharing admissions between lanes ---------------------------------------------------


class LaneShares(msgspec.Struct, frozen=True):
    """Fractions of admissions reserved for lanes while they have people waiting.

    ``deferred``: the part of the first-time share that goes to the deferred lane (first-time
    arrivals over their network's fair share) while both have people waiting.
    """

    priority: float = 0.5
    first_time: float = 0.2
    deferred: float = 0.1

    def weights(self) -> PerLaneFloat:
        known = max(0.0, 1.0 - self.priority - self.first_time)
        later = self.first_time * self.deferred
        return (self.priority, known, self.first_time - later, later)


def split_admissions(
    slots: int,
    waiting: Sequence[int],
    weights: Sequence[float],
    credits: Sequence[float],
) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Hand ``slots`` admissions to the lanes; return the grants and the carried credits.

    A lane earns credit in proportion to its weight while people wait in it, and each
    admission spends one credit (deficit round robin). Credit carried over between calls
    keeps the shares exact over time even when a call has a single slot to give, so no lane
    with a positive weight starves. Slots a lane cannot use go to the others in lane order:
    the gate never idles while someone waits.
    """
    count = len(waiting)
    grants = [0] * count
    balance = [credits[i] if waiting[i] > 0 else 0.0 for i in range(count)]
    remaining = min(slots, sum(max(0, w) for w in waiting))
    while remaining > 0:
        eligible = [i for i in range(count) if waiting[i] - grants[i] > 0]
        total_weight = sum(weights[i] for i in eligible)
        if total_weight <= 0:
            chosen = eligible[0]
        else:
            for i in eligible:
                balance[i] += weights[i] / total_weight
            # Highest credit first; ties go to the more important lane.
            chosen = max(eligible, key=lambda i: (balance[i], -i))
        grants[chosen] += 1
        balance[chosen] -= 1.0
        remaining -= 1
    # A lane that empties forgets its credit, so it cannot hoard a burst for later; the
    # bound keeps one lane's debt from growing without end.
    carried = tuple(
        max(-1.0, min(1.0, balance[i])) if waiting[i] - grants[i] > 0 else 0.0 for i in range(count)
    )
    return tuple(grants), carried


def expected_lane_rates(
    total_rate: float, waiting: Sequence[int], weights: Sequence[float]
) -> tuple[float, ...]:
    """The admission rate each lane would see if the current queue stayed as it is."""
    active = [i for i in range(len(waiting)) if waiting[i] > 0]
    total_weight = sum(weights[i] for i in active)
    rates = []
    for i in range(len(waiting)):
        if not active or total_weight <= 0:
            rates.append(total_rate)
        elif i in active:
            rates.append(total_rate * weights[i] / total_weight)
        else:
            rates.append(total_rate * weights[i] / (total_weight + weights[i]))
    return tuple(rates)


def front_rate(
    lane: int, count: int, total_rate: float, waiting: Sequence[int], weights: Sequence[float]
) -> float:
    """The mean admission rate the first ``count`` people of ``lane`` would see if the
    queue stayed as it is: each lane with people waiting takes its weighted share, and the
    share of a lane that empties passes to the others (as :func:`split_admissions` hands
    them out), so a lane with few people waiting holds no share it cannot use. A
    first-time lane capped at a few places per network would otherwise make the deferred
    lane's people expect a tenth of the rate while they get most of it."""
    if count <= 0 or total_rate <= 0:
        return total_rate
    left = [float(max(0, w)) for w in waiting]
    left[lane] = float(count)
    elapsed = 0.0
    while left[lane] > 1e-9:
        active = [i for i, n in enumerate(left) if n > 1e-9]
        total_weight = sum(weights[i] for i in active)
        shares = {
            i: (weights[i] / total_weight if total_weight > 0 else 1 / len(active)) for i in active
        }
        if shares[lane] <= 0:  # the lane gets nothing until the others are empty
            active = [i for i in active if shares[i] > 0]
            step = min(left[i] / (total_rate * shares[i]) for i in active)
        else:
            step = min(left[i] / (total_rate * shares[i]) for i in active if shares[i] > 0)
        for i in active:
            left[i] = max(0.0, left[i] - total_rate * shares[i] * step)
        elapsed += step
    return count / elapsed if elapsed > 0 else total_rate


# --- Planning one round of admissions ----------------------------------------------------


class QueueSnapshot(msgspec.Struct, frozen=True):
    """The shared counters as one atomic read saw them."""

    version: int
    # Slots held: passes used within the idle timeout, plus ``unused`` ones.
    active: int
    issued: PerLane  # last ticket number taken, per lane
    serving: PerLane  # last position admitted, per lane
    waiting: PerLane  # live tickets not yet admitted, per lane
    admitted: PerLane  # admissions since the queue was created, per lane
    tokens: float
    tokens_at: float
    credits: PerLaneFloat
    pre_queues: tuple[PreQueue | None, PreQueue | None, PreQueue | None, PreQueue | None]
    sealed_for: float  # the opening time whose pre-queue was shuffled, 0 if none
    rate: float  # current admission rate (per second), after adaptation; 0 before the first
    # When the people of the latest rounds may come in (see "Pacing" below): per lane, the
    # serving position before that lane's latest round, when it started and the spacing of
    # its positions; and when the whole schedule of granted admissions runs out.
    release_from: PerLane = (0, 0, 0, 0)
    release_at: PerLaneFloat = (0.0, 0.0, 0.0, 0.0)
    release_spacing: PerLaneFloat = (0.0, 0.0, 0.0, 0.0)
    paced_until: float = 0.0
    # Of ``active``: admissions whose pass has not been used yet (granted but not claimed,
    # or claimed and never brought back). They hold their slot only for the short
    # ``unused_pass_idle_s``, so passes taken and dropped cannot fill the room.
    unused: int = 0


class Seal(msgspec.Struct, frozen=True):
    """Shuffle the pre-queue now: every ticket taken so far joins the draw."""

    opening_at: float
    seed: str


class AdmissionPlan(msgspec.Struct, frozen=True):
    version: int
    grants: PerLane
    tokens: float  # after refill, before spending the grants
    credits: PerLaneFloat
    seal: Seal | None = None
    release_start: float = 0.0  # when the first person this plan admits may come in
    # Slots that may go, besides the grants, to tickets never polled though they joined
    # before ``credit_before`` (their first poll was due): such a ticket is admitted on
    # credit, without spending the rate, and pays only if it comes for its pass; so a
    # flood's tickets, never coming back, take no admission from anyone. 0: none.
    room: int = 0
    credit_before: float = 0.0
    # How many first-time tickets still within their first poll (young) this round may
    # admit (None: any): past them, a lane's walk stops at the next young ticket until it
    # is polled, or its first poll is overdue (see "Newcomers not polled yet").
    young: int | None = None


def refill_tokens(tokens: float, since: float, now: float, rate: float, burst: float) -> float:
    if now <= since:
        return min(tokens, burst)
    return min(burst, tokens + (now - since) * rate)


def plan_admissions(
    snapshot: QueueSnapshot,
    *,
    now: float,
    capacity: int,
    rate: float,
    burst: float,
    shares: LaneShares,
    opening_at: float | None,
    seed: str,
    credit_before: float | None = None,
    young_lead_s: float | None = None,
) -> AdmissionPlan:
    """How many people to admit from each lane right now, and whether to open the doors.

    ``credit_before``: tickets never polled that joined before then are admitted in the
    remaining room without spending the rate, and pay when they claim their pass (the
    stores' ``touch``). ``young_lead_s``: first-time tickets still within their first poll
    are admitted only to keep ``young_lead_s`` of admissions scheduled ahead (see
    "Newcomers not polled yet" below); None: as any.
    """
    tokens = refill_tokens(snapshot.tokens, snapshot.tokens_at, now, rate, burst)
    if opening_at is not None:
        if now < opening_at:
            # Before opening nobody is admitted and nobody's place is decided yet.
            return AdmissionPlan(snapshot.version, (0, 0, 0, 0), tokens, snapshot.credits)
        if snapshot.sealed_for != opening_at:
            # Draw the order first; admissions start on the next round, from the new order.
            seal = Seal(opening_at=opening_at, seed=seed)
            return AdmissionPlan(snapshot.version, (0, 0, 0, 0), tokens, snapshot.credits, seal)
    free = max(0, capacity - snapshot.active)
    slots = min(free, math.floor(tokens + 1e-9))
    grants, credits = split_admissions(slots, snapshot.waiting, shares.weights(), snapshot.credits)
    return AdmissionPlan(
        snapshot.version,
        (grants[0], grants[1], grants[2], grants[3]),
        tokens,
        (credits[0], credits[1], credits[2], credits[3]),
        release_start=max(now, snapshot.paced_until),
        room=0 if credit_before is None else free - sum(grants),
        credit_before=0.0 if credit_before is None else credit_before,
        young=None
        if young_lead_s is None
        else young_to_keep_going(snapshot.paced_until, now=now, rate=rate, lead_s=young_lead_s),
    )


# --- Newcomers not polled yet -------------------------------------------------------------
#
# A first-time ticket cannot be told from a flood's until its first poll (asked for within
# ``first_poll_s``): until then it is *young*. At a rush's start the line is short, so its
# head is young, and the budget saved while the site was quiet went to whoever came first:
# with a polite flood 4 in 5 of the arrivals, bench/gate_flood.py measured 59 of the first
# second's admissions and 20 of the second's paid for flood tickets never seen again (3.9 s
# of the rate, lost to the people behind). Admitting no young ticket at all would leave the
# application idle until the first polls come, which costs as much. So a young ticket is
# admitted only to keep the stream of admissions going: while less than ``young_lead_s`` of
# admitted people are scheduled ahead (``paced_until``). Past that, the lane's walk stops
# at it until it is polled (a person: admitted from the budget as any) or its first poll
# is overdue (a flood's, most likely: through on credit). A lone newcomer at a quiet site
# still comes in at once. Teachers' and known devices' lanes, which a flood cannot join,
# are not held back.


def young_to_keep_going(paced_until: float, *, now: float, rate: float, lead_s: float) -> int:
    """How many young tickets to admit now: as many as bring the admissions scheduled
    ahead up to ``lead_s`` seconds of the rate (at least one when nothing is ahead)."""
    lead = max(0.0, paced_until - now)
    if lead >= lead_s or rate <= 0:
        return 0
    return max(1, math.ceil((lead_s - lead) * rate - 1e-9))


def young_limited(lane: int) -> bool:
    """Whether ``lane``'s young tickets are admitted only to keep the stream going."""
    return lane in (Lane.FIRST_TIME, Lane.DEFERRED)


# --- Pacing: when the people of a round may come in ---------------------------------------
#
# A round admits a handful of people at once (the tokens saved since the last round). Let
# in together, their first requests would land on the application in the same instant and
# queue behind each other. So a round's admissions are spread evenly over the time the rate
# needs to earn them, starting where the previous round's schedule ends: the people come in
# one every 1/rate seconds, as a steady stream, however the rounds are timed.


def release_spacing(granted: int, walked: int, rate: float) -> float:
    """Seconds between two positions of a lane whose round walked ``walked`` positions.

    The round's ``granted`` admissions (all lanes) take ``granted / rate`` seconds; each lane
    spreads its walked positions (abandoned tickets included) over that time.
    """
    if walked <= 0 or granted <= 0 or rate <= 0:
        return 0.0
    return granted / rate / walked


def paced_until(release_start: float, granted: int, rate: float) -> float:
    """When the schedule of a round that starts at ``release_start`` runs out."""
    if granted <= 0 or rate <= 0:
        return release_start
    return release_start + granted / rate


def release_time(position: int, *, release_from: int, release_at: float, spacing: float) -> float:
    """When the admitted ``position`` may come in: the first of its round at ``release_at``,
    then one every ``spacing`` seconds.

    Positions of the lane's earlier rounds fall before ``release_at`` on the same line; as
    each round starts where the previous schedule ended, that is within a spacing or so of
    the time they were given.
    """
    return release_at + (position - release_from - 1) * spacing


# --- The door: people come in at the rate, however they come back -------------------------
#
# The rounds' schedule lets one person in every 1/rate seconds, but only those polling at
# their time come in at it: someone whose turn came between two polls comes at their next
# poll, at a random moment, together with those on time. Each such clump lands on the
# application at once (bench/gate_overload.py: in the first seconds of a rush, admitted
# answers queued up to 300 ms behind each other). So each process also paces its door:
# whoever comes in is let in no sooner than one door interval after the one before, held
# briefly (a coroutine, at most ``hold_s``) when others have just come in. The door runs
# a little faster than the rate (GateSettings.door_rate_factor): people coming back at
# random moments at the rate itself would keep a door at the rate full and ever later
# (bench/gate_flood.py, no attack: waits 0.7 s longer at the median and p95).


def door_slot(now: float, door_free_at: float, rate: float, hold_s: float) -> tuple[float, float]:
    """When someone admitted who reaches the door at ``now`` comes in, and when the door is
    free again after them.

    ``rate``: the door's pace, people per second (this process's share of the admission
    rate, times the door's factor). The hold is at most ``hold_s``: past it the door lets
    people in as they come (a schedule running late is never made later), so nobody is
    held longer than a poll would have taken.
    """
    if rate <= 0:
        return now, door_free_at
    slot = min(max(now, door_free_at), now + hold_s)
    return slot, slot + 1.0 / rate


# --- What a waiting person is told --------------------------------------------------------


def people_ahead(position: int, serving: int, waiting: int, issued: int) -> int:
    """People still ahead of ``position``, discounting those who left without waiting.

    Only counters are cached per process, so the share of live tickets among those not
    yet served stands in for the exact count.
    """
    if position <= serving:
        return 0
    unserved = max(1, issued - serving)
    live_share = min(1.0, waiting / unserved)
    return max(0, round((position - serving - 1) * live_share))


def estimated_wait(ahead: int, admission_rate: float) -> float | None:
    """Seconds until one's turn: people ahead ÷ admissions per second (None: unknown)."""
    if ahead <= 0:
        return 0.0
    if admission_rate <= 0:
        return None
    return ahead / admission_rate


def honest_wait(
    ahead: int,
    *,
    expected_rate: float,
    observed_rate: float,
    full: bool,
    minimum: float,
) -> float | None:
    """Seconds until the turn of someone not admitted yet, with ``ahead`` people before
    them (None: unknown).

    Normally: people ahead and oneself ÷ the lane's admissions per second, the rate
    observed lately but never more than the rate in force allows. When the room is full,
    people come in only as others leave, whatever the rate in force says: only the
    observed rate counts, and with none observed the wait is unknown rather than a few
    milliseconds. Never under ``minimum`` (the next admission round): someone still in
    line is never told "0 s".
    """
    if full:
        rate = observed_rate
    else:
        rate = min(observed_rate, expected_rate) if observed_rate > 0 else expected_rate
    wait = estimated_wait(ahead + 1, rate)
    return None if wait is None else max(minimum, wait)


def poll_interval(
    wait_seconds: float | None, *, minimum: float = 2.0, maximum: float = 30.0
) -> float:
    """How long the waiting page should wait before asking again: longer further back."""
    if wait_seconds is None:
        return maximum / 2
    return max(minimum, min(maximum, wait_seconds / 4))


def first_poll_interval(interval: float, first_poll_s: float) -> float:
    """How soon someone who has just taken a ticket should ask again.

    Within ``first_poll_s`` (a whole second at least: Retry-After counts whole seconds),
    whatever the wait: until its first poll reaches the store, a ticket cannot be told from
    a flood's, which takes tickets and never comes back. The sooner people confirm, the
    sooner a flood's tickets walk the line on credit and the sooner the flood's shape shows.
    """
    return min(interval, max(1.0, first_poll_s))


def full_jitter(interval: float, unit_random: float, *, floor: float = 1.0) -> float:
    """A delay drawn uniformly in [floor, interval] (AWS's "full jitter" with a floor)."""
    return floor + max(0.0, interval - floor) * unit_random


def progress_percent(position: int, serving_at_join: int, serving: int) -> int | None:
    """How far one has come since joining, 0 to 100, for the progress bar; None while one
    has no place yet (before opening, the pre-queue's order not drawn): no bar then."""
    if position <= 0:
        return None
    distance = position - serving_at_join
    if distance <= 0 or serving >= position:
        return 100
    return max(0, min(99, round(100 * (serving - serving_at_join) / distance)))


# --- Adapting to the application's health -------------------------------------------------


class Health(msgspec.Struct, frozen=True):
    requests: int
    errors: int
    slow_requests: int  # slower than the latency target
    # How late the worker's event loop runs what is ready: requests wait there before the
    # gate can time them, so this is where a saturated Python worker shows first.
    loop_lag_s: float = 0.0
    # Share of the same wall-clock time the worker spent running on a CPU.
    cpu_share: float = 1.0
    # Slower than the latency bound (the admitted p99's): a slow database shows here, as
    # it raises neither the loop lag nor the CPU.
    over_bound: int = 0


def judge_health(
    health: Health,
    *,
    error_ratio_limit: float,
    slow_ratio_limit: float,
    minimum_requests: int,
    loop_lag_limit: float = math.inf,
    busy_share_floor: float = 0.5,
    over_bound_ratio_limit: float = 1.0,
) -> bool | None:
    """True if the app looks healthy, False if it is struggling, None if too few samples.

    A late event loop counts only if the worker itself kept the CPU busy (at least
    ``busy_share_floor`` of the time). A loop that runs late while the worker hardly ran
    is held back by something fewer admissions cannot fix (other processes on its CPU):
    cutting the rate then only leaves the application idle once it gets the CPU back.
    For the same reason, answers over the latency bound count only while the loop is on
    time: a slow database leaves it idle and punctual, a crowded machine makes it late.
    """
    late = health.loop_lag_s > loop_lag_limit
    if late and health.cpu_share >= busy_share_floor:
        return False
    if health.requests < minimum_requests:
        return None
    if health.errors / health.requests > error_ratio_limit:
        return False
    if (
        not late
        and health.over_bound >= 2  # one outlier (a cold cache, a pause) is no trend
        and health.over_bound / health.requests > over_bound_ratio_limit
    ):
        return False  # the admitted p99 (with a limit of 1 %) is above its bound
    return health.slow_requests / health.requests <= slow_ratio_limit


def adjust_rate(
    rate: float,
    healthy: bool | None,
    *,
    minimum: float,
    maximum: float,
    increase: float,
    decrease_factor: float = 0.9,
) -> float:
    """Additive increase, multiplicative decrease of the admission rate (AIMD)."""
    if healthy is None:
        return max(minimum, min(maximum, rate))
    if healthy:
        return max(minimum, min(maximum, rate + increase))
    return max(minimum, min(maximum, rate * decrease_factor))


def cut_factor(health: Health, *, slow_ratio_limit: float) -> float:
    """How deep the AIMD's multiplicative decrease goes: by 10 % when the trouble is
    errors, a late loop or a few slow answers; by the share of slow answers beyond that,
    or ten times the share over the latency bound, at most by half. A database twice as
    slow makes nearly every answer slow, and a cut of 10 % every two seconds would take
    half a minute to show."""
    if health.requests <= 0:
        return 0.9
    depth = max(health.slow_requests, 10 * health.over_bound) / health.requests
    if depth <= slow_ratio_limit:
        return 0.9
    return max(0.5, min(0.9, 1.0 - depth))


def adjust_concurrency_limit(
    limit: float,
    *,
    latency: float,
    latency_target: float,
    in_flight: int,
    minimum: float,
    maximum: float,
) -> float:
    """AIMD on the in-worker concurrency limit, as Netflix's concurrency-limits does.

    Grow by one per "round" of ``limit`` completions while the limit is actually used;
    shrink by about 10 % per round of slow completions.
    """
    if latency > latency_target:
        return max(minimum, limit - max(1.0, limit * 0.1) / max(1.0, limit))
    if in_flight * 2 >= limit:
        return min(maximum, limit + 1.0 / max(1.0, limit))
    return limit


def codel_wait_budget(
    now: float, queue_last_empty_at: float, *, short: float = 0.005, long: float = 0.1
) -> float:
    """How long a request may wait for a free slot (CoDel as in Facebook's "Fail at Scale").

    A queue that has not been empty for ``long`` seconds is a standing queue: new arrivals
    then get only ``short`` before being shed, so the queue drains instead of growing.
    """
    if now - queue_last_empty_at > long:
        return short
    return long


def victim_to_shed(waiting: Sequence[Criticality], incoming: Criticality) -> int | None:
    """When the wait line is full: the index of the waiter to drop for ``incoming``.

    Returns None when ``incoming`` is itself the least critical and should be dropped. Among
    equally critical waiters the newest goes, so the oldest keep their place.
    """
    if not waiting:
        return None
    lowest = min(waiting)
    if incoming <= lowest:
        return None
    for index in range(len(waiting) - 1, -1, -1):
        if waiting[index] == lowest:
            return index
    return None  # pragma: no cover - unreachable: ``lowest`` is in ``waiting``


# --- Under attack -------------------------------------------------------------------------
#
# A flood shows in two ways. Fast: more arrivals or refusals per second than a school ever
# sends. Polite, under every limit: many tickets and passes handed out that never come back
# (a ticket never polled, a pass never used for a second request), where people in line
# poll and people let in go on working.


class ReturnCounts(msgspec.Struct, frozen=True):
    """Who came back, as one read of the shared store saw it."""

    returned: int  # tickets polled at least once and passes used, still live
    # Tickets never polled and passes never used, out long enough to have come back.
    unreturned: int


class AttackThresholds(msgspec.Struct, frozen=True):
    arrivals_per_s: float
    rate_limited_per_s: float
    unreturned_minimum: int = 0  # fewer arrivals not back than this prove nothing; 0: off
    unreturned_share: float = 0.5  # of all arrivals still counted (back or not)
    unreturned_capacity_share: float = 0.25  # of the room's capacity


def flood_shaped(counts: ReturnCounts, thresholds: AttackThresholds, *, capacity: int) -> bool:
    """Many passes and tickets, little use: most arrivals never came back, or those that
    did not would fill a good part of the room."""
    if thresholds.unreturned_minimum <= 0 or counts.unreturned < thresholds.unreturned_minimum:
        return False
    counted = counts.unreturned + counts.returned
    if counts.unreturned > thresholds.unreturned_share * counted:
        return True
    return counts.unreturned >= thresholds.unreturned_capacity_share * capacity


def attack_detected(
    arrivals_per_s: float,
    rate_limited_per_s: float,
    thresholds: AttackThresholds,
    *,
    returns: ReturnCounts | None = None,
    capacity: int = 0,
) -> bool:
    if thresholds.arrivals_per_s > 0 and arrivals_per_s > thresholds.arrivals_per_s:
        return True
    if thresholds.rate_limited_per_s > 0 and rate_limited_per_s > thresholds.rate_limited_per_s:
        return True
    return returns is not None and flood_shaped(returns, thresholds, capacity=capacity)


def under_attack(mode: str, *, attack_until: float, now: float) -> bool:
    """``mode`` is the operator's choice: "on", "off" or "auto" (follow the detector)."""
    if mode == "on":
        return True
    if mode == "off":
        return False
    return now < attack_until


def proof_of_work_cost(
    base_cost: int, *, arrivals_per_s: float, admission_rate: float, maximum_factor: int
) -> int:
    """The cost of the next challenge: ``base_cost``, doubled each time arrivals double
    beyond what the gate admits, up to ``maximum_factor`` times.

    Someone who solved a challenge joins the line, so while more people solve than the gate
    lets in, each admission costs more work; whole doublings keep the costs in force few, so
    a challenge fetched just before a raise is still worth half for a short while
    (:func:`proof_cost_accepted`).
    """
    pressure = arrivals_per_s / admission_rate if admission_rate > 0 else float(maximum_factor)
    factor = 1
    while factor * 2 <= min(pressure, maximum_factor):
        factor *= 2
    return base_cost * factor


def proof_cost_accepted(
    offered_cost: int,
    required_cost: int,
    *,
    issued_at: float,
    now: float,
    late_grace_s: float,
) -> bool:
    """A solution at the cost in force is accepted; one a step (half) below it only if its
    challenge was issued within ``late_grace_s`` (fetched just before a raise, solved
    since). A cheaper challenge fetched earlier and kept (a stock solved while the cost
    was low) is refused: it must be fetched again at the cost in force."""
    if offered_cost >= required_cost:
        return True
    if offered_cost * 2 < required_cost:
        return False
    return now - issued_at <= late_grace_s


def network_proof_factor(fetched: int, *, free: int, growth: int, maximum_factor: int) -> int:
    """How many times the price in force a network pays for its next challenge, having
    fetched ``fetched`` in the current window: nothing more for its first ``free``, then
    ``growth`` times more for each further one, up to ``maximum_factor``.

    A few devices of a network pay what everyone pays; a network whose cores solve one
    challenge after another pays each next pass dearer, so its passes grow with the log of
    its work, not in proportion.
    """
    factor = 1
    for _ in range(max(0, fetched - free + 1)):
        if factor * growth > maximum_factor or growth <= 1:
            break
        factor *= growth
    return factor


# --- Networks -------------------------------------------------------------------------------


def network_of(address: str) -> str:
    """The network an address belongs to: its /24 for IPv4, its /64 for IPv6 (one home or
    one hosting customer, usually). What is not an address stands for itself."""
    try:
        ip: ipaddress.IPv4Address | ipaddress.IPv6Address = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 64
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def priced_networks(address: str) -> list[tuple[str, int]]:
    """The networks whose challenges ``address`` counts toward, each with how many times the
    allowance of one network it has: its /24 or /64, and for IPv6 also its /48 (one site's
    allocation: a host given a /48 has 65,536 /64s to rotate through) at 16 times."""
    network = network_of(address)
    try:
        parsed = ipaddress.ip_network(network)
    except ValueError:
        return [(network, 1)]
    if parsed.version == 4:
        return [(network, 1)]
    return [(network, 1), (str(parsed.supernet(new_prefix=48)), 16)]


def fair_lane(
    lane: Lane, *, network_places: int, line: int, places: int, line_minimum: int
) -> Lane:
    """The lane a new ticket joins: fairness between networks at admission.

    A first-time arrival whose network (/24, /64) already holds ``places`` places in the
    first-time line not yet reached (``network_places``), while that line and the deferred
    one hold at least ``line_minimum`` people, waits in the deferred lane, behind the
    first-time line and served at a small share of it: one network's burst of tickets
    cannot hold the places ahead of newcomers from other networks. A short line, a network
    holding only a few places, and known devices (the other lanes; a school's pupils behind
    one address once they signed in) are not touched. ``places`` 0: off.
    """
    if lane != Lane.FIRST_TIME or places <= 0:
        return lane
    if network_places < places or line < line_minimum:
        return lane
    return Lane.DEFERRED


def network_arrivals_per_minute(admission_rate: float, *, share: float, minimum: int) -> int:
    """How many tickets one network may take in a minute: its ``share`` of what the gate
    admits, and never fewer than ``minimum`` (a school behind one address must get in)."""
    return max(minimum, math.ceil(share * admission_rate * 60))
