"""Timetable pages: the week of a pupil, a parent's child or a teacher; making one lesson
a virtual class; the secret calendar address and the iCalendar feed it serves."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from itertools import groupby
from typing import Any

from babel.dates import format_date
from litestar import Request, Response, Router, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from preau import i18n
from preau.actions import timetable
from preau.actions.context import Services
from preau.actions.directory import get_person
from preau.actions.timetable.weeks import CachedWeek
from preau.asgi import Scope
from preau.domain.bounds import check_day
from preau.domain.errors import InvalidInput, NotFound
from preau.domain.people import STAFF_PROFILES, Actor
from preau.domain.timetable import Occurrence, WeekView, monday_of, parse_week
from preau.settings import Settings
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdQuery, form_id
from preau.web.render import page_bytes, render
from preau.web.warm import HTML, Warm, WarmRead, page_for_reader

Req = Request[Any, Any, Any]

SHOWN_STATUSES = [i18n.lazy("cancelled"), i18n.lazy("moved"), i18n.lazy("replaced")]
BAD_DAY = i18n.lazy("Write the day as a date, like 2026-11-23.")


def chosen_monday(services: Services, week: str) -> date:
    if week:
        return parse_week(week)
    return monday_of(services.now().date())


def day_formatter(locale: str) -> Callable[[date], str]:
    return lambda day: format_date(day, "EEEE d MMMM", locale=locale)


def hour(moment: datetime) -> str:
    return moment.strftime("%H:%M")


def by_day(occurrences: list[Occurrence]) -> list[tuple[date, list[Occurrence]]]:
    return [
        (day, list(items))
        for day, items in groupby(occurrences, key=lambda item: item.starts_at.date())
    ]


GRID_FIRST_MINUTE = 7 * 60  # the week grid runs from 07:00…
GRID_SLOTS = 48  # … in quarter-hours, to 19:00 (classes in preau.css)


def grid_place(occurrence: Occurrence) -> str:
    """The classes that put a lesson in the week grid: its day's column, the quarter-hour
    row it starts on and how many it spans, in the school's time (the page has no inline
    style). A lesson outside 07:00–19:00 is held at the grid's edge."""
    start = occurrence.starts_at.hour * 60 + occurrence.starts_at.minute
    end = occurrence.ends_at.hour * 60 + occurrence.ends_at.minute
    slot = min(max(0, (start - GRID_FIRST_MINUTE) // 15), GRID_SLOTS - 1)
    length = min(max(1, -(-(end - start) // 15)), 24, GRID_SLOTS - slot)
    column = occurrence.starts_at.isoweekday() + 1
    return f"col-{column} at-{slot + 2} len-{length}"


def week_days(view: WeekView) -> list[tuple[date, list[Occurrence]]]:
    """Every day of the week with its lessons, Monday to Friday and the weekend days that
    have any, so the grid keeps one column per day even when a day is empty."""
    found = dict(by_day(view.occurrences))
    last = max([5, *(day.isoweekday() for day in found)])
    return [
        (day, found.get(day, []))
        for day in (view.monday + timedelta(days=offset) for offset in range(last))
    ]


HOUR_ROWS = [
    (f"{hour:02d}:00", f"at-{(hour * 60 - GRID_FIRST_MINUTE) // 15 + 2} len-4")
    for hour in range(7, 19)
]


def own_week(services: Services, actor: Actor, scope: Scope) -> date | None:
    """Who a warm week is for: anyone reading their own current week (no other week is
    kept warm)."""
    del actor
    if scope["query_string"]:
        return None
    return monday_of(services.now().date())


def find_week(services: Services, actor: Actor, monday: date) -> CachedWeek | None:
    return services.week_cache.lookup(actor, monday, services.clock())


async def load_week(services: Services, actor: Actor, monday: date) -> CachedWeek:
    return await services.week_cache.week(services, actor, monday)


def week_page_answer(services: Services, entry: CachedWeek, scope: Scope) -> Warm | None:
    """The cached page in the reader's locale, with their own CSRF token."""
    return page_for_reader(services, entry.parts.get(scope["state"]["locale"]), entry.etag, scope)


def render_week_page(request: Req, actor: Actor, entry: CachedWeek) -> None:
    entry.parts[request.scope["state"]["locale"]] = page_bytes(
        request, "timetable/week.html", **week_context(actor, entry.view)
    )


# One's own week as a page, answered warm before the router (see ``web/warm.py``).
WEEK_PAGE = WarmRead(
    path="/timetable",
    media_type=HTML,
    key=own_week,
    find=find_week,
    load=load_week,
    answer=week_page_answer,
    render=render_week_page,
)


def week_context(actor: Actor, view: WeekView, child: Any = None) -> dict[str, Any]:
    return {
        "view": view,
        "days": by_day(view.occurrences),
        "week_days": week_days(view),
        "grid_place": grid_place,
        "hour_rows": HOUR_ROWS,
        "child": child,
        "extra": f"&child={child.id}" if child else "",
        "can_change": actor.profile in STAFF_PROFILES,
        "day_name": day_formatter(i18n.current_locale.get()),
        "hour": hour,
    }


@get("/timetable", include_in_schema=False)
async def week_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    week: FromQuery[str] = "",
    child: IdQuery = None,
) -> Response[Any]:
    monday = chosen_monday(services, week)
    if child is None:
        # One's own week: kept rendered, sent with the reader's CSRF token and an ETag.
        return await WEEK_PAGE.respond(request, services, actor, monday)
    view = await timetable.week(services, actor, monday, person_id=child)
    child_view = await get_person(services, actor, child)
    return render(request, "timetable/week.html", **week_context(actor, view, child_view))


@post("/timetable/virtual", include_in_schema=False)
async def make_virtual(request: Req, services: AppServices, actor: SignedInActor) -> Redirect:
    form = await request.form()
    lesson_id = form_id(form.get("lesson_id", ""), "lesson_id")
    try:
        day = check_day(date.fromisoformat(str(form.get("day", ""))), "day")
    except ValueError:
        raise InvalidInput(BAD_DAY, field="day") from None
    await timetable.set_virtual(services, actor, lesson_id, day, virtual=form.get("virtual") == "1")
    week = str(form.get("week", ""))
    return Redirect(f"/timetable?week={week}" if week else "/timetable")


@get("/timetable/calendar", include_in_schema=False)
async def calendar_page(
    request: Req, services: AppServices, actor: SignedInActor, revoked: FromQuery[bool] = False
) -> Response[str]:
    active = await timetable.has_feed(services, actor)
    return render(request, "timetable/calendar.html", active=active, address=None, revoked=revoked)


def feed_address(settings: Settings, secret: str) -> str:
    return f"{settings.base_url.rstrip('/')}/calendar/{secret}.ics"


@post("/timetable/calendar", include_in_schema=False)
async def calendar_new(request: Req, services: AppServices, actor: SignedInActor) -> Response[str]:
    secret = await timetable.new_feed_secret(services, actor)
    return render(
        request,
        "timetable/calendar.html",
        active=True,
        address=feed_address(services.settings, secret),
        revoked=False,
    )


@post("/timetable/calendar/revoke", include_in_schema=False)
async def calendar_revoke(services: AppServices, actor: SignedInActor) -> Redirect:
    await timetable.revoke_feed(services, actor)
    return Redirect("/timetable/calendar?revoked=true")


@get("/calendar/{name:str}", include_in_schema=False)
async def calendar_feed(services: AppServices, name: FromPath[str]) -> Response[bytes]:
    """The iCalendar feed: reached by its secret alone, so calendar apps need no login."""
    secret, dot, extension = name.rpartition(".")
    if not dot or extension != "ics":
        raise NotFound(timetable.FEED_NOT_FOUND)
    body = await timetable.feed_by_secret(services, secret)
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"cache-control": "private, max-age=300", "referrer-policy": "no-referrer"},
    )


routes: list[ControllerRouterHandler] = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[week_page, make_virtual, calendar_page, calendar_new, calendar_revoke],
    ),
    calendar_feed,
]
