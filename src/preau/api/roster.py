"""Roster import through the API: a OneRoster zip in, the report out (school admins)."""

from __future__ import annotations

from typing import Annotated

from litestar import Router, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from preau.actions.roster.importer import import_roster
from preau.domain.roster.report import RosterReport
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import school_admin
from preau.web.roster import MAX_UPLOAD_BYTES, read_zip


@post(
    "/api/v1/roster-imports",
    tags=["directory"],
    request_max_body_size=MAX_UPLOAD_BYTES + 65536,
    summary="Import a OneRoster 1.2 CSV zip into my school (school admins)",
)
async def roster_upload_api(
    services: AppServices,
    actor: SignedInActor,
    data: Annotated[dict[str, UploadFile], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> RosterReport:
    upload = data.get("roster")
    content = await read_zip(upload)
    return await import_roster(
        services.engine,
        content,
        now=services.now(),
        restrict_to_school_id=actor.school_id,
        source_name=str(upload.filename)[:200] if upload else "",
    )


routes = [Router("/", guards=[school_admin], route_handlers=[roster_upload_api])]
