"""The marks book's settings: a school's terms (trimesters or semesters), its way of
counting work not handed in, and its subjects' coefficients. Read by every grid and
report card (``actions/marks.py``); changed by the school's administrators."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_marks_settings
from preau.actions.context import Services
from preau.actions.report_cards import announce, bump_marks
from preau.actions.zones import school_zone
from preau.adapters.sql.schema import (
    marks_settings,
    school_years,
    subject_coefficients,
    terms,
)
from preau.domain.access import Action
from preau.domain.errors import InvalidInput, NotFound
from preau.domain.marks import (
    MarksSettings,
    Term,
    TermKind,
    TermsDraft,
    check_coefficient,
    check_terms,
    current_term,
    from_hundredths,
    to_hundredths,
)
from preau.domain.people import Actor, check_name
from preau.i18n import lazy

Row = sa.Row[Any]

TERM_UNKNOWN = lazy("This term does not exist in your school.")
YEAR_UNKNOWN = lazy("This school year does not exist in your school.")


async def load_settings(connection: AsyncConnection, school_id: int) -> MarksSettings:
    row = (
        await connection.execute(
            sa.select(marks_settings).where(marks_settings.c.school_id == school_id)
        )
    ).first()
    coefficients = {
        item.subject: from_hundredths(item.coefficient_hundredths)
        for item in await connection.execute(
            sa.select(subject_coefficients).where(subject_coefficients.c.school_id == school_id)
        )
    }
    if row is None:
        return MarksSettings(subject_coefficients=coefficients)
    return MarksSettings(
        term_kind=TermKind(row.term_kind),
        not_handed_in_counts_as_zero=bool(row.not_handed_in_counts_as_zero),
        subject_coefficients=coefficients,
    )


def _term(row: Row) -> Term:
    return Term(
        id=row.id,
        school_year_id=row.school_year_id,
        position=row.position,
        name=row.name,
        starts_on=row.starts_on,
        ends_on=row.ends_on,
    )


async def load_terms(connection: AsyncConnection, school_id: int) -> list[Term]:
    rows = await connection.execute(
        sa.select(terms).where(terms.c.school_id == school_id).order_by(terms.c.starts_on)
    )
    return [_term(row) for row in rows]


async def today_at_school(connection: AsyncConnection, services: Services, school_id: int) -> date:
    """Today in the school's own zone (which day is "today" decides the current term)."""
    zone = await school_zone(services, school_id, connection)
    return services.now().astimezone(zone).date()


async def chosen_term(
    connection: AsyncConnection, services: Services, school_id: int, term_id: int | None
) -> tuple[Term | None, list[Term]]:
    found = await load_terms(connection, school_id)
    if term_id is not None:
        chosen = next((term for term in found if term.id == term_id), None)
        if chosen is None:
            raise NotFound(TERM_UNKNOWN, field="term_id")
        return chosen, found
    if not found:
        return None, found
    return current_term(found, await today_at_school(connection, services, school_id)), found


# -- settings and terms --------------------------------------------------------------------


async def get_settings(services: Services, actor: Actor) -> MarksSettings:
    access_marks_settings(actor, Action.READ)
    async with services.engine.connect() as connection:
        return await load_settings(connection, actor.school_id)


async def change_settings(
    services: Services, actor: Actor, wanted: MarksSettings, *, year_terms: TermsDraft | None = None
) -> MarksSettings:
    """Set the school's way of counting and its subjects' coefficients (all of them: a
    subject left out counts 1 again), and with ``year_terms`` a year's terms, at once."""
    access_marks_settings(actor, Action.CHANGE)
    coefficients = {
        check_name(subject, "subject_coefficients"): check_coefficient(
            value, "subject_coefficients"
        )
        for subject, value in wanted.subject_coefficients.items()
    }
    now = services.now()
    async with services.engine.begin() as connection:
        if year_terms is not None:
            await _set_terms(connection, actor, year_terms, now=now)
        await _save_settings(
            connection,
            actor.school_id,
            now=now,
            term_kind=wanted.term_kind.value,
            not_handed_in_counts_as_zero=wanted.not_handed_in_counts_as_zero,
        )
        await connection.execute(
            subject_coefficients.delete().where(subject_coefficients.c.school_id == actor.school_id)
        )
        if coefficients:
            await connection.execute(
                subject_coefficients.insert(),
                [
                    {
                        "school_id": actor.school_id,
                        "subject": subject,
                        "coefficient_hundredths": to_hundredths(value),
                    }
                    for subject, value in coefficients.items()
                ],
            )
        bumped = await bump_marks(connection, actor.school_id, now=now, whole_school=True)
        found = await load_settings(connection, actor.school_id)
    await announce(services, actor.school_id, bumped)
    return found


async def _save_settings(
    connection: AsyncConnection, school_id: int, *, now: datetime, **values: object
) -> None:
    updated = await connection.execute(
        marks_settings.update()
        .where(marks_settings.c.school_id == school_id)
        .values(updated_at=now, **values)
    )
    if updated.rowcount == 0:
        await connection.execute(
            marks_settings.insert().values(school_id=school_id, updated_at=now, **values)
        )


async def list_terms(services: Services, actor: Actor) -> list[Term]:
    access_marks_settings(actor, Action.READ)
    async with services.engine.connect() as connection:
        return await load_terms(connection, actor.school_id)


async def set_terms(services: Services, actor: Actor, draft: TermsDraft) -> list[Term]:
    """Replace the terms of one school year (and set the school's kind of term)."""
    access_marks_settings(actor, Action.CHANGE)
    now = services.now()
    async with services.engine.begin() as connection:
        await _set_terms(connection, actor, draft, now=now)
        bumped = await bump_marks(connection, actor.school_id, now=now, whole_school=True)
        found = await load_terms(connection, actor.school_id)
    await announce(services, actor.school_id, bumped)
    return found


async def _set_terms(
    connection: AsyncConnection, actor: Actor, draft: TermsDraft, *, now: datetime
) -> None:
    year = (
        await connection.execute(
            sa.select(school_years).where(
                school_years.c.id == draft.school_year_id,
                school_years.c.school_id == actor.school_id,
            )
        )
    ).first()
    if year is None:
        raise InvalidInput(YEAR_UNKNOWN, field="school_year_id")
    checked = check_terms(draft, year_starts=year.starts_on, year_ends=year.ends_on)
    await connection.execute(
        terms.delete().where(
            terms.c.school_id == actor.school_id, terms.c.school_year_id == year.id
        )
    )
    await connection.execute(
        terms.insert(),
        [
            {
                "school_id": actor.school_id,
                "school_year_id": year.id,
                "position": position,
                "name": term.name,
                "starts_on": term.starts_on,
                "ends_on": term.ends_on,
            }
            for position, term in enumerate(checked, start=1)
        ],
    )
    await _save_settings(connection, actor.school_id, now=now, term_kind=draft.term_kind.value)


async def year_and_terms(services: Services, actor: Actor) -> tuple[Row | None, list[Term]]:
    """The school year of today (or the latest one) and its terms, for the settings page."""
    access_marks_settings(actor, Action.READ)
    async with services.engine.connect() as connection:
        today = await today_at_school(connection, services, actor.school_id)
        years = (
            await connection.execute(
                sa.select(school_years)
                .where(school_years.c.school_id == actor.school_id)
                .order_by(school_years.c.starts_on)
            )
        ).all()
        current = next((y for y in years if y.starts_on <= today <= y.ends_on), None)
        year = current or (years[-1] if years else None)
        found = await load_terms(connection, actor.school_id)
    return year, [term for term in found if year is not None and term.school_year_id == year.id]
