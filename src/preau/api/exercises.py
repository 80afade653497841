"""Exercises API: set an exercise as a homework's content (GIFT text, JSON questions or the
question bank), take it (start or resume an attempt, save answers as you go, hand in), the
teacher's results and marking of open answers, GIFT export, the question bank.

Questions a pupil receives never carry their answers; marking is the server's. Saving an
answer is idempotent (the last one for a question counts) and so is handing in.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, ClassVar

from litestar import Response, Router, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, JSONBody

from preau.actions import exercises
from preau.actions.exercises import images
from preau.actions.exercises.attempts import Saved
from preau.actions.exercises.authoring import BankQuestion, ExerciseDraft, ImportReport
from preau.actions.exercises.results import OpenMark
from preau.domain.bounds import Input
from preau.domain.errors import NotFound
from preau.domain.exercises.questions import Answer
from preau.domain.exercises.views import AttemptView, ExerciseView, ResultsTable
from preau.i18n import lazy
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath, Position

TAGS = ["exercises"]
NO_EXERCISE = lazy("This homework has no exercise.")


class QuestionsFile(Input, kw_only=True):
    """One of the two: a GIFT text or a Moodle XML document."""

    multiline: ClassVar[frozenset[str]] = frozenset({"gift", "moodle_xml"})

    gift: str = ""
    moodle_xml: str = ""


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
    homework_id: IdPath,
    data: JSONBody[ExerciseDraft],
) -> ExerciseView:
    return await exercises.set_exercise(services, actor, homework_id, data)


@get("/api/v1/homework/{homework_id:int}/exercise", tags=TAGS, summary="A homework's exercise")
async def homework_exercise_get(
    services: AppServices, actor: SignedInActor, homework_id: IdPath
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
    services: AppServices, actor: SignedInActor, exercise_id: IdPath
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
    services: AppServices, actor: SignedInActor, exercise_id: IdPath
) -> Response[str]:
    text, left_out = await exercises.export_gift(services, actor, exercise_id)
    headers = {"content-disposition": f'attachment; filename="exercise-{exercise_id}.gift.txt"'}
    if left_out:
        headers["preau-left-out"] = ",".join(str(position + 1) for position, _ in left_out)
    return Response(text, media_type="text/plain; charset=utf-8", headers=headers)


@get(
    "/api/v1/exercises/{exercise_id:int}/moodle.xml",
    tags=TAGS,
    summary="The exercise as a Moodle XML file (teachers and staff)",
)
async def exercise_moodle_xml(
    services: AppServices, actor: SignedInActor, exercise_id: IdPath
) -> Response[str]:
    text = await exercises.export_moodle_xml(services, actor, exercise_id)
    headers = {"content-disposition": f'attachment; filename="exercise-{exercise_id}.xml"'}
    return Response(text, media_type="application/xml; charset=utf-8", headers=headers)


@post(
    "/api/v1/exercises/{exercise_id:int}/attempts",
    tags=TAGS,
    summary="Start an attempt, or resume the open one (pupils)",
    status_code=200,
)
async def attempt_start(
    services: AppServices, actor: SignedInActor, exercise_id: IdPath
) -> AttemptView:
    return await exercises.start_attempt(services, actor, exercise_id)


@get("/api/v1/attempts/{attempt_id:int}", tags=TAGS, summary="An attempt, marked once handed in")
async def attempt_get(
    services: AppServices, actor: SignedInActor, attempt_id: IdPath
) -> AttemptView:
    return await exercises.get_attempt(services, actor, attempt_id)


@put(
    "/api/v1/attempts/{attempt_id:int}/answers/{position:int}",
    tags=TAGS,
    summary="Save the answer to one question (the last one saved counts)",
    description="Answers with what was saved, not the attempt: a pupil saves often.",
)
async def answer_put(
    services: AppServices,
    actor: SignedInActor,
    attempt_id: IdPath,
    position: Position,
    data: JSONBody[Answer],
) -> Saved:
    return await exercises.save_answer(services, actor, attempt_id, position, data)


@post(
    "/api/v1/attempts/{attempt_id:int}/submit",
    tags=TAGS,
    summary="Hand the attempt in: marked, and turned in as the homework's hand-in",
    status_code=200,
)
async def attempt_submit(
    services: AppServices, actor: SignedInActor, attempt_id: IdPath
) -> AttemptView:
    return await exercises.submit_attempt(services, actor, attempt_id)


@get(
    "/api/v1/exercises/{exercise_id:int}/results",
    tags=TAGS,
    summary="Results per pupil and per question, with the common wrong answers (teachers)",
)
async def results_get(
    services: AppServices, actor: SignedInActor, exercise_id: IdPath
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
    attempt_id: IdPath,
    position: Position,
    data: JSONBody[OpenMark],
) -> AttemptView:
    return await exercises.mark_open_answer(services, actor, attempt_id, position, data)


@get("/api/v1/question-bank", tags=TAGS, summary="The school's question banks (staff)")
async def bank_get(services: AppServices, actor: SignedInActor) -> list[BankQuestion]:
    return await exercises.list_bank(services, actor)


@post(
    "/api/v1/question-bank/gift",
    tags=TAGS,
    summary="Import a GIFT or Moodle XML file into my question bank, with a report of what "
    "was left out",
    status_code=200,
)
async def bank_import(
    services: AppServices, actor: SignedInActor, data: JSONBody[QuestionsFile]
) -> ImportReport:
    if data.moodle_xml.strip():
        return await exercises.import_into_bank(services, actor, data.moodle_xml, xml=True)
    return await exercises.import_into_bank(services, actor, data.gift)


@delete(
    "/api/v1/question-bank/{question_id:int}",
    tags=TAGS,
    summary="Remove a question from my bank (exercises keep their copy)",
    status_code=204,
)
async def bank_delete(services: AppServices, actor: SignedInActor, question_id: IdPath) -> None:
    await exercises.remove_from_bank(services, actor, question_id)


@dataclass
class PictureForm:
    alt: str
    file: UploadFile | None = None


@put(
    "/api/v1/exercises/{exercise_id:int}/questions/{position:int}/picture",
    tags=TAGS,
    summary="Show a picture with a question (teachers of the homework)",
    description="Multipart fields `file` (PNG, JPEG, GIF or WebP, read from its bytes; up "
    "to 2 MB) and `alt` (what it shows, read to pupils who cannot see it; up to 300 "
    "characters). Replaces the question's picture; pupils get it at "
    "`/exercises/{exercise_id}/questions/{position}/picture`.",
    status_code=204,
    request_max_body_size=3 * 1024 * 1024,
)
async def picture_put(
    services: AppServices,
    actor: SignedInActor,
    exercise_id: IdPath,
    position: Position,
    data: Annotated[PictureForm, Body(media_type=RequestEncodingType.MULTI_PART)],
) -> None:
    content = await data.file.read() if data.file is not None else b""
    await images.set_picture(services, actor, exercise_id, position, data=content, alt=data.alt)


@delete(
    "/api/v1/exercises/{exercise_id:int}/questions/{position:int}/picture",
    tags=TAGS,
    summary="Take a question's picture away (teachers of the homework)",
    status_code=204,
)
async def picture_delete(
    services: AppServices, actor: SignedInActor, exercise_id: IdPath, position: Position
) -> None:
    await images.remove_picture(services, actor, exercise_id, position)


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            exercise_put,
            homework_exercise_get,
            exercise_get,
            exercise_gift,
            exercise_moodle_xml,
            attempt_start,
            attempt_get,
            answer_put,
            attempt_submit,
            results_get,
            open_mark_put,
            bank_get,
            bank_import,
            bank_delete,
            picture_put,
            picture_delete,
        ],
    )
]
