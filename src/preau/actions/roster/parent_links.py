"""Parent links from users.csv: a parent's agents are their children, a pupil's agents their
parents. Worked out inside the users.csv transaction, once everyone has an id."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.roster.stored import StoredDirectory, StoredPerson
from preau.actions.roster.writes import CHUNK, LOOKUP_CHUNK, Stage, chunks
from preau.adapters.sql.schema import parent_links
from preau.domain.people import Profile
from preau.domain.roster.reasons import N_, RejectedRow, reject
from preau.domain.roster.records import FileMode, ParsedFile, UserRecord
from preau.domain.roster.rules import parent_link


class LinkWrites:
    def __init__(self) -> None:
        self.inserts_tuples: list[tuple[int, int, int]] = []  # (parent, child, school)
        self.deleted_pairs: list[tuple[int, int]] = []

    @property
    def total(self) -> int:
        return len(self.inserts_tuples) + len(self.deleted_pairs)


class PeopleView:
    """People as they stand inside the users.csv transaction (updates and inserts applied)."""

    def __init__(
        self,
        directory: StoredDirectory,
        updates: Sequence[Mapping[str, Any]],
        inserted: Sequence[StoredPerson],
    ) -> None:
        self.directory = directory
        self.changed: dict[int, StoredPerson] = {}
        for update in updates:
            old = directory.people_by_id[update["row_id"]]
            fields = {k: v for k, v in update.items() if k in old._fields}
            self.changed[old.id] = old._replace(**fields)
        self.inserted = {person.source_id: person for person in inserted}
        self.inserted_by_key = {(person.school_id, person.source_id): person for person in inserted}

    def fresh(self, person: StoredPerson | None) -> StoredPerson | None:
        if person is None:
            return None
        return self.changed.get(person.id, person)

    def person(self, person_id: int | None, user: UserRecord) -> StoredPerson | None:
        if person_id is not None:
            return self.fresh(self.directory.people_by_id.get(person_id))
        return self.inserted.get(user.source_id)

    def lookup(self, school_id: int, source_id: str) -> StoredPerson | None:
        """An agent: in the same school first, then anywhere; this file's people first."""
        for person in (
            self.inserted_by_key.get((school_id, source_id)),
            self.directory.people.get((school_id, source_id)),
            self.inserted.get(source_id),
            self.directory.people_by_source.get(source_id),
        ):
            if person is not None:
                return self.fresh(person)
        return None


def plan_links(
    users: ParsedFile[UserRecord],
    view: PeopleView,
    accepted: Sequence[tuple[UserRecord, int | None]],
    deactivated_ids: set[int],
) -> tuple[LinkWrites, list[RejectedRow], tuple[int, int, int]]:
    """Parent links as the file gives them (a parent's agents are their children, a
    pupil's agents their parents). In bulk, links between two people of the file that the
    file no longer gives are deleted; in delta, only the links of deleted people."""
    file = users.file
    rejected: list[RejectedRow] = []
    wanted: dict[tuple[int, int], int] = {}
    in_file: set[int] = set()
    for user, person_id in accepted:
        person = view.person(person_id, user)
        if person is None:
            continue
        in_file.add(person.id)
        for agent_source_id in user.agent_source_ids:
            agent = view.lookup(person.school_id, agent_source_id)
            if agent is None:
                rejected.append(_agent_not_found(users, user, agent_source_id))
                continue
            is_link, row_is_parent = parent_link(Profile(person.profile), Profile(agent.profile))
            if not is_link:
                rejected.append(
                    reject(
                        file,
                        user.line,
                        N_(
                            "the agent '{agent}' cannot be linked: a parent link joins a "
                            "parent or guardian to a pupil. The user itself was imported."
                        ),
                        agent=agent_source_id,
                    )
                )
                continue
            parent, child = (person, agent) if row_is_parent else (agent, person)
            wanted[(parent.id, child.id)] = child.school_id
    links = view.directory.links
    writes = LinkWrites()
    for pair, school_id in wanted.items():
        if pair not in links:
            writes.inserts_tuples.append((pair[0], pair[1], school_id))
    unchanged = len(wanted) - len(writes.inserts_tuples)
    if users.mode is FileMode.BULK:
        stale = {
            pair
            for pair in links
            if pair[0] in in_file and pair[1] in in_file and pair not in wanted
        }
    else:
        stale = set()
    stale |= {pair for pair in links if pair[0] in deactivated_ids or pair[1] in deactivated_ids}
    writes.deleted_pairs = sorted(stale)
    rejected.sort(key=lambda row: row.line)
    return writes, rejected, (len(writes.inserts_tuples), unchanged, len(stale))


async def write_links(connection: AsyncConnection, writes: LinkWrites, stage: Stage) -> None:
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    statement = insert(parent_links).on_conflict_do_nothing()
    rows = [
        {"parent_id": parent_id, "child_id": child_id, "school_id": school_id}
        for parent_id, child_id, school_id in writes.inserts_tuples
    ]
    for chunk in chunks(rows, CHUNK):
        await connection.execute(statement, list(chunk))
        stage.advance(len(chunk))
    for chunk in chunks(writes.deleted_pairs, LOOKUP_CHUNK):
        await connection.execute(
            parent_links.delete().where(
                sa.tuple_(parent_links.c.parent_id, parent_links.c.child_id).in_(list(chunk))
            )
        )
        stage.advance(len(chunk))


def _agent_not_found(
    users: ParsedFile[UserRecord], user: UserRecord, agent_source_id: str
) -> RejectedRow:
    refused_line = users.refused.get(agent_source_id)
    if refused_line is not None:
        return reject(
            users.file,
            user.line,
            N_(
                "the agent '{agent}' was refused (line {agent_line}), so no "
                "parent link was made; the user itself was imported."
            ),
            agent=agent_source_id,
            agent_line=refused_line,
        )
    return reject(
        users.file,
        user.line,
        N_(
            "the agent '{agent}' is not a user in this import or in "
            "Préau, so no parent link was made; the user itself was "
            "imported."
        ),
        agent=agent_source_id,
    )
