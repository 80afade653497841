"""The vie scolaire's accounts page: find a person of the school and give them a new
activation code (their password is cleared and their sessions end), as administrators
do; for pupils, parents and teachers only (:func:`preau.domain.access.activation_code_profiles`).
Administrators use it too; their own pages (``/admin/people``) do more."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, Router, get, post

from preau.actions import accounts
from preau.actions.directory import list_people
from preau.domain.access import activation_code_profiles
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath, Page, Search
from preau.web.render import render

Req = Request[Any, Any, Any]


@get("/school/accounts", include_in_schema=False)
async def accounts_page(
    request: Req, services: AppServices, actor: SignedInActor, *, q: Search = "", page: Page = 1
) -> Response[str]:
    result = await list_people(services, actor, query=q[:100], page=max(page, 1), page_size=50)
    return render(
        request,
        "admin/accounts.html",
        result=result,
        q=q,
        may_issue=activation_code_profiles(actor),
    )


@post("/school/accounts/{person_id:int}/code", include_in_schema=False)
async def issue_code(
    request: Req, services: AppServices, actor: SignedInActor, person_id: IdPath
) -> Response[str]:
    issued = await accounts.issue_activation_codes(services, actor, [person_id], reset=True)
    return render(request, "admin/codes.html", issued=issued, reset=True)


routes = [Router("/", guards=[signed_in], route_handlers=[accounts_page, issue_code])]
