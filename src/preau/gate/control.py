"""The operator's view of the gate: live figures, and settings that every process picks up
within a couple of seconds (they live in shared state, read at each refresh)."""

from __future__ import annotations

import time

import msgspec

from preau.domain.admission import Lane, estimated_wait, under_attack
from preau.domain.people import InvalidInput
from preau.gate.runtime import view_cutoffs
from preau.gate.settings import (
    UNDER_ATTACK_MODES,
    GateSettings,
    GateSettingsError,
    RuntimeSettings,
    parse_opening_time,
)
from preau.gate.store import AdmissionStore


class GateStatus(msgspec.Struct, frozen=True):
    active: int  # slots held, the unused passes among them
    capacity: int
    waiting: dict[str, int]  # per lane: priority, known, first_time, deferred
    waiting_total: int
    admission_rate_per_s: float  # in force now, after adaptation
    configured_rate_per_s: float
    estimated_wait_at_back_s: float | None
    admitted_total: int
    arrivals_total: int
    shed_total: int
    rate_limited_total: int
    under_attack: bool
    under_attack_mode: str
    opening_time: str
    adaptive: bool
    unused: int = 0  # of ``active``: passes admitted and never used for a second request
    unreturned: int = 0  # tickets never polled and passes never used, out long enough


def _runtime(blob: bytes | None) -> RuntimeSettings:
    if not blob:
        return RuntimeSettings()
    try:
        return msgspec.json.decode(blob, type=RuntimeSettings)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return RuntimeSettings()


async def read_gate_status(
    store: AdmissionStore, settings: GateSettings, *, now: float | None = None
) -> GateStatus:
    """Live figures across every process, as the shared store holds them."""
    moment = time.time() if now is None else now
    view = await store.view(**view_cutoffs(settings, moment))
    effective = _runtime(view.runtime_settings).apply(settings)
    queue = view.queue
    rate = effective.admission_rate_per_s
    if effective.adaptive and queue.rate > 0:
        rate = min(rate, queue.rate)
    waiting_total = sum(queue.waiting)
    return GateStatus(
        active=queue.active,
        capacity=effective.capacity,
        waiting={lane.name.lower(): queue.waiting[lane] for lane in Lane},
        waiting_total=waiting_total,
        admission_rate_per_s=round(rate, 2),
        configured_rate_per_s=effective.admission_rate_per_s,
        estimated_wait_at_back_s=estimated_wait(waiting_total, rate),
        admitted_total=sum(queue.admitted),
        arrivals_total=view.stats.get("arrivals", 0),
        shed_total=view.stats.get("shed", 0),
        rate_limited_total=view.stats.get("rate_limited", 0),
        under_attack=under_attack(
            effective.under_attack, attack_until=view.attack_until, now=moment
        ),
        under_attack_mode=effective.under_attack,
        opening_time=effective.opening_time,
        adaptive=effective.adaptive,
        unused=queue.unused,
        unreturned=view.returns.unreturned,
    )


async def update_gate_settings(
    store: AdmissionStore,
    settings: GateSettings,
    *,
    capacity: int | None = None,
    admission_rate_per_s: float | None = None,
    opening_time: str | None = None,
    under_attack: str | None = None,
    now: float | None = None,
) -> RuntimeSettings:
    """Change settings for every process. ``opening_time=""`` removes the opening time.

    Raises :class:`InvalidInput` with a sentence for the operator when a value is wrong.
    """
    if capacity is not None and not 1 <= capacity <= 10_000_000:
        raise InvalidInput(
            "Capacity must be a whole number from 1 to 10,000,000.", field="capacity"
        )
    if admission_rate_per_s is not None and not 0 < admission_rate_per_s <= 1_000_000:
        raise InvalidInput(
            "The admission rate must be above 0 and at most 1,000,000 per second.",
            field="admission_rate_per_s",
        )
    if under_attack is not None and under_attack not in UNDER_ATTACK_MODES:
        raise InvalidInput(
            "The under-attack mode must be automatic, on or off.", field="under_attack"
        )
    if opening_time:
        try:
            parse_opening_time(opening_time)
        except GateSettingsError:
            raise InvalidInput(
                "The opening time must be a date and time with its offset, like "
                "2021-04-06T08:00:00+02:00.",
                field="opening_time",
            ) from None
    moment = time.time() if now is None else now
    view = await store.view(now=moment, pass_cutoff=0.0, ticket_cutoff=0.0)
    current = _runtime(view.runtime_settings)
    updated = RuntimeSettings(
        capacity=capacity if capacity is not None else current.capacity,
        admission_rate_per_s=(
            admission_rate_per_s
            if admission_rate_per_s is not None
            else current.admission_rate_per_s
        ),
        opening_time=opening_time.strip() if opening_time is not None else current.opening_time,
        under_attack=under_attack if under_attack is not None else current.under_attack,
        updated_at=moment,
    )
    try:
        updated.apply(settings).check()
    except GateSettingsError as error:
        raise InvalidInput(str(error)) from None
    await store.write_runtime_settings(msgspec.json.encode(updated))
    return updated
