"""users.csv (with roles.csv folded in): people created, updated or deactivated, each in one
school and with a free username; their parent links are written in the same transaction."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.roster.parent_links import PeopleView, plan_links, write_links
from preau.actions.roster.run import ImportRun
from preau.actions.roster.stored import PERSON_COLUMNS, StoredPerson
from preau.actions.roster.usernames import allocate_usernames
from preau.actions.roster.writes import Stage, Writes, insert_many, refresh, update_many
from preau.adapters.sql.schema import people
from preau.domain.people import username_base
from preau.domain.roster.reasons import KIND_SCHOOL, KIND_USER, N_, RejectedRow, reject
from preau.domain.roster.records import ROLES, FileStatus, UserRecord
from preau.domain.roster.report import FileReport


class _PeoplePlan:
    """What users.csv changes, worked out before its transaction."""

    def __init__(self) -> None:
        self.writes = Writes()
        self.new_people: list[tuple[UserRecord, int]] = []  # (row, school id)
        self.accepted: list[tuple[UserRecord, int | None]] = []  # (row, person id when known)
        self.deactivated_ids: set[int] = set()


async def apply_people(run: ImportRun) -> None:
    parsed = run.roster.users
    report = run.file_report(parsed, "people")
    links_report = FileReport(
        parsed.file,
        "parent links",
        parsed.mode,
        parsed.status,
        rows=sum(len(user.agent_source_ids) for user in parsed.records),
    )
    run.report.files.append(links_report)
    roles_report = run.file_report(run.roster.roles, "roles")
    if not parsed.readable:
        if roles_report.status is FileStatus.APPLIED:
            roles_report.status = parsed.status
            roles_report.problem = reject(
                ROLES, 0, N_("users.csv was not read, so roles.csv was not used either.")
            )
        return
    plan = _PeoplePlan()
    for user in parsed.records:
        if user.deleted:
            _plan_deactivation(run, report, plan, user)
        else:
            _plan_person(run, report, plan, user)
    report.rejected.sort(key=lambda row: row.line)
    # The inserts are counted for the progress bar; their usernames are found in the
    # transaction, just before they are written.
    plan.writes.inserts = [{} for _ in plan.new_people]

    async def write(connection: AsyncConnection, stage: Stage) -> Callable[[], None]:
        return await _write_people(run, plan, links_report, connection, stage)

    await run.apply(
        report,
        plan.writes,
        write,
        (user.source_id for user in parsed.records),
        links_report,
        roles_report,
    )


def _plan_deactivation(
    run: ImportRun, report: FileReport, plan: _PeoplePlan, user: UserRecord
) -> None:
    """A deleted user is found in one of their schools first, then by sourcedId anywhere."""
    school_ids = [run.school_id_of(org) for org in user.org_source_ids]
    existing = next(
        (
            person
            for school_id in school_ids
            if school_id is not None
            and (person := run.directory.people.get((school_id, user.source_id)))
        ),
        run.directory.people_by_source.get(user.source_id),
    )
    person_id = run.deactivate(
        report,
        plan.writes,
        user.line,
        existing,
        updated_at=run.now,
        sessions_valid_after=run.now.timestamp(),
    )
    if person_id is not None:
        plan.deactivated_ids.add(person_id)


def _plan_person(run: ImportRun, report: FileReport, plan: _PeoplePlan, user: UserRecord) -> None:
    school_id = _school_of_user(run, user)
    if isinstance(school_id, RejectedRow):
        run.refuse(report, KIND_USER, user.source_id, school_id)
        return
    assert user.profile is not None
    existing = run.directory.people.get((school_id, user.source_id))
    if existing is None:
        plan.new_people.append((user, school_id))
        report.created += 1
        plan.accepted.append((user, None))
        return
    plan.accepted.append((user, existing.id))
    changed: dict[str, Any] = {"updated_at": run.now}
    if _ends_sessions(existing, user):
        changed["sessions_valid_after"] = run.now.timestamp()
    plan.writes.plan(report, existing, _values(user), new={}, changed=changed)


def _ends_sessions(existing: StoredPerson, user: UserRecord) -> bool:
    """A person disabled or given another profile is signed out everywhere, as when it is
    done by hand (actions/directory): sessions and device credentials carry the profile
    and resume with no database read (actions/sessions)."""
    return (existing.active and not user.enabled) or existing.profile != str(user.profile)


def _values(user: UserRecord) -> dict[str, Any]:
    """The columns a users.csv row sets, named as the stored person's fields."""
    return {
        "profile": str(user.profile),
        "given_name": user.given_name,
        "family_name": user.family_name,
        "email": user.email,
        "active": user.enabled,
    }


def _school_of_user(run: ImportRun, user: UserRecord) -> int | RejectedRow:
    """The school a user is created in: the first of their orgs Préau knows as a school."""
    file = run.roster.users.file
    candidates = [
        school_id for org in user.org_source_ids if (school_id := run.school_id_of(org)) is not None
    ]
    if run.restrict is not None:
        if run.restrict in candidates:
            return run.restrict
        if candidates:
            return run.outside(file, user.line)
    if not candidates:
        orgs = user.org_source_ids or ("",)
        return run.unknown(file, user.line, KIND_SCHOOL, orgs[0])
    return candidates[0]


async def _write_people(
    run: ImportRun,
    plan: _PeoplePlan,
    links_report: FileReport,
    connection: AsyncConnection,
    stage: Stage,
) -> Callable[[], None]:
    directory = run.directory
    writes = plan.writes
    await update_many(connection, people, writes.updates, stage)
    usernames = await allocate_usernames(
        connection,
        [
            (user.username, username_base(user.given_name, user.family_name))
            for user, _ in plan.new_people
        ],
    )
    rows = [
        {
            "school_id": school_id,
            "username": username,
            **_values(user),
            "source_id": user.source_id,
            "created_at": run.now,
            "updated_at": run.now,
        }
        for (user, school_id), username in zip(plan.new_people, usernames, strict=True)
    ]
    inserted = [
        StoredPerson._make(row)
        for row in await insert_many(connection, people, rows, stage, returning=PERSON_COLUMNS)
    ]
    # Parent links need everyone's id, so they are worked out once people are written.
    view = PeopleView(directory, writes.updates, inserted)
    users = run.roster.users
    link_writes, link_rejected, link_counts = plan_links(
        users, view, plan.accepted, plan.deactivated_ids
    )
    links_stage = Stage(f"{users.file} (parent links)", link_writes.total, run.progress)
    await write_links(connection, link_writes, links_stage)

    def after_commit() -> None:
        refresh(
            directory.people_by_id, writes.updates, [], StoredPerson._make, directory.add_person
        )
        for person in inserted:
            directory.add_person(person)
        links_report.rejected.extend(link_rejected)
        (
            links_report.created,
            links_report.unchanged,
            links_report.deleted,
        ) = link_counts
        for parent_id, child_id, _ in link_writes.inserts_tuples:
            directory.links.add((parent_id, child_id))
        for pair in link_writes.deleted_pairs:
            directory.links.discard(pair)

    return after_commit
