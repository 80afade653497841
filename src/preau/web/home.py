"""The home page of each profile (later areas add their panels here)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get
from litestar.params import FromQuery

from preau.actions.directory import my_groups, relatives, school_name
from preau.domain.people import Profile
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.render import render


@get("/home", include_in_schema=False)
async def home(
    request: Request[Any, Any, Any],
    services: AppServices,
    actor: SignedInActor,
    welcome: FromQuery[str | None] = None,
) -> Response[Any]:
    children = []
    if actor.profile is Profile.PARENT:
        children = await relatives(services, actor, actor.person_id)
    return render(
        request,
        f"home_{actor.profile.value}.html",
        school=await school_name(services, actor.school_id),
        groups=await my_groups(services, actor),
        children=children,
        welcome=welcome is not None,
    )


routes = [Router("/", guards=[signed_in], route_handlers=[home])]
