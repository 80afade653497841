"""The marks book: evaluations, marks entered a column at a time, a group's grid and a
pupil's report card (the school's terms and way of counting: ``marks_settings.py``).

Each change is one transaction that also writes the audit (``marks_audit``: who, when,
before, after). Entering marks is idempotent: a column sent twice changes nothing the
second time and writes no audit row. Reads run a fixed number of queries whatever the
size of the class (``tests/marks/test_marks_http.py`` counts them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import (
    access_evaluation_by_id,
    access_marks_group_by_id,
    access_report_card_by_pupil_id,
    child_ids,
)
from preau.actions.context import Services
from preau.actions.marks_settings import chosen_term, load_settings
from preau.actions.report_cards import announce, bump_marks
from preau.actions.skill_frameworks import (
    check_assessable,
    evaluation_skill_ids,
    set_evaluation_skills,
)
from preau.adapters.sql.schema import (
    enrolments,
    evaluations,
    groups,
    homework,
    marks,
    marks_audit,
    people,
)
from preau.domain.access import Action
from preau.domain.classwork import Review
from preau.domain.errors import InvalidInput
from preau.domain.marks import (
    SKILLS_ONLY,
    AuditEntry,
    Evaluation,
    EvaluationChanges,
    EvaluationDraft,
    EvaluationView,
    Grid,
    Mark,
    MarkEntry,
    ReportCard,
    Special,
    Term,
    build_grid,
    build_report_card,
    check_coefficient,
    check_evaluation,
    check_out_of,
    check_title,
    evaluation_spread,
    from_hundredths,
    parse_mark,
    scaled_hand_in_mark,
    to_hundredths,
)
from preau.domain.people import STAFF_PROFILES, Actor, Profile, check_name
from preau.i18n import lazy

Row = sa.Row[Any]

UNKNOWN_PUPIL = lazy("Pupil number {pupil_id} is not in this class or group: nothing was saved.")
TWICE_IN_COLUMN = lazy("A pupil appears twice in the marks sent: nothing was saved.")
HOMEWORK_UNKNOWN = lazy(
    "The linked homework does not exist, or was set for another class or group."
)
MARKS_ABOVE_TOTAL = lazy(
    "Some marks are above the new total of {out_of}: change them first, then the total."
)
COLUMN_OF_OTHER_GROUP = lazy("This evaluation is not one of this class or group.")


# -- loading -------------------------------------------------------------------------------


teachers = people.alias("evaluation_teachers")


def _evaluations_query(school_id: int) -> sa.Select[Any]:
    return (
        sa.select(
            evaluations,
            groups.c.name.label("group_name"),
            teachers.c.given_name.label("teacher_given"),
            teachers.c.family_name.label("teacher_family"),
        )
        .join(groups, groups.c.id == evaluations.c.group_id)
        .join(teachers, teachers.c.id == evaluations.c.teacher_id)
        .where(evaluations.c.school_id == school_id, evaluations.c.deleted_at.is_(None))
        .order_by(evaluations.c.day, evaluations.c.id)
    )


def in_term(query: sa.Select[Any], term: Term | None) -> sa.Select[Any]:
    if term is None:
        return query
    return query.where(evaluations.c.day.between(term.starts_on, term.ends_on))


def _evaluation(row: Row) -> Evaluation:
    return Evaluation(
        id=row.id,
        group_id=row.group_id,
        group_name=row.group_name,
        subject=row.subject,
        title=row.title,
        day=row.day,
        out_of=from_hundredths(row.out_of_hundredths),
        coefficient=from_hundredths(row.coefficient_hundredths),
        homework_id=row.homework_id,
        teacher_id=row.teacher_id,
        teacher_name=f"{row.teacher_given} {row.teacher_family}",
        marked=bool(row.marked),
    )


def _marked(query: sa.Select[Any]) -> sa.Select[Any]:
    """Evaluations that carry a mark: those of skills only are in no grid or average."""
    return query.where(evaluations.c.marked.is_(True))


async def _load_evaluation(
    connection: AsyncConnection, school_id: int, evaluation_id: int
) -> Evaluation:
    """The evaluation with the skills it assesses (two queries)."""
    row = (
        await connection.execute(
            _evaluations_query(school_id).where(evaluations.c.id == evaluation_id)
        )
    ).one()
    skill_ids = await evaluation_skill_ids(connection, school_id, evaluation_id)
    return msgspec.structs.replace(_evaluation(row), skill_ids=skill_ids)


def _mark(row: Row) -> Mark:
    if row.special is not None:
        return Mark(special=Special(row.special))
    return Mark(points=from_hundredths(row.points_hundredths))


async def load_marks(
    connection: AsyncConnection,
    school_id: int,
    evaluation_ids: Iterable[int],
    pupil_ids: Iterable[int] | None = None,
) -> dict[tuple[int, int], Mark]:
    chosen = list(evaluation_ids)
    if not chosen:
        return {}
    query = sa.select(marks).where(
        marks.c.school_id == school_id, marks.c.evaluation_id.in_(chosen)
    )
    if pupil_ids is not None:
        query = query.where(marks.c.pupil_id.in_(list(pupil_ids)))
    return {
        (row.evaluation_id, row.pupil_id): _mark(row) for row in await connection.execute(query)
    }


async def group_pupils(
    connection: AsyncConnection, school_id: int, group_id: int
) -> list[tuple[int, str]]:
    rows = await connection.execute(
        sa.select(people.c.id, people.c.given_name, people.c.family_name)
        .join(enrolments, enrolments.c.person_id == people.c.id)
        .where(
            enrolments.c.school_id == school_id,
            enrolments.c.group_id == group_id,
            enrolments.c.role == "pupil",
        )
        .order_by(people.c.family_name, people.c.given_name, people.c.id)
    )
    return [(row.id, f"{row.family_name} {row.given_name}") for row in rows]


def _mark_json(mark: Mark | None) -> dict[str, Any] | None:
    if mark is None:
        return None
    if mark.special is not None:
        return {"special": mark.special.value}
    return {"points": str(mark.points)}


def _evaluation_json(evaluation: Evaluation) -> dict[str, Any]:
    return {
        "subject": evaluation.subject,
        "title": evaluation.title,
        "day": evaluation.day.isoformat(),
        "out_of": str(evaluation.out_of),
        "coefficient": str(evaluation.coefficient),
        "homework_id": evaluation.homework_id,
        "marked": evaluation.marked,
        "skill_ids": evaluation.skill_ids,
    }


def audit_row(
    evaluation_id: int,
    change: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    pupil_id: int | None = None,
) -> dict[str, Any]:
    return {
        "evaluation_id": evaluation_id,
        "pupil_id": pupil_id,
        "change": change,
        "before": before,
        "after": after,
    }


async def write_audit(
    connection: AsyncConnection,
    actor: Actor,
    rows: Sequence[dict[str, Any]],
    *,
    now: datetime,
) -> None:
    """Write audit rows (made by :func:`audit_row`) inside the caller's transaction."""
    if rows:
        await connection.execute(
            marks_audit.insert(),
            [
                {
                    "school_id": actor.school_id,
                    "actor_id": actor.person_id,
                    "changed_at": now,
                    **row,
                }
                for row in rows
            ],
        )


# -- evaluations ---------------------------------------------------------------------------


async def _check_homework_link(
    connection: AsyncConnection, actor: Actor, homework_id: int | None, group_id: int
) -> None:
    if homework_id is None:
        return
    found = (
        await connection.execute(
            sa.select(homework.c.id).where(
                homework.c.id == homework_id,
                homework.c.school_id == actor.school_id,
                homework.c.group_id == group_id,
                homework.c.deleted_at.is_(None),
            )
        )
    ).first()
    if found is None:
        raise InvalidInput(HOMEWORK_UNKNOWN, field="homework_id")


async def create_evaluation(services: Services, actor: Actor, draft: EvaluationDraft) -> Evaluation:
    draft = check_evaluation(draft)
    now = services.now()
    async with services.engine.begin() as connection:
        await access_marks_group_by_id(connection, actor, draft.group_id, Action.CHANGE)
        await _check_homework_link(connection, actor, draft.homework_id, draft.group_id)
        await check_assessable(connection, actor.school_id, draft.skill_ids)
        result = await connection.execute(
            evaluations.insert().values(
                school_id=actor.school_id,
                group_id=draft.group_id,
                teacher_id=actor.person_id,
                subject=draft.subject,
                title=draft.title,
                day=draft.day,
                out_of_hundredths=to_hundredths(draft.out_of),
                coefficient_hundredths=to_hundredths(draft.coefficient),
                homework_id=draft.homework_id,
                marked=draft.marked,
                created_at=now,
                updated_at=now,
            )
        )
        evaluation_id = int(result.inserted_primary_key[0])  # type: ignore[index]  # one key
        await set_evaluation_skills(connection, actor.school_id, evaluation_id, draft.skill_ids)
        evaluation = await _load_evaluation(connection, actor.school_id, evaluation_id)
        await write_audit(
            connection,
            actor,
            [audit_row(evaluation_id, "created", None, _evaluation_json(evaluation))],
            now=now,
        )
        bumped = await bump_marks(connection, actor.school_id, [draft.group_id], now=now)
    await announce(services, actor.school_id, bumped)
    return evaluation


async def get_evaluation(services: Services, actor: Actor, evaluation_id: int) -> EvaluationView:
    async with services.engine.connect() as connection:
        row, teaches = await access_evaluation_by_id(connection, actor, evaluation_id, Action.READ)
        evaluation = await _load_evaluation(connection, actor.school_id, evaluation_id)
        settings = await load_settings(connection, actor.school_id)
        pupils = dict(await group_pupils(connection, actor.school_id, row.group_id))
        everyone = await load_marks(connection, actor.school_id, [evaluation_id])
        if actor.profile in STAFF_PROFILES:
            shown = set(pupils) | {pupil for _evaluation, pupil in everyone}
        else:
            shown = ({actor.person_id} | await child_ids(connection, actor)) & set(pupils)
    figures = evaluation_spread(
        evaluation,
        everyone.values(),
        not_handed_in_counts_as_zero=settings.not_handed_in_counts_as_zero,
    )
    return EvaluationView(
        evaluation=evaluation,
        marks={pupil: mark for (_id, pupil), mark in everyone.items() if pupil in shown},
        pupils={pupil: name for pupil, name in pupils.items() if pupil in shown},
        average=figures.average,
        minimum=figures.minimum,
        maximum=figures.maximum,
        can_change=teaches,
    )


async def _change_skills(
    connection: AsyncConnection, actor: Actor, row: Row, changes: EvaluationChanges
) -> None:
    """The skills part of a change: an evaluation of skills only keeps at least one skill
    and takes no total or coefficient."""
    numbers = (changes.coefficient, changes.out_of)
    if not row.marked and any(value is not msgspec.UNSET for value in numbers):
        raise InvalidInput(SKILLS_ONLY, field="out_of")
    if changes.skill_ids is msgspec.UNSET:
        return
    skill_ids = list(dict.fromkeys(changes.skill_ids))
    if not row.marked and not skill_ids:
        raise InvalidInput(SKILLS_ONLY, field="skill_ids")
    await check_assessable(connection, actor.school_id, skill_ids)
    await set_evaluation_skills(connection, actor.school_id, row.id, skill_ids)


async def update_evaluation(
    services: Services, actor: Actor, evaluation_id: int, changes: EvaluationChanges
) -> Evaluation:
    now = services.now()
    async with services.engine.begin() as connection:
        row, _teaches = await access_evaluation_by_id(
            connection, actor, evaluation_id, Action.CHANGE
        )
        before = await _load_evaluation(connection, actor.school_id, evaluation_id)
        values: dict[str, object] = {}
        if changes.subject is not msgspec.UNSET:
            values["subject"] = check_name(changes.subject, "subject")
        if changes.title is not msgspec.UNSET:
            values["title"] = check_title(changes.title)
        if changes.day is not msgspec.UNSET:
            values["day"] = changes.day
        await _change_skills(connection, actor, row, changes)
        if changes.coefficient is not msgspec.UNSET:
            values["coefficient_hundredths"] = to_hundredths(check_coefficient(changes.coefficient))
        if changes.out_of is not msgspec.UNSET:
            out_of = check_out_of(changes.out_of)
            highest = (
                await connection.execute(
                    sa.select(sa.func.max(marks.c.points_hundredths)).where(
                        marks.c.school_id == actor.school_id,
                        marks.c.evaluation_id == evaluation_id,
                    )
                )
            ).scalar()
            if highest is not None and highest > to_hundredths(out_of):
                raise InvalidInput(
                    MARKS_ABOVE_TOTAL, field="out_of", out_of=format(out_of.normalize(), "f")
                )
            values["out_of_hundredths"] = to_hundredths(out_of)
        if changes.homework_id is not msgspec.UNSET:
            await _check_homework_link(connection, actor, changes.homework_id, row.group_id)
            values["homework_id"] = changes.homework_id
        if values:
            await connection.execute(
                evaluations.update()
                .where(
                    evaluations.c.school_id == actor.school_id, evaluations.c.id == evaluation_id
                )
                .values(updated_at=now, **values)
            )
        after = await _load_evaluation(connection, actor.school_id, evaluation_id)
        if after != before:
            await write_audit(
                connection,
                actor,
                [
                    audit_row(
                        evaluation_id, "edited", _evaluation_json(before), _evaluation_json(after)
                    )
                ],
                now=now,
            )
        groups_touched = {row.group_id}
        bumped = await bump_marks(connection, actor.school_id, groups_touched, now=now)
    await announce(services, actor.school_id, bumped)
    return after


async def delete_evaluation(services: Services, actor: Actor, evaluation_id: int) -> None:
    """Removed from every grid and average; the row and its marks stay for the audit."""
    now = services.now()
    async with services.engine.begin() as connection:
        await access_evaluation_by_id(connection, actor, evaluation_id, Action.CHANGE)
        before = await _load_evaluation(connection, actor.school_id, evaluation_id)
        await connection.execute(
            evaluations.update()
            .where(evaluations.c.school_id == actor.school_id, evaluations.c.id == evaluation_id)
            .values(deleted_at=now, updated_at=now)
        )
        await write_audit(
            connection,
            actor,
            [audit_row(evaluation_id, "deleted", _evaluation_json(before), None)],
            now=now,
        )
        bumped = await bump_marks(connection, actor.school_id, [before.group_id], now=now)
    await announce(services, actor.school_id, bumped)


async def evaluation_history(
    services: Services, actor: Actor, evaluation_id: int
) -> list[AuditEntry]:
    """Every change to the evaluation and its marks, oldest first (teachers and staff)."""
    async with services.engine.connect() as connection:
        row, _teaches = await access_evaluation_by_id(connection, actor, evaluation_id, Action.READ)
        await access_marks_group_by_id(connection, actor, row.group_id, Action.READ)
        rows = await connection.execute(
            sa.select(marks_audit, people.c.given_name, people.c.family_name)
            .join(people, people.c.id == marks_audit.c.actor_id)
            .where(
                marks_audit.c.school_id == actor.school_id,
                marks_audit.c.evaluation_id == evaluation_id,
            )
            .order_by(marks_audit.c.id)
        )
        return [
            AuditEntry(
                change=item.change,
                pupil_id=item.pupil_id,
                actor_id=item.actor_id,
                actor_name=f"{item.given_name} {item.family_name}",
                before=item.before,
                after=item.after,
                changed_at=item.changed_at,
            )
            for item in rows
        ]


# -- entering marks ------------------------------------------------------------------------


def _checked_column(
    evaluation_id: int,
    out_of: Decimal,
    entries: Sequence[MarkEntry],
    pupils: Mapping[int, str],
) -> dict[int, Mark | None]:
    """Every cell checked before anything is written: one bad cell refuses the column."""
    checked: dict[int, Mark | None] = {}
    for entry in entries:
        field = f"marks.{evaluation_id}.{entry.pupil_id}"
        if entry.pupil_id not in pupils:
            raise InvalidInput(UNKNOWN_PUPIL, field=field, pupil_id=entry.pupil_id)
        if entry.pupil_id in checked:
            raise InvalidInput(TWICE_IN_COLUMN, field=field)
        checked[entry.pupil_id] = parse_mark(entry.value, out_of, field)
    return checked


async def _write_column(
    connection: AsyncConnection,
    actor: Actor,
    evaluation_id: int,
    wanted: Mapping[int, Mark | None],
    *,
    now: datetime,
    change: str = "mark",
) -> int:
    """Set the marks of one evaluation; only cells that differ are written and audited.
    Returns how many changed."""
    if not wanted:
        return 0
    current = await load_marks(connection, actor.school_id, [evaluation_id], wanted)
    audit: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for pupil_id, mark in wanted.items():
        before = current.get((evaluation_id, pupil_id))
        if before == mark:
            continue
        audit.append(
            audit_row(evaluation_id, change, _mark_json(before), _mark_json(mark), pupil_id)
        )
        where = (
            marks.c.school_id == actor.school_id,
            marks.c.evaluation_id == evaluation_id,
            marks.c.pupil_id == pupil_id,
        )
        if mark is None:
            await connection.execute(marks.delete().where(*where))
            continue
        values = {
            "points_hundredths": to_hundredths(mark.points) if mark.points is not None else None,
            "special": mark.special.value if mark.special is not None else None,
            "updated_by": actor.person_id,
            "updated_at": now,
        }
        if before is None:
            inserts.append(
                {
                    "school_id": actor.school_id,
                    "evaluation_id": evaluation_id,
                    "pupil_id": pupil_id,
                    **values,
                }
            )
        else:
            await connection.execute(marks.update().where(*where).values(**values))
    if inserts:
        await connection.execute(marks.insert(), inserts)
    await write_audit(connection, actor, audit, now=now)
    return len(audit)


async def enter_marks(
    services: Services, actor: Actor, evaluation_id: int, entries: Sequence[MarkEntry]
) -> EvaluationView:
    """Enter a column of marks in one transaction. Cells not sent are left as they are;
    an empty value clears a cell. Sending the same column again changes nothing."""
    now = services.now()
    async with services.engine.begin() as connection:
        row, _teaches = await access_evaluation_by_id(
            connection, actor, evaluation_id, Action.CHANGE
        )
        if not row.marked:
            raise InvalidInput(SKILLS_ONLY, field="marks")
        pupils = dict(await group_pupils(connection, actor.school_id, row.group_id))
        wanted = _checked_column(
            evaluation_id, from_hundredths(row.out_of_hundredths), entries, pupils
        )
        bumped: dict[str, int] = {}
        if await _write_column(connection, actor, evaluation_id, wanted, now=now):
            bumped = await bump_marks(connection, actor.school_id, [row.group_id], now=now)
    await announce(services, actor.school_id, bumped)
    return await get_evaluation(services, actor, evaluation_id)


async def enter_grid(
    services: Services, actor: Actor, group_id: int, columns: Mapping[int, Sequence[MarkEntry]]
) -> int:
    """Enter several columns of a group's grid at once (the page's form), in one
    transaction: one bad cell refuses them all. Returns how many marks changed."""
    now = services.now()
    async with services.engine.begin() as connection:
        await access_marks_group_by_id(connection, actor, group_id, Action.CHANGE)
        pupils = dict(await group_pupils(connection, actor.school_id, group_id))
        found = {
            row.id: row
            for row in await connection.execute(
                sa.select(evaluations.c.id, evaluations.c.out_of_hundredths).where(
                    evaluations.c.school_id == actor.school_id,
                    evaluations.c.group_id == group_id,
                    evaluations.c.deleted_at.is_(None),
                    evaluations.c.marked.is_(True),
                    evaluations.c.id.in_(list(columns)),
                )
            )
        }
        checked: dict[int, dict[int, Mark | None]] = {}
        for evaluation_id, entries in columns.items():
            if evaluation_id not in found:
                column = f"marks.{evaluation_id}"
                raise InvalidInput(COLUMN_OF_OTHER_GROUP, field=column)
            out_of = from_hundredths(found[evaluation_id].out_of_hundredths)
            checked[evaluation_id] = _checked_column(evaluation_id, out_of, entries, pupils)
        changed = 0
        for evaluation_id, wanted in checked.items():
            changed += await _write_column(connection, actor, evaluation_id, wanted, now=now)
        bumped = (
            await bump_marks(connection, actor.school_id, [group_id], now=now) if changed else {}
        )
    await announce(services, actor.school_id, bumped)
    return changed


async def mark_from_hand_in(
    connection: AsyncConnection,
    actor: Actor,
    homework_id: int,
    pupil_id: int,
    review: Review | None,
    *,
    now: datetime,
) -> dict[str, int]:
    """Called inside the return of a hand-in (``actions/classwork.py``), with its checked
    review: the mark lands in the evaluations linked to the homework, brought to each
    one's total. The caller has checked that the actor reviews this hand-in, and
    announces the read versions returned after its commit."""
    if review is None or review.mark is None or not review.mark_out_of:
        return {}
    linked = (
        await connection.execute(
            sa.select(
                evaluations.c.id, evaluations.c.group_id, evaluations.c.out_of_hundredths
            ).where(
                evaluations.c.school_id == actor.school_id,
                evaluations.c.homework_id == homework_id,
                evaluations.c.deleted_at.is_(None),
                evaluations.c.marked.is_(True),
            )
        )
    ).all()
    for evaluation in linked:
        points = scaled_hand_in_mark(
            review.mark, review.mark_out_of, from_hundredths(evaluation.out_of_hundredths)
        )
        await _write_column(
            connection,
            actor,
            evaluation.id,
            {pupil_id: Mark(points=points)},
            now=now,
            change="hand_in",
        )
    if not linked:
        return {}
    group_ids = {evaluation.group_id for evaluation in linked}
    return await bump_marks(connection, actor.school_id, group_ids, now=now)


# -- reading -------------------------------------------------------------------------------


async def _subjects_of_group(
    connection: AsyncConnection, actor: Actor, group: Row
) -> tuple[list[str], str]:
    """The subjects with evaluations in the group and the reader's own subjects in it,
    and the one to show first: the reader's own, else the group's, else the first."""
    rows = (
        await connection.execute(
            sa.select(evaluations.c.subject, sa.literal(0).label("own"))
            .where(
                evaluations.c.school_id == actor.school_id,
                evaluations.c.group_id == group.id,
                evaluations.c.deleted_at.is_(None),
                evaluations.c.marked.is_(True),
            )
            .union(
                sa.select(enrolments.c.subject, sa.literal(1).label("own")).where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.group_id == group.id,
                    enrolments.c.person_id == actor.person_id,
                    enrolments.c.role == "teacher",
                    enrolments.c.subject.is_not(None),
                )
            )
        )
    ).all()
    found = {row.subject for row in rows if row.subject}
    if group.subject:
        found.add(group.subject)
    subjects = sorted(found, key=str.casefold)
    own = sorted(row.subject for row in rows if row.own and row.subject)
    first = own[0] if own else (group.subject or (subjects[0] if subjects else ""))
    return subjects, first


async def grid(
    services: Services,
    actor: Actor,
    group_id: int,
    *,
    term_id: int | None = None,
    subject: str | None = None,
) -> Grid:
    """A class or group's marks in one subject (by default the reader's own in it) for
    one term (by default the current one)."""
    async with services.engine.connect() as connection:
        group, teaches = await access_marks_group_by_id(connection, actor, group_id, Action.READ)
        term, all_terms = await chosen_term(connection, services, actor.school_id, term_id)
        settings = await load_settings(connection, actor.school_id)
        subjects, first = await _subjects_of_group(connection, actor, group)
        chosen = subject if subject in subjects else first
        query = _marked(in_term(_evaluations_query(actor.school_id), term)).where(
            evaluations.c.group_id == group_id, evaluations.c.subject == chosen
        )
        columns = [_evaluation(row) for row in await connection.execute(query)]
        pupils = await group_pupils(connection, actor.school_id, group_id)
        found = await load_marks(
            connection, actor.school_id, [evaluation.id for evaluation in columns]
        )
    return build_grid(
        group_id=group_id,
        group_name=group.name,
        subject=chosen,
        subjects=subjects,
        term=term,
        terms=all_terms,
        evaluations=columns,
        pupils=pupils,
        marks=found,
        settings=settings,
        can_change=teaches,
    )


async def report_card(
    services: Services, actor: Actor, pupil_id: int, *, term_id: int | None = None
) -> ReportCard:
    """A pupil's subjects, marks and averages for one term, with the class's figures:
    warm, with no SQL, while nothing it shows has changed (``actions/report_cards.py``)."""

    async def load() -> ReportCard:
        return await _report_card(services, actor, pupil_id, term_id=term_id)

    return await services.report_cards.read(
        services, kind="card", actor=actor, pupil_id=pupil_id, term_id=term_id, load=load
    )


async def _report_card(
    services: Services, actor: Actor, pupil_id: int, *, term_id: int | None
) -> ReportCard:
    async with services.engine.connect() as connection:
        pupil = await access_report_card_by_pupil_id(connection, actor, pupil_id)
        term, all_terms = await chosen_term(connection, services, actor.school_id, term_id)
        settings = await load_settings(connection, actor.school_id)
        pupil_groups = sa.select(enrolments.c.group_id).where(
            enrolments.c.school_id == actor.school_id,
            enrolments.c.person_id == pupil_id,
            enrolments.c.role == "pupil",
        )
        query = _marked(in_term(_evaluations_query(actor.school_id), term)).where(
            evaluations.c.group_id.in_(pupil_groups)
        )
        chosen = [_evaluation(row) for row in await connection.execute(query)]
        found = await load_marks(connection, actor.school_id, [item.id for item in chosen])
    return build_report_card(
        pupil_id=pupil_id,
        pupil_name=f"{pupil.given_name} {pupil.family_name}",
        term=term,
        terms=all_terms,
        evaluations=chosen,
        marks=found,
        settings=settings,
    )


async def marks_groups(services: Services, actor: Actor) -> Sequence[sa.Row[Any, Any, Any]]:
    """The classes and groups whose grids the reader may open: those they teach, or the
    whole school's for staff and administrators."""
    query = sa.select(groups.c.id, groups.c.name, groups.c.subject).where(
        groups.c.school_id == actor.school_id, groups.c.active.is_(True)
    )
    if actor.profile is Profile.TEACHER:
        query = query.where(
            groups.c.id.in_(
                sa.select(enrolments.c.group_id).where(
                    enrolments.c.school_id == actor.school_id,
                    enrolments.c.person_id == actor.person_id,
                    enrolments.c.role == "teacher",
                )
            )
        )
    elif actor.profile not in STAFF_PROFILES:
        return []
    async with services.engine.connect() as connection:
        return (await connection.execute(query.order_by(groups.c.name))).all()


async def homework_choices(
    services: Services, actor: Actor, group_id: int
) -> Sequence[sa.Row[Any, Any, Any]]:
    """The group's homework an evaluation may be linked to, newest first."""
    async with services.engine.connect() as connection:
        await access_marks_group_by_id(connection, actor, group_id, Action.CHANGE)
        rows = await connection.execute(
            sa.select(homework.c.id, homework.c.title, homework.c.due_at)
            .where(
                homework.c.school_id == actor.school_id,
                homework.c.group_id == group_id,
                homework.c.deleted_at.is_(None),
                homework.c.hand_in_expected.is_(True),
            )
            .order_by(homework.c.due_at.desc())
            .limit(50)
        )
        return rows.all()
