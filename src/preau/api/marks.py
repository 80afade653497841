"""Marks API: evaluations, a column of marks at once, a group's grid (JSON or CSV), a
pupil's report card, the school's terms and way of counting.

Numbers (marks, totals, coefficients, averages) are decimal strings such as ``"15.5"``:
exact, never a float. Averages are out of 20, rounded half up to two decimals.
"""

from __future__ import annotations

from litestar import Response, Router, delete, get, patch, post, put
from litestar.params import FromQuery, JSONBody

from preau.actions import marks, marks_settings
from preau.domain.marks import (
    AuditEntry,
    Evaluation,
    EvaluationChanges,
    EvaluationDraft,
    EvaluationView,
    Grid,
    MarksColumn,
    MarksSettings,
    ReportCard,
    Term,
    TermsDraft,
)
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.marks import csv_response
from preau.web.params import IdPath, IdQuery

TAGS = ["marks"]


@get("/api/v1/marks/settings", tags=TAGS, summary="The school's way of counting marks")
async def settings_get(services: AppServices, actor: SignedInActor) -> MarksSettings:
    return await marks_settings.get_settings(services, actor)


@put(
    "/api/v1/marks/settings",
    tags=TAGS,
    summary="Set how marks count: kind of term, 'not handed in' as 0, subject coefficients "
    "(administrators)",
)
async def settings_put(
    services: AppServices, actor: SignedInActor, data: JSONBody[MarksSettings]
) -> MarksSettings:
    return await marks_settings.change_settings(services, actor, data)


@get("/api/v1/marks/terms", tags=TAGS, summary="The school's terms (trimesters or semesters)")
async def terms_get(services: AppServices, actor: SignedInActor) -> list[Term]:
    return await marks_settings.list_terms(services, actor)


@put(
    "/api/v1/marks/terms",
    tags=TAGS,
    summary="Set all the terms of a school year (administrators)",
    description="Three trimesters or two semesters, each inside the school year, none "
    "overlapping another. The terms of that year are replaced.",
)
async def terms_put(
    services: AppServices, actor: SignedInActor, data: JSONBody[TermsDraft]
) -> list[Term]:
    return await marks_settings.set_terms(services, actor, data)


@post(
    "/api/v1/marks/evaluations",
    tags=TAGS,
    summary="Create an evaluation for a class or group (its teachers)",
)
async def evaluation_create(
    services: AppServices, actor: SignedInActor, data: JSONBody[EvaluationDraft]
) -> Evaluation:
    return await marks.create_evaluation(services, actor, data)


@get(
    "/api/v1/marks/evaluations/{evaluation_id:int}",
    tags=TAGS,
    summary="An evaluation with the marks the reader may see",
    description="Teachers of the group, staff and administrators see every pupil's mark; "
    "a pupil sees their own, a parent their children's.",
)
async def evaluation_get(
    services: AppServices, actor: SignedInActor, evaluation_id: IdPath
) -> EvaluationView:
    return await marks.get_evaluation(services, actor, evaluation_id)


@patch(
    "/api/v1/marks/evaluations/{evaluation_id:int}",
    tags=TAGS,
    summary="Change an evaluation (kept in its history)",
)
async def evaluation_patch(
    services: AppServices,
    actor: SignedInActor,
    evaluation_id: IdPath,
    data: JSONBody[EvaluationChanges],
) -> Evaluation:
    return await marks.update_evaluation(services, actor, evaluation_id, data)


@delete(
    "/api/v1/marks/evaluations/{evaluation_id:int}",
    tags=TAGS,
    summary="Delete an evaluation (its marks stop counting; the history stays)",
    status_code=204,
)
async def evaluation_delete(
    services: AppServices, actor: SignedInActor, evaluation_id: IdPath
) -> None:
    await marks.delete_evaluation(services, actor, evaluation_id)


@put(
    "/api/v1/marks/evaluations/{evaluation_id:int}/marks",
    tags=TAGS,
    summary="Enter a column of marks at once",
    description="One transaction: if one cell is refused (a mark above the total, a pupil "
    'not in the group), nothing is saved. Cells not sent stay as they are; `null` or `""` '
    "clears one. Idempotent: sending the same column again changes nothing.",
)
async def marks_put(
    services: AppServices,
    actor: SignedInActor,
    evaluation_id: IdPath,
    data: JSONBody[MarksColumn],
) -> EvaluationView:
    return await marks.enter_marks(services, actor, evaluation_id, data.marks)


@get(
    "/api/v1/marks/evaluations/{evaluation_id:int}/history",
    tags=TAGS,
    summary="Who changed the evaluation and its marks, when, from what to what",
)
async def evaluation_history(
    services: AppServices, actor: SignedInActor, evaluation_id: IdPath
) -> list[AuditEntry]:
    return await marks.evaluation_history(services, actor, evaluation_id)


@get(
    "/api/v1/marks/groups/{group_id:int}/grid",
    tags=TAGS,
    summary="A class or group's marks in one subject for one term",
    description="Without `term_id`, the current term; without `subject`, the reader's own "
    "subject in the group.",
)
async def grid_get(
    services: AppServices,
    actor: SignedInActor,
    group_id: IdPath,
    term_id: IdQuery = None,
    subject: FromQuery[str | None] = None,
) -> Grid:
    return await marks.grid(
        services,
        actor,
        group_id,
        term_id=term_id,
        subject=subject,
    )


@get(
    "/api/v1/marks/groups/{group_id:int}/grid.csv",
    tags=TAGS,
    summary="The same grid as a spreadsheet (CSV)",
    media_type="text/csv",
)
async def grid_csv(
    services: AppServices,
    actor: SignedInActor,
    group_id: IdPath,
    term_id: IdQuery = None,
    subject: FromQuery[str | None] = None,
) -> Response[bytes]:
    found = await marks.grid(
        services,
        actor,
        group_id,
        term_id=term_id,
        subject=subject,
    )
    return csv_response(found)


@get(
    "/api/v1/marks/pupils/{pupil_id:int}/report-card",
    tags=TAGS,
    summary="A pupil's report card: subjects, marks, averages and the class's figures",
    description="Read by the pupil, their parents, the teachers of their groups, staff and "
    "administrators. Without `term_id`, the current term.",
)
async def report_card_get(
    services: AppServices,
    actor: SignedInActor,
    pupil_id: IdPath,
    term_id: IdQuery = None,
) -> ReportCard:
    return await marks.report_card(services, actor, pupil_id, term_id=term_id)


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            settings_get,
            settings_put,
            terms_get,
            terms_put,
            evaluation_create,
            evaluation_get,
            evaluation_patch,
            evaluation_delete,
            marks_put,
            evaluation_history,
            grid_get,
            grid_csv,
            report_card_get,
        ],
    )
]
