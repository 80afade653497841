"""Setting an exercise as the content of a homework item, reading it, exporting it, and the
question bank every question set goes into (shared with the school's staff)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from fractions import Fraction
from typing import ClassVar

import msgspec
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import (
    access_bank_question_by_id,
    access_exercise_by_id,
    access_homework_by_id,
)
from preau.actions.classwork.todo import group_scope
from preau.actions.context import Services
from preau.actions.warm import bump_versions
from preau.adapters.sql.schema import attempts, bank_questions, exercise_images, exercises
from preau.domain.access import Action
from preau.domain.bounds import Ids, Input
from preau.domain.errors import Conflict, InvalidInput, NotFound
from preau.domain.exercises import gift, moodle_xml
from preau.domain.exercises.attempts import Policy, check_policy
from preau.domain.exercises.questions import Question, check_question
from preau.domain.exercises.views import ExerciseView, decimal_text
from preau.domain.people import STAFF_PROFILES, Actor, Profile
from preau.i18n import lazy

MAX_QUESTIONS = 100
NO_QUESTIONS = lazy("Give the exercise at least one question.")
TOO_MANY_QUESTIONS = lazy("An exercise holds at most 100 questions.")
ALREADY_STARTED = lazy(
    "Pupils have started this exercise: its questions can no longer change. "
    "Set a new homework item for new questions."
)
NOT_AN_EXERCISE = lazy("This homework has no exercise.")
GIFT_PROBLEMS = lazy(
    "Some questions of the GIFT text could not be read; nothing was saved. "
    "Fix them and send it again."
)

QUESTIONS = msgspec.json.Decoder(list[Question])
POLICY = msgspec.json.Decoder(Policy)


class ExerciseDraft(Input, kw_only=True):
    """Questions as GIFT text, as JSON, or taken from the bank (in that order, all kept)."""

    multiline: ClassVar[frozenset[str]] = frozenset({"gift", "moodle_xml"})

    gift: str = ""
    moodle_xml: str = ""
    questions: list[Question] = msgspec.field(default_factory=list)
    bank_ids: Ids = msgspec.field(default_factory=list)
    policy: Policy = Policy()


class GiftProblem(msgspec.Struct, frozen=True, kw_only=True):
    line: int
    reason: str
    excerpt: str


class ImportReport(msgspec.Struct, frozen=True, kw_only=True):
    imported: int
    problems: list[GiftProblem]


class BankQuestion(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    author_id: int
    mine: bool
    question: Question


def load_questions(row: sa.Row[tuple[object, ...]]) -> list[Question]:
    return QUESTIONS.decode(row._mapping["questions"])


def load_policy(row: sa.Row[tuple[object, ...]]) -> Policy:
    return POLICY.decode(row._mapping["policy"])


def read_gift(text: str, *, xml: bool = False) -> list[Question]:
    """The questions of a GIFT (or Moodle XML) text, or a refusal naming the first
    problem by its line (the question's position in Moodle XML)."""
    report = moodle_xml.read(text) if xml else gift.read(text)
    if report.problems:
        first = report.problems[0]
        raise InvalidInput(GIFT_PROBLEMS, field="gift", line=first.line, reason=first.reason)
    return [item.question for item in report.imported]


async def _bank_questions(
    connection: AsyncConnection, actor: Actor, bank_ids: Sequence[int]
) -> list[Question]:
    found = []
    for question_id in bank_ids:
        row = await access_bank_question_by_id(connection, actor, question_id, Action.READ)
        found.append(msgspec.json.decode(row.body, type=Question))
    return found


async def _into_bank(
    connection: AsyncConnection, actor: Actor, questions: Sequence[Question], *, now: datetime
) -> None:
    """Keep each question once in the author's bank (same question, same digest)."""
    for question in questions:
        body = msgspec.json.encode(question).decode()
        digest = hashlib.sha256(body.encode()).hexdigest()
        try:
            async with connection.begin_nested():
                await connection.execute(
                    bank_questions.insert().values(
                        school_id=actor.school_id,
                        author_id=actor.person_id,
                        kind=str(question.__struct_config__.tag),
                        title=question.title[:200],
                        body=body,
                        digest=digest,
                        created_at=now,
                    )
                )
        except IntegrityError:
            pass  # already in the bank


async def set_exercise(
    services: Services, actor: Actor, homework_id: int, draft: ExerciseDraft
) -> ExerciseView:
    """Make (or replace, while nobody has started it) the exercise of a homework item."""
    policy = check_policy(draft.policy)
    questions = [*read_gift(draft.gift)] if draft.gift.strip() else []
    if draft.moodle_xml.strip():
        questions += read_gift(draft.moodle_xml, xml=True)
    questions += draft.questions
    now = services.now()
    async with services.engine.begin() as connection:
        work = await access_homework_by_id(connection, actor, homework_id, Action.CHANGE, now=now)
        questions += await _bank_questions(connection, actor, draft.bank_ids)
        if not questions:
            raise InvalidInput(NO_QUESTIONS, field="questions")
        if len(questions) > MAX_QUESTIONS:
            raise InvalidInput(TOO_MANY_QUESTIONS, field="questions")
        for question in questions:
            check_question(question)
        existing = (
            await connection.execute(
                sa.select(exercises.c.id).where(
                    exercises.c.school_id == actor.school_id, exercises.c.homework_id == work.id
                )
            )
        ).first()
        values = {
            "policy": msgspec.json.encode(policy).decode(),
            "questions": msgspec.json.encode(questions).decode(),
            "updated_at": now,
        }
        if existing is None:
            result = await connection.execute(
                exercises.insert().values(
                    school_id=actor.school_id,
                    homework_id=work.id,
                    author_id=actor.person_id,
                    created_at=now,
                    **values,
                )
            )
            exercise_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
        else:
            exercise_id = existing.id
            started = (
                await connection.execute(
                    sa.select(sa.func.count()).where(attempts.c.exercise_id == exercise_id)
                )
            ).scalar_one()
            if started:
                raise Conflict(ALREADY_STARTED)
            await connection.execute(
                exercises.update().where(exercises.c.id == exercise_id).values(**values)
            )
        await _into_bank(connection, actor, questions, now=now)
        versions = await bump_versions(
            connection, actor.school_id, [group_scope(work.group_id)], now=now
        )
        row, work = await access_exercise_by_id(
            connection, actor, exercise_id, Action.READ, now=now
        )
        view = await _view(connection, actor, row, work)
    await services.versions.announce(actor.school_id, versions)
    return view


async def exercise_of_homework(services: Services, actor: Actor, homework_id: int) -> int | None:
    """The id of a homework's exercise (None when it has none), for who may read it."""
    now = services.now()
    async with services.engine.connect() as connection:
        await access_homework_by_id(connection, actor, homework_id, Action.READ, now=now)
        return (
            await connection.execute(
                sa.select(exercises.c.id).where(
                    exercises.c.school_id == actor.school_id,
                    exercises.c.homework_id == homework_id,
                )
            )
        ).scalar_one_or_none()


async def pictures_of(connection: AsyncConnection, exercise_id: int) -> dict[int, str]:
    """Each question's picture description, by position (the views show the picture)."""
    rows = await connection.execute(
        sa.select(exercise_images.c.position, exercise_images.c.alt).where(
            exercise_images.c.exercise_id == exercise_id
        )
    )
    return {row.position: row.alt for row in rows}


async def get_exercise(services: Services, actor: Actor, exercise_id: int) -> ExerciseView:
    now = services.now()
    async with services.engine.connect() as connection:
        row, work = await access_exercise_by_id(
            connection, actor, exercise_id, Action.READ, now=now
        )
        return await _view(connection, actor, row, work)


async def _view(
    connection: AsyncConnection,
    actor: Actor,
    row: sa.Row[tuple[object, ...]],
    work: sa.Row[tuple[object, ...]],
) -> ExerciseView:
    questions = load_questions(row)
    used, open_id, best = 0, None, None
    if actor.profile is Profile.PUPIL:
        mine = (
            await connection.execute(
                sa.select(attempts.c.id, attempts.c.submitted_at, attempts.c.earned_hundredths)
                .where(
                    attempts.c.school_id == actor.school_id,
                    attempts.c.exercise_id == row.id,
                    attempts.c.pupil_id == actor.person_id,
                )
                .order_by(attempts.c.number)
            )
        ).all()
        used = sum(1 for attempt in mine if attempt.submitted_at is not None)
        open_id = next((attempt.id for attempt in mine if attempt.submitted_at is None), None)
        total = sum(question.points for question in questions)
        earned = [a.earned_hundredths for a in mine if a.earned_hundredths is not None]
        if earned and total:
            best = decimal_text(Fraction(max(earned), 100) * 20 / total)
    return ExerciseView(
        id=row.id,
        homework_id=work.id,
        title=work.title,
        policy=load_policy(row),
        question_count=len(questions),
        total=sum(question.points for question in questions),
        attempts_used=used,
        open_attempt_id=open_id,
        best_out_of_20=best,
        questions=tuple(questions) if actor.profile in STAFF_PROFILES else None,
        pictures=await pictures_of(connection, row.id),
    )


async def export_moodle_xml(services: Services, actor: Actor, exercise_id: int) -> str:
    """The exercise as Moodle XML (teachers and staff): every kind of question fits."""
    now = services.now()
    async with services.engine.connect() as connection:
        row, _work = await access_exercise_by_id(
            connection, actor, exercise_id, Action.READ, now=now
        )
    if actor.profile not in STAFF_PROFILES:
        raise NotFound(NOT_AN_EXERCISE)
    return moodle_xml.write(load_questions(row))


async def export_gift(
    services: Services, actor: Actor, exercise_id: int
) -> tuple[str, list[tuple[int, str]]]:
    """The exercise as GIFT text (teachers and staff), and the questions GIFT cannot hold."""
    now = services.now()
    async with services.engine.connect() as connection:
        row, _work = await access_exercise_by_id(
            connection, actor, exercise_id, Action.READ, now=now
        )
    if actor.profile not in STAFF_PROFILES:
        raise NotFound(NOT_AN_EXERCISE)
    return gift.write(load_questions(row))


async def import_into_bank(
    services: Services, actor: Actor, text: str, *, xml: bool = False
) -> ImportReport:
    """Every question of a GIFT (or Moodle XML) file that can be read goes into the
    actor's bank; the others are reported with their line and reason."""
    if actor.profile not in STAFF_PROFILES:
        raise NotFound(lazy("Only teachers and staff have a question bank."))
    report = moodle_xml.read(text) if xml else gift.read(text)
    questions = []
    problems = [
        GiftProblem(line=p.line, reason=p.reason, excerpt=p.excerpt) for p in report.problems
    ]
    for item in report.imported:
        try:
            questions.append(check_question(item.question))
        except InvalidInput as error:
            problems.append(
                GiftProblem(line=item.line, reason=error.message, excerpt=item.question.text[:80])
            )
    async with services.engine.begin() as connection:
        await _into_bank(connection, actor, questions, now=services.now())
    return ImportReport(imported=len(questions), problems=problems)


async def list_bank(services: Services, actor: Actor) -> list[BankQuestion]:
    """The questions of the school's banks (staff only), newest first."""
    if actor.profile not in STAFF_PROFILES:
        raise NotFound(lazy("Only teachers and staff have a question bank."))
    async with services.engine.connect() as connection:
        rows = (
            await connection.execute(
                sa.select(bank_questions.c.id, bank_questions.c.author_id, bank_questions.c.body)
                .where(
                    bank_questions.c.school_id == actor.school_id,
                    bank_questions.c.deleted_at.is_(None),
                )
                .order_by(bank_questions.c.id.desc())
                .limit(500)
            )
        ).all()
    return [
        BankQuestion(
            id=row.id,
            author_id=row.author_id,
            mine=row.author_id == actor.person_id,
            question=msgspec.json.decode(row.body, type=Question),
        )
        for row in rows
    ]


async def remove_from_bank(services: Services, actor: Actor, question_id: int) -> None:
    async with services.engine.begin() as connection:
        await access_bank_question_by_id(connection, actor, question_id, Action.CHANGE)
        await connection.execute(
            bank_questions.update()
            .where(bank_questions.c.id == question_id)
            .values(deleted_at=services.now())
        )
