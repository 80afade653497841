"""The home page of each profile: what now? (today's lessons, work due, new marks, unread
messages; a card per child; hand-ins to review; what needs the office today)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_time
from litestar import Request, Response, Router, get
from litestar.params import FromQuery

from preau import i18n
from preau.actions.home import home as home_view
from preau.domain.marks import Special
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.marks import SPECIAL_NAMES, decimal_text
from preau.web.render import render


def formatters(zone: ZoneInfo, locale: str) -> dict[str, Any]:
    """How the home page writes days and hours: the school's zone, the reader's language."""

    def hour(moment: datetime) -> str:
        return format_time(moment.astimezone(zone), "HH:mm", locale=locale)

    def day(value: date | datetime, style: str = "EEEE d MMMM") -> str:
        if isinstance(value, datetime):
            value = value.astimezone(zone).date()
        return format_date(value, style, locale=locale)

    def number(value: Decimal | float) -> str:
        return decimal_text(value if isinstance(value, Decimal) else Decimal(str(value)))

    def special(value: Special) -> str:
        return i18n.gettext(SPECIAL_NAMES[value])

    return {"hour": hour, "day": day, "number": number, "special": special}


@get("/home", include_in_schema=False)
async def home(
    request: Request[Any, Any, Any],
    services: AppServices,
    actor: SignedInActor,
    welcome: FromQuery[str | None] = None,
) -> Response[Any]:
    view = await home_view(services, actor)
    return render(
        request,
        "home.html",
        home=view,
        now=services.now(),
        welcome=welcome is not None,
        **formatters(ZoneInfo(view.zone), i18n.current_locale.get()),
    )


routes = [Router("/", guards=[signed_in], route_handlers=[home])]
