"""Small rules the import applies to records: which school year a class is taught in, and
which pairs of users a parent link joins."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from preau.domain.people import Profile
from preau.domain.roster.records import SessionRecord


def school_year_of(
    term_source_ids: Sequence[str], sessions: Mapping[str, SessionRecord]
) -> str | None:
    """The school year a class is taught in: its first term that is, or sits inside, one."""
    for term in term_source_ids:
        current: str | None = term
        seen: set[str] = set()
        while current is not None and current not in seen:
            seen.add(current)
            session = sessions.get(current)
            if session is None:
                break
            if session.is_school_year:
                return session.source_id
            current = session.parent_source_id
    return None


def parent_link(profile: Profile, agent_profile: Profile) -> tuple[bool, bool]:
    """(is a link, the row's user is the parent) for a user and one of their agents."""
    if profile is Profile.PARENT and agent_profile is Profile.PUPIL:
        return True, True
    if profile is Profile.PUPIL and agent_profile is Profile.PARENT:
        return True, False
    return False, False
