"""The teacher's side of an exercise: the results table (per pupil, per question, the
wrong answers given most) and marking open answers."""

from __future__ import annotations

from collections import defaultdict
from fractions import Fraction

import msgspec
import sqlalchemy as sa

from preau.actions.access import access_attempt_by_id, access_hand_ins_by_homework_id
from preau.actions.access.exercises import access_exercise_by_id
from preau.actions.classwork.homework import person_name
from preau.actions.context import Services
from preau.actions.exercises.attempts import ANSWER, attempt_view
from preau.actions.exercises.authoring import load_policy, load_questions
from preau.adapters.sql.schema import attempt_answers, attempts, enrolments, people
from preau.domain.access import Action
from preau.domain.classwork import HandInRight
from preau.domain.errors import Conflict, InvalidInput
from preau.domain.exercises.attempts import Result, counted, score
from preau.domain.exercises.questions import Answer, Open
from preau.domain.exercises.views import (
    AttemptView,
    PupilResult,
    ResultsTable,
    decimal_text,
    question_results,
)
from preau.domain.people import Actor
from preau.i18n import lazy

NOT_OPEN = lazy("Only open answers are marked by the teacher; the others mark themselves.")
NOT_HANDED_IN = lazy("This attempt is not handed in yet.")
BAD_FRACTION = lazy("Give from 0 to the question's points.")
UNANSWERED = lazy("This question was not answered: there is nothing to mark.")


async def results_of(services: Services, actor: Actor, exercise_id: int) -> ResultsTable:
    """Every pupil of the group with the attempt that counts. Three queries whatever the
    size of the class."""
    now = services.now()
    async with services.engine.connect() as connection:
        exercise, work = await access_exercise_by_id(
            connection, actor, exercise_id, Action.READ, now=now
        )
        await access_hand_ins_by_homework_id(connection, actor, work.id, now=now)
        pupils = (
            await connection.execute(
                sa.select(people.c.id, people.c.given_name, people.c.family_name)
                .join(enrolments, enrolments.c.person_id == people.c.id)
                .where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.group_id == work.group_id,
                    enrolments.c.role == "pupil",
                )
                .order_by(people.c.family_name, people.c.given_name)
            )
        ).all()
        rows = (
            await connection.execute(
                sa.select(
                    attempts.c.id,
                    attempts.c.pupil_id,
                    attempts.c.submitted_at,
                    attempt_answers.c.position,
                    attempt_answers.c.answer,
                    attempt_answers.c.teacher_hundredths,
                )
                .outerjoin(attempt_answers, attempt_answers.c.attempt_id == attempts.c.id)
                .where(
                    attempts.c.school_id == actor.school_id,
                    attempts.c.exercise_id == exercise_id,
                )
                .order_by(attempts.c.number)
            )
        ).all()
    questions = load_questions(exercise)
    policy = load_policy(exercise)
    by_attempt: dict[int, tuple[int, dict[int, Answer], dict[int, Fraction]]] = {}
    order: dict[int, list[int]] = defaultdict(list)
    for row in rows:
        if row.submitted_at is None:
            continue
        if row.id not in by_attempt:
            by_attempt[row.id] = (row.pupil_id, {}, {})
            order[row.pupil_id].append(row.id)
        if row.position is not None:
            by_attempt[row.id][1][row.position] = ANSWER.decode(row.answer)
            if row.teacher_hundredths is not None:
                by_attempt[row.id][2][row.position] = Fraction(row.teacher_hundredths, 100)
    results: dict[int, tuple[Result, dict[int, Answer]]] = {}
    table = []
    for pupil in pupils:
        scored = [
            (score(questions, by_attempt[a][1], by_attempt[a][2]), by_attempt[a][1])
            for a in order.get(pupil.id, [])
        ]
        chosen = counted(policy, [result for result, _answers in scored])
        chosen_id = None
        if chosen is not None:
            index = next(i for i, pair in enumerate(scored) if pair[0] is chosen)
            results[pupil.id] = scored[index]
            chosen_id = order[pupil.id][index]
        table.append(
            PupilResult(
                pupil_id=pupil.id,
                name=person_name(pupil),
                attempts=len(scored),
                attempt_id=chosen_id,
                out_of_20=None if chosen is None else decimal_text(chosen.out_of_20),
                pending=0 if chosen is None else chosen.pending,
                per_question=(
                    tuple(decimal_text(marked.fraction) for marked in chosen.marked)
                    if chosen is not None
                    else (None,) * len(questions)
                ),
            )
        )
    return ResultsTable(
        exercise_id=exercise_id,
        homework_id=work.id,
        title=work.title,
        pupils=tuple(table),
        questions=question_results(questions, results),
    )


class OpenMark(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    points: str  # "1.5": from 0 to the question's points


async def mark_open_answer(
    services: Services, actor: Actor, attempt_id: int, position: int, given: OpenMark
) -> AttemptView:
    """The teacher marks an open answer; the attempt's score follows."""
    now = services.now()
    async with services.engine.begin() as connection:
        attempt, exercise, work = await access_attempt_by_id(
            connection, actor, attempt_id, HandInRight.REVIEW, now=now
        )
        if attempt.submitted_at is None:
            raise Conflict(NOT_HANDED_IN)
        questions = load_questions(exercise)
        if not 0 <= position < len(questions) or not isinstance(questions[position], Open):
            raise InvalidInput(NOT_OPEN, field="position")
        points = questions[position].points
        try:
            earned = Fraction(given.points.replace(",", "."))
        except (ValueError, ZeroDivisionError):
            raise InvalidInput(BAD_FRACTION, field="points") from None
        if not 0 <= earned <= points or points == 0:
            raise InvalidInput(BAD_FRACTION, field="points")
        hundredths = round(earned / points * 100)
        updated = await connection.execute(
            attempt_answers.update()
            .where(
                attempt_answers.c.attempt_id == attempt_id, attempt_answers.c.position == position
            )
            .values(teacher_hundredths=hundredths)
        )
        if updated.rowcount == 0:
            raise InvalidInput(UNANSWERED, field="position")
        view = await attempt_view(connection, actor, attempt_id, exercise, work)
        await connection.execute(
            attempts.update()
            .where(attempts.c.id == attempt_id)
            .values(
                earned_hundredths=round(Fraction(view.earned or "0") * 100),
                pending=view.pending,
            )
        )
        return view
