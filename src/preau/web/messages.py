"""Pages for messages and announcements: inbox, compose, conversation, announcements with
read receipts, moderation of reported messages, school rules and personal preferences.

Text is shown escaped; only http(s) addresses become links (``linkify``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from litestar import Request, Response, Router, get, post
from litestar.datastructures import FormMultiDict, UploadFile
from litestar.params import FromQuery
from litestar.response import Redirect, Stream
from markupsafe import Markup, escape

from preau import i18n
from preau.actions import messages
from preau.actions.context import Services
from preau.actions.messages.attachments import AttachmentDownload
from preau.actions.zones import school_zone
from preau.asgi import Scope
from preau.domain.classwork import attachment_disposition
from preau.domain.errors import InvalidInput, PreauError
from preau.domain.messages import (
    MODERATORS,
    AnnouncementDraft,
    AttachmentUpload,
    ConversationDraft,
    InboxPage,
    NotificationPreferences,
    SchoolMessaging,
    split_links,
)
from preau.domain.people import STAFF_PROFILES, Actor
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.params import IdPath, IdQuery, Page, Search, form_id, form_ids
from preau.web.render import environment, page_bytes, render, translate_error
from preau.web.warm import HTML, Warm, WarmRead, page_for_reader

Req = Request[Any, Any, Any]

SHOWN_VALUES = [
    i18n.lazy("Monday"),
    i18n.lazy("Tuesday"),
    i18n.lazy("Wednesday"),
    i18n.lazy("Thursday"),
    i18n.lazy("Friday"),
    i18n.lazy("Saturday"),
    i18n.lazy("Sunday"),
]
WEEKDAYS = list(enumerate(SHOWN_VALUES, start=1))


def linkify(text: str | None) -> Markup:
    """Escape plain text and turn its http(s) addresses into safe links."""
    if not text:
        return Markup("")
    pieces = []
    for piece, is_link in split_links(text):
        if is_link:
            pieces.append(
                Markup('<a href="{0}" rel="noopener noreferrer nofollow ugc">{0}</a>').format(piece)
            )
        else:
            pieces.append(escape(piece))
    return Markup("").join(pieces)


def moment(value: datetime | None, zone: ZoneInfo) -> str:
    """A stored moment as a date and time in the school's zone (``zone`` in the page)."""
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%d/%m/%Y %H:%M")


environment.filters["linkify"] = linkify
environment.filters["moment"] = moment


def _ids(values: list[Any], field: str) -> list[int]:
    return form_ids(values, field, i18n.lazy("Choose someone from the list."))


async def _uploads(form: FormMultiDict) -> list[AttachmentUpload]:
    """The files of a multipart form (an empty file field sends a nameless part)."""
    parts = form.getall("files") if "files" in form else []
    return [
        AttachmentUpload(name=item.filename, data=await item.read())
        for item in parts
        if isinstance(item, UploadFile) and item.filename
    ]


def attachment_response(found: AttachmentDownload) -> Stream:
    """Always a download with the sniffed type; a sandboxing policy stops the file from
    ever running as a page (``nosniff`` comes from the edge layer)."""
    return Stream(
        found.chunks,
        media_type=found.content_type,
        headers={
            "content-disposition": attachment_disposition(found.name),
            "content-length": str(found.size),
            "cache-control": "private, max-age=3600",
            "content-security-policy": "default-src 'none'; sandbox",
        },
    )


# -- inbox and conversations -------------------------------------------------------------


# The inbox page as most people open it (their own, first page, no search) is a warm
# read: rendered from the kept JSON of the inbox (``api/messages.INBOX_JSON``) once per
# locale, kept beside it and dropped with it by any event concerning the person.


@dataclass(slots=True)
class InboxEntry:
    person_id: int
    locale: str
    body: bytes  # the inbox's first page as JSON, as kept
    etag: str  # its quoted ETag
    page: bytes | None  # the page rendered from it in ``locale``, once done
    zone: ZoneInfo | None = None
    ticket: int = 0


def _page_name(locale: str) -> str:
    return f"inbox-page:{locale}"


def own_inbox_page(services: Services, actor: Actor, scope: Scope) -> tuple[int, str] | None:
    """Anyone reading their own first page, with no search, filter or confirmation."""
    del services
    if scope["query_string"]:
        return None
    return actor.person_id, scope["state"]["locale"]


def find_inbox_page(services: Services, actor: Actor, key: tuple[int, str]) -> InboxEntry | None:
    del actor
    person_id, locale = key
    cache = services.live.cache
    kept, page = cache.get(person_id, "inbox"), cache.get(person_id, _page_name(locale))
    if kept is None or page is None or page[1] != kept[1]:
        return None
    return InboxEntry(person_id, locale, kept[0], kept[1], page[0])


async def load_inbox_page(services: Services, actor: Actor, key: tuple[int, str]) -> InboxEntry:
    person_id, locale = key
    warm = find_inbox_page(services, actor, key)
    if warm is not None:
        return warm
    ticket = services.live.cache.ticket()
    body, etag = await messages.inbox_cached(services, actor)
    zone = await school_zone(services, actor.school_id)
    return InboxEntry(person_id, locale, body, etag, None, zone, ticket)


def inbox_page_answer(services: Services, entry: InboxEntry, scope: Scope) -> Warm | None:
    return page_for_reader(services, entry.page, entry.etag.strip('"'), scope)


def render_inbox_page(request: Req, actor: Actor, entry: InboxEntry) -> None:
    result = msgspec.json.decode(entry.body, type=InboxPage)
    entry.page = page_bytes(
        request,
        "messages/inbox.html",
        result=result,
        zone=entry.zone,
        q="",
        archived=False,
        done="",
        moderator=actor.profile in MODERATORS,
    )
    services: Services = request.app.state.services
    services.live.cache.put(
        entry.person_id, _page_name(entry.locale), entry.page, entry.etag, entry.ticket
    )


INBOX_PAGE = WarmRead(
    path="/messages",
    media_type=HTML,
    key=own_inbox_page,
    find=find_inbox_page,
    load=load_inbox_page,
    answer=inbox_page_answer,
    render=render_inbox_page,
)


@get("/messages", include_in_schema=False)
async def inbox(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    *,
    q: Search = "",
    archived: FromQuery[bool] = False,
    page: Page = 1,
    done: FromQuery[str] = "",
) -> Response[Any]:
    if not request.scope["query_string"]:
        key = (actor.person_id, request.scope["state"]["locale"])
        return await INBOX_PAGE.respond(request, services, actor, key)
    result = await messages.list_inbox(
        services, actor, archived=archived, query=q[:100], page=max(page, 1)
    )
    return render(
        request,
        "messages/inbox.html",
        result=result,
        zone=await school_zone(services, actor.school_id),
        q=q,
        archived=archived,
        done=done,
        moderator=actor.profile in MODERATORS,
    )


async def _compose(
    request: Req,
    services: Services,
    actor: Actor,
    *,
    values: dict[str, Any],
    q: str = "",
    error: PreauError | None = None,
) -> Response[str]:
    contacts = await messages.list_contacts(services, actor, query=q[:100])
    return render(
        request,
        "messages/compose.html",
        status_code=error.status if error else 200,
        contacts=contacts,
        values=values,
        q=q,
        error=translate_error(error) if error else None,
        error_field=error.field if error else None,
        may_address_groups=actor.profile in STAFF_PROFILES,
    )


@get("/messages/new", include_in_schema=False)
async def compose(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    q: Search = "",
    to: IdQuery = None,
) -> Response[str]:
    return await _compose(request, services, actor, values={"person_ids": [to] if to else []}, q=q)


@post("/messages/new", include_in_schema=False)
async def send(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    form = await request.form()
    values: dict[str, Any] = {
        "subject": str(form.get("subject", "")),
        "body": str(form.get("body", "")),
        "person_ids": form.getall("person_ids") if "person_ids" in form else [],
        "group_ids": form.getall("group_ids") if "group_ids" in form else [],
        "parents_of_group_ids": (
            form.getall("parents_of_group_ids") if "parents_of_group_ids" in form else []
        ),
        "replies_allowed": form.get("replies_allowed", "1") == "1",
    }
    try:
        conversation_id = await messages.start_conversation(
            services,
            actor,
            ConversationDraft(
                subject=values["subject"],
                body=values["body"],
                person_ids=_ids(values["person_ids"], "person_ids"),
                group_ids=_ids(values["group_ids"], "group_ids"),
                parents_of_group_ids=_ids(values["parents_of_group_ids"], "group_ids"),
                replies_allowed=values["replies_allowed"],
                attachments=await _uploads(form),
            ),
        )
    except PreauError as error:
        values["person_ids"] = [str(value) for value in values["person_ids"]]
        values["group_ids"] = [str(value) for value in values["group_ids"]]
        values["parents_of_group_ids"] = [str(v) for v in values["parents_of_group_ids"]]
        return await _compose(request, services, actor, values=values, error=error)
    return Redirect(f"/messages/{conversation_id}?done=sent")


async def _conversation_page(
    request: Req,
    services: Services,
    actor: Actor,
    conversation_id: int,
    *,
    done: str = "",
    error: PreauError | None = None,
    body: str = "",
) -> Response[str]:
    view = await messages.open_conversation(services, actor, conversation_id)
    return render(
        request,
        "messages/conversation.html",
        status_code=error.status if error else 200,
        conversation=view,
        zone=await school_zone(services, actor.school_id),
        done=done,
        body=body,
        error=translate_error(error) if error else None,
        error_field=error.field if error else None,
    )


@get("/messages/{conversation_id:int}", include_in_schema=False)
async def conversation(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    conversation_id: IdPath,
    done: FromQuery[str] = "",
) -> Response[str]:
    return await _conversation_page(request, services, actor, conversation_id, done=done)


@post("/messages/{conversation_id:int}/reply", include_in_schema=False)
async def reply(
    request: Req, services: AppServices, actor: SignedInActor, conversation_id: IdPath
) -> Response[Any]:
    form = await request.form()
    body = str(form.get("body", ""))
    try:
        await messages.reply(services, actor, conversation_id, body, await _uploads(form))
    except (InvalidInput, PreauError) as error:
        if error.status == 404:
            raise
        return await _conversation_page(
            request, services, actor, conversation_id, error=error, body=body
        )
    return Redirect(f"/messages/{conversation_id}?done=sent#last")


@get("/messages/attachments/{attachment_id:int}", include_in_schema=False)
async def attachment(services: AppServices, actor: SignedInActor, attachment_id: IdPath) -> Stream:
    return attachment_response(await messages.open_attachment(services, actor, attachment_id))


@post("/messages/{conversation_id:int}/archive", include_in_schema=False)
async def archive(
    request: Req, services: AppServices, actor: SignedInActor, conversation_id: IdPath
) -> Redirect:
    form = await request.form()
    archived = form.get("archived") == "1"
    await messages.set_archived(services, actor, conversation_id, archived)
    return Redirect(f"/messages?done={'archived' if archived else 'restored'}")


@post("/messages/items/{message_id:int}/report", include_in_schema=False)
async def report(
    request: Req, services: AppServices, actor: SignedInActor, message_id: IdPath
) -> Response[Any]:
    form = await request.form()
    given = str(form.get("conversation_id", "")).strip()
    conversation_id = form_id(given, "conversation_id") if given else 0
    try:
        await messages.report_message(services, actor, message_id, str(form.get("reason", "")))
    except PreauError as error:
        if error.status == 404 or not conversation_id:
            raise
        return await _conversation_page(request, services, actor, conversation_id, error=error)
    return Redirect(f"/messages/{conversation_id}?done=reported")


@post("/messages/items/{message_id:int}/hide", include_in_schema=False)
async def hide(
    request: Req, services: AppServices, actor: SignedInActor, message_id: IdPath
) -> Redirect:
    form = await request.form()
    await messages.hide_message(services, actor, message_id)
    back = str(form.get("back", ""))
    return Redirect(back if back.startswith("/messages") else "/messages/reports?done=hidden")


@get("/messages/reports", include_in_schema=False)
async def reports(
    request: Req, services: AppServices, actor: SignedInActor, done: FromQuery[str] = ""
) -> Response[str]:
    found = await messages.list_reports(services, actor)
    zone = await school_zone(services, actor.school_id)
    return render(request, "messages/reports.html", reports=found, zone=zone, done=done)


@post("/messages/reports/{report_id:int}/dismiss", include_in_schema=False)
async def dismiss(services: AppServices, actor: SignedInActor, report_id: IdPath) -> Redirect:
    await messages.dismiss_report(services, actor, report_id)
    return Redirect("/messages/reports?done=dismissed")


# -- settings and preferences ---------------------------------------------------------------


@get("/messages/settings", include_in_schema=False)
async def settings_page(
    request: Req, services: AppServices, actor: SignedInActor, done: FromQuery[str] = ""
) -> Response[str]:
    return render(
        request,
        "messages/settings.html",
        rules=await messages.get_messaging_settings(services, actor),
        preferences=await messages.get_preferences(services, actor),
        moderator=actor.profile in MODERATORS,
        weekdays=WEEKDAYS,
        done=done,
    )


@post("/messages/settings", include_in_schema=False)
async def settings_save(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    form = await request.form()
    try:
        days = _ids(form.getall("quiet_days") if "quiet_days" in form else [], "quiet_days")
        await messages.update_messaging_settings(
            services,
            actor,
            SchoolMessaging(
                pupils_write_to_class=form.get("pupils_write_to_class") == "1",
                pupils_write_to_teachers=form.get("pupils_write_to_teachers") == "1",
                parents_write_to_teachers=form.get("parents_write_to_teachers") == "1",
                quiet_enabled=form.get("quiet_enabled") == "1",
                quiet_from=str(form.get("quiet_from", "")),
                quiet_until=str(form.get("quiet_until", "")),
                quiet_days=days,
            ),
        )
    except PreauError as error:
        if error.status in (403, 404):
            raise
        return render(
            request,
            "messages/settings.html",
            status_code=error.status,
            rules=await messages.get_messaging_settings(services, actor),
            preferences=await messages.get_preferences(services, actor),
            moderator=True,
            weekdays=WEEKDAYS,
            done="",
            error=translate_error(error),
            error_field=error.field,
        )
    return Redirect("/messages/settings?done=rules")


@post("/messages/preferences", include_in_schema=False)
async def preferences_save(request: Req, services: AppServices, actor: SignedInActor) -> Redirect:
    form = await request.form()
    await messages.set_preferences(
        services,
        actor,
        NotificationPreferences(email_digest=form.get("email_digest") == "1"),
    )
    return Redirect("/messages/settings?done=preferences")


# -- announcements ----------------------------------------------------------------------------


@get("/announcements", include_in_schema=False)
async def announcements(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    page: Page = 1,
    done: FromQuery[str] = "",
) -> Response[str]:
    received = await messages.list_announcements(services, actor, page=max(page, 1))
    sent = None
    if actor.profile in STAFF_PROFILES:
        sent = await messages.list_announcements(services, actor, sent=True, page_size=50)
    return render(
        request,
        "messages/announcements.html",
        received=received,
        sent=sent,
        zone=await school_zone(services, actor.school_id),
        done=done,
        may_post=actor.profile in STAFF_PROFILES,
    )


async def _announce_form(
    request: Req,
    services: Services,
    actor: Actor,
    *,
    values: dict[str, Any],
    error: PreauError | None = None,
) -> Response[str]:
    contacts = await messages.list_contacts(services, actor)
    return render(
        request,
        "messages/announce.html",
        status_code=error.status if error else 200,
        groups=contacts.groups,
        values=values,
        error=translate_error(error) if error else None,
        error_field=error.field if error else None,
    )


@get("/announcements/new", include_in_schema=False)
async def announce_form(request: Req, services: AppServices, actor: SignedInActor) -> Response[str]:
    return await _announce_form(
        request, services, actor, values={"group_ids": [], "include_parents": False}
    )


@post("/announcements/new", include_in_schema=False)
async def announce(request: Req, services: AppServices, actor: SignedInActor) -> Response[Any]:
    form = await request.form()
    values: dict[str, Any] = {
        "title": str(form.get("title", "")),
        "body": str(form.get("body", "")),
        "group_ids": [str(v) for v in (form.getall("group_ids") if "group_ids" in form else [])],
        "include_parents": form.get("include_parents") == "1",
    }
    try:
        announcement_id = await messages.post_announcement(
            services,
            actor,
            AnnouncementDraft(
                title=values["title"],
                body=values["body"],
                group_ids=_ids(values["group_ids"], "group_ids"),
                include_parents=values["include_parents"],
            ),
        )
    except PreauError as error:
        return await _announce_form(request, services, actor, values=values, error=error)
    return Redirect(f"/announcements/{announcement_id}?done=posted")


@get("/announcements/{announcement_id:int}", include_in_schema=False)
async def announcement(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    announcement_id: IdPath,
    done: FromQuery[str] = "",
) -> Response[str]:
    view = await messages.open_announcement(services, actor, announcement_id)
    receipts = None
    if view.recipient_count is not None:
        receipts = await messages.announcement_receipts(services, actor, announcement_id)
    return render(
        request,
        "messages/announcement.html",
        announcement=view,
        receipts=receipts,
        zone=await school_zone(services, actor.school_id),
        done=done,
    )


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            inbox,
            compose,
            send,
            conversation,
            reply,
            attachment,
            archive,
            report,
            hide,
            reports,
            dismiss,
            settings_page,
            settings_save,
            preferences_save,
            announcements,
            announce_form,
            announce,
            announcement,
        ],
    )
]
