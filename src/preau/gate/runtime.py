"""What one process of the gate knows and does in the background.

Once a second it reads the shared counters (cached for every poll), runs one round of
admissions, adapts the admission rate, and every couple of seconds flushes the passes
and tickets it saw. When the shared store is unreachable it admits from its own share of
capacity and of the configured rate (each ÷ the expected process count) until the store
answers again. Time comes
from the injected clock; the rounds' cadence runs on the event loop's timers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import secrets
from collections import Counter, deque
from collections.abc import Awaitable, Callable
from typing import TypeVar

import msgspec

from preau.adapters.memory.admission import MemoryAdmissionStore
from preau.domain.admission import (
    AttackThresholds,
    Health,
    Lane,
    LaneShares,
    PerLane,
    PerLaneFloat,
    QueueSnapshot,
    adjust_rate,
    attack_detected,
    candidates_after,
    cut_factor,
    door_slot,
    front_rate,
    honest_wait,
    judge_health,
    people_ahead,
    plan_admissions,
    position_of_ticket,
    proof_of_work_cost,
    release_time,
    under_attack,
)
from preau.gate import metrics
from preau.gate.samples import GateSamples, Sample
from preau.gate.settings import GateSettings, GateSettingsError, RuntimeSettings
from preau.gate.store import AdmissionStore, Fairness, StoreView, pass_id
from preau.ports import Clock, SharedStateUnavailable

log = logging.getLogger("preau.gate")
T = TypeVar("T")
SHARED = ""  # origin of tickets and passes granted by the shared store
_RATE_WINDOW_S = 10.0
_ADAPT_EVERY_S = 2.0  # grow the admission rate at most this often
_DECREASE_AFTER_S = 0.5  # shrink it this soon after the last change…
_DECREASE_AGAIN_AFTER_S = 2.0  # …but after a cut, give the cut time to show first
_LAG_SAMPLE_S = 0.05
_ROUND_SPACING_S = 0.05
_TICKET_REPORT_SLACK_S = 1.0  # a first poll reported late (a busy round, a slow store)


def view_cutoffs(settings: GateSettings, now: float) -> dict[str, float]:
    """What :meth:`AdmissionStore.view` forgets and counts at ``now``: passes and tickets
    not seen within their timeouts, with two flush intervals of grace for the batched
    "seen" reports, and arrivals that had time to come back: passes after the flushes'
    grace, tickets (whose first polls are reported at the next round) a second after their
    first poll was due."""
    grace = 2 * settings.flush_interval_s
    return {
        "now": now,
        "pass_cutoff": now - settings.idle_timeout_s - grace,
        "ticket_cutoff": now - settings.ticket_idle_s - grace,
        "unused_cutoff": now - settings.unused_pass_timeout_s - grace,
        "unpolled_cutoff": now - settings.unpolled_ticket_timeout_s - grace,
        "settled_before": now - settings.return_expected_s - grace,
        "unpolled_settled_before": now - settings.first_poll_due_s - _TICKET_REPORT_SLACK_S,
    }


class TicketStatus(msgspec.Struct, frozen=True):
    admitted: bool
    position: int  # 0 until the pre-queue's order is drawn
    ahead: int
    wait_s: float | None
    waiting_total: int
    serving: int
    opening_at: float | None  # set while the doors are not open yet
    # The room is full: people come in only as others leave, so no short wait is promised.
    full: bool = False


class GateRuntime:
    def __init__(
        self,
        settings: GateSettings,
        store: AdmissionStore,
        *,
        clock: Clock,
        samples: GateSamples | None = None,
    ) -> None:
        self.base_settings = settings
        self.samples = samples
        self.settings = settings
        self.store = store
        self.clock = clock
        self.boot = secrets.token_hex(4)
        self.local_origin = f"L{self.boot}:"
        self.local = MemoryAdmissionStore(origin=self.local_origin)
        self.degraded = False
        self.view: StoreView | None = None
        self.local_view: StoreView | None = None
        self.attack = settings.under_attack == "on"
        self._history: deque[tuple[float, PerLane, dict[str, int]]] = deque()
        self.lane_rates: PerLaneFloat = (0.0, 0.0, 0.0, 0.0)
        self.arrivals_per_s = 0.0
        self.rate_limited_per_s = 0.0
        self.proven_per_s = 0.0  # arrivals that joined with a proof of work
        # What a proof of work costs now: raised while arrivals outrun admissions.
        self.pow_cost = settings.pow_cost
        self.seen_passes: set[str] = set()
        self.seen_tickets: set[tuple[int, int]] = set()
        self.seen_local_passes: set[str] = set()
        self.seen_local_tickets: set[tuple[int, int]] = set()
        # A ticket's first polls were seen: report the tickets at the next round.
        self._report_tickets_soon = False
        self.stats: Counter[str] = Counter()
        # Requests, errors, slow, over the latency bound: since the last adaptation.
        self.health = [0, 0, 0, 0]
        self.loop_lag_total = 0.0
        self.loop_lag_samples = 0
        # CPU time of this process and wall time at the start of the health period.
        self._cpu_since = (clock.process_time(), clock.monotonic())
        self._last_cut_at = 0.0
        self._door_free_at = 0.0  # on the monotonic clock (domain.admission.door_slot)
        self._lag_task: asyncio.Task[None] | None = None
        self._last_flush = 0.0
        self._flush_lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._round_done: asyncio.Future[None] | None = None
        self._next_view: asyncio.Future[None] | None = None  # people held for their turn
        self.started = False
        self._stopping = False
        # The time as the hot path reads it, instead of asking the clock per request; kept
        # fresh (every 50 ms) by the loop-lag watcher, good enough for expiries in seconds.
        self.now = clock.time()
        # Called at each flush: the rate limiters hand over their pending counts there.
        self.flush_hooks: list[Callable[[], Awaitable[None]]] = []

    # --- Life cycle ---------------------------------------------------------------------

    async def start(self) -> None:
        if self.started:
            return
        self.started = True
        self._stopping = False
        await self.run_round()
        self._task = asyncio.create_task(self._loop(), name="preau-gate")
        self._lag_task = asyncio.create_task(self._watch_loop_lag(), name="preau-gate-lag")

    async def stop(self) -> None:
        self._stopping = True
        if self._lag_task is not None:
            self._lag_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._lag_task
            self._lag_task = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.flush(force=True)
        self.started = False

    async def _loop(self) -> None:
        while not self._stopping:
            # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a cancellation
            # that races with its own timeout, and the task would never stop.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.refresh_interval_s):
                    await self._wake.wait()
            self._wake.clear()
            try:
                if self._report_tickets_soon:
                    await self.report_tickets()
                await self.run_round()
                if self.clock.time() - self._last_flush >= self.settings.flush_interval_s:
                    await self.flush()
            except Exception:  # the gate must keep running whatever one round hit
                log.exception("gate round failed")
            # Arrivals wake the loop for a quick round; during a rush this spacing turns a
            # round per arrival into a round per few dozen, for the CPU and for Redis.
            await asyncio.sleep(_ROUND_SPACING_S)

    async def _watch_loop_lag(self) -> None:
        """Sample how late the event loop wakes a sleeper: queueing the gate cannot time."""
        loop = asyncio.get_running_loop()
        while not self._stopping:
            expected = loop.time() + _LAG_SAMPLE_S
            await asyncio.sleep(_LAG_SAMPLE_S)
            self.loop_lag_total += max(0.0, loop.time() - expected)
            self.loop_lag_samples += 1
            self.now = self.clock.time()

    async def admission_round_soon(self, wait_s: float = 0.25) -> None:
        """Ask the background task for a round now, and wait (briefly) until it is done."""
        if self._task is None:
            await self.run_round()
            return
        if self._round_done is None or self._round_done.done():
            self._round_done = asyncio.get_running_loop().create_future()
        waiter = self._round_done
        self._wake.set()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait_s):
                await asyncio.shield(waiter)

    # --- Shared or local store ----------------------------------------------------------

    async def _shared(self, operation: str, call: Callable[[], Awaitable[T]]) -> T | None:
        try:
            result = await call()
        except SharedStateUnavailable:
            metrics.SHARED_STATE_ERRORS.labels(operation).inc()
            if not self.degraded:
                log.warning("shared state unreachable: admitting from this process's share")
            self.degraded = True
            metrics.DEGRADED.set(1)
            return None
        if self.degraded:
            log.warning("shared state is back: admitting from the shared queue again")
        self.degraded = False
        metrics.DEGRADED.set(0)
        return result

    @property
    def origin(self) -> str:
        return self.local_origin if self.degraded else SHARED

    # --- One round ----------------------------------------------------------------------

    async def run_round(self) -> None:
        now = self.clock.time()
        settings = self.settings
        view = await self._shared("view", lambda: self.store.view(**view_cutoffs(settings, now)))
        if view is not None:
            self._use_view(view, now)
            applied = await self._admit(self.store, view, now, share=1)
            if applied:
                refreshed = await self._shared(
                    "view", lambda: self.store.view(**view_cutoffs(settings, now))
                )
                if refreshed is not None:
                    self.view = refreshed
        local_view = await self.local.view(**view_cutoffs(settings, now))
        self.local_view = local_view
        local_busy = self.degraded or any(local_view.queue.waiting)
        if local_busy and await self._admit(
            self.local, local_view, now, share=settings.process_count
        ):
            self.local_view = await self.local.view(**view_cutoffs(settings, now))
        if self._round_done is not None and not self._round_done.done():
            self._round_done.set_result(None)
        if self._next_view is not None and not self._next_view.done():
            self._next_view.set_result(None)

    def _use_view(self, view: StoreView, now: float) -> None:
        self.view = view
        if self.samples is not None:
            queue = view.queue
            self.samples.record(
                Sample(
                    now,
                    queue.active,
                    self.settings.capacity,
                    sum(queue.waiting),
                    round(self.current_rate(queue), 2),
                )
            )
        if view.runtime_settings:
            try:
                runtime = msgspec.json.decode(view.runtime_settings, type=RuntimeSettings)
                candidate = runtime.apply(self.base_settings)
                candidate.check()
                self.settings = candidate
            except (msgspec.DecodeError, msgspec.ValidationError, GateSettingsError):
                log.warning("ignoring unreadable runtime gate settings")
        else:
            self.settings = self.base_settings
        history = self._history
        history.append((now, view.queue.admitted, view.stats))
        while len(history) > 2 and now - history[1][0] >= _RATE_WINDOW_S:
            history.popleft()
        then, admitted_then, stats_then = history[0]
        elapsed = now - then
        if elapsed >= 2.0:
            a, b, c, d = (
                (view.queue.admitted[lane] - admitted_then[lane]) / elapsed for lane in Lane
            )
            self.lane_rates = (a, b, c, d)
            self.arrivals_per_s = (
                view.stats.get("arrivals", 0) - stats_then.get("arrivals", 0)
            ) / elapsed
            self.rate_limited_per_s = (
                view.stats.get("rate_limited", 0) - stats_then.get("rate_limited", 0)
            ) / elapsed
            self.proven_per_s = (
                view.stats.get("proven", 0) - stats_then.get("proven", 0)
            ) / elapsed
        settings = self.settings
        thresholds = AttackThresholds(
            settings.attack_arrivals_per_s,
            settings.attack_rate_limited_per_s,
            unreturned_minimum=settings.attack_unreturned_minimum,
            unreturned_share=settings.attack_unreturned_share,
            unreturned_capacity_share=settings.attack_unreturned_capacity_share,
        )
        self.attack = under_attack(settings.under_attack, attack_until=view.attack_until, now=now)
        if (
            settings.under_attack == "auto"
            and not self.attack
            and attack_detected(
                self.arrivals_per_s,
                self.rate_limited_per_s,
                thresholds,
                returns=view.returns,
                capacity=settings.capacity,
            )
        ):
            self.attack = True
            self._pending_attack_until = now + settings.attack_hold_s
        # Priced by those who solve: the flood that set the mode off solves nothing, and
        # must not make the people coming after it pay more.
        self.pow_cost = proof_of_work_cost(
            settings.pow_cost,
            arrivals_per_s=self.proven_per_s,
            admission_rate=self.current_rate(view.queue),
            maximum_factor=settings.pow_max_factor,
        )
        metrics.UNDER_ATTACK.set(1 if self.attack else 0)
        metrics.POW_COST.set(self.pow_cost)
        metrics.ACTIVE.set(view.queue.active)
        metrics.UNUSED.set(view.queue.unused)
        metrics.UNRETURNED.set(view.returns.unreturned)
        for lane in Lane:
            metrics.WAITING.labels(lane.name.lower()).set(view.queue.waiting[lane])

    _pending_attack_until = 0.0

    def current_rate(self, snapshot: QueueSnapshot) -> float:
        configured = self.settings.admission_rate_per_s
        if not self.settings.adaptive or snapshot.rate <= 0:
            return configured
        return min(configured, snapshot.rate)

    def rate_for(self, snapshot: QueueSnapshot, share: int) -> float:
        """This process's admission rate: the shared queue's rate in force, or, admitting
        from its own queue while the shared store is unreachable, its share of the
        configured rate. (The local queue's stored rate is that share already: dividing it
        again at each round took 20 a second down to 0.3 in the redis-stop drill.)"""
        if share == 1:
            return self.current_rate(snapshot)
        return self.settings.admission_rate_per_s / share

    def _adapt(self, rate: float, now: float, since: float) -> float | None:
        """One step of the AIMD on the shared rate, judged on this process's health since
        the last step; None while there is nothing to change yet."""
        settings = self.settings
        requests, errors, slow, over_bound = self.health
        lag = self.loop_lag_total / max(1, self.loop_lag_samples)
        cpu_then, wall_then = self._cpu_since
        clock = self.clock
        cpu_share = (clock.process_time() - cpu_then) / max(1e-6, clock.monotonic() - wall_then)
        healthy = judge_health(
            Health(
                requests, errors, slow, loop_lag_s=lag, cpu_share=cpu_share, over_bound=over_bound
            ),
            error_ratio_limit=settings.error_ratio_limit,
            slow_ratio_limit=settings.slow_ratio_limit,
            minimum_requests=20,
            loop_lag_limit=settings.loop_lag_limit_s,
            over_bound_ratio_limit=settings.over_bound_ratio_limit,
        )
        # Back off as soon as trouble shows, but not again before the cut could take
        # effect: a transient (a rush of arrivals) must not compound into a collapse.
        # Grow back only after a calm period.
        cut_again = now - self._last_cut_at >= _DECREASE_AGAIN_AFTER_S
        if not ((healthy is False and cut_again) or since >= _ADAPT_EVERY_S):
            return None
        if healthy is False:
            if not cut_again:
                healthy = None  # too soon after the last cut: hold the rate
            else:
                self._last_cut_at = now
        self.health = [0, 0, 0, 0]
        self.loop_lag_total, self.loop_lag_samples = 0.0, 0
        self._cpu_since = (clock.process_time(), clock.monotonic())
        decrease = 0.9
        if healthy is False:
            # A cut acts on the admissions people get: a configured rate above the
            # arrivals (20 a second for 5 arrivals) is cut to no effect.
            observed = sum(self.lane_rates)
            if 0 < observed < rate:
                rate = observed
            decrease = cut_factor(
                Health(
                    requests,
                    errors,
                    slow,
                    # Over the bound counts as judged: only while the loop is on time.
                    over_bound=over_bound if lag <= settings.loop_lag_limit_s else 0,
                ),
                slow_ratio_limit=settings.slow_ratio_limit,
            )
        return adjust_rate(
            rate,
            healthy,
            minimum=settings.adaptive_minimum_rate_per_s,
            maximum=settings.admission_rate_per_s,
            increase=settings.adaptive_increase_per_s,
            decrease_factor=decrease,
        )

    async def _admit(
        self, store: AdmissionStore, view: StoreView, now: float, *, share: int
    ) -> bool:
        settings = self.settings
        snapshot = view.queue
        rate = self.rate_for(snapshot, share)
        rate_at = view.rate_at
        since = now - view.rate_at
        if settings.adaptive and share == 1 and since >= _DECREASE_AFTER_S:
            adapted = self._adapt(rate, now, since)
            if adapted is not None:
                rate, rate_at = adapted, now
        metrics.ADMISSION_RATE.set(rate * share)
        plan = plan_admissions(
            snapshot,
            now=now,
            capacity=max(1, settings.capacity // share),
            rate=rate,
            burst=max(1.0, rate * settings.admission_burst_s),
            shares=self.shares,
            opening_at=settings.opening_at,
            seed=secrets.token_hex(8),
            # Their first poll was due, and reported at the next round.
            credit_before=(now - settings.first_poll_due_s if settings.charge_on_claim else None),
            young_lead_s=settings.young_lead_s if settings.charge_on_claim else None,
        )
        if not any(plan.grants) and plan.seal is None and rate_at == view.rate_at:
            return False
        candidates = [
            candidates_after(
                snapshot.serving[lane],
                snapshot.issued[lane],
                snapshot.pre_queues[lane],
                # Room to walk past tickets admitted on credit (a flood's, interleaved).
                (4 * plan.grants[lane] + 64) if plan.room else (2 * plan.grants[lane] + 16),
            )
            if plan.grants[lane]
            else []
            for lane in Lane
        ]
        if share == 1:
            granted = await self._shared(
                "apply",
                lambda: store.apply(plan, candidates, now=now, rate=rate, rate_at=rate_at),
            )
        else:
            granted = await store.apply(plan, candidates, now=now, rate=rate, rate_at=rate_at)
        if granted:
            for lane in Lane:
                if granted[lane]:
                    metrics.ADMITTED.labels(lane.name.lower()).inc(granted[lane])
            if share != 1:
                metrics.LOCAL_ADMISSIONS.inc(sum(granted))
        return granted is not None

    async def flush(self, *, force: bool = False) -> None:
        """Hand what was seen since the last flush to the shared store. One at a time: a
        flush that returns has written everything pending, even while the background
        task's own flush was under way."""
        async with self._flush_lock:
            await self._flush(force=force)

    async def report_tickets(self) -> None:
        """Hand the tickets seen since the last flush to the stores now: among them are
        first polls, which tell a person from a flood's ticket (and the sooner, the less a
        flood's tickets take from the people behind them)."""
        async with self._flush_lock:
            self._report_tickets_soon = False
            now = self.clock.time()
            tickets = list(self.seen_tickets)
            self.seen_tickets.clear()
            if tickets:

                async def touch() -> bool:
                    await self.store.touch(now=now, passes=(), tickets=tickets, stats={})
                    return True

                await self._shared("touch", touch)
            local_tickets = list(self.seen_local_tickets)
            self.seen_local_tickets.clear()
            if local_tickets:
                await self.local.touch(now=now, passes=(), tickets=local_tickets, stats={})

    async def _flush(self, *, force: bool) -> None:
        now = self.clock.time()
        self._last_flush = now
        # First the hooks: the middleware's hot path counts its sightings on its own
        # entries and adds them to ``seen_passes`` here.
        for hook in self.flush_hooks:
            await hook()
        # Copy and clear in place: the middleware's hot path holds on to these sets.
        passes = list(self.seen_passes)
        self.seen_passes.clear()
        tickets = list(self.seen_tickets)
        self.seen_tickets.clear()
        stats, self.stats = dict(self.stats), Counter()
        if passes or tickets or stats:

            async def touch() -> bool:
                await self.store.touch(now=now, passes=passes, tickets=tickets, stats=stats)
                return True

            done = await self._shared("touch", touch)
            if done is None and not force:
                # Keep the counts for the next flush; seen ids simply wait for the next sighting.
                self.stats.update(stats)
        local_passes = list(self.seen_local_passes)
        self.seen_local_passes.clear()
        local_tickets = list(self.seen_local_tickets)
        self.seen_local_tickets.clear()
        if local_passes or local_tickets:
            await self.local.touch(now=now, passes=local_passes, tickets=local_tickets, stats={})
        if self._pending_attack_until:
            until, self._pending_attack_until = self._pending_attack_until, 0.0
            await self._shared("attack", lambda: self.store.raise_attack_until(until))

    # --- What requests ask ---------------------------------------------------------------

    @property
    def shares(self) -> LaneShares:
        settings = self.settings
        return LaneShares(
            settings.priority_share, settings.first_time_share, settings.network_deferred_share
        )

    def fairness(self, network: str | None, origin: str) -> Fairness | None:
        """What the store needs to keep one network from holding the places ahead of
        newcomers from others (``domain.admission.fair_lane``): the line counts as long
        from ``network_fair_line_s`` seconds of the admission rate in force."""
        view = self.view if origin == SHARED else self.local_view
        settings = self.settings
        if network is None or settings.network_fair_places <= 0 or view is None:
            return None
        share = 1 if origin == SHARED else settings.process_count
        rate = self.rate_for(view.queue, share)
        return Fairness(
            network,
            settings.network_fair_places,
            max(1, math.ceil(settings.network_fair_line_s * rate)),
        )

    async def join(
        self, lane: Lane, *, device: str | None, network: str | None = None
    ) -> tuple[str, Lane, int]:
        now = self.clock.time()
        self.stats["arrivals_seen"] += 1
        if not self.degraded:
            fairness = self.fairness(network, SHARED)
            joined = await self._shared(
                "join",
                lambda: self.store.join(
                    lane,
                    now=now,
                    device=device,
                    ticket_idle_s=self.settings.ticket_idle_s,
                    fairness=fairness,
                ),
            )
            if joined is not None:
                metrics.JOINED.labels(joined[0].name.lower()).inc()
                return SHARED, joined[0], joined[1]
        held_lane, number = await self.local.join(
            lane,
            now=now,
            device=device,
            ticket_idle_s=self.settings.ticket_idle_s,
            fairness=self.fairness(network, self.local_origin),
        )
        metrics.JOINED.labels(held_lane.name.lower()).inc()
        return self.local_origin, held_lane, number

    def usable_origin(self, origin: str) -> bool:
        """Whether a ticket from ``origin`` can still be served by this process."""
        if origin == SHARED:
            return not self.degraded and self.view is not None
        return origin == self.local_origin

    def door_delay(self, origin: str) -> float:
        """How long to hold someone admitted before letting them in, so that this process
        lets people in no faster than ``door_rate_factor`` times its share of the rate; 0 to
        come in now. Takes their place at the door: call it once per person coming in."""
        view = self.view if origin == SHARED else self.local_view
        if view is None:
            return 0.0
        settings = self.settings
        if origin == SHARED:
            rate = self.rate_for(view.queue, 1) / settings.process_count
        else:
            rate = self.rate_for(view.queue, settings.process_count)  # its share already
        now = self.clock.monotonic()
        slot, self._door_free_at = door_slot(
            now,
            self._door_free_at,
            rate * settings.door_rate_factor,
            hold_s=settings.poll_minimum_s,
        )
        return slot - now

    def ticket_status(
        self, origin: str, lane: Lane, number: int, *, now: float | None = None
    ) -> TicketStatus:
        """Where a ticket stands, from this process's cached counters (no I/O)."""
        now = self.clock.time() if now is None else now
        view = self.view if origin == SHARED else self.local_view
        settings = self.settings
        opening_at = settings.opening_at
        if view is None:
            return TicketStatus(False, 0, 0, None, 0, 0, None)
        snapshot = view.queue
        not_open = opening_at is not None and snapshot.sealed_for != opening_at
        pre_queue = snapshot.pre_queues[lane]
        waiting_total = sum(snapshot.waiting)
        if not_open:
            return TicketStatus(False, 0, 0, None, waiting_total, 0, opening_at)
        position = position_of_ticket(number, pre_queue)
        serving = snapshot.serving[lane]
        if position <= serving:
            # Admitted by a round, but let in at its place in the round's even stream.
            release = release_time(
                position,
                release_from=snapshot.release_from[lane],
                release_at=snapshot.release_at[lane],
                spacing=snapshot.release_spacing[lane],
            )
            if release <= now:
                return TicketStatus(True, position, 0, 0.0, waiting_total, serving, None)
            return TicketStatus(False, position, 0, release - now, waiting_total, serving, None)
        ahead = people_ahead(position, serving, snapshot.waiting[lane], snapshot.issued[lane])
        share = 1 if origin == SHARED else settings.process_count
        full = self._full(origin)
        weights = self.shares.weights()
        wait = honest_wait(
            ahead,
            expected_rate=front_rate(
                int(lane), ahead + 1, self.rate_for(snapshot, share), snapshot.waiting, weights
            ),
            observed_rate=self.lane_rates[lane] if share == 1 else 0.0,
            full=full,
            minimum=settings.refresh_interval_s,
        )
        if wait is not None:
            # Those admitted already but not yet let in come first.
            wait += max(0.0, snapshot.paced_until - now)
        return TicketStatus(False, position, ahead, wait, waiting_total, serving, None, full)

    async def wait_for_turn(
        self, origin: str, lane: Lane, number: int, *, limit_s: float
    ) -> TicketStatus:
        """Hold a request whose turn is due within ``limit_s``, and answer at the turn.

        Told to come back, the person would arrive at a random moment of their next poll
        interval; held, they come in at their place in the even stream of admissions, and
        save a poll. At most ``limit_s`` (the shortest poll interval) of a coroutine.
        """
        clock = self.clock
        deadline = clock.monotonic() + limit_s
        while True:
            status = self.ticket_status(origin, lane, number)
            remaining = deadline - clock.monotonic()
            if (
                status.admitted
                or remaining <= 0
                or status.wait_s is None
                or status.opening_at is not None
            ):
                return status
            if 0 < status.position <= status.serving:
                # Granted already: the release time is known.
                await clock.sleep(min(status.wait_s, remaining))
                continue
            if self._full(origin):
                # Slots free only as passes idle out: the turn cannot be foreseen.
                return status
            # Not granted yet: see again after the next round.
            if self._next_view is None or self._next_view.done():
                self._next_view = asyncio.get_running_loop().create_future()
            # Until that round or the deadline, on the gate's clock (asyncio.wait leaves the
            # shared future alone when this request gives up).
            timer = asyncio.ensure_future(clock.sleep(remaining))
            try:
                await asyncio.wait((self._next_view, timer), return_when=asyncio.FIRST_COMPLETED)
            finally:
                timer.cancel()

    def _full(self, origin: str) -> bool:
        view = self.view if origin == SHARED else self.local_view
        share = 1 if origin == SHARED else self.settings.process_count
        return view is not None and view.queue.active >= max(1, self.settings.capacity // share)

    def saw_pass(self, identifier: str) -> None:
        if identifier.startswith("L"):
            self.seen_local_passes.add(identifier)
        else:
            self.seen_passes.add(identifier)

    def saw_ticket(self, origin: str, lane: Lane, number: int, *, young: bool = False) -> None:
        """Note a ticket's poll. ``young``: the ticket was taken moments ago, so this may be
        its first poll, reported at the next round (:meth:`report_tickets`)."""
        if origin == SHARED:
            self.seen_tickets.add((int(lane), number))
        else:
            self.seen_local_tickets.add((int(lane), number))
        if young and not self._report_tickets_soon:
            self._report_tickets_soon = True
            self._wake.set()

    def pass_for(self, origin: str, lane: Lane, number: int) -> str:
        return pass_id(lane, number, origin=origin)

    def record_response(
        self, status: int, latency: float, *, weight: int = 1, degraded: bool = False
    ) -> None:
        """Count one response for the AIMD: its latency, and its status standing for
        ``weight`` of them (the hot path samples statuses, one in ``weight``, but times
        every request: :meth:`record_latency`). A degraded answer (the database
        unreachable: ``asgi.DEGRADED_KEY``) is left out: fewer admissions cannot bring the
        database back, and the rate would stay cut long after it is
        (docs/reliability.md)."""
        if degraded:
            return
        health = self.health
        health[0] += 1
        if status >= 500:
            health[1] += weight
        if latency > self.settings.latency_target_s:
            health[2] += 1
            if latency > self.settings.latency_bound_s:
                health[3] += 1

    def record_latency(self, latency: float, degraded: bool = False) -> None:
        """Count one admitted request's latency (the hot path's, status not seen). A slow
        database shows here only: it raises neither this process's CPU nor its loop lag."""
        if degraded:
            return
        health = self.health
        health[0] += 1
        if latency > self.settings.latency_target_s:
            health[2] += 1
            if latency > self.settings.latency_bound_s:
                health[3] += 1
