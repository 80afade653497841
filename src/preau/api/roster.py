"""Roster import through the API: a OneRoster zip in, the report out (school admins)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from preau.actions.access import access_school_directory
from preau.actions.roster.importer import import_roster
from preau.api.accounts import require_session
from preau.domain.access import Action
from preau.domain.roster.report import RosterReport
from preau.web.render import services_of
from preau.web.roster import MAX_UPLOAD_BYTES, read_zip

Req = Request[Any, Any, Any]


@post(
    "/api/v1/roster-imports",
    tags=["directory"],
    request_max_body_size=MAX_UPLOAD_BYTES + 65536,
    summary="Import a OneRoster 1.2 CSV zip into my school (school admins)",
)
async def roster_upload_api(
    request: Req,
    data: Annotated[dict[str, UploadFile], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> RosterReport:
    session = require_session(request)
    access_school_directory(session.actor, Action.CHANGE)
    upload = data.get("roster")
    content = await read_zip(upload)
    services = services_of(request)
    return await import_roster(
        services.engine,
        content,
        now=services.now(),
        restrict_to_school_id=session.actor.school_id,
        source_name=str(upload.filename)[:200] if upload else "",
    )


routes = [roster_upload_api]
