"""The teacher's review of hand-ins: one pupil's work with the previous and next pupil
(optionally only those still to review), images and PDFs shown inline, return (then on to
the next pupil to review), missing, excused, extensions; and the inline file route.

The review pages keep the teacher's place in two query parameters carried by every link
and form: ``filter=to-review`` and ``back`` (the page the teacher came from, checked by
:func:`preau.domain.hand_in_review.safe_back`).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from litestar import Request, Response, Router, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Stream

from preau import i18n
from preau.actions import classwork
from preau.actions.classwork.files import preview
from preau.actions.context import Services
from preau.domain.classwork import ExtensionDraft, HandInAction, Review
from preau.domain.errors import InvalidInput, PreauError
from preau.domain.hand_in_review import (
    INLINE_IMAGES,
    TO_REVIEW,
    inline_disposition,
    needs_review,
    next_to_review,
    review_place,
    safe_back,
)
from preau.domain.people import STAFF_PROFILES, Actor
from preau.web.classwork import (
    STATE_ACTIONS,
    local_time,
    moment_formatter,
    number,
    pupil_homework_page,
    zone_for,
)
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath
from preau.web.render import render
from preau.web.render import translate_error as sentence

Req = Request[Any, Any, Any]

# Shown inline, the file keeps to itself: no script, no request of its own, a unique
# origin; only Préau's own pages may frame it (the edge layer's DENY is for pages).
# Chromium's PDF viewer still renders under ``sandbox`` (its viewer is the browser's, not
# the document's): tests/browser/test_review_in_browser.py shows it does.
INLINE_POLICY = "default-src 'none'; sandbox; frame-ancestors 'self'"


def place_query(request: Req, **extra: str) -> str:
    """The query string that keeps the teacher's place (filter, back) plus ``extra``."""
    values: dict[str, str] = {}
    if request.query_params.get("filter") == TO_REVIEW:
        values["filter"] = TO_REVIEW
    back = safe_back(request.query_params.get("back"))
    if back:
        values["back"] = back
    values.update(extra)
    return "?" + urlencode(values) if values else ""


def review_address(homework_id: int, pupil_id: int, query: str) -> str:
    return f"/homework/{homework_id}/hand-ins/{pupil_id}{query}"


@get("/homework/{homework_id:int}/hand-ins/{pupil_id:int}", include_in_schema=False)
async def hand_in_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
    pupil_id: IdPath,
) -> Response[Any]:
    if actor.profile not in STAFF_PROFILES:
        return await pupil_homework_page(request, services, actor, homework_id, pupil_id)
    return await review_page(request, services, actor, homework_id, pupil_id)


async def review_page(
    request: Req,
    services: Services,
    actor: Actor,
    homework_id: int,
    pupil_id: int,
    *,
    error: PreauError | None = None,
) -> Response[Any]:
    work = await classwork.get_homework(services, actor, homework_id)
    hand_in = await classwork.get_hand_in(services, actor, homework_id, pupil_id)
    everyone = await classwork.hand_ins_of(services, actor, homework_id)
    to_review_only = request.query_params.get("filter") == TO_REVIEW
    place = review_place(
        [(h.pupil_id, h.state) for h in everyone], pupil_id, to_review_only=to_review_only
    )
    names = {h.pupil_id: h.pupil_name for h in everyone}
    zone = await zone_for(services, actor)
    back = safe_back(request.query_params.get("back"))
    return render(
        request,
        "classwork/hand_in.html",
        status_code=error.status if error else 200,
        work=work,
        hand_in=hand_in,
        place=place,
        names=names,
        to_review_only=to_review_only,
        to_review_count=sum(1 for h in everyone if needs_review(h.state)),
        query=place_query(request),
        all_query=place_query(request, filter=""),
        filter_query=place_query(request, filter=TO_REVIEW),
        homework_query=("?" + urlencode({"back": back})) if back else "",
        inline_images=INLINE_IMAGES,
        when=moment_formatter(zone, i18n.current_locale.get()),
        error=sentence(error) if error else None,
        done=request.query_params.get("done", ""),
        returned=names.get(int(r))
        if (r := request.query_params.get("returned", "")).isdigit()
        else None,
    )


@post("/homework/{homework_id:int}/hand-ins/{pupil_id:int}/return", include_in_schema=False)
async def return_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
    pupil_id: IdPath,
) -> Response[Any]:
    """Return the work, then on to the next pupil whose work waits (round the list), or
    back to the homework when nobody's does."""
    form = await request.form()
    try:
        await classwork.review_hand_in(
            services,
            actor,
            homework_id,
            pupil_id,
            action=HandInAction.RETURN,
            review=Review(
                feedback=str(form.get("feedback", "")),
                mark=number(str(form.get("mark", "")), "mark"),
                mark_out_of=number(str(form.get("mark_out_of", "")), "mark_out_of"),
            ),
        )
    except PreauError as error:
        if error.status in (401, 403, 404):
            raise
        return await review_page(request, services, actor, homework_id, pupil_id, error=error)
    everyone = await classwork.hand_ins_of(services, actor, homework_id)
    following = next_to_review([(h.pupil_id, h.state) for h in everyone], pupil_id)
    if following is None:
        back = safe_back(request.query_params.get("back"))
        query = urlencode({"done": "all-returned", **({"back": back} if back else {})})
        return Redirect(f"/homework/{homework_id}?{query}#hand-ins")
    query = place_query(request, done="returned", returned=str(pupil_id))
    return Redirect(review_address(homework_id, following, query))


@post("/homework/{homework_id:int}/hand-ins/{pupil_id:int}/state", include_in_schema=False)
async def state_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
    pupil_id: IdPath,
) -> Response[Any]:
    form = await request.form()
    action = STATE_ACTIONS.get(str(form.get("action", "")))
    try:
        if action is None:
            raise InvalidInput("Choose what to do from the buttons.", field="action")
        await classwork.review_hand_in(services, actor, homework_id, pupil_id, action=action)
    except PreauError as error:
        if error.status in (401, 403, 404):
            raise
        return await review_page(request, services, actor, homework_id, pupil_id, error=error)
    return Redirect(review_address(homework_id, pupil_id, place_query(request, done="saved")))


@post("/homework/{homework_id:int}/hand-ins/{pupil_id:int}/extension", include_in_schema=False)
async def extension_page(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    homework_id: IdPath,
    pupil_id: IdPath,
) -> Response[Any]:
    form = await request.form()
    try:
        due = local_time(str(form.get("due_at", "")), "due_at")
        draft = None
        if due is not None and form.get("remove") != "1":
            draft = ExtensionDraft(
                due_at=due, cutoff_at=local_time(str(form.get("cutoff_at", "")), "cutoff_at")
            )
        await classwork.grant_extension(services, actor, homework_id, pupil_id, draft=draft)
    except PreauError as error:
        if error.status in (401, 403, 404):
            raise
        return await review_page(request, services, actor, homework_id, pupil_id, error=error)
    return Redirect(review_address(homework_id, pupil_id, place_query(request, done="saved")))


@get("/files/{file_id:str}/inline", include_in_schema=False)
async def inline_file_page(
    services: AppServices, actor: SignedInActor, file_id: FromPath[str]
) -> Stream:
    """An image or a PDF the actor may read, to show in the page; anything else is a 404
    (it stays a download at ``/files/<id>``)."""
    shown = await preview(services, actor, file_id[:64])
    return Stream(
        shown.chunks,
        media_type=shown.content_type,
        headers={
            "content-disposition": inline_disposition(shown.view.name),
            "content-length": str(shown.view.size),
            "cache-control": "private, max-age=3600",
            "content-security-policy": INLINE_POLICY,
            "x-content-type-options": "nosniff",
            "x-frame-options": "SAMEORIGIN",
            "cross-origin-resource-policy": "same-origin",
        },
    )


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[hand_in_page, return_page, state_page, extension_page, inline_file_page],
    )
]
