"""academicSessions.csv, second pass: a school year's terms and semesters become the terms
of the marks book (docs/marks.md) in every school that has the year, replacing that year's
terms. Only two semesters or three terms, inside the year and not overlapping, as
``domain.marks.check_terms`` asks: other sets (one term, grading periods, overlaps) are
left out, like every term row (counted as ignored by ``school_years.py``), and the school's
terms stay as they were. A year with no terms in the file keeps its terms."""

from __future__ import annotations

from collections import defaultdict

from preau.actions.report_cards import bump_marks
from preau.actions.roster.run import ImportRun
from preau.adapters.sql.schema import marks_settings, terms
from preau.domain.errors import InvalidInput
from preau.domain.marks import TERMS_IN_A_YEAR, TermDraft, TermKind, TermsDraft, check_terms
from preau.domain.roster.records import SessionRecord

TERM_TYPES = frozenset({"term", "semester"})


def _kind(count: int) -> TermKind | None:
    return next((kind for kind, wanted in TERMS_IN_A_YEAR.items() if wanted == count), None)


def planned_terms(sessions: list[SessionRecord]) -> dict[str, tuple[TermKind, list[TermDraft]]]:
    """The terms of each school year of the file whose terms make 2 semesters or 3 terms,
    by the year's sourcedId."""
    children: dict[str, list[SessionRecord]] = defaultdict(list)
    years = {s.source_id: s for s in sessions if not s.deleted and s.is_school_year}
    for session in sessions:
        if (
            not session.deleted
            and session.session_type in TERM_TYPES
            and session.parent_source_id in years
        ):
            children[session.parent_source_id].append(session)
    planned: dict[str, tuple[TermKind, list[TermDraft]]] = {}
    for year_id, found in children.items():
        year = years[year_id]
        kind = _kind(len(found))
        drafts = [
            TermDraft(name=item.title, starts_on=item.starts_on, ends_on=item.ends_on)
            for item in found
            if item.starts_on is not None and item.ends_on is not None
        ]
        if kind is None:
            continue
        assert year.starts_on is not None
        assert year.ends_on is not None
        try:
            drafts = check_terms(
                TermsDraft(school_year_id=0, term_kind=kind, terms=drafts),
                year_starts=year.starts_on,
                year_ends=year.ends_on,
            )
        except InvalidInput:
            continue
        planned[year_id] = (kind, drafts)
    return planned


async def apply_terms(run: ImportRun) -> None:
    """After the school years are written (``school_years.apply_school_years``)."""
    parsed = run.roster.sessions
    if not parsed.readable:
        return
    planned = planned_terms(list(parsed.records))
    targets = [
        (year, *planned[source_id])
        for (school_id, source_id), year in run.directory.years.items()
        if source_id in planned and not run.restricted_out(school_id)
    ]
    if not targets:
        return
    async with run.engine.begin() as connection:
        for year, kind, drafts in targets:
            await connection.execute(
                terms.delete().where(
                    terms.c.school_id == year.school_id, terms.c.school_year_id == year.id
                )
            )
            await connection.execute(
                terms.insert(),
                [
                    {
                        "school_id": year.school_id,
                        "school_year_id": year.id,
                        "position": position,
                        "name": draft.name,
                        "starts_on": draft.starts_on,
                        "ends_on": draft.ends_on,
                    }
                    for position, draft in enumerate(drafts, start=1)
                ],
            )
            updated = await connection.execute(
                marks_settings.update()
                .where(marks_settings.c.school_id == year.school_id)
                .values(term_kind=kind.value, updated_at=run.now)
            )
            if updated.rowcount == 0:
                await connection.execute(
                    marks_settings.insert().values(
                        school_id=year.school_id, term_kind=kind.value, updated_at=run.now
                    )
                )
            # Report cards of the school change term: other processes hear of it within
            # their resync (an import announces nothing itself).
            await bump_marks(connection, year.school_id, now=run.now, whole_school=True)
