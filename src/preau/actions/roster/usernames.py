"""Usernames for the people an import creates: the file's own when valid and free, otherwise
``base``, ``base2``, ``base3``… from their names, found with a few batched look-ups."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.roster.writes import LOOKUP_CHUNK, chunks
from preau.adapters.sql.schema import people
from preau.domain.people import InvalidInput, check_username


async def _taken_usernames(connection: AsyncConnection, candidates: Iterable[str]) -> set[str]:
    """Which of these usernames are already used. Usernames are unique across all schools,
    so this is the one look-up that does not filter on ``school_id``."""
    taken: set[str] = set()
    for chunk in chunks(sorted(set(candidates)), LOOKUP_CHUNK):
        result = await connection.execute(
            sa.select(people.c.username).where(people.c.username.in_(list(chunk)))
        )
        taken.update(result.scalars())
    return taken


async def allocate_usernames(
    connection: AsyncConnection, wanted: Sequence[tuple[str | None, str]]
) -> list[str]:
    """A free username for each (username from the file, base from the names).

    The file's username is used when it is valid and free; otherwise ``base``, ``base2``,
    ``base3``… as for people created by hand. A few batched look-ups per round, not one per
    person.
    """
    assigned: list[str | None] = [None] * len(wanted)
    used: set[str] = set()
    requested = _valid_requests(wanted)
    taken = await _taken_usernames(connection, requested.values())
    for index, username in requested.items():
        if username not in taken and username not in used:
            assigned[index] = username
            used.add(username)
    pending = [index for index, username in enumerate(assigned) if username is None]
    next_number: dict[str, int] = {}
    while pending:
        candidates = {index: _numbered(wanted[index][1], next_number, used) for index in pending}
        taken = await _taken_usernames(connection, candidates.values())
        pending = []
        for index, candidate in candidates.items():
            if candidate in taken:
                pending.append(index)  # ``used`` keeps it, so the next round skips it
            else:
                assigned[index] = candidate
    return [username for username in assigned if username is not None]


def _valid_requests(wanted: Sequence[tuple[str | None, str]]) -> dict[int, str]:
    """The usernames the file gives that are valid, by position in ``wanted``."""
    requested: dict[int, str] = {}
    for index, (username, _) in enumerate(wanted):
        if username:
            try:
                requested[index] = check_username(username)
            except InvalidInput:
                continue
    return requested


def _numbered(base: str, next_number: dict[str, int], used: set[str]) -> str:
    """The first of ``base``, ``base2``, ``base3``… this import has not tried yet; it is then
    marked as tried."""
    number = next_number.get(base, 1)
    candidate = base if number == 1 else f"{base}{number}"
    while candidate in used:
        number += 1
        candidate = f"{base}{number}"
    next_number[base] = number + 1
    used.add(candidate)
    return candidate
