"""The gate's settings: read once from ``PREAU_GATE_*`` by the composition root.

A few of them (capacity, admission rate, opening time, under-attack mode) can be changed
at run time by an operator; those live in shared state (:class:`RuntimeSettings`) and
override the start-up values in every process within a couple of seconds.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from preau.settings import SettingsError, read_environ

PREFIX = "PREAU_GATE_"
UNDER_ATTACK_MODES = ("auto", "on", "off")


class GateSettingsError(SettingsError):
    """A ``PREAU_GATE_*`` variable holds a value the gate cannot use."""


class GateSettings(msgspec.Struct, frozen=True, kw_only=True):
    enabled: bool = True

    # Admission. The defaults suit the embedded demo: generous enough to never queue.
    capacity: int = 5000  # active passes at once, across all processes
    admission_rate_per_s: float = 200.0  # new admissions per second, across all processes
    admission_burst_s: float = 2.0  # the rate budget may save up this many seconds
    adaptive: bool = True  # lower the rate when the app is slow or failing (AIMD)
    adaptive_minimum_rate_per_s: float = 1.0
    adaptive_increase_per_s: float = 2.0  # added to the rate after each healthy period
    latency_target_s: float = 0.5  # an admitted request slower than this counts as slow
    slow_ratio_limit: float = 0.1  # more than this share of slow requests: unhealthy
    # The admitted p99's bound: more than ``over_bound_ratio_limit`` of the admitted
    # requests slower than this (a slow database, docs/reliability.md): unhealthy.
    latency_bound_s: float = 1.0
    over_bound_ratio_limit: float = 0.01
    error_ratio_limit: float = 0.05  # more than this share of 5xx answers: unhealthy
    loop_lag_limit_s: float = 0.05  # event loop running this late on average: unhealthy
    idle_timeout_s: float = 300.0  # a pass unused for this long frees its slot
    # A pass never brought back (no second request) frees its slot after this long (at most
    # idle_timeout_s): taking passes and dropping them cannot fill the room.
    unused_pass_idle_s: float = 30.0
    pass_ttl_s: float = 8 * 3600.0  # a pass never lasts longer than a school day
    ticket_idle_s: float = 120.0  # a waiting place is kept this long after the last poll
    # A ticket never polled is forgotten after this long (at most ticket_idle_s; its first
    # poll is asked for within a quarter of it): arrivals that never come back clear out of
    # the line in seconds. Until then each one reached takes an admission (bench/gate_flood.py:
    # at 20 s a polite flood held people back about 25 s), so it is short.
    unpolled_ticket_idle_s: float = 6.0
    # A ticket never polled though its first poll was due, reached in line, is admitted
    # without spending the rate, and pays when it comes for its pass: tickets taken and
    # dropped (a polite flood's) take no admission from the people behind them.
    charge_on_claim: bool = True
    # People come back (the pass's second request) within this long; the attack detector
    # counts those who have not, after it.
    return_expected_s: float = 5.0
    # Someone who has just taken a ticket is asked to poll within this long (Retry-After
    # counts whole seconds: 1 at least), and the first polls reach the shared store at the
    # next admission round rather than the next flush. A ticket still unpolled
    # ``first_poll_due_s`` after it was taken is then most likely a flood's: it walks the
    # line on credit, and counts toward a polite flood's shape (bench/gate_flood.py: with
    # the 3 s this took before, a polite flood held people back ~3 s and went unseen ~11 s).
    first_poll_s: float = 1.0
    # A first-time ticket not polled yet is admitted only while less than this much of the
    # rate is scheduled ahead (domain.admission, "Newcomers not polled yet"): a flood's first
    # arrivals cannot spend what the site saved while quiet; others wait for their first
    # poll (a second). A value of admission_burst_s or more admits them as any.
    young_lead_s: float = 0.25
    # Each process lets people in with tickets at most this many times its share of the
    # rate (domain.admission.door_slot): a clump of people back from their polls at once is
    # spread out, and a door that fast never falls behind the rounds (at the rate itself,
    # people coming back at random moments would keep it full and late).
    door_rate_factor: float = 1.25
    priority_share: float = 0.5  # share of admissions reserved for teachers and staff
    first_time_share: float = 0.2  # share reserved for first-time visitors
    opening_time: str = ""  # ISO 8601 with offset, e.g. 2021-04-06T08:00:00+02:00
    # The platform's time zone: the waiting page and the operator page say times in it (the
    # gate reads no school; an academy's platform serves one zone).
    time_zone: str = "Europe/Paris"
    poll_minimum_s: float = 2.0
    poll_maximum_s: float = 30.0

    # Background work of each process.
    flush_interval_s: float = 2.0  # batch "seen" passes and tickets this often
    refresh_interval_s: float = 1.0  # read counters and runtime settings this often

    # Processes and degraded mode.
    process_count: int = 1  # when Redis is down, each process admits capacity ÷ this

    # Floods.
    rate_limit_address: str = "3000/minute"  # requests with neither pass nor ticket
    rate_limit_ticket: str = "120/minute"  # polls and page loads of one waiting device
    rate_limit_account: str = "1200/minute"  # requests of a signed-in person
    rate_limit_pass: str = "1200/minute"  # noqa: S105 - per admitted device, not a password
    rate_limit_routes: str = "/gate/join=60/minute;/gate/challenge=120/minute"
    # Tickets one network (/24, /64) may take: this share of the configured admission rate,
    # and at least network_minimum_per_minute a minute (a school behind one address).
    network_share: float = 0.1
    network_minimum_per_minute: int = 600
    # Fairness between networks in line (domain.admission.fair_lane): while the first-time
    # and deferred lanes hold more than network_fair_line_s seconds of admissions, a network
    # holding network_fair_places first-time places (tickets not reached yet, or let in and
    # their pass not back yet) puts its further newcomers in the deferred lane, which gets
    # network_deferred_share of the first-time share while both wait (all of it when the
    # first-time line is empty). Known devices are exempt. network_fair_places 0: off, the
    # default: a network's newcomers may overtake its own deferred people once its places
    # free up, which breaks the order within a network (a school's or a carrier's NAT) and
    # makes deferred waits read about 3x too long (bench/gate_overload.py); 2 to try it.
    network_fair_places: int = 0
    network_fair_line_s: float = 1.0
    network_deferred_share: float = 0.1
    under_attack: str = "auto"  # auto | on | off
    attack_arrivals_per_s: float = 500.0  # new arrivals per second that mean an attack
    attack_rate_limited_per_s: float = 50.0  # refusals per second that mean an attack
    # The shape of a polite flood: at least this many arrivals that never came back (0: off)…
    attack_unreturned_minimum: int = 100
    attack_unreturned_share: float = 0.5  # …and most arrivals, or…
    attack_unreturned_capacity_share: float = 0.25  # …this share of the capacity
    attack_hold_s: float = 600.0  # stay in under-attack mode this long after detection
    pow_algorithm: str = "PBKDF2/SHA-256"
    pow_cost: int = 5000  # PBKDF2 iterations per attempt (ALTCHA's suggested default)
    # Up to this many times pow_cost while arrivals outrun admissions (whole doublings).
    pow_max_factor: int = 8
    pow_difficulty: int = 2  # hex zeros the derived key must start with (16^n attempts)
    pow_challenge_ttl_s: float = 300.0
    # A challenge one step cheaper than the cost in force is still accepted this long after
    # it was issued (fetched just before a raise); older ones must be fetched again.
    pow_late_grace_s: float = 30.0
    # Priced per network too (/24, /64; and /48 with 16 times the allowance): a network's
    # first pow_network_free challenges in 30 s cost the price in force, each further one
    # pow_network_growth times more, up to pow_network_max_factor times. A device already
    # known (signed device cookie: pupils and staff who signed in once) is not surcharged.
    # Growth 4, not 2: 16 bot cores in 8 /24s won 78 passes instead of 99-101 in
    # bench/gate_flood.py, and the people's own proofs cost what they did.
    pow_network_free: int = 4
    pow_network_growth: int = 4
    pow_network_max_factor: int = 64

    # Shedding inside each worker.
    max_in_flight: int = 64  # upper bound of the adaptive in-flight limit
    min_in_flight: int = 4
    shed_queue_length: int = 128  # requests waiting for a slot, at most
    shed_latency_target_s: float = 0.25
    retry_after_shed_s: int = 2

    cookie_secure: bool = False

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> GateSettings:
        try:
            values = read_environ(cls, environ, PREFIX)
        except SettingsError as error:
            raise GateSettingsError(str(error)) from None
        settings = cls(**values)  # type: ignore[arg-type]  # parsed by type
        settings.check()
        return settings

    def check(self) -> None:  # noqa: C901, PLR0912 - one check per setting, each with its own sentence
        """Raise :class:`GateSettingsError` for values that make no sense together."""
        if self.capacity < 1 or self.process_count < 1:
            raise GateSettingsError("PREAU_GATE_CAPACITY and PROCESS_COUNT must be at least 1.")
        if self.admission_rate_per_s <= 0:
            raise GateSettingsError("PREAU_GATE_ADMISSION_RATE_PER_S must be above 0.")
        if not 0 <= self.priority_share + self.first_time_share <= 1:
            raise GateSettingsError("The priority and first-time shares must add up to at most 1.")
        if self.under_attack not in UNDER_ATTACK_MODES:
            raise GateSettingsError("PREAU_GATE_UNDER_ATTACK must be auto, on or off.")
        if not 0 <= self.pow_difficulty <= 8:
            raise GateSettingsError("PREAU_GATE_POW_DIFFICULTY must be between 0 and 8.")
        pow_counts = (self.pow_network_free + 1, self.pow_network_growth)
        if min(self.pow_cost, self.pow_max_factor, self.pow_network_max_factor, *pow_counts) < 1:
            raise GateSettingsError(
                "PREAU_GATE_POW_COST, POW_MAX_FACTOR, POW_NETWORK_GROWTH and "
                "POW_NETWORK_MAX_FACTOR must be at least 1, POW_NETWORK_FREE at least 0."
            )
        if self.unused_pass_idle_s <= 0 or self.unpolled_ticket_idle_s <= 0:
            raise GateSettingsError(
                "PREAU_GATE_UNUSED_PASS_IDLE_S and UNPOLLED_TICKET_IDLE_S must be above 0."
            )
        if self.door_rate_factor < 1:
            raise GateSettingsError(
                "PREAU_GATE_DOOR_RATE_FACTOR must be at least 1: a door slower than the "
                "admission rate would let fewer people in than are admitted."
            )
        if self.young_lead_s <= 0:
            raise GateSettingsError(
                "PREAU_GATE_YOUNG_LEAD_S must be above 0: newcomers not polled yet keep the "
                "admissions going while less than this many seconds of them are scheduled."
            )
        if self.first_poll_s < 1:
            raise GateSettingsError("PREAU_GATE_FIRST_POLL_S must be at least 1 (second).")
        if not (0 <= self.network_share <= 1 and 0 < self.network_deferred_share < 1):
            raise GateSettingsError(
                "PREAU_GATE_NETWORK_SHARE must be between 0 and 1, and "
                "NETWORK_DEFERRED_SHARE above 0 and below 1."
            )
        if self.min_in_flight < 1 or self.max_in_flight < self.min_in_flight:
            raise GateSettingsError("PREAU_GATE_MAX_IN_FLIGHT must be at least MIN_IN_FLIGHT.")
        if self.opening_time:
            parse_opening_time(self.opening_time)
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise GateSettingsError(
                f"PREAU_GATE_TIME_ZONE {self.time_zone!r} is not a time zone, like Europe/Paris."
            ) from None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.time_zone)

    @property
    def opening_at(self) -> float | None:
        return parse_opening_time(self.opening_time) if self.opening_time else None

    @property
    def unused_pass_timeout_s(self) -> float:
        """How long a pass never brought back holds its slot (never over the idle timeout)."""
        return min(self.unused_pass_idle_s, self.idle_timeout_s)

    @property
    def first_poll_due_s(self) -> float:
        """When a ticket's first poll has had time to reach the shared store: asked for
        within ``first_poll_s``, reported at the next round (half a second of slack). Never
        past half the short life of an unpolled ticket."""
        return min(self.first_poll_s + 0.5, self.unpolled_ticket_timeout_s / 2)

    @property
    def unpolled_ticket_timeout_s(self) -> float:
        """How long a ticket never polled keeps its place (never over ``ticket_idle_s``)."""
        return min(self.unpolled_ticket_idle_s, self.ticket_idle_s)


def local_opening_time(text: str, zone: ZoneInfo) -> str:
    """A date and time typed in the platform's zone (``2021-04-06T08:00``, as a
    ``datetime-local`` input sends it) as ISO 8601 with its offset; "" stays "" (open)."""
    text = text.strip()
    if not text:
        return ""
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise GateSettingsError(f"{text!r} is not a date and time like 2021-04-06T08:00.") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.isoformat(timespec="minutes")


def parse_opening_time(text: str) -> float:
    """Unix time of an ISO 8601 date and time; it must name its offset from UTC."""
    try:
        moment = datetime.datetime.fromisoformat(text.strip())
    except ValueError:
        raise GateSettingsError(
            f"{text!r} is not a date and time like 2021-04-06T08:00:00+02:00."
        ) from None
    if moment.tzinfo is None:
        raise GateSettingsError(f"{text!r} needs its offset from UTC, like +02:00.")
    return moment.timestamp()


class RuntimeSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Settings an operator changes while the gate runs; None keeps the start-up value."""

    capacity: int | None = None
    admission_rate_per_s: float | None = None
    opening_time: str | None = None  # "" clears a configured opening time
    under_attack: str | None = None
    updated_at: float = 0.0

    def apply(self, settings: GateSettings) -> GateSettings:
        changes: dict[str, object] = {}
        if self.capacity is not None:
            changes["capacity"] = self.capacity
        if self.admission_rate_per_s is not None:
            changes["admission_rate_per_s"] = self.admission_rate_per_s
        if self.opening_time is not None:
            changes["opening_time"] = self.opening_time
        if self.under_attack is not None:
            changes["under_attack"] = self.under_attack
        return msgspec.structs.replace(settings, **changes) if changes else settings
