"""The gate's admission store on Redis, for many processes and machines.

Every multi-step change is one Lua script (``admission_*.lua`` beside this file), so it
is atomic. All keys share the ``{gate}`` hash tag, so they sit in one Redis Cluster slot
and the scripts may touch several of them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import redis.asyncio as redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from preau.domain.admission import AdmissionPlan, Lane, PerLane, ReturnCounts
from preau.gate.store import Fairness, StoreView, snapshot_from_fields
from preau.ports import SharedStateUnavailable

T = TypeVar("T")
_SCRIPTS = Path(__file__).parent
_TOUCH_BATCH = 2000  # ids per script call, so one flush never blocks Redis for long


def _script(name: str) -> str:
    return (_SCRIPTS / f"admission_{name}.lua").read_text(encoding="utf-8")


async def _guard(call: Callable[[], Awaitable[T]]) -> T:
    try:
        return await call()
    except (RedisConnectionError, RedisTimeoutError, OSError) as error:
        raise SharedStateUnavailable(f"Redis unreachable: {error}") from error


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _pairs(flat: Sequence[Any]) -> dict[str, str]:
    return {_text(flat[i]): _text(flat[i + 1]) for i in range(0, len(flat) - 1, 2)}


class RedisAdmissionStore:
    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self.client = client
        base = f"{prefix}{{gate}}:"
        self.base = base
        self.meta = base + "meta"
        self.passes = base + "passes"  # used: last seen
        self.unused = base + "unused"  # admitted, never seen since: release time
        self.unclaimed = base + "unclaimed"  # admitted on credit, never polled: joined
        self.alive = tuple(f"{base}alive:{lane}" for lane in Lane)  # polled: last seen
        self.unpolled = tuple(f"{base}unpolled:{lane}" for lane in Lane)  # never: joined
        self.stats = base + "stats"
        self.settings = base + "settings"
        self._join = client.register_script(_script("join"))
        self._view = client.register_script(_script("view"))
        self._apply = client.register_script(_script("apply"))
        self._touch = client.register_script(_script("touch"))
        self._raise_attack = client.register_script(_script("raise_attack"))

    def device_key(self, device: str) -> str:
        return f"{self.base}device:{device}"

    def network_key(self, network: str) -> str:
        return f"{self.base}net:{network}"

    async def join(
        self,
        lane: Lane,
        *,
        now: float,
        device: str | None,
        ticket_idle_s: float,
        fairness: Fairness | None = None,
    ) -> tuple[Lane, int]:
        keys = [self.meta, *self.unpolled, self.stats]
        keys.append(self.meta if device is None else self.device_key(device))
        keys.append(self.meta if fairness is None else self.network_key(fairness.network))
        keys.extend(
            (self.alive[Lane.FIRST_TIME], self.alive[Lane.DEFERRED], self.unused, self.unclaimed)
        )
        args: list[str | int] = [
            int(lane),
            repr(now),
            max(1, int(ticket_idle_s * 1000)),
            0 if device is None else 1,
            0 if fairness is None else fairness.places,
            0 if fairness is None else fairness.line_minimum,
        ]
        held_lane, number = await _guard(lambda: self._join(keys=keys, args=args))
        return Lane(int(held_lane)), int(number)

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
        if unpolled_settled_before is None:
            unpolled_settled_before = settled_before
        keys = [
            self.meta,
            self.passes,
            *self.alive,
            self.stats,
            self.settings,
            self.unused,
            *self.unpolled,
            self.unclaimed,
        ]
        args = [
            repr(pass_cutoff),
            repr(ticket_cutoff),
            repr(pass_cutoff if unused_cutoff is None else unused_cutoff),
            repr(ticket_cutoff if unpolled_cutoff is None else unpolled_cutoff),
            "-inf" if settled_before is None else repr(settled_before),
            "-inf" if unpolled_settled_before is None else repr(unpolled_settled_before),
        ]
        reply = await _guard(lambda: self._view(keys=keys, args=args))
        meta_flat, active, waiting, stats_flat, settings, unused, returned, unreturned = reply
        fields = _pairs(meta_flat)
        queue = snapshot_from_fields(
            fields, active=int(active), waiting=[int(w) for w in waiting], unused=int(unused)
        )
        return StoreView(
            queue=queue,
            stats={name: int(value) for name, value in _pairs(stats_flat).items()},
            runtime_settings=settings,
            attack_until=float(fields.get("attack_until", "0")),
            rate_at=float(fields.get("rate_at", "0")),
            returns=ReturnCounts(returned=int(returned), unreturned=int(unreturned)),
        )

    async def apply(
        self,
        plan: AdmissionPlan,
        candidates: Sequence[Sequence[tuple[int, int]]],
        *,
        now: float,
        rate: float,
        rate_at: float,
    ) -> PerLane | None:
        seal = plan.seal
        args: list[str | int] = [
            plan.version,
            repr(now),
            repr(plan.tokens),
            repr(rate),
            repr(rate_at),
            *(repr(credit) for credit in plan.credits),
            1 if seal else 0,
            repr(seal.opening_at) if seal else "0",
            seal.seed if seal else "",
            *plan.grants,
            repr(plan.release_start),
            plan.room,
            repr(plan.credit_before),
            -1 if plan.young is None else plan.young,
        ]
        for lane in Lane:
            args.append(len(candidates[lane]))
            for position, number in candidates[lane]:
                args.extend((position, number))
        keys = [self.meta, self.unused, *self.alive, *self.unpolled, self.unclaimed]
        reply = await _guard(lambda: self._apply(keys=keys, args=args))
        if reply is None:
            return None
        return int(reply[0]), int(reply[1]), int(reply[2]), int(reply[3])

    async def touch(
        self,
        *,
        now: float,
        passes: Sequence[str],
        tickets: Sequence[tuple[int, int]],
        stats: Mapping[str, int],
    ) -> None:
        keys = [
            self.passes,
            *self.alive,
            self.stats,
            self.unused,
            *self.unpolled,
            self.unclaimed,
            self.meta,
        ]
        stat_items = [(name, amount) for name, amount in stats.items() if amount]
        start = 0
        while True:
            pass_batch = passes[start : start + _TOUCH_BATCH]
            ticket_batch = tickets[start : start + _TOUCH_BATCH]
            stat_batch = stat_items if start == 0 else []
            if not (pass_batch or ticket_batch or stat_batch):
                return
            args: list[str | int] = [repr(now), len(pass_batch), *pass_batch, len(ticket_batch)]
            for lane, number in ticket_batch:
                args.extend((lane, number))
            args.append(len(stat_batch))
            for name, amount in stat_batch:
                args.extend((name, amount))
            await _guard(lambda a=args: self._touch(keys=keys, args=a))  # type: ignore[misc]  # the default argument binds the loop's value, on purpose
            start += _TOUCH_BATCH

    async def write_runtime_settings(self, blob: bytes) -> None:
        await _guard(lambda: self.client.set(self.settings, blob))

    async def raise_attack_until(self, until: float) -> None:
        await _guard(lambda: self._raise_attack(keys=[self.meta], args=[repr(until)]))

    async def reset(self) -> None:
        names = [
            self.meta,
            self.passes,
            self.unused,
            self.unclaimed,
            *self.alive,
            *self.unpolled,
            self.stats,
            self.settings,
        ]
        await _guard(lambda: self.client.delete(*names))
        for pattern in ("device:*", "net:*"):
            async for key in self.client.scan_iter(match=f"{self.base}{pattern}", count=1000):
                await self.client.delete(key)
