"""Marks pages: the teacher's grid (a form of inputs that works without JavaScript;
``marks.js`` adds keyboard moves and pasting a column), evaluations, the report card of a
pupil, the CSV download and the school's settings. Numbers are shown the French way
("15,5") in French."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urlencode

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.params import FromQuery
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from preau import i18n
from preau.actions import marks, marks_settings, skill_frameworks, skills
from preau.actions.context import Services
from preau.actions.directory import relatives
from preau.domain.bounds import check_day
from preau.domain.errors import InvalidInput
from preau.domain.marks import (
    TERMS_IN_A_YEAR,
    EvaluationChanges,
    EvaluationDraft,
    Grid,
    Mark,
    MarkEntry,
    MarksSettings,
    Special,
    TermDraft,
    TermKind,
    TermsDraft,
    check_coefficient,
    check_out_of,
)
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath, IdQuery, form_id, form_ids
from preau.web.render import render, services_of, translate_error
from preau.web.skills import name_of

Req = Request[Any, Any, Any]

# What a special value is called on a report card, and typed back in the grid.
SPECIAL_NAMES = {
    Special.ABSENT: i18n.lazy("Absent"),
    Special.EXEMPT: i18n.lazy("Exempt"),
    Special.NOT_HANDED_IN: i18n.lazy("Not handed in"),
}
SHOWN_KINDS = [i18n.lazy("trimester"), i18n.lazy("semester")]  # shown through _(kind)
SPECIAL_CODES = {Special.ABSENT: "abs", Special.EXEMPT: "disp", Special.NOT_HANDED_IN: "nr"}
BAD_DAY = i18n.lazy("Write the day as a date, like 2026-11-23.")
BAD_COEFFICIENTS = i18n.lazy(
    "Write one subject a line, a colon and its coefficient, like “Mathématiques : 2”."
)
CELL = re.compile(r"^m\.(\d+)\.(\d+)$")


# -- numbers the way the reader writes them --------------------------------------------------


def decimal_text(value: Decimal | None, *, places: int | None = None) -> str:
    """``15.5`` as "15,5" in French; ``places`` keeps that many decimals (averages)."""
    if value is None:
        return ""
    text = format(value.normalize() + 0, "f") if places is None else format(value, f".{places}f")
    return text.replace(".", ",") if i18n.current_locale.get() == "fr" else text


def average_text(value: Decimal | None) -> str:
    return decimal_text(value, places=2)


def mark_text(mark: Mark | None) -> str:
    """A cell as typed back in the grid: "15,5", "abs", "disp", "nr" or empty."""
    if mark is None:
        return ""
    if mark.special is not None:
        return SPECIAL_CODES[mark.special]
    return decimal_text(mark.points)


def mark_shown(mark: Mark | None, out_of: Decimal | None = None) -> str:
    """A mark on a report card: "15,5/20", or the special value in words."""
    if mark is None:
        return ""
    if mark.special is not None:
        return i18n.gettext(SPECIAL_NAMES[mark.special])
    shown = decimal_text(mark.points)
    return f"{shown}/{decimal_text(out_of)}" if out_of is not None else shown


def formatters() -> dict[str, Any]:
    return {
        "number": decimal_text,
        "average": average_text,
        "mark_text": mark_text,
        "mark_shown": mark_shown,
        "day_text": lambda day: day.strftime(
            "%d/%m/%Y" if i18n.current_locale.get() == "fr" else "%Y-%m-%d"
        ),
    }


# -- CSV ---------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula (a name typed as "=HYPERLINK…")."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def grid_csv(grid: Grid) -> bytes:
    """The grid as a spreadsheet opens it: in French, ``;`` between cells and decimal
    commas; a byte-order mark so Excel reads UTF-8."""
    french = i18n.current_locale.get() == "fr"
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if french else ",", lineterminator="\r\n")
    header = [i18n.gettext("Pupil")]
    for column in grid.columns:
        evaluation = column.evaluation
        header.append(
            f"{evaluation.title} ({evaluation.day.isoformat()}, /{decimal_text(evaluation.out_of)}"
            f", coef {decimal_text(evaluation.coefficient)})"
        )
    header.append(i18n.gettext("Average out of 20"))
    writer.writerow([_cell(text) for text in header])
    for row in grid.rows:
        writer.writerow(
            [
                _cell(row.pupil_name),
                *(mark_text(mark) for mark in row.marks),
                average_text(row.average),
            ]
        )
    writer.writerow(
        [
            i18n.gettext("Class average"),
            *(decimal_text(column.average, places=2) for column in grid.columns),
            average_text(grid.average),
        ]
    )
    return ("\ufeff" + buffer.getvalue()).encode()


def csv_response(grid: Grid) -> Response[bytes]:
    name = f"{grid.group_name} {grid.subject} {grid.term.name if grid.term else ''}".strip()
    filename = re.sub(r"[^\w.-]+", "-", name).strip("-") + ".csv"
    return Response(
        grid_csv(grid),
        media_type="text/csv",
        headers={
            "content-disposition": f"attachment; filename*=UTF-8''{quote(filename)}",
            "cache-control": "no-store",
        },
    )


# -- pages -------------------------------------------------------------------------------------


def _grid_address(group_id: int, term_id: int | None, subject: str) -> str:
    query = {key: value for key, value in (("term", term_id), ("subject", subject)) if value}
    return f"/marks/groups/{group_id}" + (f"?{urlencode(query)}" if query else "")


@get("/marks", include_in_schema=False)
async def marks_home(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    if actor.profile is Profile.PUPIL:
        return Redirect(f"/marks/pupils/{actor.person_id}")
    children = []
    if actor.profile is Profile.PARENT:
        children = await relatives(services, actor, actor.person_id)
        if len(children) == 1:
            return Redirect(f"/marks/pupils/{children[0].id}")
    found = await marks.marks_groups(services, actor)
    return render(request, "marks/index.html", groups=found, children=children)


async def _grid_page(
    request: Req,
    services: Services,
    actor: Actor,
    group_id: int,
    *,
    term: int | None,
    subject: str,
    typed: dict[str, str] | None = None,
    error: str = "",
    invalid: str = "",
    saved: int | None = None,
    status_code: int = 200,
) -> Response[Any]:
    found = await marks.grid(services, actor, group_id, term_id=term, subject=subject or None)
    services = services_of(request)
    found = await marks.grid(services, actor, group_id, term_id=term, subject=subject or None)
    assessed = await skills.assessed_evaluations(
        services, actor, group_id, term_id=found.term.id if found.term else None
    )
    return render(
        request,
        "marks/grid.html",
        status_code=status_code,
        grid=found,
        assessed=assessed,
        typed=typed or {},
        error=error,
        invalid=invalid,
        saved=saved,
        address=_grid_address(group_id, found.term.id if found.term else None, found.subject),
        csv_address=f"/marks/groups/{group_id}/export.csv?"
        + urlencode({"term": found.term.id if found.term else "", "subject": found.subject}),
        **formatters(),
    )


@get("/marks/groups/{group_id:int}", include_in_schema=False)
async def grid_page(
    request: Req,
    *,
    services: AppServices,
    actor: SignedInActor,
    group_id: IdPath,
    term: IdQuery = None,
    subject: FromQuery[str] = "",
    saved: IdQuery = None,
) -> Response[Any]:
    return await _grid_page(
        request, services, actor, group_id, term=term, subject=subject, saved=saved
    )


@post("/marks/groups/{group_id:int}", include_in_schema=False)
async def grid_save(
    request: Req,
    *,
    services: AppServices,
    actor: SignedInActor,
    group_id: IdPath,
    term: IdQuery = None,
    subject: FromQuery[str] = "",
) -> Response[Any]:
    """Save the cells the teacher changed (each input carries the value it was shown
    with), so two teachers on one grid only overwrite the cells they touched."""
    form = await request.form()
    typed: dict[str, str] = {}
    columns: dict[int, list[MarkEntry]] = defaultdict(list)
    for name in form:
        match = CELL.match(name)
        if match is None:
            continue
        value = str(form.get(name, "")).strip()
        typed[name] = value
        if value != str(form.get("o" + name[1:], "")).strip():
            evaluation_id = form_id(match.group(1), "marks")
            pupil_id = form_id(match.group(2), "marks")
            columns[evaluation_id].append(MarkEntry(pupil_id=pupil_id, value=value))
    try:
        changed = await marks.enter_grid(services, actor, group_id, columns)
    except InvalidInput as error:
        return await _grid_page(
            request,
            services,
            actor,
            group_id,
            term=term,
            subject=subject,
            typed=typed,
            error=translate_error(error),
            invalid=(error.field or "").replace("marks.", "m."),
            status_code=400,
        )
    address = _grid_address(group_id, term, subject)
    return Redirect(address + ("&" if "?" in address else "?") + f"saved={changed}")


@get("/marks/groups/{group_id:int}/export.csv", include_in_schema=False)
async def grid_download(
    services: AppServices,
    actor: SignedInActor,
    group_id: IdPath,
    term: IdQuery = None,
    subject: FromQuery[str] = "",
) -> Response[bytes]:
    found = await marks.grid(services, actor, group_id, term_id=term, subject=subject or None)
    return csv_response(found)


async def _evaluation_form(request: Req, actor: Actor, **context: Any) -> Response[Any]:
    """The form, with the school's skills to choose from (``skills.name_of`` in the
    reader's language)."""
    frameworks = await skill_frameworks.list_frameworks(services_of(request), actor)
    return render(
        request,
        "marks/evaluation_form.html",
        frameworks=frameworks,
        name_of=name_of,
        **formatters(),
        **context,
    )


@get("/marks/groups/{group_id:int}/evaluations/new", include_in_schema=False)
async def evaluation_new(
    request: Req,
    *,
    services: AppServices,
    actor: SignedInActor,
    group_id: IdPath,
    subject: FromQuery[str] = "",
    term: IdQuery = None,
) -> Response[Any]:
    choices = await marks.homework_choices(services, actor, group_id)
    found = await marks.grid(services, actor, group_id, term_id=term, subject=subject or None)
    values = {
        "subject": found.subject,
        "title": "",
        "day": services.now().date().isoformat(),
        "out_of": "20",
        "coefficient": "1",
        "homework_id": "",
        "marked": "1",
        "skill_ids": [],
    }
    return await _evaluation_form(
        request, actor, grid=found, values=values, homework=choices, evaluation_id=None, error=""
    )


def _form_values(form: Any) -> dict[str, Any]:
    names = ("subject", "title", "day", "out_of", "coefficient", "homework_id", "marked")
    values: dict[str, Any] = {name: str(form.get(name, "")).strip() for name in names}
    values["skill_ids"] = form_ids(form.getall("skill_ids", []), "skill_ids")
    return values


def _day(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(BAD_DAY, field="day") from None
    return check_day(day, "day")


@post("/marks/groups/{group_id:int}/evaluations", include_in_schema=False)
async def evaluation_create(
    request: Req, services: AppServices, actor: SignedInActor, group_id: IdPath
) -> Response[Any]:
    values = _form_values(await request.form())
    marked = values["marked"] == "1"
    try:
        created = await marks.create_evaluation(
            services,
            actor,
            EvaluationDraft(
                group_id=group_id,
                subject=values["subject"],
                title=values["title"],
                day=_day(values["day"]),
                out_of=check_out_of(values["out_of"]) if marked else Decimal(0),
                coefficient=check_coefficient(values["coefficient"]) if marked else Decimal(0),
                homework_id=form_id(values["homework_id"], "homework_id")
                if values["homework_id"].strip()
                else None,
                marked=marked,
                skill_ids=values["skill_ids"],
            ),
        )
    except InvalidInput as error:
        found = await marks.grid(services, actor, group_id, subject=values["subject"] or None)
        return await _evaluation_form(
            request,
            actor,
            grid=found,
            values=values,
            homework=await marks.homework_choices(services, actor, group_id),
            evaluation_id=None,
            error=translate_error(error),
            status_code=400,
        )
    if not created.marked:
        return Redirect(f"/skills/evaluations/{created.id}")
    return Redirect(
        _grid_address(group_id, None, created.subject) + "#evaluation-" + str(created.id)
    )


@get("/marks/evaluations/{evaluation_id:int}/edit", include_in_schema=False)
async def evaluation_edit(
    request: Req, services: AppServices, actor: SignedInActor, evaluation_id: IdPath
) -> Response[Any]:
    view = await marks.get_evaluation(services, actor, evaluation_id)
    evaluation = view.evaluation
    found = await marks.grid(services, actor, evaluation.group_id, subject=evaluation.subject)
    values = {
        "subject": evaluation.subject,
        "title": evaluation.title,
        "day": evaluation.day.isoformat(),
        "out_of": decimal_text(evaluation.out_of),
        "coefficient": decimal_text(evaluation.coefficient),
        "homework_id": str(evaluation.homework_id or ""),
        "marked": "1" if evaluation.marked else "",
        "skill_ids": evaluation.skill_ids,
    }
    choices = (
        await marks.homework_choices(services, actor, evaluation.group_id)
        if view.can_change
        else []
    )
    return await _evaluation_form(
        request,
        actor,
        grid=found,
        values=values,
        homework=choices,
        evaluation_id=evaluation_id,
        view=view,
        error="",
    )


@post("/marks/evaluations/{evaluation_id:int}/edit", include_in_schema=False)
async def evaluation_update(
    request: Req, services: AppServices, actor: SignedInActor, evaluation_id: IdPath
) -> Response[Any]:
    values = _form_values(await request.form())
    try:
        view = await marks.get_evaluation(services, actor, evaluation_id)
        marked = view.evaluation.marked  # a mark is given or not when the evaluation is made
        changed = await marks.update_evaluation(
            services,
            actor,
            evaluation_id,
            EvaluationChanges(
                subject=values["subject"],
                title=values["title"],
                day=_day(values["day"]),
                out_of=check_out_of(values["out_of"]) if marked else msgspec.UNSET,
                coefficient=check_coefficient(values["coefficient"]) if marked else msgspec.UNSET,
                homework_id=form_id(values["homework_id"], "homework_id")
                if values["homework_id"].strip()
                else None,
                skill_ids=values["skill_ids"],
            ),
        )
    except InvalidInput as error:
        view = await marks.get_evaluation(services, actor, evaluation_id)
        found = await marks.grid(
            services, actor, view.evaluation.group_id, subject=view.evaluation.subject
        )
        return await _evaluation_form(
            request,
            actor,
            grid=found,
            values=values,
            homework=await marks.homework_choices(services, actor, view.evaluation.group_id),
            evaluation_id=evaluation_id,
            view=view,
            error=translate_error(error),
            status_code=400,
        )
    return Redirect(_grid_address(changed.group_id, None, changed.subject))


@post("/marks/evaluations/{evaluation_id:int}/delete", include_in_schema=False)
async def evaluation_remove(
    services: AppServices, actor: SignedInActor, evaluation_id: IdPath
) -> Redirect:
    view = await marks.get_evaluation(services, actor, evaluation_id)
    await marks.delete_evaluation(services, actor, evaluation_id)
    return Redirect(_grid_address(view.evaluation.group_id, None, view.evaluation.subject))


@get("/marks/pupils/{pupil_id:int}", include_in_schema=False)
async def report_card_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    pupil_id: IdPath,
    term: IdQuery = None,
) -> Response[Any]:
    card = await marks.report_card(services, actor, pupil_id, term_id=term)
    return render(
        request, "marks/report.html", card=card, own=pupil_id == actor.person_id, **formatters()
    )


# -- the school's settings (administrators) ----------------------------------------------------


def _coefficients_text(settings: MarksSettings) -> str:
    return "\n".join(
        f"{subject} : {decimal_text(value)}"
        for subject, value in sorted(settings.subject_coefficients.items())
    )


def _parse_coefficients(text: str) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        subject, colon, value = line.rpartition(":")
        if not colon or not subject.strip():
            raise InvalidInput(BAD_COEFFICIENTS, field="subject_coefficients")
        found[subject.strip()] = check_coefficient(value, "subject_coefficients")
    return found


async def _settings_page(
    request: Req,
    services: Services,
    actor: Actor,
    *,
    error: str = "",
    saved: bool = False,
    status_code: int = 200,
) -> Response[Any]:
    settings = await marks_settings.get_settings(services, actor)
    year, year_terms = await marks_settings.year_and_terms(services, actor)
    return render(
        request,
        "marks/settings.html",
        status_code=status_code,
        settings=settings,
        year=year,
        terms=year_terms + [None] * (3 - len(year_terms)),
        coefficients=_coefficients_text(settings),
        error=error,
        saved=saved,
        kinds=list(TermKind),
    )


@get("/marks/settings", include_in_schema=False)
async def settings_page(
    request: Req, services: AppServices, actor: SignedInActor, saved: FromQuery[bool] = False
) -> Response[Any]:
    if actor.profile not in STAFF_PROFILES:
        return Redirect("/marks")
    return await _settings_page(request, services, actor, saved=saved)


@post("/marks/settings", include_in_schema=False)
async def settings_save(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    form = await request.form()
    try:
        kind = TermKind(str(form.get("term_kind", "")))
    except ValueError:
        kind = TermKind.TRIMESTER
    try:
        year_id = str(form.get("school_year_id", ""))
        year_terms = None
        if year_id.strip():
            year_terms = TermsDraft(
                school_year_id=form_id(year_id, "school_year_id"),
                term_kind=kind,
                terms=[
                    TermDraft(
                        name=str(form.get(f"name{position}", "")),
                        starts_on=_day(str(form.get(f"starts{position}", ""))),
                        ends_on=_day(str(form.get(f"ends{position}", ""))),
                    )
                    for position in range(1, TERMS_IN_A_YEAR[kind] + 1)
                ],
            )
        await marks_settings.change_settings(
            services,
            actor,
            MarksSettings(
                term_kind=kind,
                not_handed_in_counts_as_zero=form.get("not_handed_in_counts_as_zero") == "1",
                subject_coefficients=_parse_coefficients(str(form.get("coefficients", ""))),
            ),
            year_terms=year_terms,
        )
    except InvalidInput as error:
        return await _settings_page(
            request, services, actor, error=translate_error(error), status_code=400
        )
    return Redirect("/marks/settings?saved=1")


routes: list[ControllerRouterHandler] = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            marks_home,
            grid_page,
            grid_save,
            grid_download,
            evaluation_new,
            evaluation_create,
            evaluation_edit,
            evaluation_update,
            evaluation_remove,
            report_card_page,
            settings_page,
            settings_save,
        ],
    )
]
