"""Prometheus metrics of the gate, on the default registry that ``/metrics`` serves."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

ADMITTED = Counter("preau_gate_admitted", "Passes issued to people leaving the queue.", ["lane"])
JOINED = Counter("preau_gate_joined", "Tickets taken in the queue.", ["lane"])
QUEUED_RESPONSES = Counter(
    "preau_gate_queued_responses", "Answers telling someone to keep waiting.", ["kind"]
)
RATE_LIMITED = Counter("preau_gate_rate_limited", "Requests refused by a rate limit.", ["scope"])
SHED = Counter("preau_gate_shed", "Requests shed inside a worker.", ["criticality"])
DOOR_HELD = Counter(
    "preau_gate_door_held",
    "Admitted people held briefly at the door, others having just come in (door_slot).",
)
SHARED_STATE_ERRORS = Counter(
    "preau_gate_shared_state_errors",
    "Gate operations on shared state that failed and fell back to this process's share.",
    ["operation"],
)
POW_VERIFIED = Counter("preau_gate_pow", "Proof-of-work submissions.", ["outcome"])
LOCAL_ADMISSIONS = Counter(
    "preau_gate_local_admissions",
    "Passes issued from this process's own share of the rate (Redis unreachable).",
)
DEGRADED = Gauge(
    "preau_gate_degraded", "1 while this process admits from its own share (Redis unreachable)."
)
ACTIVE = Gauge(
    "preau_gate_active_passes",
    "Slots held (passes in use, and unused ones for their short timeout), from shared state.",
)
UNUSED = Gauge(
    "preau_gate_unused_passes", "Of the active passes: admitted, never used for a second request."
)
UNRETURNED = Gauge(
    "preau_gate_unreturned",
    "Tickets never polled and passes never used, out long enough to have come back.",
)
WAITING = Gauge("preau_gate_waiting", "Tickets waiting, as last read from shared state.", ["lane"])
ADMISSION_RATE = Gauge("preau_gate_admission_rate", "Admission rate in force (per second).")
UNDER_ATTACK = Gauge("preau_gate_under_attack", "1 while joining requires a proof of work.")
POW_COST = Gauge("preau_gate_pow_cost", "PBKDF2 iterations per attempt of the next challenge.")
IN_FLIGHT_LIMIT = Gauge("preau_gate_in_flight_limit", "This worker's adaptive concurrency limit.")
POW_NETWORK_FACTOR = Histogram(
    "preau_gate_pow_network_factor",
    "Times the price in force a challenge cost for its network (1: no surcharge).",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
