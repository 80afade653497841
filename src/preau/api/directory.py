"""Directory API: people, classes and groups, members, parent links, activation codes."""

from __future__ import annotations

import msgspec
from litestar import Router, get, patch, post
from litestar.params import FromQuery, JSONBody

from preau.actions import accounts, directory
from preau.domain.bounds import Ids, Input
from preau.domain.directory import (
    EnrolmentDraft,
    GroupChanges,
    GroupDraft,
    GroupsPage,
    GroupView,
    MemberView,
    ParentLinkDraft,
    PeoplePage,
    PersonChanges,
    PersonDraft,
    PersonView,
)
from preau.domain.people import Profile
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath, IdQuery, Page, PageSize, Search


class GroupDetail(msgspec.Struct, kw_only=True):
    group: GroupView
    members: list[MemberView]


class ActivationCode(msgspec.Struct, kw_only=True):
    person_id: int
    username: str
    given_name: str
    family_name: str
    profile: str
    code: str


class CodesRequest(Input, kw_only=True):
    person_ids: Ids | None = None
    reset: bool = False


@get("/api/v1/people", tags=["directory"], summary="List and search people of my school")
async def people_list(
    services: AppServices,
    actor: SignedInActor,
    *,
    q: Search = "",
    profile: FromQuery[Profile | None] = None,
    group_id: IdQuery = None,
    include_inactive: FromQuery[bool] = False,
    page: Page = 1,
    page_size: PageSize = 50,
) -> PeoplePage:
    return await directory.list_people(
        services,
        actor,
        query=q,
        profile=profile,
        group_id=group_id,
        include_inactive=include_inactive,
        page=page,
        page_size=page_size,
    )


@post("/api/v1/people", tags=["directory"], summary="Create a person (school admins)")
async def person_create(
    services: AppServices, actor: SignedInActor, data: JSONBody[PersonDraft]
) -> PersonView:
    return await directory.create_person(services, actor, data)


@get("/api/v1/people/{person_id:int}", tags=["directory"], summary="One person")
async def person_get(services: AppServices, actor: SignedInActor, person_id: IdPath) -> PersonView:
    return await directory.get_person(services, actor, person_id)


@patch(
    "/api/v1/people/{person_id:int}", tags=["directory"], summary="Change or deactivate a person"
)
async def person_patch(
    services: AppServices,
    actor: SignedInActor,
    person_id: IdPath,
    data: JSONBody[PersonChanges],
) -> PersonView:
    return await directory.update_person(services, actor, person_id, data)


@get(
    "/api/v1/people/{person_id:int}/relatives",
    tags=["directory"],
    summary="A pupil's parents or a parent's children",
)
async def person_relatives(
    services: AppServices, actor: SignedInActor, person_id: IdPath
) -> list[PersonView]:
    return await directory.relatives(services, actor, person_id)


@post(
    "/api/v1/parent-links", tags=["directory"], summary="Link a parent to a pupil", status_code=204
)
async def parent_link(
    services: AppServices, actor: SignedInActor, data: JSONBody[ParentLinkDraft]
) -> None:
    await directory.link_parent(services, actor, data)


@post(
    "/api/v1/parent-links/remove",
    tags=["directory"],
    summary="Unlink a parent and a pupil",
    status_code=204,
)
async def parent_unlink(
    services: AppServices, actor: SignedInActor, data: JSONBody[ParentLinkDraft]
) -> None:
    await directory.unlink_parent(services, actor, data)


@get("/api/v1/groups", tags=["directory"], summary="Classes and groups I may see")
async def groups_list(
    services: AppServices,
    actor: SignedInActor,
    *,
    q: Search = "",
    include_inactive: FromQuery[bool] = False,
    page: Page = 1,
    page_size: PageSize = 50,
) -> GroupsPage:
    return await directory.list_groups(
        services,
        actor,
        query=q,
        include_inactive=include_inactive,
        page=page,
        page_size=page_size,
    )


@post("/api/v1/groups", tags=["directory"], summary="Create a class or group (school admins)")
async def group_create(
    services: AppServices, actor: SignedInActor, data: JSONBody[GroupDraft]
) -> GroupView:
    return await directory.create_group(services, actor, data)


@get(
    "/api/v1/groups/{group_id:int}", tags=["directory"], summary="A class or group and its members"
)
async def group_get(services: AppServices, actor: SignedInActor, group_id: IdPath) -> GroupDetail:
    group, members = await directory.get_group(services, actor, group_id)
    return GroupDetail(group=group, members=members)


@patch("/api/v1/groups/{group_id:int}", tags=["directory"], summary="Change or deactivate a group")
async def group_patch(
    services: AppServices,
    actor: SignedInActor,
    group_id: IdPath,
    data: JSONBody[GroupChanges],
) -> GroupView:
    return await directory.update_group(services, actor, group_id, data)


@post(
    "/api/v1/groups/{group_id:int}/members",
    tags=["directory"],
    summary="Enrol a person",
    status_code=204,
)
async def group_enrol(
    services: AppServices,
    actor: SignedInActor,
    group_id: IdPath,
    data: JSONBody[EnrolmentDraft],
) -> None:
    await directory.enrol(services, actor, group_id, data)


@post(
    "/api/v1/groups/{group_id:int}/members/{person_id:int}/remove",
    tags=["directory"],
    summary="Remove a person from a class or group",
    status_code=204,
)
async def group_unenrol(
    services: AppServices, actor: SignedInActor, group_id: IdPath, person_id: IdPath
) -> None:
    await directory.unenrol(services, actor, group_id, person_id)


@post(
    "/api/v1/activation-codes",
    tags=["accounts"],
    summary="Issue activation codes (school admins); reset=true also clears passwords",
)
async def activation_codes(
    services: AppServices, actor: SignedInActor, data: JSONBody[CodesRequest]
) -> list[ActivationCode]:
    issued = await accounts.issue_activation_codes(
        services, actor, data.person_ids, reset=data.reset
    )
    return [ActivationCode(**item.__dict__) for item in issued]


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            people_list,
            person_create,
            person_get,
            person_patch,
            person_relatives,
            parent_link,
            parent_unlink,
            groups_list,
            group_create,
            group_get,
            group_patch,
            group_enrol,
            group_unenrol,
            activation_codes,
        ],
    ),
]
