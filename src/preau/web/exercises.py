"""Exercise pages: one question per page as a plain form (no JavaScript needed), saved as
the pupil goes, a summary to hand in, the marked result; for teachers, setting the
exercise from GIFT text and the results table. Numbers are shown the French way."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.params import FromQuery
from litestar.response import Redirect, Stream

from preau import i18n
from preau.actions import exercises
from preau.actions.context import Services
from preau.actions.exercises import images
from preau.actions.exercises.authoring import ExerciseDraft
from preau.actions.exercises.results import OpenMark
from preau.domain.errors import InvalidInput, NotFound, PreauError
from preau.domain.exercises.attempts import Grading, Policy
from preau.domain.exercises.questions import Answer, Kind
from preau.domain.exercises.views import AttemptView, Presented
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.web.classwork import moment_formatter, zone_for
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath, Position, Search
from preau.web.render import render, translate_error

Req = Request[Any, Any, Any]
SHOWN_KINDS = [  # shown through _(kind) in the pages
    i18n.lazy("single"),
    i18n.lazy("multiple"),
    i18n.lazy("true_false"),
    i18n.lazy("numeric"),
    i18n.lazy("short"),
    i18n.lazy("matching"),
    i18n.lazy("ordering"),
    i18n.lazy("blanks"),
    i18n.lazy("open"),
    i18n.lazy("description"),
]
SHOWN_STATES = [
    i18n.lazy("right"),
    i18n.lazy("partly"),
    i18n.lazy("wrong"),
    i18n.lazy("pending"),
    i18n.lazy("unanswered"),
]
BAD_RANKS = i18n.lazy("Give each item a different place, from 1 to the number of items.")
BAD_POLICY = i18n.lazy("Write the number of attempts and the time limit as whole numbers.")


def number(text: str | None) -> str:
    """ "12.5" as "12,5" in French."""
    if text is None:
        return "—"
    return text.replace(".", ",") if i18n.current_locale.get() == "fr" else text


def _ints(form: FormMultiDict, name: str) -> tuple[int, ...]:
    return tuple(int(value) for value in form.getall(name, []) if str(value).lstrip("-").isdigit())


def answer_from_form(question: Presented, form: FormMultiDict) -> Answer:  # noqa: PLR0911 - one shape of form per kind of question
    """The answer a question's form carries (the page sends the question's own indices)."""
    match question.kind:
        case Kind.SINGLE | Kind.MULTIPLE:
            return Answer(chosen=_ints(form, "chosen"))
        case Kind.TRUE_FALSE:
            truth = form.get("truth")
            return Answer(truth=None if truth not in ("true", "false") else truth == "true")
        case Kind.MATCHING:
            return Answer(
                matches=tuple(
                    int(str(form.get(f"match-{i}", "-1") or "-1"))
                    for i in range(len(question.prompts))
                )
            )
        case Kind.ORDERING:
            ranks = {
                option.index: str(form.get(f"rank-{option.index}", ""))
                for option in question.options
            }
            if not all(rank.isdigit() for rank in ranks.values()):
                if any(ranks.values()):
                    raise InvalidInput(BAD_RANKS, field="order")
                return Answer()
            order = tuple(
                index for index, _rank in sorted(ranks.items(), key=lambda kv: int(kv[1]))
            )
            if len({int(rank) for rank in ranks.values()}) != len(ranks):
                raise InvalidInput(BAD_RANKS, field="order")
            return Answer(order=order)
        case Kind.BLANKS:
            return Answer(
                texts=tuple(str(form.get(f"gap-{i}", "")) for i in range(len(question.gaps)))
            )
        case _:
            return Answer(text=str(form.get("text", "")))


async def _attempt_page(
    request: Req,
    services: Services,
    actor: Actor,
    attempt: AttemptView,
    position: int | None,
    *,
    error: PreauError | None = None,
    status: int = 200,
) -> Response[Any]:
    shown = [question.position for question in attempt.questions]
    current = None
    if position is not None and position in shown:
        current = next(q for q in attempt.questions if q.position == position)
    following = None
    if current is not None:
        index = shown.index(current.position)
        following = shown[index + 1] if index + 1 < len(shown) else None
    return render(
        request,
        "exercises/attempt.html",
        status_code=error.status if error else status,
        attempt=attempt,
        question=current,
        following=following,
        step=shown.index(current.position) + 1 if current else None,
        error=translate_error(error) if error else None,
        number=number,
        when=moment_formatter(await zone_for(services, actor), i18n.current_locale.get()),
    )


@get("/exercises/{exercise_id:int}", include_in_schema=False)
async def exercise_page(
    request: Req, services: AppServices, actor: SignedInActor, exercise_id: IdPath
) -> Response[Any]:
    view = await exercises.get_exercise(services, actor, exercise_id)
    if actor.profile in STAFF_PROFILES:
        return Redirect(f"/exercises/{exercise_id}/results")
    return render(request, "exercises/exercise.html", exercise=view, number=number)


@post("/exercises/{exercise_id:int}/start", include_in_schema=False)
async def start_page(services: AppServices, actor: SignedInActor, exercise_id: IdPath) -> Redirect:
    attempt = await exercises.start_attempt(services, actor, exercise_id)
    first = next(
        (q.position for q in attempt.questions if q.position not in attempt.answers),
        attempt.questions[0].position,
    )
    return Redirect(f"/attempts/{attempt.id}?q={first}")


@get("/attempts/{attempt_id:int}", include_in_schema=False)
async def attempt_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    attempt_id: IdPath,
    q: Search = "",
) -> Response[Any]:
    """One question (``?q=<position>``), or the summary to hand in, or once handed in
    the marked result."""
    attempt = await exercises.get_attempt(services, actor, attempt_id)
    position = int(q) if q.isdigit() and not attempt.submitted_at else None
    return await _attempt_page(request, services, actor, attempt, position)


@post("/attempts/{attempt_id:int}/answers/{position:int}", include_in_schema=False)
async def answer_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    attempt_id: IdPath,
    position: Position,
) -> Response[Any]:
    form = await request.form()
    attempt = await exercises.get_attempt(services, actor, attempt_id)
    question = next((q for q in attempt.questions if q.position == position), None)
    if question is None:
        raise NotFound("This exercise has no such question.")
    try:
        answer = answer_from_form(question, form)
        await exercises.save_answer(services, actor, attempt_id, position, answer)
    except InvalidInput as error:
        return await _attempt_page(request, services, actor, attempt, position, error=error)
    following = str(form.get("following", ""))
    target = f"?q={following}" if following.isdigit() else "?q=summary"
    return Redirect(f"/attempts/{attempt_id}{target}")


@post("/attempts/{attempt_id:int}/submit", include_in_schema=False)
async def submit_page(services: AppServices, actor: SignedInActor, attempt_id: IdPath) -> Redirect:
    await exercises.submit_attempt(services, actor, attempt_id)
    return Redirect(f"/attempts/{attempt_id}")


@post("/attempts/{attempt_id:int}/answers/{position:int}/mark", include_in_schema=False)
async def open_mark_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    attempt_id: IdPath,
    position: Position,
) -> Response[Any]:
    form = await request.form()
    try:
        await exercises.mark_open_answer(
            services, actor, attempt_id, position, OpenMark(points=str(form.get("points", "")))
        )
    except InvalidInput as error:
        attempt = await exercises.get_attempt(services, actor, attempt_id)
        return await _attempt_page(request, services, actor, attempt, None, error=error)
    return Redirect(f"/attempts/{attempt_id}")


@get("/exercises/{exercise_id:int}/results", include_in_schema=False)
async def results_page(
    request: Req, services: AppServices, actor: SignedInActor, exercise_id: IdPath
) -> Response[Any]:
    table = await exercises.results_of(services, actor, exercise_id)
    view = await exercises.get_exercise(services, actor, exercise_id)
    return render(request, "exercises/results.html", table=table, exercise=view, number=number)


# -- pictures with questions -----------------------------------------------------------------


@get("/exercises/{exercise_id:int}/pictures", include_in_schema=False)
async def pictures_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    exercise_id: IdPath,
    done: FromQuery[str] = "",
) -> Response[Any]:
    return await _pictures(request, services, actor, exercise_id, done=done == "picture")


async def _pictures(
    request: Req,
    services: Services,
    actor: Actor,
    exercise_id: int,
    *,
    done: bool = False,
    error: PreauError | None = None,
    error_for: int | None = None,
) -> Response[Any]:
    view = await exercises.get_exercise(services, actor, exercise_id)
    if view.questions is None:  # pupils and parents see pictures with the questions
        return Redirect(f"/exercises/{exercise_id}")
    return render(
        request,
        "exercises/pictures.html",
        status_code=error.status if error else 200,
        exercise=view,
        done=done,
        error=translate_error(error) if error else None,
        error_for=error_for,
    )


@get("/exercises/{exercise_id:int}/questions/{position:int}/picture", include_in_schema=False)
async def picture_file(
    services: AppServices, actor: SignedInActor, exercise_id: IdPath, position: Position
) -> Stream:
    """Shown in the page, so inline, but only as the raster type its bytes are (never SVG),
    in a sandbox of its own, and never cached by a shared cache."""
    found = await images.open_picture(services, actor, exercise_id, position)
    return Stream(
        found.chunks,
        media_type=found.media_type,
        headers={
            "content-length": str(found.size),
            "content-disposition": "inline",
            "cache-control": "private, max-age=3600",
            "content-security-policy": "default-src 'none'; sandbox",
            "cross-origin-resource-policy": "same-origin",
        },
    )


@post(
    "/exercises/{exercise_id:int}/questions/{position:int}/picture",
    include_in_schema=False,
    request_max_body_size=3 * 1024 * 1024,
)
async def picture_upload_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    exercise_id: IdPath,
    position: Position,
) -> Response[Any]:
    form = await request.form()
    upload = form.get("file")
    data = await upload.read() if isinstance(upload, UploadFile) else b""
    try:
        await images.set_picture(
            services, actor, exercise_id, position, data=data, alt=str(form.get("alt", ""))
        )
    except InvalidInput as error:
        return await _pictures(
            request, services, actor, exercise_id, error=error, error_for=position
        )
    return Redirect(f"/exercises/{exercise_id}/pictures?done=picture")


@post(
    "/exercises/{exercise_id:int}/questions/{position:int}/picture/remove", include_in_schema=False
)
async def picture_remove_page(
    services: AppServices, actor: SignedInActor, exercise_id: IdPath, position: Position
) -> Redirect:
    await images.remove_picture(services, actor, exercise_id, position)
    return Redirect(f"/exercises/{exercise_id}/pictures?done=picture")


def _policy_from_form(form: FormMultiDict) -> Policy:
    attempts = str(form.get("attempts", "")).strip()
    minutes = str(form.get("minutes", "")).strip()
    if (attempts and not attempts.isdigit()) or (minutes and not minutes.isdigit()):
        raise InvalidInput(BAD_POLICY, field="attempts")
    return Policy(
        attempts=int(attempts) if attempts else None,
        minutes=int(minutes) if minutes else None,
        grading=Grading.LAST if form.get("grading") == "last" else Grading.BEST,
        shuffle_questions=form.get("shuffle") == "on",
    )


@get("/homework/{homework_id:int}/exercise", include_in_schema=False)
async def set_exercise_form(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[Any]:
    if actor.profile is Profile.PUPIL or actor.profile is Profile.PARENT:
        exercise_id = await exercises.exercise_of_homework(services, actor, homework_id)
        if exercise_id is None:
            raise NotFound("This homework has no exercise.")
        return Redirect(f"/exercises/{exercise_id}")
    return render(
        request, "exercises/set.html", homework_id=homework_id, gift="", policy=Policy(), error=None
    )


@post("/homework/{homework_id:int}/exercise", include_in_schema=False)
async def set_exercise_page(
    request: Req, services: AppServices, actor: SignedInActor, homework_id: IdPath
) -> Response[Any]:
    form = await request.form()
    text = str(form.get("gift", ""))
    policy = Policy()
    try:
        policy = _policy_from_form(form)
        view = await exercises.set_exercise(
            services, actor, homework_id, ExerciseDraft(gift=text, policy=policy)
        )
    except InvalidInput as error:
        detail = translate_error(error)
        if "line" in error.params:
            detail = i18n.gettext("Line %(line)s: %(reason)s") % {
                "line": error.params["line"],
                "reason": i18n.gettext(str(error.params["reason"])),
            }
        return render(
            request,
            "exercises/set.html",
            status_code=400,
            homework_id=homework_id,
            gift=text,
            policy=policy,
            error=detail,
        )
    return Redirect(f"/exercises/{view.id}/results")


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            exercise_page,
            start_page,
            attempt_page,
            answer_page,
            submit_page,
            open_mark_page,
            results_page,
            set_exercise_form,
            set_exercise_page,
            pictures_page,
            picture_file,
            picture_upload_page,
            picture_remove_page,
        ],
    )
]
