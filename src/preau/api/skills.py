"""Skills API: the school's frameworks (the socle commun and its own), the levels of an
evaluation's skills entered a grid at a time, a pupil's skill summary (docs/skills.md).

Levels are the four of the LSU: ``insufficient``, ``fragile``, ``satisfactory``,
``very_good``; a cell may be typed as 1 to 4 or MI, MF, MS, TB.
"""

from __future__ import annotations

from litestar import Router, get, post, put
from litestar.params import FromQuery, JSONBody

from preau.actions import skill_frameworks, skills
from preau.domain.skills import (
    Framework,
    FrameworkDraft,
    LevelsColumn,
    SkillDraft,
    SkillsGrid,
    SkillSummary,
)
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath

TAGS = ["skills"]


@get(
    "/api/v1/skills/frameworks",
    tags=TAGS,
    summary="The school's skill frameworks, with their domains and skills",
    description="The socle commun first (its 5 domains, the first split in 4 components, "
    "named in French and English), then the school's own.",
)
async def frameworks_get(services: AppServices, actor: SignedInActor) -> list[Framework]:
    return await skill_frameworks.list_frameworks(services, actor)


@post(
    "/api/v1/skills/frameworks",
    tags=TAGS,
    summary="Add a framework of the school's own (administrators)",
)
async def framework_create(
    services: AppServices, actor: SignedInActor, data: JSONBody[FrameworkDraft]
) -> Framework:
    return await skill_frameworks.create_framework(services, actor, data)


@post(
    "/api/v1/skills/frameworks/{framework_id:int}/skills",
    tags=TAGS,
    summary="Add a domain, or a skill under a domain, to the school's framework "
    "(administrators; the socle commun cannot change)",
)
async def skill_create(
    services: AppServices,
    actor: SignedInActor,
    framework_id: IdPath,
    data: JSONBody[SkillDraft],
) -> Framework:
    return await skill_frameworks.add_skill(services, actor, framework_id, data)


@get(
    "/api/v1/skills/evaluations/{evaluation_id:int}/levels",
    tags=TAGS,
    summary="An evaluation's levels: a column per skill, a row per pupil",
    description="For the teachers of its group, staff and administrators. Pupils and "
    "parents read theirs in the summary.",
)
async def levels_get(
    services: AppServices, actor: SignedInActor, evaluation_id: IdPath
) -> SkillsGrid:
    return await skills.skills_grid(services, actor, evaluation_id)


@put(
    "/api/v1/skills/evaluations/{evaluation_id:int}/levels",
    tags=TAGS,
    summary="Enter levels on an evaluation's skills (a column or the whole grid at once)",
    description="One transaction: if one cell is refused (not a level, a pupil not in the "
    "group, a skill the evaluation does not assess), nothing is saved. Cells not sent stay "
    'as they are; `null` or `""` clears one. Idempotent: sending the same levels again '
    "changes nothing and writes no history.",
)
async def levels_put(
    services: AppServices,
    actor: SignedInActor,
    evaluation_id: IdPath,
    data: JSONBody[LevelsColumn],
) -> SkillsGrid:
    await skills.enter_levels(services, actor, evaluation_id, data.levels)
    return await skills.skills_grid(services, actor, evaluation_id)


@get(
    "/api/v1/skills/pupils/{pupil_id:int}/summary",
    tags=TAGS,
    summary="A pupil's skill summary: each skill's latest level in the term, and every "
    "assessment of it",
    description="Read by the pupil, their parents, the teachers of their groups, staff and "
    "administrators. Without `term_id`, the current term.",
)
async def summary_get(
    services: AppServices,
    actor: SignedInActor,
    pupil_id: IdPath,
    term_id: FromQuery[int | None] = None,
) -> SkillSummary:
    return await skills.skill_summary(services, actor, pupil_id, term_id=term_id)


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            frameworks_get,
            framework_create,
            skill_create,
            levels_get,
            levels_put,
            summary_get,
        ],
    )
]
