"""The gate's admission store held in this process: the embedded single-process mode, and
each process's fallback share of capacity while Redis is unreachable."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeVar

from preau.domain.admission import (
    AdmissionPlan,
    Lane,
    PerLane,
    ReturnCounts,
    Seal,
    fair_lane,
    paced_until,
    release_spacing,
    young_limited,
)
from preau.gate.store import Fairness, StoreView, pass_id, snapshot_from_fields

K = TypeVar("K")


def _forget_before(entries: dict[K, float], cutoff: float) -> None:
    for key in [key for key, seen in entries.items() if seen < cutoff]:
        del entries[key]


class MemoryAdmissionStore:
    def __init__(self, *, origin: str = "") -> None:
        # Pass ids carry ``origin`` so slots granted here never collide with shared ones.
        self.origin = origin
        self._fields: dict[str, str] = {}
        self._passes: dict[str, float] = {}  # used: last seen
        self._unused: dict[str, float] = {}  # admitted, never seen since: release time
        # Admitted without spending the rate, never polled: when the ticket was taken.
        self._unclaimed: dict[str, float] = {}
        self._alive: tuple[dict[int, float], ...] = tuple({} for _ in Lane)  # polled: last seen
        self._unpolled: tuple[dict[int, float], ...] = tuple({} for _ in Lane)  # never: joined
        self._devices: dict[str, tuple[int, int, float]] = {}
        # Per network: its first-time ticket numbers, those not reached yet (fair_lane).
        self._networks: dict[str, list[int]] = {}
        self._stats: dict[str, int] = {}
        self._settings: bytes | None = None

    def _incr(self, field: str, amount: int = 1) -> int:
        value = int(self._fields.get(field, "0")) + amount
        self._fields[field] = str(value)
        return value

    async def join(
        self,
        lane: Lane,
        *,
        now: float,
        device: str | None,
        ticket_idle_s: float,
        fairness: Fairness | None = None,
    ) -> tuple[Lane, int]:
        if device is not None:
            existing = self._devices.get(device)
            if existing is not None and existing[2] > now:
                return Lane(existing[0]), existing[1]
        held: list[int] | None = None
        if fairness is not None and fairness.places > 0 and lane == Lane.FIRST_TIME:
            held = [n for n in self._networks.get(fairness.network, ()) if self._holds(n)]
            self._networks[fairness.network] = held
            line = sum(
                len(self._alive[other]) + len(self._unpolled[other])
                for other in (Lane.FIRST_TIME, Lane.DEFERRED)
            )
            lane = fair_lane(
                lane,
                network_places=len(held),
                line=line,
                places=fairness.places,
                line_minimum=fairness.line_minimum,
            )
        number = self._incr(f"i{int(lane)}")
        if held is not None and lane == Lane.FIRST_TIME:
            held.append(number)
        self._unpolled[lane][number] = now
        if device is not None:
            self._devices[device] = (int(lane), number, now + ticket_idle_s)
        self._stats["arrivals"] = self._stats.get("arrivals", 0) + 1
        return lane, number

    def _holds(self, number: int) -> bool:
        """Whether first-time ticket ``number`` still holds a place for its network: not
        reached yet, or let in and its pass not come back yet (``fair_lane``)."""
        if number > int(self._fields.get(f"s{Lane.FIRST_TIME}", "0")):
            return True
        name = pass_id(Lane.FIRST_TIME, number, origin=self.origin)
        return name in self._unused or name in self._unclaimed

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
        _forget_before(self._passes, pass_cutoff)
        _forget_before(self._unused, pass_cutoff if unused_cutoff is None else unused_cutoff)
        _forget_before(
            self._unclaimed, ticket_cutoff if unpolled_cutoff is None else unpolled_cutoff
        )
        for alive, unpolled in zip(self._alive, self._unpolled, strict=True):
            _forget_before(alive, ticket_cutoff)
            _forget_before(unpolled, ticket_cutoff if unpolled_cutoff is None else unpolled_cutoff)
        live = sum(len(a) + len(u) for a, u in zip(self._alive, self._unpolled, strict=True))
        if len(self._devices) > 4 * (1 + live):
            self._devices = {d: v for d, v in self._devices.items() if v[2] > now}
        if len(self._networks) > 4 * (1 + live + len(self._unused) + len(self._unclaimed)):
            self._networks = {n: h for n, h in self._networks.items() if any(map(self._holds, h))}
        unreturned = 0
        if settled_before is not None:
            unreturned = sum(seen < settled_before for seen in self._unused.values())
        if unpolled_settled_before is None:
            unpolled_settled_before = settled_before
        if unpolled_settled_before is not None:
            unreturned += sum(
                joined < unpolled_settled_before for joined in self._unclaimed.values()
            ) + sum(
                joined < unpolled_settled_before
                for unpolled in self._unpolled
                for joined in unpolled.values()
            )
        unused = len(self._unused) + len(self._unclaimed)
        queue = snapshot_from_fields(
            self._fields,
            active=len(self._passes) + unused,
            waiting=[len(a) + len(u) for a, u in zip(self._alive, self._unpolled, strict=True)],
            unused=unused,
        )
        return StoreView(
            queue=queue,
            stats=dict(self._stats),
            runtime_settings=self._settings,
            attack_until=float(self._fields.get("attack_until", "0")),
            rate_at=float(self._fields.get("rate_at", "0")),
            returns=ReturnCounts(
                returned=len(self._passes) + sum(len(alive) for alive in self._alive),
                unreturned=unreturned,
            ),
        )

    async def apply(  # noqa: C901,PLR0912 - mirrors the Redis Lua script step for step, so both stores read alike
        self,
        plan: AdmissionPlan,
        candidates: Sequence[Sequence[tuple[int, int]]],
        *,
        now: float,
        rate: float,
        rate_at: float,
    ) -> PerLane | None:
        if int(self._fields.get("version", "0")) != plan.version:
            return None
        if plan.seal is not None:
            self._seal(plan.seal)
        granted = [0 for _ in Lane]
        walked = [0 for _ in Lane]
        serving_before = [0 for _ in Lane]
        room = plan.room
        young_left = plan.young  # None: any
        for lane in Lane:
            wanted = plan.grants[lane]
            serving: int | None = None
            before = serving_before[lane] = int(self._fields.get(f"s{lane}", "0"))
            for position, number in candidates[lane]:
                if granted[lane] >= wanted:
                    break
                joined = self._unpolled[lane].get(number)
                if joined is not None and joined < plan.credit_before and room > 0:
                    # Never polled: admitted on credit, paid for when claimed (``touch``).
                    del self._unpolled[lane][number]
                    self._unclaimed[pass_id(lane, number, origin=self.origin)] = joined
                    room -= 1
                    serving = position
                    continue
                if (
                    young_left is not None
                    and joined is not None
                    and joined >= plan.credit_before
                    and young_limited(lane)
                ):
                    if young_left <= 0:
                        break  # a newcomer not polled yet: the lane waits for its poll
                    young_left -= 1
                if self._alive[lane].pop(number, None) is not None or (
                    self._unpolled[lane].pop(number, None) is not None
                ):
                    # A slot held, unused until its pass comes back (``touch``).
                    self._unused[pass_id(lane, number, origin=self.origin)] = now
                    granted[lane] += 1
                serving = position
            if serving is not None:
                self._fields[f"s{lane}"] = str(serving)
                walked[lane] = serving - before
            if granted[lane]:
                self._incr(f"a{lane}", granted[lane])
        total = sum(granted)
        # Spread this round's admissions over the time the rate needs to earn them.
        for lane in Lane:
            if walked[lane] > 0:
                self._fields[f"rf{lane}"] = str(serving_before[lane])
                self._fields[f"rt{lane}"] = repr(plan.release_start)
                self._fields[f"rd{lane}"] = repr(release_spacing(total, walked[lane], rate))
        if total:
            self._fields["paced_until"] = repr(paced_until(plan.release_start, total, rate))
        self._fields["tokens"] = repr(plan.tokens - total)
        self._fields["tokens_at"] = repr(now)
        for lane in Lane:
            self._fields[f"c{lane}"] = repr(plan.credits[lane])
        self._fields["rate"] = repr(rate)
        self._fields["rate_at"] = repr(rate_at)
        self._incr("version")
        return granted[0], granted[1], granted[2], granted[3]

    def _seal(self, seal: Seal) -> None:
        """Draw the pre-queue's order: every ticket taken so far joins it."""
        for lane in Lane:
            self._fields[f"pf{lane}"] = self._fields.get(f"pl{lane}", "0")
            self._fields[f"pl{lane}"] = self._fields.get(f"i{lane}", "0")
        self._fields["seed"] = seal.seed
        self._fields["sealed_for"] = repr(seal.opening_at)

    async def touch(
        self,
        *,
        now: float,
        passes: Sequence[str],
        tickets: Sequence[tuple[int, int]],
        stats: Mapping[str, int],
    ) -> None:
        claimed: list[int] = []
        for pass_name in passes:
            if self._unclaimed.pop(pass_name, None) is not None:
                claimed.append(int(pass_name.removeprefix(self.origin).split(".", 1)[0]))
            self._unused.pop(pass_name, None)
            self._passes[pass_name] = now
        for lane, number in tickets:
            name = pass_id(lane, number, origin=self.origin)
            if self._unclaimed.pop(name, None) is not None:
                # Admitted on credit and come for its pass: now it holds a slot as any.
                self._unused[name] = now
                claimed.append(lane)
            elif self._unpolled[lane].pop(number, None) is not None or number in self._alive[lane]:
                self._alive[lane][number] = now
        if claimed:
            # Each claim pays its admission from the rate's budget (which may go below 0:
            # later rounds admit fewer), and counts as admitted; a round planned before
            # this must not overwrite it, so the version moves.
            tokens = float(self._fields.get("tokens", "0"))
            self._fields["tokens"] = repr(tokens - len(claimed))
            for lane in claimed:
                self._incr(f"a{lane}")
            self._incr("version")
        for name, amount in stats.items():
            self._stats[name] = self._stats.get(name, 0) + amount

    async def write_runtime_settings(self, blob: bytes) -> None:
        self._settings = blob

    async def raise_attack_until(self, until: float) -> None:
        if until > float(self._fields.get("attack_until", "0")):
            self._fields["attack_until"] = repr(until)

    async def reset(self) -> None:
        self.__init__(origin=self.origin)  # type: ignore[misc]  # reset in place: the store object is shared, so it is re-initialised
