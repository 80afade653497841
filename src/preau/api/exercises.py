"""Exercises API: set an exercise as a homework's content (GIFT text, JSON questions or the
question bank), take it (start or resume an attempt, save answers as you go, hand in), the
teacher's results and marking of open answers, GIFT export, the question bank.

Questions a pupil receives never carry their answers; marking is the server's. Saving an
answer is idempotent (the last one for a question counts) and so is handing in.
"""

from __future__ import annotations

import msgspec
from litestar import Response, Router, delete, get, post, put
from litestar.params import FromPath, JSONBody

from preau.actions import exercises
from preau.actions.exercises.authoring import BankQuestion, ExerciseDraft, ImportReport
from preau.actions.exercises.results import OpenMark
from preau.domain.errors import NotFound
from preau.domain.exercises.questions import Answer
from preau.domain.exercises.views import AttemptView, ExerciseView, ResultsTable
from preau.i18n import lazy
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in

TAGS = ["exercises"]
NO_EXERCISE = lazy("This homework has no exercise.")


class GiftText(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    gift: str


@put(
    "/api/v1/homework/{homework_id:int}/exercise",
    tags=TAGS,
    summary="Set the homework's exercise (its teachers), from GIFT, questions or the bank",
    description="Replaces the questions while no pupil has started. A GIFT text with a "
    "problem is refused whole, naming the first line at fault.",
)
async def exercise_put(
    services: AppServices,
    actor: SignedInActor,
    homework_id: FromPath[int],
    data: JSONBody[ExerciseDraft],
) -> ExerciseView:
    return await exercises.set_exercise(services, actor, homework_id, data)


@get("/api/v1/homework/{homework_id:int}/exercise", tags=TAGS, summary="A homework's exercise")
async def homework_exercise_get(
    services: AppServices, actor: SignedInActor, homework_id: FromPath[int]
) -> ExerciseView:
    exercise_id = await exercises.exercise_of_homework(services, actor, homework_id)
    if exercise_id is None:
        raise NotFound(NO_EXERCISE)
    return await exercises.get_exercise(services, actor, exercise_id)


@get(
    "/api/v1/exercises/{exercise_id:int}",
    tags=TAGS,
    summary="An exercise: its settings, and the reader's own attempts (pupils)",
    description="Teachers and staff also get the questions with their answers.",
)
async def exercise_get(
    services: AppServices, actor: SignedInActor, exercise_id: FromPath[int]
) -> ExerciseView:
    return await exercises.get_exercise(services, actor, exercise_id)


@get(
    "/api/v1/exercises/{exercise_id:int}/gift",
    tags=TAGS,
    summary="The exercise as a Moodle GIFT file (teachers and staff)",
    description="Questions GIFT cannot hold (ordering, several gaps) are left out and "
    "named in the `Préau-Left-Out` header.",
)
async def exercise_gift(
    services: AppServices, actor: SignedInActor, exercise_id: FromPath[int]
) -> Response[str]:
    text, left_out = await exercises.export_gift(services, actor, exercise_id)
    headers = {"content-disposition": f'attachment; filename="exercise-{exercise_id}.gift.txt"'}
    if left_out:
        headers["preau-left-out"] = ",".join(str(position + 1) for position, _ in left_out)
    return Response(text, media_type="text/plain; charset=utf-8", headers=headers)


@post(
    "/api/v1/exercises/{exercise_id:int}/attempts",
    tags=TAGS,
    summary="Start an attempt, or resume the open one (pupils)",
    status_code=200,
)
async def attempt_start(
    services: AppServices, actor: SignedInActor, exercise_id: FromPath[int]
) -> AttemptView:
    return await exercises.start_attempt(services, actor, exercise_id)


@get("/api/v1/attempts/{attempt_id:int}", tags=TAGS, summary="An attempt, marked once handed in")
async def attempt_get(
    services: AppServices, actor: SignedInActor, attempt_id: FromPath[int]
) -> AttemptView:
    return await exercises.get_attempt(services, actor, attempt_id)


@put(
    "/api/v1/attempts/{attempt_id:int}/answers/{position:int}",
    tags=TAGS,
    summary="Save the answer to one question (the last one saved counts)",
)
async def answer_put(
    services: AppServices,
    actor: SignedInActor,
    attempt_id: FromPath[int],
    position: FromPath[int],
    data: JSONBody[Answer],
) -> AttemptView:
    return await exercises.save_answer(services, actor, attempt_id, position, data)


@post(
    "/api/v1/attempts/{attempt_id:int}/submit",
    tags=TAGS,
    summary="Hand the attempt in: marked, and turned in as the homework's hand-in",
    status_code=200,
)
async def attempt_submit(
    services: AppServices, actor: SignedInActor, attempt_id: FromPath[int]
) -> AttemptView:
    return await exercises.submit_attempt(services, actor, attempt_id)


@get(
    "/api/v1/exercises/{exercise_id:int}/results",
    tags=TAGS,
    summary="Results per pupil and per question, with the common wrong answers (teachers)",
)
async def results_get(
    services: AppServices, actor: SignedInActor, exercise_id: FromPath[int]
) -> ResultsTable:
    return await exercises.results_of(services, actor, exercise_id)


@put(
    "/api/v1/attempts/{attempt_id:int}/answers/{position:int}/mark",
    tags=TAGS,
    summary="Mark an open answer (teachers of the group)",
)
async def open_mark_put(
    services: AppServices,
    actor: SignedInActor,
    attempt_id: FromPath[int],
    position: FromPath[int],
    data: JSONBody[OpenMark],
) -> AttemptView:
    return await exercises.mark_open_answer(services, actor, attempt_id, position, data)


@get("/api/v1/question-bank", tags=TAGS, summary="The school's question banks (staff)")
async def bank_get(services: AppServices, actor: SignedInActor) -> list[BankQuestion]:
    return await exercises.list_bank(services, actor)


@post(
    "/api/v1/question-bank/gift",
    tags=TAGS,
    summary="Import a GIFT file into my question bank, with a report of what was left out",
    status_code=200,
)
async def bank_import(
    services: AppServices, actor: SignedInActor, data: JSONBody[GiftText]
) -> ImportReport:
    return await exercises.import_into_bank(services, actor, data.gift)


@delete(
    "/api/v1/question-bank/{question_id:int}",
    tags=TAGS,
    summary="Remove a question from my bank (exercises keep their copy)",
    status_code=204,
)
async def bank_delete(
    services: AppServices, actor: SignedInActor, question_id: FromPath[int]
) -> None:
    await exercises.remove_from_bank(services, actor, question_id)


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            exercise_put,
            homework_exercise_get,
            exercise_get,
            exercise_gift,
            attempt_start,
            attempt_get,
            answer_put,
            attempt_submit,
            results_get,
            open_mark_put,
            bank_get,
            bank_import,
            bank_delete,
        ],
    )
]
