"""The school admin's roster upload: a OneRoster zip in, the report out (page and API)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from preau import i18n
from preau.actions.roster.importer import import_roster
from preau.domain.errors import InvalidInput
from preau.domain.roster.records import FileStatus
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import school_admin
from preau.web.render import render, translate_error

Req = Request[Any, Any, Any]
MAX_UPLOAD_BYTES = 50 * 1024 * 1024

STATUS_LABELS = {
    FileStatus.APPLIED: i18n.lazy("applied"),
    FileStatus.ROLLED_BACK: i18n.lazy("rolled back: nothing from this file was saved"),
    FileStatus.REFUSED: i18n.lazy("refused"),
    FileStatus.ABSENT: i18n.lazy("absent"),
    FileStatus.NOT_READ: i18n.lazy("not read"),
}


async def read_zip(upload: UploadFile | None) -> bytes:
    if upload is None or not upload.filename:
        raise InvalidInput("Choose the OneRoster zip file to import.", field="roster")
    content = await upload.read(MAX_UPLOAD_BYTES + 1)
    if not content:
        raise InvalidInput("This file is empty.", field="roster")
    if len(content) > MAX_UPLOAD_BYTES:
        raise InvalidInput("This file is larger than 50 MB.", field="roster")
    if not content.startswith(b"PK"):
        raise InvalidInput(
            "This is not a zip file. Export the roster as OneRoster CSV in a .zip.", field="roster"
        )
    return content


@get("/admin/roster", include_in_schema=False)
async def roster_page(request: Req) -> Response[str]:
    return render(request, "admin/roster.html", report=None, labels=STATUS_LABELS)


@post("/admin/roster", include_in_schema=False, request_max_body_size=MAX_UPLOAD_BYTES + 65536)
async def roster_upload(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    data: Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)],
) -> Response[str]:
    upload = data.get("roster")
    try:
        content = await read_zip(upload if isinstance(upload, UploadFile) else None)
    except InvalidInput as error:
        return render(
            request,
            "admin/roster.html",
            status_code=400,
            report=None,
            labels=STATUS_LABELS,
            error=translate_error(error),
        )
    report = await import_roster(
        services.engine,
        content,
        now=services.now(),
        restrict_to_school_id=actor.school_id,
        source_name=str(upload.filename)[:200] if isinstance(upload, UploadFile) else "",
    )
    return render(
        request,
        "admin/roster.html",
        report=report,
        labels=STATUS_LABELS,
        describe=lambda row: row.describe(i18n.gettext),
    )


routes = [Router("/", guards=[school_admin], route_handlers=[roster_page, roster_upload])]
