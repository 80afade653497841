"""A pupil's attempts: start (or resume), save answers as they go, hand in.

Saving an answer is idempotent (the last answer for a question replaces the previous
one), so a retry after a lost connection never counts twice. Handing in is idempotent
too: the second time answers the first result. Marking is the server's, from the
questions as set; the page never holds the answers.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from fractions import Fraction

import msgspec
import sqlalchemy as sa
from msgspec.structs import replace
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_attempt_by_id, access_exercise_by_id, access_hand_in_by_id
from preau.actions.classwork.hand_ins import turn_in_result
from preau.actions.context import Services
from preau.actions.exercises.authoring import load_policy, load_questions, pictures_of
from preau.actions.marks import mark_from_hand_in
from preau.adapters.sql.schema import attempt_answers, attempts
from preau.domain.access import Action
from preau.domain.classwork import HandInRight, HandInState, Review
from preau.domain.errors import Conflict, Forbidden, InvalidInput
from preau.domain.exercises.attempts import Policy, Result, ends_at, may_save, may_start, score
from preau.domain.exercises.questions import Answer, Question, State, mark, shuffled
from preau.domain.exercises.views import AttemptView, MarkedAnswer, decimal_text, present
from preau.domain.people import Actor, Profile
from preau.i18n import gettext, lazy

Row = sa.Row[tuple[object, ...]]

ONLY_PUPILS = lazy("Only the pupils this exercise is set for can answer it.")
NO_SUCH_QUESTION = lazy("This exercise has no such question.")
RETURNED = lazy("Your teacher has returned this work: it can no longer be answered.")
ANSWER = msgspec.json.Decoder(Answer)


async def start_attempt(services: Services, actor: Actor, exercise_id: int) -> AttemptView:
    """The pupil's open attempt, or a new one if attempts are left."""
    now = services.now()
    for _ in range(2):  # a second try if another request started one at the same time
        try:
            async with services.engine.begin() as connection:
                exercise, work = await access_exercise_by_id(
                    connection, actor, exercise_id, Action.READ, now=now
                )
                if actor.profile is not Profile.PUPIL:
                    raise Forbidden(ONLY_PUPILS)
                _work, hand_in = await access_hand_in_by_id(
                    connection, actor, work.id, actor.person_id, HandInRight.TURN_IN, now=now
                )
                if hand_in is not None and hand_in.state == HandInState.RETURNED.value:
                    raise Conflict(RETURNED)
                mine = (
                    await connection.execute(
                        sa.select(attempts)
                        .where(
                            attempts.c.school_id == actor.school_id,
                            attempts.c.exercise_id == exercise_id,
                            attempts.c.pupil_id == actor.person_id,
                        )
                        .order_by(attempts.c.number)
                    )
                ).all()
                open_attempt = next((a for a in mine if a.submitted_at is None), None)
                policy = load_policy(exercise)
                if open_attempt is None:
                    may_start(policy, submitted=len(mine), open_attempt=False)
                    result = await connection.execute(
                        attempts.insert().values(
                            school_id=actor.school_id,
                            exercise_id=exercise_id,
                            pupil_id=actor.person_id,
                            number=len(mine) + 1,
                            seed=secrets.token_hex(8),
                            started_at=now,
                        )
                    )
                    attempt_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
                else:
                    attempt_id = open_attempt.id
                return await attempt_view(connection, actor, attempt_id, exercise, work)
        except IntegrityError:
            continue
    raise Conflict(lazy("Another attempt was being started at the same time; try again."))


async def get_attempt(services: Services, actor: Actor, attempt_id: int) -> AttemptView:
    now = services.now()
    async with services.engine.connect() as connection:
        attempt, exercise, work = await access_attempt_by_id(
            connection, actor, attempt_id, HandInRight.READ, now=now
        )
        if actor.profile is not Profile.PUPIL and attempt.submitted_at is None:
            # Others see an attempt once it is handed in, not the answers as they come.
            raise Conflict(lazy("This attempt is not handed in yet."))
        return await attempt_view(connection, actor, attempt.id, exercise, work)


class Saved(msgspec.Struct, frozen=True, kw_only=True):
    attempt_id: int
    position: int
    saved_at: datetime


async def save_answer(
    services: Services, actor: Actor, attempt_id: int, position: int, answer: Answer
) -> Saved:
    now = services.now()
    async with services.engine.begin() as connection:
        attempt, exercise, _work = await access_attempt_by_id(
            connection, actor, attempt_id, HandInRight.TURN_IN, now=now
        )
        policy = load_policy(exercise)
        may_save(policy, attempt.started_at, now, submitted=attempt.submitted_at is not None)
        questions = load_questions(exercise)
        if not 0 <= position < len(questions):
            raise InvalidInput(NO_SUCH_QUESTION, field="position")
        mark(questions[position], answer)  # refuses an answer of the wrong shape; no score kept
        body = msgspec.json.encode(answer).decode()
        updated = await connection.execute(
            attempt_answers.update()
            .where(
                attempt_answers.c.attempt_id == attempt_id,
                attempt_answers.c.position == position,
            )
            .values(answer=body, saved_at=now)
        )
        if updated.rowcount == 0:
            await connection.execute(
                attempt_answers.insert().values(
                    school_id=actor.school_id,
                    attempt_id=attempt_id,
                    position=position,
                    answer=body,
                    saved_at=now,
                )
            )
    return Saved(attempt_id=attempt_id, position=position, saved_at=now)


async def submit_attempt(services: Services, actor: Actor, attempt_id: int) -> AttemptView:
    """Hand the attempt in: marked by the server, turned in as the pupil's hand-in.
    Handing in twice answers the first result."""
    now = services.now()
    versions: dict[str, int] = {}
    async with services.engine.begin() as connection:
        attempt, exercise, work = await access_attempt_by_id(
            connection, actor, attempt_id, HandInRight.TURN_IN, now=now
        )
        if attempt.submitted_at is None:
            questions = load_questions(exercise)
            answers = await load_answers(connection, attempt_id)
            result = score(questions, answers)
            claimed = await connection.execute(
                attempts.update()
                .where(attempts.c.id == attempt_id, attempts.c.submitted_at.is_(None))
                .values(
                    submitted_at=now,
                    earned_hundredths=round(result.earned * 100),
                    pending=result.pending,
                )
            )
            if claimed.rowcount == 1:
                _work, hand_in = await access_hand_in_by_id(
                    connection, actor, work.id, actor.person_id, HandInRight.TURN_IN, now=now
                )
                summary = gettext("Exercise, attempt {number}: {earned} / {total}").format(
                    number=attempt.number,
                    earned=decimal_text(result.earned),
                    total=result.total,
                )
                versions = await turn_in_result(
                    connection, actor, work, hand_in, text=summary, now=now
                )
                if result.pending == 0:
                    await into_marks_book(
                        connection, actor, work.id, actor.person_id, result, now=now
                    )
        view = await attempt_view(connection, actor, attempt_id, exercise, work)
    if versions:
        await services.versions.announce(actor.school_id, versions)
    return view


async def into_marks_book(
    connection: AsyncConnection, actor: Actor, homework_id: int, pupil_id: int, result: Result,
    *, now: datetime,
) -> None:  # fmt: skip
    """The score of a fully marked attempt lands in the evaluations linked to the homework
    (brought to each one's total), as a returned hand-in's mark does; audited as written
    by ``actor`` (the pupil handing in, or the teacher marking the last open answer)."""
    if result.total:
        review = Review(mark=float(result.earned), mark_out_of=float(result.total))
        await mark_from_hand_in(connection, actor, homework_id, pupil_id, review, now=now)


async def load_answers(connection: AsyncConnection, attempt_id: int) -> dict[int, Answer]:
    rows = await connection.execute(
        sa.select(attempt_answers.c.position, attempt_answers.c.answer).where(
            attempt_answers.c.attempt_id == attempt_id
        )
    )
    return {row.position: ANSWER.decode(row.answer) for row in rows}


async def teacher_marks(connection: AsyncConnection, attempt_id: int) -> dict[int, Fraction]:
    rows = await connection.execute(
        sa.select(attempt_answers.c.position, attempt_answers.c.teacher_hundredths).where(
            attempt_answers.c.attempt_id == attempt_id,
            attempt_answers.c.teacher_hundredths.is_not(None),
        )
    )
    return {row.position: Fraction(row.teacher_hundredths, 100) for row in rows}


def _shown_order(policy: Policy, count: int, seed: str) -> list[int]:
    return shuffled(count, f"{seed}:questions") if policy.shuffle_questions else list(range(count))


async def attempt_view(
    connection: AsyncConnection, actor: Actor, attempt_id: int, exercise: Row, work: Row
) -> AttemptView:
    attempt = (
        await connection.execute(sa.select(attempts).where(attempts.c.id == attempt_id))
    ).one()
    policy = load_policy(exercise)
    questions = load_questions(exercise)
    answers = await load_answers(connection, attempt_id)
    seed = str(attempt.seed)
    pictures = await pictures_of(connection, exercise.id)
    shown = [
        replace(present(questions[i], i, seed), picture=pictures.get(i))
        for i in _shown_order(policy, len(questions), seed)
    ]
    view = AttemptView(
        id=attempt.id,
        exercise_id=exercise.id,
        homework_id=work.id,
        title=work.title,
        number=attempt.number,
        attempts_allowed=policy.attempts,
        started_at=attempt.started_at,
        ends_at=ends_at(policy, attempt.started_at),
        submitted_at=attempt.submitted_at,
        questions=tuple(shown),
        answers=answers,
    )
    if attempt.submitted_at is None:
        return view
    return _with_result(view, questions, answers, await teacher_marks(connection, attempt_id))


def _with_result(
    view: AttemptView,
    questions: list[Question],
    answers: Mapping[int, Answer],
    by_teacher: Mapping[int, Fraction],
) -> AttemptView:
    result = score(questions, answers, by_teacher)
    marked = tuple(
        MarkedAnswer(
            position=position,
            state=item.state,
            points=decimal_text(item.fraction * questions[position].points),
            out_of=questions[position].points,
            feedback=item.feedback,
            notes=tuple(
                gettext(note.message).replace("{expected}", note.expected) for note in item.notes
            ),
        )
        for position, item in enumerate(result.marked)
        if item.state is not State.RIGHT or questions[position].points
    )
    return msgspec.structs.replace(
        view,
        earned=decimal_text(result.earned),
        total=result.total,
        out_of_20=decimal_text(result.out_of_20),
        pending=result.pending,
        marked=marked,
    )
