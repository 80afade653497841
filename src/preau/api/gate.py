"""The waiting room's figures and settings for operators' tools."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request, get, patch
from litestar.params import JSONBody

from preau.actions.access import access_platform_operator
from preau.api.accounts import require_session
from preau.gate.control import GateStatus, read_gate_status, update_gate_settings
from preau.web.render import services_of

Req = Request[Any, Any, Any]


class GateChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    capacity: int | None = None
    admission_rate_per_s: float | None = None
    opening_time: str | None = None  # "" removes the opening time
    under_attack: str | None = None  # auto | on | off


async def _operator(request: Req) -> None:
    services = services_of(request)
    async with services.engine.connect() as connection:
        await access_platform_operator(
            connection, require_session(request).actor, services.settings.operator_uais
        )


@get("/api/v1/gate", tags=["gate"], summary="Live figures of the waiting room (operators)")
async def gate_status(request: Req) -> GateStatus:
    await _operator(request)
    services = services_of(request)
    return await read_gate_status(services.shared.admission, services.gate)


@patch(
    "/api/v1/gate",
    tags=["gate"],
    summary="Change capacity, rate, opening time or under-attack mode in every process",
)
async def gate_change(request: Req, data: JSONBody[GateChanges]) -> GateStatus:
    await _operator(request)
    services = services_of(request)
    await update_gate_settings(
        services.shared.admission,
        services.gate,
        capacity=data.capacity,
        admission_rate_per_s=data.admission_rate_per_s,
        opening_time=data.opening_time,
        under_attack=data.under_attack,
    )
    return await read_gate_status(services.shared.admission, services.gate)


routes = [gate_status, gate_change]
