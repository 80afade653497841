"""The admission store port: queue counters, live tickets and active passes, shared by
every process of the gate. Two adapters implement it (memory and Redis) and one contract
suite (``tests/gate/test_admission_store.py``) runs against both.

Tickets and passes start out *unreturned*: a ticket until its holder polls once, a pass
until it comes back with a second request. Unreturned ones are forgotten after their own,
short timeouts, and how many there are is what tells a polite flood from a crowd.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import msgspec

from preau.domain.admission import (
    AdmissionPlan,
    Lane,
    PerLane,
    PerLaneFloat,
    PreQueue,
    QueueSnapshot,
    ReturnCounts,
)


class StoreView(msgspec.Struct, frozen=True):
    """Everything a process refreshes about once a second, in one read."""

    queue: QueueSnapshot
    stats: dict[str, int]  # shared counters: arrivals, rate_limited, shed, …
    runtime_settings: bytes | None  # operator's settings, msgspec JSON
    attack_until: float
    rate_at: float  # when the admission rate was last adapted
    returns: ReturnCounts = ReturnCounts(returned=0, unreturned=0)


class Fairness(msgspec.Struct, frozen=True):
    """What :meth:`AdmissionStore.join` needs to apply ``fair_lane``: the arrival's network,
    the places a network may hold, and the line from which that counts."""

    network: str
    places: int
    line_minimum: int


class AdmissionStore(Protocol):
    async def join(
        self,
        lane: Lane,
        *,
        now: float,
        device: str | None,
        ticket_idle_s: float,
        fairness: Fairness | None = None,
    ) -> tuple[Lane, int]:
        """Take a ticket number in ``lane``; a device that holds one gets it back. With
        ``fairness``, a first-time ticket goes to the deferred lane when its network holds
        its fair share of a long line (``domain.admission.fair_lane``, atomically)."""
        ...

    async def view(
        self,
        *,
        now: float,
        pass_cutoff: float,
        ticket_cutoff: float,
        unused_cutoff: float | None = None,
        unpolled_cutoff: float | None = None,
        settled_before: float | None = None,
        unpolled_settled_before: float | None = None,
    ) -> StoreView:
        """Forget passes and tickets last seen before the cutoffs, then read the counters.

        Passes never used are forgotten from ``unused_cutoff`` and tickets never polled
        from ``unpolled_cutoff`` (None: the same cutoff as the others). Passes never used
        out since before ``settled_before``, and tickets never polled (or admitted on
        credit and never claimed) taken before ``unpolled_settled_before`` (None: the same
        as ``settled_before``), count as not coming back (None: count none).
        """
        ...

    async def apply(
        self,
        plan: AdmissionPlan,
        candidates: Sequence[Sequence[tuple[int, int]]],
        *,
        now: float,
        rate: float,
        rate_at: float,
    ) -> PerLane | None:
        """Admit the live tickets among ``candidates`` (per lane, in order), up to the plan's
        grants; seal the pre-queue if planned. None if the counters moved since the plan's
        snapshot (another process got there first). Each admission holds a slot, unused
        until its pass is first seen."""
        ...

    async def touch(
        self,
        *,
        now: float,
        passes: Sequence[str],
        tickets: Sequence[tuple[int, int]],
        stats: Mapping[str, int],
    ) -> None:
        """Record passes and tickets seen since the last flush (returned, from then on), and
        add to the counters."""
        ...

    async def write_runtime_settings(self, blob: bytes) -> None: ...

    async def raise_attack_until(self, until: float) -> None: ...

    async def reset(self) -> None:
        """Forget everything (tests and the operator's "empty the queue")."""
        ...


def decode_pre_queues(
    fields: Mapping[str, str],
) -> tuple[PreQueue | None, PreQueue | None, PreQueue | None, PreQueue | None]:
    seed = fields.get("seed", "")
    found: list[PreQueue | None] = []
    for lane in Lane:
        first = int(fields.get(f"pf{lane}", "0"))
        last = int(fields.get(f"pl{lane}", "0"))
        found.append(PreQueue(first, last, seed) if last > first else None)
    return found[0], found[1], found[2], found[3]


def snapshot_from_fields(
    fields: Mapping[str, str], *, active: int, waiting: Sequence[int], unused: int = 0
) -> QueueSnapshot:
    """Build a snapshot from the flat string fields both adapters keep their counters in."""

    def per_lane(name: str) -> PerLane:
        a, b, c, d = (int(fields.get(f"{name}{lane}", "0")) for lane in Lane)
        return (a, b, c, d)

    def per_lane_float(name: str) -> PerLaneFloat:
        a, b, c, d = (float(fields.get(f"{name}{lane}", "0")) for lane in Lane)
        return (a, b, c, d)

    return QueueSnapshot(
        version=int(fields.get("version", "0")),
        active=active,
        issued=per_lane("i"),
        serving=per_lane("s"),
        waiting=(waiting[0], waiting[1], waiting[2], waiting[3]),
        admitted=per_lane("a"),
        tokens=float(fields.get("tokens", "0")),
        tokens_at=float(fields.get("tokens_at", "0")),
        credits=per_lane_float("c"),
        pre_queues=decode_pre_queues(fields),
        sealed_for=float(fields.get("sealed_for", "0")),
        rate=float(fields.get("rate", "0")),
        release_from=per_lane("rf"),
        release_at=per_lane_float("rt"),
        release_spacing=per_lane_float("rd"),
        paced_until=float(fields.get("paced_until", "0")),
        unused=unused,
    )


def pass_id(lane: Lane | int, number: int, *, origin: str = "") -> str:
    """The slot a ticket turns into: the same ticket always claims the same slot."""
    return f"{origin}{int(lane)}.{number}"
