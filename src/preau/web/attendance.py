"""Attendance pages (vie scolaire): the roll call of a lesson (a form that works without
JavaScript; ``attendance.js`` adds keys P, A, R, D and arrows), a pupil's absences with the
parents' justification form and the office's answers, a class's figures, and each
profile's start page. Times are shown in the school's zone."""

from __future__ import annotations

from datetime import date
from typing import Any

from babel.dates import format_date, format_time
from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from preau import i18n
from preau.actions import attendance
from preau.actions.classwork.files import Upload
from preau.actions.directory import my_groups, relatives
from preau.actions.zones import school_zone
from preau.api.attendance import document_response
from preau.domain.attendance import (
    Answer,
    Half,
    PeriodDraft,
    Reason,
    RollEntry,
    State,
    Status,
)
from preau.domain.bounds import MAX_ID
from preau.domain.errors import InvalidInput, PreauError
from preau.domain.people import Actor, Profile
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath
from preau.web.render import render, translate_error

Req = Request[Any, Any, Any]

STATUS_NAMES = {
    Status.PRESENT: i18n.lazy("Present"),
    Status.ABSENT: i18n.lazy("Absent"),
    Status.LATE: i18n.lazy("Late"),
    Status.LEFT_EARLY: i18n.lazy("Left early"),
}
STATUS_KEYS = {Status.PRESENT: "P", Status.ABSENT: "A", Status.LATE: "R", Status.LEFT_EARLY: "D"}
STATE_NAMES = {
    State.UNJUSTIFIED: i18n.lazy("Not justified"),
    State.PENDING: i18n.lazy("Justification waiting"),
    State.ACCEPTED: i18n.lazy("Justified"),
    State.REFUSED: i18n.lazy("Justification refused"),
}
REASON_NAMES = {
    Reason.ILLNESS: i18n.lazy("Illness"),
    Reason.FAMILY: i18n.lazy("Family reason"),
    Reason.APPOINTMENT: i18n.lazy("Medical or official appointment"),
    Reason.TRANSPORT: i18n.lazy("Transport problem"),
    Reason.OTHER: i18n.lazy("Other reason"),
}
HALF_NAMES = {Half.MORNING: i18n.lazy("morning"), Half.AFTERNOON: i18n.lazy("afternoon")}
BAD_DAY = i18n.lazy("Write the day as a date, like 2026-11-23.")
BAD_MINUTES = i18n.lazy("Minutes are a whole number from 1 to 240: nothing was saved.")


async def formatters(services: Any, actor: Actor) -> dict[str, Any]:
    zone = await school_zone(services, actor.school_id)
    locale = i18n.current_locale.get()
    return {
        "day_text": lambda value: format_date(value, "EEEE d MMMM y", locale=locale),
        "short_day": lambda value: format_date(value, "EEE d MMM", locale=locale),
        "time_text": lambda value: format_time(value, "HH:mm", tzinfo=zone, locale=locale),
        "moment_text": lambda value: (
            format_date(value.astimezone(zone).date(), "EEE d MMM", locale=locale)
            + " "
            + format_time(value, "HH:mm", tzinfo=zone, locale=locale)
        ),
        "month_text": lambda month: format_date(
            date.fromisoformat(month + "-01"), "LLLL y", locale=locale
        ),
        "status_name": lambda status: i18n.gettext(STATUS_NAMES[Status(status)]),
        "state_name": lambda state: i18n.gettext(STATE_NAMES[State(state)]),
        "reason_name": lambda reason: i18n.gettext(REASON_NAMES[Reason(reason)]),
        "statuses": list(Status),
        "status_keys": STATUS_KEYS,
        "reasons": list(Reason),
        "halves": [(half.value, i18n.gettext(name)) for half, name in HALF_NAMES.items()],
    }


def _day(text: str, field: str = "day") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidInput(BAD_DAY, field=field) from None


def _form_pupil(form: Any) -> int:
    """The pupil whose page a refused form is shown again on (the page checks access)."""
    text = str(form.get("pupil_id", ""))
    return int(text) if text.isdigit() and int(text) <= MAX_ID else 0


@get("/attendance", include_in_schema=False)
async def attendance_home(
    request: Req, services: AppServices, actor: SignedInActor, day: FromQuery[str] = ""
) -> Response[Any]:
    if actor.profile is Profile.PUPIL:
        return Redirect(f"/attendance/pupils/{actor.person_id}")
    context: dict[str, Any] = {
        "children": [],
        "lessons": [],
        "groups": [],
        "desk": None,
        "day": None,
    }
    if actor.profile is Profile.PARENT:
        children = await relatives(services, actor, actor.person_id)
        if len(children) == 1:
            return Redirect(f"/attendance/pupils/{children[0].id}")
        context["children"] = children
    else:
        chosen = _day(day) if day else None
        context["day"] = chosen
        context["lessons"] = await attendance.lessons_of_day(services, actor, chosen)
        context["groups"] = await my_groups(services, actor)
        if actor.profile in (Profile.STAFF, Profile.ADMIN):
            context["desk"] = await attendance.office(services, actor)
    return render(request, "attendance/index.html", **context, **await formatters(services, actor))


async def _roll_page(
    request: Req,
    services: Any,
    actor: Actor,
    *,
    lesson_id: int,
    day: date,
    typed: dict[int, tuple[str, str]] | None = None,
    error: str = "",
    saved: int | None = None,
    status_code: int = 200,
) -> Response[Any]:
    roll = await attendance.get_roll_call(services, actor, lesson_id, day)
    return render(
        request,
        "attendance/roll_call.html",
        status_code=status_code,
        roll=roll,
        typed=typed or {},
        error=error,
        saved=saved,
        **await formatters(services, actor),
    )


@get("/attendance/lessons/{lesson_id:int}/{day:str}", include_in_schema=False)
async def roll_call_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    lesson_id: IdPath,
    day: FromPath[str],
    *,
    saved: FromQuery[int | None] = None,
) -> Response[Any]:
    return await _roll_page(
        request, services, actor, lesson_id=lesson_id, day=_day(day), saved=saved
    )


def _entry(pupil_id: int, status_text: str, minutes_text: str) -> RollEntry:
    """One line of the form: an unknown status reads as present (the radios send one of
    four), minutes must be a whole number."""
    try:
        status = Status(status_text)
    except ValueError:
        status = Status.PRESENT
    if minutes_text and not minutes_text.isdigit():
        raise InvalidInput(BAD_MINUTES, field=f"m.{pupil_id}")
    minutes = int(minutes_text) if minutes_text else None
    return RollEntry(pupil_id=pupil_id, status=status, minutes=minutes)


@post("/attendance/lessons/{lesson_id:int}/{day:str}", include_in_schema=False)
async def roll_call_save(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    lesson_id: IdPath,
    day: FromPath[str],
) -> Response[Any]:
    chosen = _day(day)
    form = await request.form()
    typed: dict[int, tuple[str, str]] = {}
    for name in form:
        if name.startswith("s.") and name[2:].isdigit() and int(name[2:]) <= MAX_ID:
            pupil_id = int(name[2:])
            minutes_text = str(form.get(f"m.{pupil_id}", "")).strip()
            typed[pupil_id] = (str(form.get(name, "")), minutes_text)
    try:
        entries = [
            _entry(pupil_id, status, minutes) for pupil_id, (status, minutes) in typed.items()
        ]
        _roll, changed = await attendance.save_roll_call(
            services, actor, lesson_id, chosen, entries
        )
    except InvalidInput as error:
        return await _roll_page(
            request,
            services,
            actor,
            lesson_id=lesson_id,
            day=chosen,
            typed=typed,
            error=translate_error(error),
            status_code=400,
        )
    return Redirect(f"/attendance/lessons/{lesson_id}/{chosen.isoformat()}?saved={changed}")


async def _pupil_page(
    request: Req,
    services: Any,
    actor: Actor,
    pupil_id: int,
    *,
    error: str = "",
    error_for: int | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response[Any]:
    view = await attendance.pupil_attendance(services, actor, pupil_id)
    return render(
        request,
        "attendance/pupil.html",
        status_code=status_code,
        view=view,
        error=error,
        error_for=error_for,
        done=done,
        today=services.now().date().isoformat(),
        **await formatters(services, actor),
    )


@get("/attendance/pupils/{pupil_id:int}", include_in_schema=False)
async def pupil_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    pupil_id: IdPath,
    done: FromQuery[str] = "",
) -> Response[Any]:
    return await _pupil_page(request, services, actor, pupil_id, done=done)


@post("/attendance/pupils/{pupil_id:int}/absences", include_in_schema=False)
async def period_save(
    request: Req, services: AppServices, actor: SignedInActor, pupil_id: IdPath
) -> Response[Any]:
    form = await request.form()
    reason = str(form.get("reason", ""))
    try:
        await attendance.record_period(
            services,
            actor,
            PeriodDraft(
                pupil_id=pupil_id,
                first_day=_day(str(form.get("first_day", "")), "first_day"),
                first_half=Half(str(form.get("first_half", "morning"))),
                last_day=_day(str(form.get("last_day", "")), "last_day"),
                last_half=Half(str(form.get("last_half", "afternoon"))),
                note=str(form.get("note", "")),
                reason=Reason(reason) if reason in set(Reason) else None,
            ),
        )
    except (InvalidInput, ValueError) as error:
        message = translate_error(error) if isinstance(error, PreauError) else str(BAD_DAY)
        return await _pupil_page(
            request, services, actor, pupil_id, error=message, error_for=0, status_code=400
        )
    return Redirect(f"/attendance/pupils/{pupil_id}?done=recorded")


@post("/attendance/absences/{absence_id:int}/justify", include_in_schema=False)
async def justify_save(
    request: Req, services: AppServices, actor: SignedInActor, absence_id: IdPath
) -> Response[Any]:
    form = await request.form()
    item = form.get("file")
    upload = None
    if isinstance(item, UploadFile) and item.filename:
        data = await item.read()
        if data:
            upload = Upload(name=item.filename, data=data)
    try:
        pupil_id = await attendance.justify(
            services,
            actor,
            absence_id,
            reason=str(form.get("reason", "")),
            comment=str(form.get("comment", "")),
            upload=upload,
        )
    except PreauError as error:
        if error.status >= 404:
            raise
        pupil_id = _form_pupil(form)
        return await _pupil_page(
            request,
            services,
            actor,
            pupil_id,
            error=translate_error(error),
            error_for=absence_id,
            status_code=error.status,
        )
    return Redirect(f"/attendance/pupils/{pupil_id}?done=justified")


@post("/attendance/absences/{absence_id:int}/answer", include_in_schema=False)
async def answer_save(
    request: Req, services: AppServices, actor: SignedInActor, absence_id: IdPath
) -> Response[Any]:
    form = await request.form()
    given = Answer(accept=form.get("accept") == "1", note=str(form.get("note", "")))
    try:
        pupil_id = await attendance.answer(services, actor, absence_id, given)
    except InvalidInput as error:
        pupil_id = _form_pupil(form)
        return await _pupil_page(
            request,
            services,
            actor,
            pupil_id,
            error=translate_error(error),
            error_for=absence_id,
            status_code=400,
        )
    return Redirect(f"/attendance/pupils/{pupil_id}?done=answered")


@get("/attendance/absences/{absence_id:int}/document", include_in_schema=False)
async def document_page(
    services: AppServices, actor: SignedInActor, absence_id: IdPath
) -> Response[Any]:
    return document_response(await attendance.open_document(services, actor, absence_id))


@get("/attendance/groups/{group_id:int}", include_in_schema=False)
async def class_page(
    request: Req, services: AppServices, actor: SignedInActor, group_id: IdPath
) -> Response[Any]:
    view = await attendance.class_attendance(services, actor, group_id)
    return render(request, "attendance/class.html", view=view, **await formatters(services, actor))


routes: list[ControllerRouterHandler] = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            attendance_home,
            roll_call_page,
            roll_call_save,
            pupil_page,
            period_save,
            justify_save,
            answer_save,
            document_page,
            class_page,
        ],
    )
]
