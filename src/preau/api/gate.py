"""The waiting room's figures and settings for operators' tools."""

from __future__ import annotations

from litestar import Router, get, patch
from litestar.params import JSONBody

from preau.domain.bounds import Input
from preau.gate.control import GateStatus, read_gate_status, update_gate_settings
from preau.web.dependencies import AppServices
from preau.web.guards import platform_operator


class GateChanges(Input, kw_only=True):
    capacity: int | None = None
    admission_rate_per_s: float | None = None
    opening_time: str | None = None  # "" removes the opening time
    under_attack: str | None = None  # auto | on | off


@get("/api/v1/gate", tags=["gate"], summary="Live figures of the waiting room (operators)")
async def gate_status(services: AppServices) -> GateStatus:
    return await read_gate_status(services.shared.admission, services.gate)


@patch(
    "/api/v1/gate",
    tags=["gate"],
    summary="Change capacity, rate, opening time or under-attack mode in every process",
)
async def gate_change(services: AppServices, data: JSONBody[GateChanges]) -> GateStatus:
    await update_gate_settings(
        services.shared.admission,
        services.gate,
        capacity=data.capacity,
        admission_rate_per_s=data.admission_rate_per_s,
        opening_time=data.opening_time,
        under_attack=data.under_attack,
    )
    return await read_gate_status(services.shared.admission, services.gate)


routes = [Router("/", guards=[platform_operator], route_handlers=[gate_status, gate_change])]
