"""The waiting room's operator page: live figures, a chart of the last half hour, and
settings for every process."""

from __future__ import annotations

import datetime
from typing import Any

from babel.dates import format_date
from litestar import Request, Response, Router, get, post
from litestar.response import Redirect

from preau import i18n
from preau.domain.errors import InvalidInput, PreauError
from preau.gate.control import GateStatus, read_gate_status, update_gate_settings
from preau.gate.pages import describe_wait
from preau.gate.samples import Sample, chart_svg
from preau.gate.settings import GateSettingsError, local_opening_time
from preau.web.dependencies import AppServices
from preau.web.guards import platform_operator
from preau.web.render import render, translate_error

Req = Request[Any, Any, Any]
BAD_OPENING = i18n.lazy("Choose the opening day and time, or leave it empty to open now.")


def number(value: str, field: str, kind: type[int] | type[float]) -> int | float | None:
    if not value.strip():
        return None
    try:
        return kind(value.strip())
    except ValueError:
        raise InvalidInput("This must be a number.", field=field) from None


async def live_context(services: Any) -> dict[str, Any]:
    """The figures, the chart and the opening time as the page shows them."""
    status: GateStatus = await read_gate_status(services.shared.admission, services.gate)
    zone = services.gate.zone
    services.gate_samples.record(
        Sample(
            services.clock(),
            status.active,
            status.capacity,
            status.waiting_total,
            status.admission_rate_per_s,
        )
    )
    opening_local, opening_text = "", ""
    if status.opening_time:
        moment = datetime.datetime.fromisoformat(status.opening_time).astimezone(zone)
        opening_local = moment.strftime("%Y-%m-%dT%H:%M")
        opening_text = i18n.gettext("%(day)s at %(time)s") % {
            "day": format_date(moment.date(), "EEEE d MMMM y", locale=i18n.current_locale.get()),
            "time": moment.strftime("%H:%M"),
        }
    chart = chart_svg(
        services.gate_samples.recent(),
        title=i18n.gettext("People inside, people waiting and admissions per second"),
        labels={
            "active": i18n.gettext("inside"),
            "waiting": i18n.gettext("waiting"),
            "capacity": i18n.gettext("capacity"),
            "rate": i18n.gettext("admissions per second"),
            "now": i18n.gettext("now"),
            "ago": i18n.gettext("{minutes} min ago"),
            "ago_seconds": i18n.gettext("{seconds} s ago"),
            "empty": i18n.gettext("The chart fills in as the figures come (every 10 seconds)."),
        },
    )
    return {
        "status": status,
        "wait_text": describe_wait(status.estimated_wait_at_back_s)
        if status.waiting_total
        else "—",
        "chart": chart,
        "zone_name": zone.key,
        "opening_local": opening_local,
        "opening_text": opening_text,
    }


@get("/admin/gate", include_in_schema=False)
async def gate_page(request: Req, services: AppServices) -> Response[str]:
    return render(request, "operator.html", **await live_context(services))


@get("/admin/gate/live", include_in_schema=False)
async def gate_live(request: Req, services: AppServices) -> Response[str]:
    """The figures and the chart alone, which the page's script swaps in every 10 s."""
    return render(request, "_gate_live.html", **await live_context(services))


@post("/admin/gate", include_in_schema=False)
async def gate_update(request: Req, services: AppServices) -> Response[Any]:
    form = await request.form()
    try:
        if "opening_local" in form:
            try:
                opening = local_opening_time(str(form.get("opening_local", "")), services.gate.zone)
            except GateSettingsError:
                raise InvalidInput(BAD_OPENING, field="opening_time") from None
        else:  # the ISO form, with its offset, as scripts send it
            opening = str(form.get("opening_time", ""))
        await update_gate_settings(
            services.shared.admission,
            services.gate,
            capacity=number(str(form.get("capacity", "")), "capacity", int),  # type: ignore[arg-type]  # number() returns the type it is given; mypy cannot follow the callable
            admission_rate_per_s=number(
                str(form.get("admission_rate_per_s", "")), "admission_rate_per_s", float
            ),
            opening_time=opening,
            under_attack=str(form.get("under_attack", "")) or None,
        )
    except PreauError as error:
        return render(
            request,
            "operator.html",
            status_code=error.status,
            error=translate_error(error),
            error_field=error.field,
            **await live_context(services),
        )
    return Redirect("/admin/gate")


routes = [
    Router("/", guards=[platform_operator], route_handlers=[gate_page, gate_live, gate_update])
]
