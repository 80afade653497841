"""Capacity model of the national Monday: how many app cores, and what PostgreSQL and Redis
load, keep the p95 wait under 60 s and admitted requests' p99 under 300 ms.

    .venv/bin/python bench/capacity_model.py [--quick] [--calibration FILE] [--no-calibrate]

A discrete-time simulation (numpy; no SimPy) of DESIGN.md §7's morning: arrivals per the
configurable curve join the gate's lanes; once per round the gate's own pure functions
(``plan_admissions``, ``judge_health``, ``adjust_rate``, ``poll_interval``) decide who is
admitted and at what rate; admitted people make the requests of their first minutes, whose
CPU costs come from ``bench/capacity_calibrate.py`` measured on this machine. Each app core
is one Python process: a FIFO server (its event loop), fed at random by the load balancer,
so a shard of ``k`` cores carrying ``k/C`` of the country behaves like the whole (see
``--shard-cores`` and docs/performance.md). The same arrivals and cores then run the
2021-style quota: a cap on concurrent sessions, "come back in a few minutes" when full.

The result goes into ``docs/performance.md`` between the ``capacity-model`` markers, with a
chart in ``docs/img/``.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from preau.domain.admission import (
    Health,
    LaneShares,
    QueueSnapshot,
    adjust_rate,
    expected_lane_rates,
    full_jitter,
    judge_health,
    plan_admissions,
    poll_interval,
)
from preau.gate.settings import GateSettings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DEFAULT_CALIBRATION = ROOT / "var" / "bench" / "calibration.json"
IMAGES = ROOT / "docs" / "img"

# Request kinds of the morning; the calibration measures each one.
KINDS = (
    "device_resume", "todo_page", "todo_api", "revalidate_304", "homework_open", "inbox",
    "timetable", "turn_in", "login_page", "password_login", "gate_join", "gate_poll",
    "gate_wait_page", "sso_start", "sso_login",
)  # fmt: skip
K = {name: index for index, name in enumerate(KINDS)}
GATE_KINDS = np.array([K["gate_join"], K["gate_poll"], K["gate_wait_page"]])
LOGIN = K["password_login"]
SSO_LOGIN = K["sso_login"]
SIGN_INS = np.array([LOGIN, SSO_LOGIN])  # with work beside the loop (argon2, SAML checks)
PRIORITY, KNOWN, FIRST_TIME = 0, 1, 2
# After their first minutes, people keep working: one request every so often, of this mix.
LATER_MIX = {"revalidate_304": 0.4, "todo_api": 0.2, "homework_open": 0.2, "inbox": 0.2}
BIG = 1.0e7  # separates the cores' segments in the vectorised FIFO recursion


@dataclass(frozen=True)
class Scenario:
    """Every input of the model; defaults from DESIGN.md §7 unless said otherwise."""

    pupils: float = 12.0e6  # 13.2 M accounts: 12.0 M pupils + 1.2 M staff (§7, §1)
    staff: float = 1.2e6
    pupil_share: float = 0.6  # share of pupils arriving in the window (§7)
    staff_share: float = 0.8  # share of staff arriving in the window (§7)
    window_s: float = 3600.0  # 08:30-09:30 (§7)
    peak_share: float = 0.5  # half of the window's arrivals... (§7)
    peak_start_s: float = 1500.0  # ...in the ten minutes around 09:00 (08:55-09:05)
    peak_width_s: float = 600.0
    end_s: float = 4500.0  # simulate until 09:45, so queues can drain
    login_share: float = 0.2  # sign in (no remembered device), as in locust_morning
    # Of those, the share who sign in through EduConnect or their académie (SAML) rather
    # than with a Préau password. 0.7: in April 2021 pupils and parents were sent to
    # EduConnect and staff to their académie's portal; the rest (no national identity
    # yet, or a school without SSO) type a password.
    sso_share: float = 0.7
    turn_in_share: float = 0.3  # turn something in during the first minutes (locust_morning)
    first_minutes_s: float = 120.0  # the ~8 requests of §7 fall in the first two minutes
    later_interval_s: float = 120.0  # then one request every so often (assumption)
    # HTTP server per request: granian (what ``preau serve`` runs), raw ASGI 40,600/s.
    server_overhead_ms: float = 0.025
    target_utilisation: float = 0.6  # operator's rule: admission rate = this × C ÷ CPU/arrival
    aimd_increase_share: float = 0.01  # AIMD step, as a share of the configured rate
    hash_utilisation: float = 0.7  # hashing pool sized for this utilisation at the max rate
    quota_retry_s: float = 120.0  # 2021: "come back in a few minutes"
    quota_attempts: int = 5  # then give up
    quota_session_s: float = 120.0  # 2021: "we have limited the time of sessions"
    dt: float = 1.0  # the gate's round interval (refresh_interval_s)


@dataclass
class Costs:
    """Per-request figures by kind (arrays indexed like KINDS), from the calibration.

    Which CPU runs where (docs/performance.md, "Whose core"): an app process has one core.
    Its event loop's thread runs on it, and so does any other thread of the process that
    holds the GIL while it works (pysaml2 would, in a thread; the SAML pool's feeder and
    result threads do): that CPU is counted as the loop's. Only work that leaves the GIL
    or the process counts on the sign-in pool's cores: argon2's verify (C, the GIL
    released: bench/gil_check.py) and the SAML pool's worker processes (their CPU read
    from ``/proc/<pid>/schedstat`` by the calibration)."""

    loop_s: np.ndarray  # event-loop CPU, server overhead included
    hash_s: float  # argon2 verify, run beside the loop (password_login only)
    sql: np.ndarray  # SQL statements
    pg_trips: np.ndarray  # statements + BEGIN/COMMIT + pool pings
    pg_cpu_s: np.ndarray
    redis: np.ndarray
    redis_cpu_s: np.ndarray
    background_redis_per_s: float = 0.0  # per process (gate rounds, flushes)
    background_cpu_s: float = 0.0  # per process per second
    sso_s: float = 0.0  # per SSO sign-in (start and answer), in the SAML worker processes
    measured: frozenset[str] = frozenset(KINDS)  # the kinds the calibration measured

    def off_loop_s(self, kinds: np.ndarray) -> np.ndarray:
        """Work beside the event loop, in the sign-in pool, of sign-in requests."""
        return np.where(kinds == LOGIN, self.hash_s, self.sso_s)

    @classmethod
    def from_calibration(cls, data: dict[str, Any], server_overhead_ms: float) -> Costs:
        requests = data["requests"]

        def column(key: str, scale: float = 1.0) -> np.ndarray:
            return np.array([requests.get(name, {}).get(key, 0.0) * scale for name in KINDS])

        loop = column("cpu_ms", 1 / 1000) + server_overhead_ms / 1000
        # Both sign-ins are split alike: the loop runs what the event loop's thread ran
        # during the logins; the pool runs the rest, argon2 with the cost of hashes run
        # side by side (caches and memory shared), which a verify measured alone does not
        # see: the larger of the two is the pool's cost of a password.
        login = requests["password_login"]
        alone_s = requests["argon2_verify"]["cpu_ms"] / 1000
        login_threads_s = login.get("other_threads_cpu_ms", 0.0) / 1000
        hash_s = max(alone_s, login_threads_s)
        loop[LOGIN] = max(server_overhead_ms / 1000, loop[LOGIN] - (login_threads_s or alone_s))
        # An SSO sign-in's pysaml2 work (the AuthnRequest, the answer's checks) runs in the
        # SAML pool's worker processes: their CPU is the sign-in pool's. ``cpu_ms`` (this
        # process's threads) all stays on the loop: its threads other than the loop's
        # hold the GIL (the pool's feeder and result threads, unpickling the answer).
        sso_s = sum(
            requests.get(name, {}).get("other_processes_cpu_ms", 0.0) / 1000
            for name in ("sso_start", "sso_login")
        )
        return cls(
            loop_s=loop,
            hash_s=hash_s,
            sql=column("sql_statements"),
            pg_trips=column("sql_statements")
            + 2 * column("sql_transactions")
            + column("sql_checkouts"),
            pg_cpu_s=column("postgres_cpu_ms", 1 / 1000),
            redis=column("redis_commands"),
            redis_cpu_s=column("redis_cpu_ms", 1 / 1000),
            background_redis_per_s=data["background"]["redis_per_s"],
            background_cpu_s=data["background"]["cpu_per_s"],
            sso_s=sso_s,
            measured=frozenset(requests),
        )

    @classmethod
    def uniform(cls, seconds: float, hash_s: float = 0.0) -> Costs:
        """Every request costs ``seconds``: for tests with known answers."""
        ones = np.ones(len(KINDS))
        return cls(ones * seconds, hash_s, ones, ones, ones * 0, ones, ones * 0)


def first_minutes_mix(scenario: Scenario) -> dict[str, float]:
    """Requests per person in the first minutes, besides the gate's join and polls."""
    return {
        "todo_api": 1, "homework_open": 2, "inbox": 1, "timetable": 1, "revalidate_304": 1,
        "turn_in": scenario.turn_in_share,
    }  # fmt: skip


def loop_cpu_per_arrival(scenario: Scenario, costs: Costs) -> float:
    """Event-loop CPU of one arrival's first minutes, join and claiming poll included."""
    mix = first_minutes_mix(scenario)
    common = sum(costs.loop_s[K[name]] * count for name, count in mix.items())
    common += costs.loop_s[K["gate_join"]] + costs.loop_s[K["gate_poll"]]
    resume = costs.loop_s[K["device_resume"]]
    password = costs.loop_s[K["login_page"]] + costs.loop_s[LOGIN]
    sso = costs.loop_s[K["login_page"]] + costs.loop_s[K["sso_start"]] + costs.loop_s[SSO_LOGIN]
    sign_in = (1 - scenario.sso_share) * password + scenario.sso_share * sso
    sign_in += costs.loop_s[K["todo_page"]]
    share = scenario.login_share
    return float(common + (1 - share) * resume + share * sign_in)


def arrivals_in_window(scenario: Scenario) -> float:
    return scenario.pupils * scenario.pupil_share + scenario.staff * scenario.staff_share


def peak_arrival_rate(scenario: Scenario) -> float:
    return arrivals_in_window(scenario) * scenario.peak_share / scenario.peak_width_s


def gate_for(scenario: Scenario, costs: Costs, cores: float) -> tuple[float, int]:
    """The operator's settings for ``cores``: (admission rate per s, capacity)."""
    rate = scenario.target_utilisation * cores / loop_cpu_per_arrival(scenario, costs)
    later = np.mean([costs.loop_s[K[name]] for name in LATER_MIX]) / scenario.later_interval_s
    capacity = int(scenario.target_utilisation * cores / max(later, 1e-12))
    return rate, capacity


def hash_cores_for(scenario: Scenario, costs: Costs, rate: float) -> float:
    """Cores of the sign-in pool: password hashes and SAML signature checks."""
    per_sign_in = (1 - scenario.sso_share) * costs.hash_s + scenario.sso_share * costs.sso_s
    if per_sign_in <= 0:
        return 0.0
    return rate * scenario.login_share * per_sign_in / scenario.hash_utilisation


# -- the simulation ----------------------------------------------------------------------------


@dataclass
class Series:
    time_s: list[float] = field(default_factory=list)
    arrivals: list[float] = field(default_factory=list)
    admitted: list[float] = field(default_factory=list)
    active: list[float] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    utilisation: list[float] = field(default_factory=list)
    rate: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    pg_trips: list[float] = field(default_factory=list)
    pg_cpu: list[float] = field(default_factory=list)
    redis: list[float] = field(default_factory=list)
    redis_cpu: list[float] = field(default_factory=list)
    wasted: list[float] = field(default_factory=list)


@dataclass
class Result:
    variant: str
    cores: float
    hash_cores: float
    shard: float  # share of the country simulated
    rate: float  # configured admission rate (national, per s)
    capacity: int
    people: int  # simulated
    served: int
    gave_up: int
    waits: np.ndarray  # seconds from arrival to the first admitted request, per person served
    latencies: np.ndarray  # admitted requests except password logins, seconds
    login_latencies: np.ndarray
    gate_requests: int  # joins and polls (Préau) or refusals (quota)
    requests: int
    series: Series

    def percentile(self, values: np.ndarray, q: float) -> float:
        return float(np.percentile(values, q)) if len(values) else 0.0

    @property
    def wait_p95(self) -> float:
        return self.percentile(self.waits, 95)

    @property
    def latency_p99(self) -> float:
        return self.percentile(self.latencies, 99)

    def national(self, values: list[float], window: int = 60) -> float:
        """Peak of the ``window``-second moving average, scaled to the whole country."""
        if not values:
            return 0.0
        array = np.asarray(values)
        width = min(window, len(array))
        averaged = np.convolve(array, np.ones(width) / width, mode="valid")
        return float(averaged.max() / self.shard)

    def meets(self, wait_s: float, latency_s: float) -> bool:
        return self.wait_p95 < wait_s and self.latency_p99 < latency_s and self.gave_up == 0


class Tier:
    """``servers`` FIFO servers fed at random; the FIFO recursion is vectorised per step."""

    def __init__(self, servers: int, speed: float, rng: np.random.Generator) -> None:
        self.servers = max(1, servers)
        self.speed = speed
        self.free_at = np.zeros(self.servers)
        self.rng = rng
        self.busy_s = 0.0

    def serve(self, times: np.ndarray, work: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Latency and queueing delay of requests arriving at ``times`` needing ``work``."""
        count = len(times)
        if count == 0:
            return np.zeros(0), np.zeros(0)
        service = work / self.speed
        self.busy_s += float(service.sum())
        server = self.rng.integers(0, self.servers, count)
        order = np.lexsort((times, server))
        t, s, k = times[order], service[order], server[order]
        starts = np.ones(count, dtype=bool)
        starts[1:] = k[1:] != k[:-1]
        cumulative = np.cumsum(s)
        segment_base = np.maximum.accumulate(np.where(starts, cumulative - s, 0.0))
        local = cumulative - segment_base  # service sums within each server's segment
        value = t - (local - s)
        value[starts] = np.maximum(value[starts], self.free_at[k[starts]])
        shifted = value + k * BIG
        departures = np.maximum.accumulate(shifted) - k * BIG + local
        ends = np.ones(count, dtype=bool)
        ends[:-1] = k[:-1] != k[1:]
        self.free_at[k[ends]] = departures[ends]
        latency = np.empty(count)
        delay = np.empty(count)
        latency[order] = departures - t
        delay[order] = departures - t - s
        return latency, delay


@dataclass
class People:
    arrival: np.ndarray
    lane: np.ndarray
    login: np.ndarray  # signed in (no remembered device)
    sso: np.ndarray  # of those, through SSO rather than a password


def make_people(scenario: Scenario, shard: float, rng: np.random.Generator) -> People:
    pupils = rng.poisson(scenario.pupils * scenario.pupil_share * shard)
    staff = rng.poisson(scenario.staff * scenario.staff_share * shard)
    count = pupils + staff
    in_peak = rng.random(count) < scenario.peak_share
    outside = rng.random(count) * (scenario.window_s - scenario.peak_width_s)
    outside = np.where(outside < scenario.peak_start_s, outside, outside + scenario.peak_width_s)
    peak = scenario.peak_start_s + rng.random(count) * scenario.peak_width_s
    arrival = np.where(in_peak, peak, outside)
    login = rng.random(count) < scenario.login_share
    lane = np.where(np.arange(count) < staff, PRIORITY, KNOWN)
    lane = np.where(login, FIRST_TIME, lane)
    sso = login & (rng.random(count) < scenario.sso_share)
    order = np.argsort(arrival, kind="stable")
    return People(arrival[order], lane[order], login[order], sso[order])


def first_requests(
    scenario: Scenario, start: np.ndarray, login: np.ndarray, sso: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Times and kinds of the first minutes' requests of people admitted at ``start``."""
    span = scenario.first_minutes_s
    times, kinds = [], []

    def add(when: np.ndarray, kind: str) -> None:
        times.append(when)
        kinds.append(np.full(len(when), K[kind]))

    remembered = start[~login]
    add(remembered, "device_resume")
    signing_in = start[login]
    add(signing_in, "login_page")
    through_sso = sso[login]
    login_at = signing_in + rng.uniform(5, 20, len(signing_in))
    add(login_at[~through_sso], "password_login")
    add(signing_in[through_sso] + 1.0, "sso_start")  # the click on "ÉduConnect"
    add(login_at[through_sso], "sso_login")  # back from the IdP, with its assertion
    add(login_at + 0.5, "todo_page")
    begin = np.where(login, 25.0, 1.0)
    for name, count in first_minutes_mix(scenario).items():
        whole = int(count)
        for _ in range(whole):
            add(start + rng.uniform(begin, span), name)
        if count > whole:
            chosen = rng.random(len(start)) < count - whole
            add(start[chosen] + rng.uniform(begin[chosen], span), name)
    return np.concatenate(times), np.concatenate(kinds)


class Simulation:
    def __init__(
        self, scenario: Scenario, costs: Costs, cores: float, *, variant: str = "preau",
        shard_cores: int = 2, seed: int = 7,
    ) -> None:  # fmt: skip
        self.s = scenario
        self.costs = costs
        self.cores = cores
        self.variant = variant
        self.shard_cores = max(1, min(shard_cores, math.floor(cores)))
        self.shard = self.shard_cores / cores
        self.rng = np.random.default_rng(seed)
        self.rate, self.capacity = gate_for(scenario, costs, cores)
        self.hash_cores = hash_cores_for(scenario, costs, self.rate)
        self.people = make_people(scenario, self.shard, self.rng)
        self.loop = Tier(self.shard_cores, 1.0, self.rng)
        hash_servers = max(1, round(self.hash_cores * self.shard))
        self.hashing = Tier(hash_servers, max(1e-9, self.hash_cores * self.shard / hash_servers),
                            self.rng)  # fmt: skip
        steps = math.ceil(scenario.end_s / scenario.dt)
        self.steps = steps
        self.bucket_times: list[list[np.ndarray]] = [[] for _ in range(steps + 1)]
        self.bucket_kinds: list[list[np.ndarray]] = [[] for _ in range(steps + 1)]
        self.series = Series()
        self.latencies: list[np.ndarray] = []
        self.login_latencies: list[np.ndarray] = []
        self.start = np.full(len(self.people.arrival), np.nan)  # first admitted request
        self.gate_requests = 0
        self.requests = 0
        self.gave_up = 0
        self.later_from = np.zeros(steps + 1, dtype=int)  # people entering "later", by step
        self.later_count = 0

    # -- scheduling --------------------------------------------------------------------

    def schedule(self, times: np.ndarray, kinds: np.ndarray) -> None:
        index = (times / self.s.dt).astype(int)
        order = np.argsort(index, kind="stable")
        index, times, kinds = index[order], times[order], kinds[order]
        cuts = np.flatnonzero(np.diff(index)) + 1
        bounds = [0, *cuts.tolist(), len(index)]
        for begin, end in itertools.pairwise(bounds):
            bucket = int(index[begin]) if end > begin else self.steps
            if bucket < self.steps:
                self.bucket_times[bucket].append(times[begin:end])
                self.bucket_kinds[bucket].append(kinds[begin:end])

    def admit(self, who: np.ndarray, when: np.ndarray) -> None:
        self.start[who] = when
        # People start their "later" activity once their first minutes are over.
        later = ((when + self.s.first_minutes_s) / self.s.dt).astype(int)
        np.add.at(self.later_from, np.minimum(later, self.steps), 1)
        times, kinds = first_requests(
            self.s, when, self.people.login[who], self.people.sso[who], self.rng
        )
        self.schedule(times, kinds)

    def later_requests(self, t0: float, active_later: int) -> tuple[np.ndarray, np.ndarray]:
        dt = self.s.dt
        count = self.rng.poisson(active_later * dt / self.s.later_interval_s)
        names = list(LATER_MIX)
        kinds = self.rng.choice([K[n] for n in names], count, p=[LATER_MIX[n] for n in names])
        return t0 + self.rng.random(count) * dt, kinds

    def polls(self, t0: float, waiting: list[int], lane_rates: tuple[float, ...]) -> np.ndarray:
        """Polls of people in line during one step, paced as the waiting page paces them."""
        expected = 0.0
        for lane in range(3):
            if waiting[lane] <= 0:
                continue
            ahead = np.arange(waiting[lane], dtype=float)
            rate = max(lane_rates[lane], 1e-9)
            interval = np.clip(ahead / rate / 4, 2.0, 30.0)  # poll_interval, vectorised
            # The mean of full_jitter(interval, U) with its 1 s floor: 1 + (interval - 1) / 2.
            expected += float(np.sum(1.0 / (1.0 + (interval - 1.0) / 2)))
        count = self.rng.poisson(expected * self.s.dt)
        return t0 + self.rng.random(count) * self.s.dt

    # -- one step ----------------------------------------------------------------------

    def serve_step(
        self, step: int, extra_t: list[np.ndarray], extra_k: list[np.ndarray]
    ) -> tuple[int, int, float, float]:
        """Serve the step's requests; returns (requests, slow, queueing delay sum, cpu)."""
        times_parts = self.bucket_times[step] + extra_t
        kinds_parts = self.bucket_kinds[step] + extra_k
        self.bucket_times[step], self.bucket_kinds[step] = [], []
        if not times_parts:
            self.record_load(np.zeros(0, dtype=int))
            return 0, 0, 0.0, 0.0
        times = np.concatenate(times_parts)
        kinds = np.concatenate(kinds_parts).astype(int)
        work = self.costs.loop_s[kinds]
        latency, delay = self.loop.serve(times, work)
        logins = np.isin(kinds, SIGN_INS)
        if logins.any():
            hash_latency, _ = self.hashing.serve(
                times[logins] + latency[logins], self.costs.off_loop_s(kinds[logins])
            )
            self.login_latencies.append(latency[logins] + hash_latency)
        admitted = ~np.isin(kinds, GATE_KINDS) & ~logins
        self.latencies.append(latency[admitted])
        self.requests += len(kinds)
        self.gate_requests += int(np.isin(kinds, GATE_KINDS).sum())
        self.record_load(kinds)
        slow = int(np.sum(latency[admitted] > GateSettings().latency_target_s))
        return int(admitted.sum()), slow, float(delay.sum()), float(work.sum())

    def record_load(self, kinds: np.ndarray) -> None:
        c, dt, series = self.costs, self.s.dt, self.series
        processes = self.shard_cores if self.variant == "preau" else 0
        series.sql.append(float(c.sql[kinds].sum()) / dt)
        series.pg_trips.append(float(c.pg_trips[kinds].sum()) / dt)
        series.pg_cpu.append(float(c.pg_cpu_s[kinds].sum()) / dt)
        series.redis.append(float(c.redis[kinds].sum()) / dt + processes * c.background_redis_per_s)
        series.redis_cpu.append(float(c.redis_cpu_s[kinds].sum()) / dt)

    # -- the two variants --------------------------------------------------------------

    def run(self) -> Result:
        if self.variant == "preau":
            self.run_gate()
        else:
            self.run_quota()
        served = ~np.isnan(self.start)
        waits = (self.start - self.people.arrival)[served]
        return Result(
            variant=self.variant, cores=self.cores, hash_cores=self.hash_cores, shard=self.shard,
            rate=self.rate, capacity=self.capacity, people=len(self.people.arrival),
            served=int(served.sum()), gave_up=self.gave_up, waits=waits,
            latencies=np.concatenate(self.latencies) if self.latencies else np.zeros(0),
            login_latencies=np.concatenate(self.login_latencies)
            if self.login_latencies else np.zeros(0),
            gate_requests=self.gate_requests, requests=self.requests, series=self.series,
        )  # fmt: skip

    def run_gate(self) -> None:
        """Préau: FIFO lanes, token-bucket rate with AIMD, as gate/runtime.py runs them."""
        s, people, dt = self.s, self.people, self.s.dt
        defaults = GateSettings()
        shares = LaneShares(defaults.priority_share, defaults.first_time_share)
        weights = shares.weights()
        lanes = [np.flatnonzero(people.lane == lane) for lane in range(3)]
        arrived = [0, 0, 0, 0]  # the model has no deferred lane: nobody joins it
        served = [0, 0, 0, 0]
        configured = self.rate * self.shard
        rate, rate_at = configured, 0.0
        tokens, tokens_at = configured * defaults.admission_burst_s, 0.0
        credits: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
        capacity = max(1, int(self.capacity * self.shard))
        health = [0, 0, 0.0, 0]  # requests, slow, queueing delay sum, delay samples
        admitted_total = 0
        for step in range(self.steps):
            t0, t1 = step * dt, (step + 1) * dt
            waiting = [arrived[i] - served[i] for i in range(3)]
            lane_rates = expected_lane_rates(rate, waiting, weights)
            extra_t = [self.polls(t0, waiting, lane_rates)]
            extra_k = [np.full(len(extra_t[0]), K["gate_poll"])]
            new = 0
            for lane in range(3):
                times = people.arrival[lanes[lane]]
                upto = int(np.searchsorted(times, t1))
                joined = times[arrived[lane] : upto]
                extra_t.append(joined)
                extra_k.append(np.full(len(joined), K["gate_join"]))
                new += upto - arrived[lane]
                arrived[lane] = upto
            self.later_count += int(self.later_from[step])
            later_t, later_k = self.later_requests(t0, self.later_count)
            extra_t.append(later_t)
            extra_k.append(later_k)
            count, slow, delay, cpu = self.serve_step(step, extra_t, extra_k)
            health[0] += count
            health[1] += slow
            health[2] += delay
            health[3] += count
            # One round at the end of the step, with the gate's own functions.
            since = t1 - rate_at
            if defaults.adaptive and since >= 0.5:
                judged = judge_health(
                    Health(health[0], 0, health[1], loop_lag_s=health[2] / max(1, health[3])),  # type: ignore[arg-type]  # expected counts
                    error_ratio_limit=defaults.error_ratio_limit,
                    slow_ratio_limit=defaults.slow_ratio_limit,
                    minimum_requests=20,
                    loop_lag_limit=defaults.loop_lag_limit_s,
                )
                if judged is False or since >= 2.0:
                    health = [0, 0, 0.0, 0]
                    rate = adjust_rate(
                        rate, judged, minimum=defaults.adaptive_minimum_rate_per_s * self.shard,
                        maximum=configured, increase=s.aimd_increase_share * configured,
                    )  # fmt: skip
                    rate_at = t1
            waiting = [arrived[i] - served[i] for i in range(4)]
            snapshot = QueueSnapshot(
                version=step, active=admitted_total, issued=tuple(arrived),  # type: ignore[arg-type]  # the simulator's tuples stand for the store's sequences
                serving=tuple(served), waiting=tuple(waiting),  # type: ignore[arg-type]  # the simulator's tuples stand for the store's sequences
                admitted=tuple(served), tokens=tokens, tokens_at=tokens_at,  # type: ignore[arg-type]  # the simulator's tuples stand for the store's sequences
                credits=credits, pre_queues=(None, None, None, None), sealed_for=0.0, rate=rate,
            )  # fmt: skip
            plan = plan_admissions(
                snapshot, now=t1, capacity=capacity, rate=rate,
                burst=max(1.0, rate * defaults.admission_burst_s), shares=shares,
                opening_at=None, seed="model",
            )  # fmt: skip
            chosen = []
            for lane in range(3):
                grant = plan.grants[lane]
                chosen.append(lanes[lane][served[lane] : served[lane] + grant])
                served[lane] += grant
            who = np.concatenate(chosen)
            granted = len(who)
            if granted:
                arrival = people.arrival[who]
                # Arrived this step: the join's own request is served (admission_round_soon).
                # Earlier: the pass is taken at the next poll, paced by poll_interval.
                gap = full_jitter(poll_interval(0.0), self.rng.random(granted))  # type: ignore[arg-type]  # on an array
                claim = np.where(arrival >= t0, t1, t1 + self.rng.random(granted) * gap)
                queued = arrival < t0
                if queued.any():
                    self.schedule(claim[queued], np.full(int(queued.sum()), K["gate_poll"]))
                self.admit(who, claim)
            tokens, tokens_at, credits = plan.tokens - granted, t1, plan.credits
            admitted_total += granted
            in_line = sum(arrived) - sum(served)
            self.sample(t=t1, arrivals=new, admitted=granted, active=admitted_total,
                        waiting=in_line, rate=rate, cpu=cpu, wasted=0)  # fmt: skip

    def run_quota(self) -> None:
        """2021: at most Q sessions at once, each cut after a while; refused people come back
        after a fixed delay, and give up after a few tries. No queue, no pacing."""
        s, people, dt = self.s, self.people, self.s.dt
        self.capacity = int(self.rate * s.quota_session_s)  # national, reported
        quota = max(1, int(self.rate * self.shard * s.quota_session_s))
        retries: list[list[np.ndarray]] = [[] for _ in range(self.steps + 1)]
        attempts = np.zeros(len(people.arrival), dtype=int)
        session_ends: list[float] = []
        arrived = 0
        for step in range(self.steps):
            t0, t1 = step * dt, (step + 1) * dt
            upto = int(np.searchsorted(people.arrival, t1))
            new = np.arange(arrived, upto)
            arrived = upto
            due = np.concatenate([new, *retries[step]]) if retries[step] else new
            retries[step] = []
            try_at = np.where(attempts[due] == 0, people.arrival[due], 0.0)
            try_at = np.where(attempts[due] > 0, t0 + self.rng.random(len(due)) * dt, try_at)
            order = np.argsort(try_at)
            due, try_at = due[order], try_at[order]
            session_ends = [end for end in session_ends if end > t0]
            free = max(0, quota - len(session_ends))
            taken, refused = due[:free], due[free:]
            refused_at = try_at[free:]
            self.admit(taken, try_at[:free])
            session_ends.extend((try_at[:free] + s.quota_session_s).tolist())
            attempts[due] += 1
            again = attempts[refused] < s.quota_attempts
            self.gave_up += int((~again).sum())
            back = int(step + s.quota_retry_s / dt)
            if back < self.steps and again.any():
                retries[back].append(refused[again])
            self.later_count += int(self.later_from[step])
            later_t, later_k = self.later_requests(t0, self.later_count)
            _, _, _, cpu = self.serve_step(
                step, [refused_at, later_t],
                [np.full(len(refused_at), K["gate_wait_page"]), later_k],
            )  # fmt: skip
            waiting = sum(len(part) for bucket in retries for part in bucket)
            self.sample(t=t1, arrivals=len(new), admitted=len(taken), active=len(session_ends),
                        waiting=waiting, rate=0.0, cpu=cpu, wasted=len(refused))  # fmt: skip

    def sample(
        self, *, t: float, arrivals: int, admitted: int, active: int, waiting: int, rate: float,
        cpu: float, wasted: int,
    ) -> None:  # fmt: skip
        series, dt = self.series, self.s.dt
        series.time_s.append(t)
        series.arrivals.append(arrivals / dt)
        series.admitted.append(admitted / dt)
        series.active.append(active)
        series.waiting.append(waiting)
        series.utilisation.append(cpu / (self.shard_cores * dt))
        series.rate.append(rate)
        series.wasted.append(wasted / dt)


def simulate(
    scenario: Scenario, costs: Costs, cores: float, *, variant: str = "preau",
    shard_cores: int = 2, seed: int = 7,
) -> Result:  # fmt: skip
    return Simulation(
        scenario, costs, cores, variant=variant, shard_cores=shard_cores, seed=seed
    ).run()


def find_cores(
    scenario: Scenario, costs: Costs, *, shard_cores: int, wait_s: float = 60.0,
    latency_s: float = 0.3, seed: int = 7, log: Any = None, tolerance: float = 0.01,
) -> tuple[int, Result, list[tuple[int, float, float]]]:  # fmt: skip
    """The smallest core count meeting both targets (bisection; assumes monotony)."""
    # The fluid guess: cores whose admission rate matches the peak arrival rate.
    fluid = peak_arrival_rate(scenario) * loop_cpu_per_arrival(scenario, costs)
    guess = fluid / scenario.target_utilisation
    low = max(shard_cores, int(guess * 0.7))
    high = max(low + 1, int(guess * 1.3) + shard_cores)
    tried: list[tuple[int, float, float]] = []
    results: dict[int, Result] = {}

    def check(cores: int) -> bool:
        result = simulate(scenario, costs, cores, shard_cores=shard_cores, seed=seed)
        results[cores] = result
        tried.append((cores, result.wait_p95, result.latency_p99))
        if log:
            log(f"  C={cores}: p95 wait {result.wait_p95:.1f} s, admitted p99 "
                f"{result.latency_p99 * 1000:.0f} ms")  # fmt: skip
        return result.meets(wait_s, latency_s)

    while not check(high):
        low, high = high, high * 2
        if high > 1_000_000:
            raise RuntimeError("no core count meets the targets")
    if check(low):
        high = low
    while high - low > max(1, int(high * tolerance)):
        middle = (low + high) // 2
        if check(middle):
            high = middle
        else:
            low = middle
    return high, results[high], tried


# -- reporting ------------------------------------------------------------------------------


def summary(result: Result) -> dict[str, Any]:
    s = result.series
    return {
        "variant": result.variant,
        "cores": result.cores,
        "hash_cores": result.hash_cores,
        "admission_rate_per_s": result.rate,
        "capacity": result.capacity,
        "people_simulated": result.people,
        "shard": result.shard,
        "served_share": result.served / max(1, result.people),
        "gave_up_share": result.gave_up / max(1, result.people),
        "gave_up_national": result.gave_up / result.shard,
        "wait_p50_s": result.percentile(result.waits, 50),
        "wait_p95_s": result.wait_p95,
        "wait_max_s": float(result.waits.max()) if len(result.waits) else 0.0,
        "admitted_p50_ms": 1000 * result.percentile(result.latencies, 50),
        "admitted_p99_ms": 1000 * result.latency_p99,
        "login_p99_ms": 1000 * result.percentile(result.login_latencies, 99),
        "gate_requests_national": result.gate_requests / result.shard,
        "requests_national": result.requests / result.shard,
        "wasted_national": float(sum(s.wasted) * (s.time_s[1] - s.time_s[0]) / result.shard)
        if len(s.time_s) > 1
        else 0.0,
        "peak_utilisation": float(np.convolve(s.utilisation, np.ones(10) / 10, "valid").max()),
        "sql_per_s": result.national(s.sql),
        "pg_round_trips_per_s": result.national(s.pg_trips),
        "pg_cpu_cores": result.national(s.pg_cpu),
        "redis_per_s": result.national(s.redis),
        "redis_cpu_cores": result.national(s.redis_cpu),
        "peak_arrivals_per_s": result.national(s.arrivals, 60),
        "peak_active": float(max(s.active) / result.shard) if s.active else 0.0,
        "peak_waiting": float(max(s.waiting) / result.shard) if s.waiting else 0.0,
    }


def plot(preau: Result, quota: Result, path: Path) -> None:
    import matplotlib  # noqa: PLC0415 - only the report needs it

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415 - imported only in the process that needs it

    figure, axes = plt.subplots(2, 2, figsize=(11, 7.5))
    clock = 8.5 * 3600

    def minutes(result: Result) -> np.ndarray:
        return (clock + np.asarray(result.series.time_s)) / 3600

    def smooth(values: list[float], width: int = 10) -> np.ndarray:
        return np.convolve(values, np.ones(width) / width, mode="same")

    arrivals, active, waiting, waits = axes.flat
    arrivals.plot(minutes(preau), smooth(preau.series.arrivals) / preau.shard, label="arrivals")
    arrivals.plot(minutes(preau), smooth(preau.series.admitted) / preau.shard,
                  label="Préau: admitted")  # fmt: skip
    arrivals.plot(minutes(quota), smooth(quota.series.admitted) / quota.shard,
                  label="2021 quota: admitted", alpha=0.8)  # fmt: skip
    arrivals.plot(minutes(quota), smooth(quota.series.wasted) / quota.shard,
                  label="2021 quota: refused tries", alpha=0.8)  # fmt: skip
    arrivals.set_title("People per second (national, 10 s average)")
    active.plot(minutes(preau), np.asarray(preau.series.active) / preau.shard / 1e6,
                label="Préau: active passes")  # fmt: skip
    active.plot(minutes(quota), np.asarray(quota.series.active) / quota.shard / 1e6,
                label="2021 quota: open sessions")  # fmt: skip
    active.set_title("Active (millions)")
    waiting.plot(minutes(preau), np.asarray(preau.series.waiting) / preau.shard / 1e3,
                 label="Préau: in line")  # fmt: skip
    waiting.plot(minutes(quota), np.asarray(quota.series.waiting) / quota.shard / 1e3,
                 label="2021 quota: told to come back")  # fmt: skip
    waiting.set_title("Waiting (thousands)")
    for result, label in ((preau, "Préau"), (quota, "2021 quota")):
        ordered = np.sort(result.waits)
        share = np.arange(1, len(ordered) + 1) / max(1, result.people)
        waits.plot(ordered / 60, share, label=f"{label} ({result.gave_up / result.shard:,.0f} "
                                              "gave up)")  # fmt: skip
    waits.set_xscale("symlog", linthresh=1)
    waits.set_title("Wait until served (share of all arrivals)")
    waits.set_xlabel("minutes")
    for axis in (arrivals, active, waiting):
        axis.set_xlabel("time of day (hours)")
    for axis in axes.flat:
        axis.grid(alpha=0.3)
        axis.legend(fontsize=8)
    figure.suptitle(f"National Monday with {preau.cores:,.0f} app cores: Préau's gate vs a "
                    "2021-style quota", fontsize=11)  # fmt: skip
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=90)
    plt.close(figure)


def table(head: tuple[str, ...], rows: list[tuple[str, ...]], align: str = "---") -> str:
    lines = ["| " + " | ".join(head) + " |", "|---|" + f"{align}|" * (len(head) - 1)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def section(
    *,
    scenario: Scenario, calibration: dict[str, Any], costs: Costs, cores: int,
    preau: dict[str, Any], quota: dict[str, Any], tried: list[tuple[int, float, float]],
    command: str, image: str, seconds: float, shard_cores: int,
    shares: list[tuple[float, int, dict[str, Any]]],
) -> str:  # fmt: skip
    req = calibration["requests"]
    by_share = table(
        ("SSO sign-ins", "app cores", "sign-in cores", "p95 wait", "admitted p99",
         "sign-in p99"),
        [
            (f"{share:.0%}", f"{found:,}", f"{result['hash_cores']:,.0f}",
             f"{result['wait_p95_s']:.0f} s", f"{result['admitted_p99_ms']:.0f} ms",
             f"{result['login_p99_ms']:.0f} ms")
            for share, found, result in shares
        ],
        align="---:",
    )  # fmt: skip
    sso = req["sso_login"]
    costs_table = table(
        ("request", "app CPU ms", "SQL statements", "transactions", "Redis commands",
         "PostgreSQL CPU ms", "Redis CPU ms"),
        [
            (f"`{name}`", f"{req[name]['cpu_ms']:.3f}", f"{req[name]['sql_statements']:.1f}",
             f"{req[name]['sql_transactions']:.1f}", f"{req[name]['redis_commands']:.1f}",
             f"{req[name]['postgres_cpu_ms']:.3f}", f"{req[name]['redis_cpu_ms']:.3f}")
            for name in KINDS
        ],
        align="---:",
    )  # fmt: skip
    per_arrival = loop_cpu_per_arrival(scenario, costs) * 1000
    s = scenario
    tried_text = ", ".join(f"{c} ({w:.0f} s, {p * 1000:.0f} ms)" for c, w, p in sorted(tried))
    first = (
        f"resume or password login, to-do API, 2 homework, inbox, timetable, a 304, turn-in "
        f"{s.turn_in_share:.0%}: ~{7 + s.turn_in_share:.1f} requests + join + polls in "
        f"{s.first_minutes_s:.0f} s"
    )
    gate = (
        f"rate {preau['admission_rate_per_s']:,.0f}/s, capacity {preau['capacity']:,}, burst "
        f"2 s, lane shares 0.5/0.2, AIMD ×0.9 / +{s.aimd_increase_share:.0%} of the rate per "
        "2 s, latency target 0.5 s, loop lag 50 ms"
    )
    quota_text = (
        f"{quota['capacity']:,} sessions at once (the gate's rate × session length), "
        f"sessions cut after {s.quota_session_s:.0f} s, refused tries come back after "
        f"{s.quota_retry_s:.0f} s, give up after {s.quota_attempts}"
    )
    inputs = table(
        ("input", "value", "source"),
        [
            ("accounts", f"{s.pupils / 1e6:.1f} M pupils + {s.staff / 1e6:.1f} M staff",
             "DESIGN.md §7 (13.2 M)"),
            ("arriving 08:30–09:30", f"{s.pupil_share:.0%} of pupils, {s.staff_share:.0%} of "
             f"staff: {arrivals_in_window(s) / 1e6:.2f} M", "DESIGN.md §7"),
            ("of which in 08:55–09:05",
             f"{s.peak_share:.0%}: **{peak_arrival_rate(s):,.0f} arrivals/s**",
             "DESIGN.md §7 (~6,700/s)"),
            ("first minutes", first, "DESIGN.md §7 (~8 in 2 min), bench/locust_morning.py"),
            ("sign-ins", f"{s.login_share:.0%} of arrivals, {s.sso_share:.0%} of them by SSO",
             "bench/locust_morning.py (80 % remembered); SSO: see below"),
            ("afterwards", f"one request every {s.later_interval_s:.0f} s (304, to-do, "
             "homework, inbox)", "assumption"),
            ("HTTP server work", f"{s.server_overhead_ms * 1000:.0f} µs per request",
             "research/stack-ceilings.md: granian (`preau serve`) raw ASGI 40,600 req/s"),
            ("per-request costs", "table below", f"measured here: `{calibration['command']}`"),
            ("gate", gate, "GateSettings defaults; rule above"),
            ("2021 quota", quota_text, "DESIGN.md §1 (\"come back in a few minutes\")"),
        ],
    )  # fmt: skip

    def both(key: str, form: str) -> tuple[str, str]:
        return form.format(preau[key]), form.format(quota[key])

    def trio(result: dict[str, Any]) -> str:
        return (
            f"{result['wait_p50_s']:.0f} / {result['wait_p95_s']:.0f} / "
            f"{result['wait_max_s']:.0f} s"
        )

    def postgres(result: dict[str, Any]) -> str:
        return (
            f"{result['sql_per_s']:,.0f} · {result['pg_round_trips_per_s']:,.0f} · "
            f"{result['pg_cpu_cores']:.1f} cores"
        )

    results = table(
        ("result (national, peak minute)", "Préau", "2021 quota, same cores"),
        [
            ("p50 / p95 / max wait until served", trio(preau), trio(quota)),
            ("gave up", f"{preau['gave_up_national']:,.0f}",
             f"**{quota['gave_up_national']:,.0f}** ({quota['gave_up_share']:.1%})"),
            ("admitted requests p50 / p99",
             f"{preau['admitted_p50_ms']:.1f} / {preau['admitted_p99_ms']:.0f} ms",
             f"{quota['admitted_p50_ms']:.1f} / {quota['admitted_p99_ms']:.0f} ms"),
            ("sign-in p99 (password or SSO)", *both("login_p99_ms", "{:.0f} ms")),
            ("gate requests (joins, polls) / refused tries",
             f"{preau['gate_requests_national']:,.0f} joins and polls",
             f"{quota['wasted_national']:,.0f} refusals"),
            ("app cores busy (peak 10 s)", *both("peak_utilisation", "{:.0%}")),
            ("PostgreSQL statements/s · round trips/s · CPU", postgres(preau), postgres(quota)),
            ("Redis commands/s", *both("redis_per_s", "{:,.0f}")),
            ("Redis CPU", *both("redis_cpu_cores", "{:.2f} cores")),
        ],
        align="---:",
    )  # fmt: skip
    return f"""
**Answer ({"quick" if "quick" in command else "full"} run), with {s.sso_share:.0%} of
sign-ins through SSO: {cores:,} app cores** (one Python process each) plus
**{preau["hash_cores"]:,.0f} cores of sign-in work** (password hashes and SAML checks) keep the
p95 wait at {preau["wait_p95_s"]:.0f} s (target < 60 s) and admitted requests' p99 at
{preau["admitted_p99_ms"]:.0f} ms (target < 300 ms; sign-ins excluded: their p99 is
{preau["login_p99_ms"]:.0f} ms, argon2 or the SAML checks included). At that point, at the peak
minute:
PostgreSQL runs **{preau["sql_per_s"]:,.0f} SQL statements/s**
({preau["pg_round_trips_per_s"]:,.0f} round trips/s with BEGIN, COMMIT and pool pings)
costing **{preau["pg_cpu_cores"]:.1f} cores** of backend CPU; Redis runs
**{preau["redis_per_s"]:,.0f} commands/s** costing **{preau["redis_cpu_cores"]:.2f} cores**.
Commands: `{command}` ({time.strftime("%Y-%m-%d")}, {seconds:.0f} s), calibration
`{calibration["command"]}` ({calibration["measured_at"]}).

![Arrivals, active, waiting and wait times: Préau vs the 2021 quota](img/{image})

How it works. Arrivals follow the curve in the inputs below; each joins a lane of the gate
(staff: priority; pupils with a remembered device: known; those who must type a password:
first time). Every {s.dt:g} s the gate's own pure functions plan a round
(`plan_admissions` with its token bucket and lane shares; `judge_health` and
`adjust_rate`, the AIMD of `gate/runtime.py`, reimplemented around them in the model
because the runtime is not a pure function; `poll_interval` and `full_jitter` pace the
polls). Admitted people make their first minutes' requests; each app core is a FIFO
server (a Python event loop) fed at random by the load balancer, so requests' latency
comes out of the simulation; password hashes run on a separate pool (argon2 off the
event loop, sized for {s.hash_utilisation:.0%} utilisation at the admission rate). The
operator's rule sets the gate from the cores: admission rate = {s.target_utilisation:.0%}
× cores ÷ event-loop CPU per arrival ({per_arrival:.1f} ms), capacity from the later
activity. **Shard:** {shard_cores} cores carrying {shard_cores}/C of the country (people,
rate, capacity); with random balancing each core's queue sees the same load whatever C, so
the shard's latencies stand for the whole; the gate's queue is FIFO, so waits scale too
(a small shard is noisier, not biased by design). Bisection tried (cores, p95 wait,
admitted p99): {tried_text}.

{inputs}

{results}

Per-request costs measured here (app CPU is this process's, all threads; PostgreSQL and
Redis CPU are their server processes', read from `/proc/<pid>/schedstat`):

{costs_table}

By the share of sign-ins (20 % of arrivals have no remembered device) made through SSO
(EduConnect for pupils and parents, the académie's portal for staff) rather than with a
Préau password; {s.sso_share:.0%} is the figure used above because in April 2021 pupils
and parents were sent to EduConnect, while schools without SSO and people without a national
identity typed a password:

{by_share}

An SSO sign-in costs {req["sso_start"]["cpu_ms"]:.2f} ms (the redirect with its AuthnRequest)
and {sso["cpu_ms"]:.2f} ms (the answer) of the app process's CPU, all counted on its core
(of which {sso.get("other_threads_cpu_ms", 0.0):.2f} ms in threads other than the loop's,
which hold the GIL), plus
{req["sso_start"].get("other_processes_cpu_ms", 0.0):.2f} and
{sso.get("other_processes_cpu_ms", 0.0):.2f} ms in the SAML pool's worker
processes (pysaml2, the signatures checked there by python-xmlsec): the sign-in pool runs
{1000 * costs.sso_s:.1f} ms per SSO sign-in, against {1000 * costs.hash_s:.1f} ms per
password (what the logins' other threads ran,
{req["password_login"].get("other_threads_cpu_ms", 0.0):.1f} ms, or a verify
alone if more); the logins' event loop ran
{req["password_login"]["cpu_ms"] - req["password_login"].get("other_threads_cpu_ms", 0.0):.1f}
ms each.

The argon2id verify alone costs {req["argon2_verify"]["cpu_ms"]:.0f} ms of CPU
(t={calibration["argon2"]["time_cost"]}, m={calibration["argon2"]["memory_kib"] // 1024} MiB,
p={calibration["argon2"]["parallelism"]}); one idle process costs
{calibration["background"]["cpu_per_s"] * 1000:.1f} ms/s of CPU and
{calibration["background"]["redis_per_s"]:.0f} Redis commands/s (gate rounds and flushes).
Load average during the calibration: {calibration["loadavg_1min"]:.1f} on
{calibration["cpus"]} CPUs: other work shared the machine, so costs are indicative (CPU
time, not wall time, is measured, which sharing disturbs less).

What to read into it: research/stack-ceilings.md has no server-side ceiling for PostgreSQL
or Redis (its database rows were bound by the app core), so their load is given in
statements and commands per second and in the server CPU measured here per request —
estimates of cores, not a benchmark of those servers. All gate keys share one Redis hash
slot (`{{gate}}`), so the gate's part of the Redis load must fit one Redis core. The model
does not include the shedder inside workers (503s), network, TLS, static files, client
time-outs, people arriving outside the window, or argon2's own parallelism (a hash is
modelled as one core's work).
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="quick calibration, small shard")
    parser.add_argument("--calibration", type=Path, default=DEFAULT_CALIBRATION)
    parser.add_argument("--no-calibrate", action="store_true", help="reuse --calibration")
    parser.add_argument("--shard-cores", type=int, help="cores simulated (default 2 quick, 8)")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite the docs")
    for name, value in asdict(Scenario()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    arguments = parser.parse_args()
    started = time.monotonic()
    if not arguments.no_calibrate:
        script = str(HERE / "capacity_calibrate.py")
        command = [sys.executable, script, "--output", str(arguments.calibration)]
        command += ["--quick"] if arguments.quick else []
        subprocess.run(command, check=True)
    calibration = json.loads(arguments.calibration.read_text())
    scenario = Scenario(**{name: getattr(arguments, name) for name in asdict(Scenario())})
    costs = Costs.from_calibration(calibration, scenario.server_overhead_ms)
    if "sso_login" not in costs.measured:
        sys.exit(f"{arguments.calibration} has no SSO sign-in: calibrate again")
    shard_cores = arguments.shard_cores or (2 if arguments.quick else 8)
    if arguments.quick:
        scenario = replace(scenario, dt=max(scenario.dt, 1.0))
    model_started = time.monotonic()
    per_arrival = loop_cpu_per_arrival(scenario, costs) * 1000
    peak = peak_arrival_rate(scenario)
    print(f"event-loop CPU per arrival {per_arrival:.2f} ms; peak {peak:,.0f} arrivals/s")
    cores, preau, tried = find_cores(
        scenario, costs, shard_cores=shard_cores, log=print,
        tolerance=0.02 if arguments.quick else 0.01,
    )  # fmt: skip
    quota = simulate(scenario, costs, cores, variant="quota", shard_cores=shard_cores)
    preau_summary, quota_summary = summary(preau), summary(quota)
    # The same Monday with the other SSO share (none, or 70 %), for comparison.
    other = replace(scenario, sso_share=0.0 if scenario.sso_share else 0.7)
    print(f"again with {other.sso_share:.0%} SSO sign-ins")
    other_cores, other_preau, _ = find_cores(
        other, costs, shard_cores=shard_cores, log=print,
        tolerance=0.02 if arguments.quick else 0.01,
    )  # fmt: skip
    shares = sorted(
        [(scenario.sso_share, cores, preau_summary), (other.sso_share, other_cores,
         summary(other_preau))]
    )  # fmt: skip
    print(json.dumps({"cores": cores, "preau": preau_summary, "quota": quota_summary}, indent=1))
    model_seconds = time.monotonic() - model_started
    print(f"model: {model_seconds:.0f} s, total {time.monotonic() - started:.0f} s")
    if arguments.no_docs:
        return
    mode = "quick" if arguments.quick else "full"
    image = f"capacity-model-{mode}.png"
    plot(preau, quota, IMAGES / image)
    run_command = ".venv/bin/python bench/capacity_model.py" + (
        " --quick" if arguments.quick else ""
    )
    sys.path.insert(0, str(HERE))
    from gate_common import write_section  # noqa: PLC0415 - imported only in the process that needs it

    write_section(
        f"capacity-model:{mode}",
        section(scenario=scenario, calibration=calibration, costs=costs, cores=cores,
                preau=preau_summary, quota=quota_summary, tried=tried, command=run_command,
                image=image, seconds=time.monotonic() - started, shard_cores=shard_cores,
                shares=shares),
    )  # fmt: skip


if __name__ == "__main__":
    main()
