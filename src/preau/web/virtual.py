"""Virtual class pages: my classes with their join buttons, starting an unscheduled one,
the class page itself, and janus.js served from Debian's libjs-janus-gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from babel.dates import format_datetime
from litestar import Request, Response, Router, get, post
from litestar.response import File, Redirect
from litestar.types import ControllerRouterHandler

from preau import i18n
from preau.actions import virtual
from preau.actions.context import Services
from preau.actions.directory import my_groups
from preau.actions.zones import school_zone
from preau.domain.errors import NotFound, PreauError
from preau.domain.people import STAFF_PROFILES, Actor
from preau.domain.virtual import UNAVAILABLE
from preau.web import virtual_room
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.middleware import CONTENT_SECURITY_POLICY
from preau.web.params import IdPath, form_id
from preau.web.render import render, translate_error

Req = Request[Any, Any, Any]

JANUS_JS = Path("/usr/share/javascript/janus-gateway/janus.js")  # Debian: libjs-janus-gateway
JANUS_JS_MISSING = i18n.lazy(
    "janus.js is not installed on this server (Debian package libjs-janus-gateway), so "
    "virtual classes cannot open. Ask the administrator to install it."
)
BAD_GROUP = i18n.lazy("Choose a class or group from the list.")


def available(services: Services) -> bool:
    pool = services.janus
    return pool is not None and pool.configured and pool.any_available()


async def moment(services: Services, actor: Actor) -> Any:
    """Shows a moment in the school's time zone and the reader's language."""
    zone = await school_zone(services, actor.school_id)
    locale = i18n.current_locale.get()
    return lambda value: format_datetime(value, "EEEE d MMMM, HH:mm", tzinfo=zone, locale=locale)


@get("/virtual", include_in_schema=False)
async def rooms_page(request: Req, services: AppServices, actor: SignedInActor) -> Response[str]:
    teaching = []
    if actor.profile in STAFF_PROFILES:
        teaching = list(await my_groups(services, actor))
    return render(
        request,
        "virtual/rooms.html",
        rooms=await virtual.my_rooms(services, actor),
        available=available(services),
        unavailable=i18n.gettext(UNAVAILABLE),
        teaching=teaching,
        when=await moment(services, actor),
    )


@post("/virtual/start", include_in_schema=False)
async def start(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    form = await request.form()
    group_id = form_id(form.get("group_id", ""), "group_id", BAD_GROUP)
    try:
        room = await virtual.start_unscheduled(
            services, actor, group_id, title=str(form.get("title", ""))
        )
    except PreauError as error:
        return render(
            request,
            "virtual/rooms.html",
            status_code=error.status,
            rooms=await virtual.my_rooms(services, actor),
            available=available(services),
            unavailable=i18n.gettext(UNAVAILABLE),
            teaching=await my_groups(services, actor),
            when=await moment(services, actor),
            error=translate_error(error),
        )
    return Redirect(f"/virtual/rooms/{room.id}")


def class_page_policy(services: Services) -> str:
    """Préau's policy, plus the Janus nodes the page talks to (and nothing else)."""
    pool = services.janus
    origins = sorted(
        {
            f"{urlsplit(node.janus_url).scheme}://{urlsplit(node.janus_url).netloc}"
            for node in (pool.nodes if pool is not None else [])
        }
    )
    return CONTENT_SECURITY_POLICY.replace(
        "connect-src 'self'", " ".join(["connect-src 'self'", *origins])
    )


@get("/virtual/rooms/{room_id:int}", include_in_schema=False)
async def class_page(
    request: Req, services: AppServices, actor: SignedInActor, room_id: IdPath
) -> Response[str]:
    room = await virtual.get_room(services, actor, room_id)
    response = render(
        request,
        "virtual/room.html",
        room=room,
        available=available(services),
        unavailable=i18n.gettext(UNAVAILABLE),
        when=await moment(services, actor),
    )
    response.headers["content-security-policy"] = class_page_policy(services)
    return response


PROBE_BYTES = bytes(range(256)) * 768  # 192 KiB: about 1.5 s on a 1 Mbit/s line


@get("/virtual/probe", include_in_schema=False)
async def bandwidth_probe() -> Response[bytes]:
    """A fixed download the class page times to choose a mode and a video layer; never
    cached."""
    return Response(
        PROBE_BYTES,
        media_type="application/octet-stream",
        headers={"cache-control": "no-store"},
    )


@get("/janus-gateway/janus.js", include_in_schema=False)
async def janus_js() -> Response[Any]:
    """Debian's janus.js, never copied into Préau; a clear 404 when it is not installed."""
    if not await asyncio.to_thread(JANUS_JS.is_file):
        raise NotFound(JANUS_JS_MISSING)
    return File(
        path=JANUS_JS,
        media_type="text/javascript",
        content_disposition_type="inline",
        headers={"cache-control": "public, max-age=86400"},
    )


routes: list[ControllerRouterHandler] = [
    Router(
        "/", guards=[signed_in], route_handlers=[rooms_page, start, class_page, bandwidth_probe]
    ),
    janus_js,
    Router("/", guards=[signed_in], route_handlers=virtual_room.pages),
    virtual_room.room_stream,
]
