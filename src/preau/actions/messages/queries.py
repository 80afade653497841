"""Query pieces the messages modules share: the people columns a query selects and the
``PersonRef`` built from them, ids cut into chunks for ``IN (...)`` lists, search patterns."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from preau.domain.messages import PersonRef, display_name
from preau.domain.people import Profile

IN_CHUNK = 900  # ids per IN (...) list, under SQLite's limit on parameters
SEARCH_WORDS = 5


def like_patterns(query: str) -> list[str]:
    """The first words of a search, lowercased, as ``LIKE`` patterns that find each one
    anywhere; the wildcards and backslashes a person types are dropped, not matched."""
    return [
        "%" + word.replace("\\", "").replace("%", "").replace("_", "") + "%"
        for word in query.lower().split()[:SEARCH_WORDS]
    ]


def chunks(ids: Sequence[int]) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), IN_CHUNK):
        yield ids[start : start + IN_CHUNK]


def person_ref(row: Any, prefix: str = "") -> PersonRef:
    mapping = row._mapping
    return PersonRef(
        id=int(mapping[f"{prefix}id"]),
        name=display_name(mapping[f"{prefix}given_name"], mapping[f"{prefix}family_name"]),
        profile=Profile(mapping[f"{prefix}profile"]),
    )


def people_columns(table: Any, prefix: str) -> list[sa.ColumnElement[Any]]:
    return [
        table.c.id.label(f"{prefix}id"),
        table.c.given_name.label(f"{prefix}given_name"),
        table.c.family_name.label(f"{prefix}family_name"),
        table.c.profile.label(f"{prefix}profile"),
    ]
