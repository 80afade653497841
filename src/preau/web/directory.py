"""School admin pages: people, classes and groups, activation codes, roster upload."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.params import FromQuery
from litestar.response import Redirect

from preau import i18n
from preau.actions import accounts, directory
from preau.actions.directory import list_groups, list_people
from preau.domain.directory import (
    EnrolmentDraft,
    GroupChanges,
    GroupDraft,
    ParentLinkDraft,
    PersonChanges,
    PersonDraft,
)
from preau.domain.errors import InvalidInput, PreauError
from preau.domain.people import EnrolmentRole, GroupKind, Profile
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import school_admin
from preau.web.params import IdPath, Page, Search, form_id
from preau.web.render import render, translate_error

Req = Request[Any, Any, Any]


def _profile(value: str) -> Profile:
    try:
        return Profile(value)
    except ValueError:
        raise InvalidInput("Choose a profile from the list.", field="profile") from None


def _int(value: Any, field: str) -> int:
    return form_id(value, field, i18n.lazy("Choose someone from the list."))


@get("/admin/people", include_in_schema=False)
async def people_list(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    *,
    q: Search = "",
    profile: FromQuery[str] = "",
    page: Page = 1,
    inactive: FromQuery[bool] = False,
) -> Response[str]:
    result = await list_people(
        services,
        actor,
        query=q[:100],
        profile=_profile(profile) if profile else None,
        include_inactive=inactive,
        page=max(page, 1),
        page_size=50,
    )
    return render(
        request,
        "admin/people.html",
        result=result,
        q=q,
        profile=profile,
        inactive=inactive,
        profiles=list(Profile),
    )


@get("/admin/people/new", include_in_schema=False)
async def person_new(request: Req) -> Response[str]:
    return render(request, "admin/person_form.html", person=None, profiles=list(Profile), values={})


@post("/admin/people/new", include_in_schema=False)
async def person_create(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    form = await request.form()
    values = {
        key: str(form.get(key, ""))
        for key in ("given_name", "family_name", "profile", "username", "email")
    }
    try:
        person = await directory.create_person(
            services,
            actor,
            PersonDraft(
                given_name=values["given_name"],
                family_name=values["family_name"],
                profile=_profile(values["profile"]),
                username=values["username"] or None,
                email=values["email"] or None,
            ),
        )
    except PreauError as error:
        return render(
            request,
            "admin/person_form.html",
            status_code=error.status,
            person=None,
            profiles=list(Profile),
            values=values,
            error=translate_error(error),
            error_field=error.field,
        )
    return Redirect(f"/admin/people/{person.id}?done=created")


@get("/admin/people/{person_id:int}", include_in_schema=False)
async def person_detail(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    person_id: IdPath,
    done: FromQuery[str] = "",
) -> Response[str]:
    person = await directory.get_person(services, actor, person_id)
    return render(
        request,
        "admin/person.html",
        person=person,
        profiles=list(Profile),
        relatives=await directory.relatives(services, actor, person_id),
        done=done,
        values={},
    )


@post("/admin/people/{person_id:int}", include_in_schema=False)
async def person_update(
    request: Req, services: AppServices, actor: SignedInActor, person_id: IdPath
) -> Response[Any]:
    form = await request.form()
    values = {
        key: str(form.get(key, "")) for key in ("given_name", "family_name", "profile", "email")
    }
    try:
        await directory.update_person(
            services,
            actor,
            person_id,
            PersonChanges(
                given_name=values["given_name"],
                family_name=values["family_name"],
                profile=_profile(values["profile"]),
                email=values["email"],
            ),
        )
    except PreauError as error:
        person = await directory.get_person(services, actor, person_id)
        return render(
            request,
            "admin/person.html",
            status_code=error.status,
            person=person,
            profiles=list(Profile),
            relatives=await directory.relatives(services, actor, person_id),
            error=translate_error(error),
            values=values,
            done="",
        )
    return Redirect(f"/admin/people/{person_id}?done=saved")


@post("/admin/people/{person_id:int}/active", include_in_schema=False)
async def person_active(
    request: Req, services: AppServices, actor: SignedInActor, person_id: IdPath
) -> Redirect:
    form = await request.form()
    active = form.get("active") == "1"
    await directory.update_person(services, actor, person_id, PersonChanges(active=active))
    return Redirect(f"/admin/people/{person_id}?done={'reactivated' if active else 'deactivated'}")


@post("/admin/people/{person_id:int}/reset", include_in_schema=False)
async def person_reset(
    request: Req, services: AppServices, actor: SignedInActor, person_id: IdPath
) -> Response[str]:
    issued = await accounts.issue_activation_codes(services, actor, [person_id], reset=True)
    return render(request, "admin/codes.html", issued=issued, reset=True)


@post("/admin/people/{person_id:int}/link", include_in_schema=False)
async def person_link(
    request: Req, services: AppServices, actor: SignedInActor, person_id: IdPath
) -> Redirect:
    form = await request.form()
    other = _int(form.get("other_id", ""), "other_id")
    person = await directory.get_person(services, actor, person_id)
    draft = (
        ParentLinkDraft(parent_id=person_id, child_id=other)
        if person.profile is Profile.PARENT
        else ParentLinkDraft(parent_id=other, child_id=person_id)
    )
    if form.get("unlink") == "1":
        await directory.unlink_parent(services, actor, draft)
        return Redirect(f"/admin/people/{person_id}?done=unlinked")
    await directory.link_parent(services, actor, draft)
    return Redirect(f"/admin/people/{person_id}?done=linked")


@get("/admin/codes", include_in_schema=False)
async def codes_page(request: Req, services: AppServices, actor: SignedInActor) -> Response[str]:
    groups = await list_groups(services, actor, page_size=200)
    return render(request, "admin/codes_form.html", groups=groups.items)


@post("/admin/codes", include_in_schema=False)
async def codes_issue(request: Req, services: AppServices, actor: SignedInActor) -> Response[str]:
    form = await request.form()
    group = str(form.get("group_id", ""))
    person_ids = None
    if group:
        members = await list_people(
            services, actor, group_id=_int(group, "group_id"), page_size=200
        )
        person_ids = [person.id for person in members.items]
    issued = await accounts.issue_activation_codes(services, actor, person_ids)
    return render(request, "admin/codes.html", issued=issued, reset=False)


@get("/admin/groups", include_in_schema=False)
async def groups_list(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    *,
    q: Search = "",
    page: Page = 1,
    inactive: FromQuery[bool] = False,
) -> Response[str]:
    result = await list_groups(
        services,
        actor,
        query=q[:100],
        include_inactive=inactive,
        page=max(page, 1),
        page_size=50,
    )
    return render(
        request,
        "admin/groups.html",
        result=result,
        q=q,
        inactive=inactive,
        kinds=list(GroupKind),
        values={},
    )


@post("/admin/groups", include_in_schema=False)
async def group_create(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    form = await request.form()
    values = {key: str(form.get(key, "")) for key in ("name", "kind", "level", "subject")}
    try:
        kind = (
            GroupKind(values["kind"])
            if values["kind"] in {k.value for k in GroupKind}
            else GroupKind.CLASS
        )
        group = await directory.create_group(
            services,
            actor,
            GroupDraft(
                name=values["name"],
                kind=kind,
                level=values["level"] or None,
                subject=values["subject"] or None,
            ),
        )
    except PreauError as error:
        result = await list_groups(services, actor, page_size=50)
        return render(
            request,
            "admin/groups.html",
            status_code=error.status,
            result=result,
            q="",
            inactive=False,
            kinds=list(GroupKind),
            values=values,
            error=translate_error(error),
        )
    return Redirect(f"/admin/groups/{group.id}?done=created")


@get("/admin/groups/{group_id:int}", include_in_schema=False)
async def group_detail(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    group_id: IdPath,
    done: FromQuery[str] = "",
) -> Response[str]:
    group, members = await directory.get_group(services, actor, group_id)
    return render(
        request,
        "admin/group.html",
        group=group,
        members=members,
        done=done,
        roles=list(EnrolmentRole),
    )


@post("/admin/groups/{group_id:int}", include_in_schema=False)
async def group_update(
    request: Req, services: AppServices, actor: SignedInActor, group_id: IdPath
) -> Response[Any]:
    form = await request.form()
    changes = GroupChanges(
        name=str(form.get("name", "")) or None,
        level=str(form.get("level", "")),
        subject=str(form.get("subject", "")),
        active=None if "active" not in form else form.get("active") == "1",
    )
    await directory.update_group(services, actor, group_id, changes)
    return Redirect(f"/admin/groups/{group_id}?done=saved")


@post("/admin/groups/{group_id:int}/members", include_in_schema=False)
async def group_members(
    request: Req, services: AppServices, actor: SignedInActor, group_id: IdPath
) -> Redirect:
    form = await request.form()
    person_id = _int(form.get("person_id", ""), "person_id")
    if form.get("remove") == "1":
        await directory.unenrol(services, actor, group_id, person_id)
        return Redirect(f"/admin/groups/{group_id}?done=removed")
    role = EnrolmentRole.TEACHER if form.get("role") == "teacher" else EnrolmentRole.PUPIL
    await directory.enrol(
        services,
        actor,
        group_id,
        EnrolmentDraft(
            person_id=person_id, role=role, subject=str(form.get("subject", "")) or None
        ),
    )
    return Redirect(f"/admin/groups/{group_id}?done=added")


routes = [
    Router(
        "/",
        guards=[school_admin],
        route_handlers=[
            people_list,
            person_new,
            person_create,
            person_detail,
            person_update,
            person_active,
            person_reset,
            person_link,
            codes_page,
            codes_issue,
            groups_list,
            group_create,
            group_detail,
            group_update,
            group_members,
        ],
    )
]

_ = i18n
