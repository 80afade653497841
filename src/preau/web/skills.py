"""Skills pages: an evaluation's levels grid (a form of inputs that works without
JavaScript; ``marks.js`` adds the keyboard moves and pasting a column), a pupil's skill
summary, and the school's frameworks (administrators add their own)."""

from __future__ import annotations

import re
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromQuery
from litestar.response import Redirect
from litestar.types import ControllerRouterHandler

from preau import i18n
from preau.actions import skill_frameworks, skills
from preau.domain.errors import InvalidInput
from preau.domain.skills import (
    LEVEL_TYPED,
    FrameworkDraft,
    Level,
    LevelEntry,
    SkillDraft,
    shown_name,
)
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath
from preau.web.render import render, translate_error

Req = Request[Any, Any, Any]

# What a level is called on a summary, in words.
LEVEL_NAMES = {
    Level.INSUFFICIENT: i18n.lazy("Insufficient mastery"),
    Level.FRAGILE: i18n.lazy("Fragile mastery"),
    Level.SATISFACTORY: i18n.lazy("Satisfactory mastery"),
    Level.VERY_GOOD: i18n.lazy("Very good mastery"),
}
CELL = re.compile(r"^l\.(\d+)\.(\d+)$")


def level_typed(level: Level | None) -> str:
    return "" if level is None else LEVEL_TYPED[level]


def level_name(level: Level | None) -> str:
    return "" if level is None else i18n.gettext(LEVEL_NAMES[level])


def name_of(item: Any) -> str:
    """A framework's, domain's or skill's name in the reader's language."""
    return shown_name(item.name, item.name_en, i18n.current_locale.get())


def formatters() -> dict[str, Any]:
    return {
        "level_typed": level_typed,
        "level_name": level_name,
        "name_of": name_of,
        "levels": list(Level),
        "day_text": lambda day: day.strftime(
            "%d/%m/%Y" if i18n.current_locale.get() == "fr" else "%Y-%m-%d"
        ),
    }


# -- an evaluation's levels ------------------------------------------------------------------


async def _grid_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    evaluation_id: int,
    *,
    typed: dict[str, str] | None = None,
    error: str = "",
    invalid: str = "",
    saved: int | None = None,
    status_code: int = 200,
) -> Response[Any]:
    grid = await skills.skills_grid(services, actor, evaluation_id)
    return render(
        request,
        "skills/grid.html",
        status_code=status_code,
        grid=grid,
        typed=typed or {},
        error=error,
        invalid=invalid,
        saved=saved,
        **formatters(),
    )


@get("/skills/evaluations/{evaluation_id:int}", include_in_schema=False)
async def grid_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    evaluation_id: IdPath,
    saved: FromQuery[int | None] = None,
) -> Response[Any]:
    return await _grid_page(request, services, actor, evaluation_id, saved=saved)


@post("/skills/evaluations/{evaluation_id:int}", include_in_schema=False)
async def grid_save(
    request: Req, services: AppServices, actor: SignedInActor, evaluation_id: IdPath
) -> Response[Any]:
    """Save the cells the teacher changed (each input carries the value it was shown
    with), so two teachers on one grid only overwrite the cells they touched."""
    form = await request.form()
    typed: dict[str, str] = {}
    entries: list[LevelEntry] = []
    for name in form:
        match = CELL.match(name)
        if match is None:
            continue
        value = str(form.get(name, "")).strip()
        typed[name] = value
        if value.lower() != str(form.get("o" + name[1:], "")).strip().lower():
            skill_id, pupil_id = int(match.group(1)), int(match.group(2))
            entries.append(LevelEntry(pupil_id=pupil_id, skill_id=skill_id, value=value))
    try:
        changed = await skills.enter_levels(services, actor, evaluation_id, entries)
    except InvalidInput as error:
        return await _grid_page(
            request,
            services,
            actor,
            evaluation_id,
            typed=typed,
            error=translate_error(error),
            invalid=(error.field or "").replace("levels.", "l."),
            status_code=400,
        )
    return Redirect(f"/skills/evaluations/{evaluation_id}?saved={changed}")


# -- a pupil's summary -------------------------------------------------------------------------


@get("/skills/pupils/{pupil_id:int}", include_in_schema=False)
async def summary_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    pupil_id: IdPath,
    term: FromQuery[int | None] = None,
) -> Response[Any]:
    summary = await skills.skill_summary(services, actor, pupil_id, term_id=term)
    return render(
        request,
        "skills/summary.html",
        summary=summary,
        own=pupil_id == actor.person_id,
        **formatters(),
    )


# -- the school's frameworks -------------------------------------------------------------------


async def _frameworks_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    *,
    error: str = "",
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response[Any]:
    found = await skill_frameworks.list_frameworks(services, actor)
    return render(
        request,
        "skills/frameworks.html",
        status_code=status_code,
        frameworks=found,
        error=error,
        values=values or {},
        **formatters(),
    )


@get("/skills/frameworks", include_in_schema=False)
async def frameworks_page(
    request: Req, services: AppServices, actor: SignedInActor
) -> Response[Any]:
    return await _frameworks_page(request, services, actor)


@post("/skills/frameworks", include_in_schema=False)
async def framework_create(
    request: Req, services: AppServices, actor: SignedInActor
) -> Response[Any]:
    form = await request.form()
    values = {"name": str(form.get("name", "")), "name_en": str(form.get("name_en", ""))}
    try:
        created = await skill_frameworks.create_framework(
            services,
            actor,
            FrameworkDraft(name=values["name"], name_en=values["name_en"].strip() or None),
        )
    except InvalidInput as error:
        return await _frameworks_page(
            request, services, actor, error=translate_error(error), values=values, status_code=400
        )
    return Redirect(f"/skills/frameworks#framework-{created.id}")


@post("/skills/frameworks/{framework_id:int}/skills", include_in_schema=False)
async def skill_create(
    request: Req, services: AppServices, actor: SignedInActor, framework_id: IdPath
) -> Response[Any]:
    form = await request.form()
    parent = str(form.get("parent_id", ""))
    values = {name: str(form.get(name, "")) for name in ("code", "name", "name_en")}
    try:
        await skill_frameworks.add_skill(
            services,
            actor,
            framework_id,
            SkillDraft(
                code=values["code"],
                name=values["name"],
                name_en=values["name_en"].strip() or None,
                parent_id=int(parent) if parent.isdigit() else None,
            ),
        )
    except InvalidInput as error:
        return await _frameworks_page(
            request,
            services,
            actor,
            error=translate_error(error),
            values={**values, "framework_id": str(framework_id)},
            status_code=400,
        )
    return Redirect(f"/skills/frameworks#framework-{framework_id}")


routes: list[ControllerRouterHandler] = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            grid_page,
            grid_save,
            summary_page,
            frameworks_page,
            framework_create,
            skill_create,
        ],
    )
]
