"""The waiting room's operator page: live figures and settings for every process."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Redirect

from preau.domain.errors import InvalidInput, PreauError
from preau.gate.control import read_gate_status, update_gate_settings
from preau.web.dependencies import AppServices
from preau.web.guards import platform_operator
from preau.web.render import render, translate_error

Req = Request[Any, Any, Any]


def number(value: str, field: str, kind: type[int] | type[float]) -> int | float | None:
    if not value.strip():
        return None
    try:
        return kind(value.strip())
    except ValueError:
        raise InvalidInput("This must be a number.", field=field) from None


@get("/admin/gate", include_in_schema=False)
async def gate_page(request: Req, services: AppServices) -> Response[str]:
    status = await read_gate_status(services.shared.admission, services.gate)
    return render(request, "operator.html", status=status)


@post("/admin/gate", include_in_schema=False)
async def gate_update(request: Req, services: AppServices) -> Response[Any]:
    form = await request.form()
    try:
        await update_gate_settings(
            services.shared.admission,
            services.gate,
            capacity=number(str(form.get("capacity", "")), "capacity", int),  # type: ignore[arg-type]  # number() returns the type it is given; mypy cannot follow the callable
            admission_rate_per_s=number(
                str(form.get("admission_rate_per_s", "")), "admission_rate_per_s", float
            ),
            opening_time=str(form.get("opening_time", "")),
            under_attack=str(form.get("under_attack", "")) or None,
        )
    except PreauError as error:
        status = await read_gate_status(services.shared.admission, services.gate)
        return render(
            request,
            "operator.html",
            status_code=error.status,
            status=status,
            error=translate_error(error),
            error_field=error.field,
        )
    return Redirect("/admin/gate")


routes = [Router("/", guards=[platform_operator], route_handlers=[gate_page, gate_update])]
