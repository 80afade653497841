"""The directory's shapes: drafts people and admins send, and the pages they get back."""

from __future__ import annotations

import msgspec

from preau.domain.bounds import Id, Input
from preau.domain.errors import InvalidInput
from preau.domain.people import (
    EnrolmentRole,
    GroupKind,
    Profile,
    check_email,
    check_name,
    check_username,
)

MAX_PAGE_SIZE = 200


class PersonDraft(Input, kw_only=True):
    given_name: str
    family_name: str
    profile: Profile
    username: str | None = None  # generated from the names when empty
    email: str | None = None


class PersonChanges(Input, kw_only=True):
    given_name: str | None = None
    family_name: str | None = None
    profile: Profile | None = None
    email: str | None = None
    active: bool | None = None


class GroupDraft(Input, kw_only=True):
    name: str
    kind: GroupKind = GroupKind.CLASS
    level: str | None = None
    subject: str | None = None


class GroupChanges(Input, kw_only=True):
    name: str | None = None
    level: str | None = None
    subject: str | None = None
    active: bool | None = None


class EnrolmentDraft(Input, kw_only=True):
    person_id: Id
    role: EnrolmentRole = EnrolmentRole.PUPIL
    subject: str | None = None


class ParentLinkDraft(Input, kw_only=True):
    parent_id: Id
    child_id: Id


class PersonView(msgspec.Struct, kw_only=True):
    id: int
    school_id: int
    profile: Profile
    username: str
    given_name: str
    family_name: str
    email: str | None
    active: bool
    activated: bool


class GroupView(msgspec.Struct, kw_only=True):
    id: int
    school_id: int
    kind: GroupKind
    name: str
    level: str | None
    subject: str | None
    active: bool
    member_count: int = 0


class MemberView(msgspec.Struct, kw_only=True):
    person_id: int
    given_name: str
    family_name: str
    profile: Profile
    role: EnrolmentRole
    subject: str | None


class Page(msgspec.Struct, kw_only=True):
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


class PeoplePage(Page, kw_only=True):
    items: list[PersonView]


class GroupsPage(Page, kw_only=True):
    items: list[GroupView]


def check_paging(page: int, page_size: int) -> tuple[int, int]:
    if page < 1:
        raise InvalidInput("The page number starts at 1.", field="page")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise InvalidInput("A page holds between 1 and 200 items.", field="page_size")
    return page, page_size


def check_person_draft(draft: PersonDraft) -> PersonDraft:
    return PersonDraft(
        given_name=check_name(draft.given_name, "given_name"),
        family_name=check_name(draft.family_name, "family_name"),
        profile=draft.profile,
        username=check_username(draft.username) if draft.username else None,
        email=check_email(draft.email),
    )


def check_group_name(name: str) -> str:
    return check_name(name, "name")


def optional_text(value: str | None, field: str, limit: int = 100) -> str | None:
    if value is None:
        return None
    value = " ".join(value.split())
    if len(value) > limit:
        raise InvalidInput(
            "This field is longer than {limit} characters.", field=field, limit=limit
        )
    return value or None
