"""Messages API: conversations, announcements with read receipts, unread counts (with
ETag for cheap polling), reports and moderation, school rules and personal preferences."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from litestar import Request, Response, Router, get, post, put
from litestar.openapi.datastructures import ResponseSpec
from litestar.params import FromQuery, JSONBody
from litestar.response import Stream

from preau.actions import messages
from preau.actions.context import Services
from preau.asgi import Scope
from preau.domain.messages import (
    AnnouncementDraft,
    AnnouncementsPage,
    AnnouncementView,
    ArchiveChange,
    Contacts,
    ConversationDraft,
    ConversationView,
    InboxPage,
    NotificationPreferences,
    Receipts,
    ReplyDraft,
    ReportDraft,
    ReportView,
    SchoolMessaging,
    UnreadCounts,
)
from preau.domain.people import Actor
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.guards import signed_in
from preau.web.messages import attachment_response
from preau.web.params import IdPath, Page, PageSize, Search
from preau.web.warm import JSON, Warm, WarmRead, cached_response

Req = Request[Any, Any, Any]
TAGS = ["messages"]


class Created(msgspec.Struct, kw_only=True):
    id: int


# The first page of the inbox and the unread counts, kept per person until a live event
# concerning them, answered warm before the router (see ``web/warm.py``).
Kept = tuple[bytes, str]  # the JSON and its quoted ETag


def own_first_page(services: Services, actor: Actor, scope: Scope) -> int | None:
    """Who it is for: anyone, reading their own with no search and no other page."""
    del services
    return None if scope["query_string"] else actor.person_id


def kept_read(
    path: str, name: str, read: Callable[[Services, Actor], Awaitable[Kept]]
) -> WarmRead[int, Kept]:
    """A read kept per person under ``name`` in this process's cache (``live.PersonCache``)."""

    def find(services: Services, actor: Actor, person_id: int) -> Kept | None:
        del actor
        return services.live.cache.get(person_id, name)

    async def load(services: Services, actor: Actor, person_id: int) -> Kept:
        del person_id  # one's own
        return await read(services, actor)

    def answer(services: Services, entry: Kept, scope: Scope) -> Warm:
        del services, scope
        return entry[0], entry[1].encode()

    return WarmRead(
        path=path, media_type=JSON, key=own_first_page, find=find, load=load, answer=answer
    )


INBOX_JSON = kept_read("/api/v1/conversations", "inbox", messages.inbox_cached)
UNREAD_JSON = kept_read("/api/v1/unread", "unread", messages.unread_counts_cached)


@get(
    "/api/v1/unread",
    tags=TAGS,
    summary="My unread messages and announcements (send If-None-Match: answers 304 if unchanged)",
    description=(
        "For live updates, open GET /live (text/event-stream): each `unread` event carries "
        "the same counts, the kind of change and whether to notify (not in quiet hours). "
        "Poll this endpoint with the ETag where Server-Sent Events are not available."
    ),
    responses={200: ResponseSpec(data_container=UnreadCounts, description="Unread counts")},
)
async def unread(request: Req, services: AppServices, actor: SignedInActor) -> Response[bytes]:
    return await UNREAD_JSON.respond(request, services, actor, actor.person_id)


@get(
    "/api/v1/conversations",
    tags=TAGS,
    summary="My conversations, newest first; q searches my own messages",
    responses={200: ResponseSpec(data_container=InboxPage, description="A page of conversations")},
)
async def inbox(
    request: Req,
    services: AppServices,
    actor: SignedInActor,
    *,
    q: Search = "",
    archived: FromQuery[bool] = False,
    page: Page = 1,
    page_size: PageSize = messages.INBOX_PAGE_SIZE,
) -> Response[bytes]:
    if not q and not archived and page == 1 and page_size == messages.INBOX_PAGE_SIZE:
        return await INBOX_JSON.respond(request, services, actor, actor.person_id)
    found: InboxPage = await messages.list_inbox(
        services, actor, archived=archived, query=q, page=page, page_size=page_size
    )
    body = msgspec.json.encode(found)
    return cached_response(request, body, messages.etag_of(body), JSON.decode())


@post("/api/v1/conversations", tags=TAGS, summary="Start a conversation")
async def conversation_start(
    services: AppServices, actor: SignedInActor, data: JSONBody[ConversationDraft]
) -> Created:
    conversation_id = await messages.start_conversation(services, actor, data)
    return Created(id=conversation_id)


@get(
    "/api/v1/conversations/{conversation_id:int}",
    tags=TAGS,
    summary="A conversation and its messages (does not mark it read)",
)
async def conversation_get(
    services: AppServices, actor: SignedInActor, conversation_id: IdPath
) -> ConversationView:
    return await messages.get_conversation(services, actor, conversation_id)


@post(
    "/api/v1/conversations/{conversation_id:int}/messages",
    tags=TAGS,
    summary="Reply in a conversation",
)
async def conversation_reply(
    services: AppServices,
    actor: SignedInActor,
    conversation_id: IdPath,
    data: JSONBody[ReplyDraft],
) -> Created:
    message_id = await messages.reply(
        services,
        actor,
        conversation_id,
        data.body,
        data.attachments,
    )
    return Created(id=message_id)


@get(
    "/api/v1/message-attachments/{attachment_id:int}",
    tags=TAGS,
    summary="Download a file attached to a message I may read",
    responses={200: ResponseSpec(data_container=bytes, description="The file's bytes")},
)
async def attachment_get(
    services: AppServices, actor: SignedInActor, attachment_id: IdPath
) -> Stream:
    found = await messages.open_attachment(services, actor, attachment_id)
    return attachment_response(found)


@post(
    "/api/v1/conversations/{conversation_id:int}/read",
    tags=TAGS,
    summary="Mark a conversation as read",
    status_code=204,
)
async def conversation_read(
    services: AppServices, actor: SignedInActor, conversation_id: IdPath
) -> None:
    await messages.mark_conversation_read(services, actor, conversation_id)


@put(
    "/api/v1/conversations/{conversation_id:int}/archived",
    tags=TAGS,
    summary="Archive a conversation or bring it back to the inbox",
    status_code=204,
)
async def conversation_archive(
    services: AppServices,
    actor: SignedInActor,
    conversation_id: IdPath,
    data: JSONBody[ArchiveChange],
) -> None:
    await messages.set_archived(services, actor, conversation_id, data.archived)


@get("/api/v1/contacts", tags=TAGS, summary="People, classes and groups I may pick as recipients")
async def contacts(
    services: AppServices,
    actor: SignedInActor,
    *,
    q: Search = "",
) -> Contacts:
    return await messages.list_contacts(services, actor, query=q)


@post(
    "/api/v1/messages/{message_id:int}/reports",
    tags=TAGS,
    summary="Report a message to the school staff",
    status_code=204,
)
async def message_report(
    services: AppServices,
    actor: SignedInActor,
    message_id: IdPath,
    data: JSONBody[ReportDraft],
) -> None:
    await messages.report_message(services, actor, message_id, data.reason)


@post(
    "/api/v1/messages/{message_id:int}/hide",
    tags=TAGS,
    summary="Hide a message for everyone (school staff)",
    status_code=204,
)
async def message_hide(services: AppServices, actor: SignedInActor, message_id: IdPath) -> None:
    await messages.hide_message(services, actor, message_id)


@get("/api/v1/message-reports", tags=TAGS, summary="Open reports of my school (school staff)")
async def reports(services: AppServices, actor: SignedInActor) -> list[ReportView]:
    return await messages.list_reports(services, actor)


@post(
    "/api/v1/message-reports/{report_id:int}/dismiss",
    tags=TAGS,
    summary="Close a report and leave the message (school staff)",
    status_code=204,
)
async def report_dismiss(services: AppServices, actor: SignedInActor, report_id: IdPath) -> None:
    await messages.dismiss_report(services, actor, report_id)


@get(
    "/api/v1/announcements",
    tags=TAGS,
    summary="Announcements I received (or sent=true: that I posted, with read counts)",
)
async def announcements_list(
    services: AppServices,
    actor: SignedInActor,
    *,
    sent: FromQuery[bool] = False,
    page: Page = 1,
    page_size: PageSize = 30,
) -> AnnouncementsPage:
    return await messages.list_announcements(
        services,
        actor,
        sent=sent,
        page=page,
        page_size=page_size,
    )


@post(
    "/api/v1/announcements",
    tags=TAGS,
    summary="Post an announcement to classes or groups (and their parents)",
)
async def announcement_post(
    services: AppServices, actor: SignedInActor, data: JSONBody[AnnouncementDraft]
) -> Created:
    announcement_id = await messages.post_announcement(services, actor, data)
    return Created(id=announcement_id)


@get(
    "/api/v1/announcements/{announcement_id:int}",
    tags=TAGS,
    summary="One announcement (does not mark it read)",
)
async def announcement_get(
    services: AppServices, actor: SignedInActor, announcement_id: IdPath
) -> AnnouncementView:
    return await messages.get_announcement(services, actor, announcement_id)


@post(
    "/api/v1/announcements/{announcement_id:int}/read",
    tags=TAGS,
    summary="Mark an announcement as read (its receipt)",
    status_code=204,
)
async def announcement_read(
    services: AppServices, actor: SignedInActor, announcement_id: IdPath
) -> None:
    await messages.mark_announcement_read(services, actor, announcement_id)


@get(
    "/api/v1/announcements/{announcement_id:int}/receipts",
    tags=TAGS,
    summary="Who read an announcement and who has not yet (its author and school staff)",
)
async def announcement_receipts(
    services: AppServices, actor: SignedInActor, announcement_id: IdPath
) -> Receipts:
    return await messages.announcement_receipts(services, actor, announcement_id)


@get("/api/v1/messaging-settings", tags=TAGS, summary="My school's messaging rules and quiet hours")
async def settings_get(services: AppServices, actor: SignedInActor) -> SchoolMessaging:
    return await messages.get_messaging_settings(services, actor)


@put(
    "/api/v1/messaging-settings",
    tags=TAGS,
    summary="Change my school's messaging rules and quiet hours (school staff)",
)
async def settings_put(
    services: AppServices, actor: SignedInActor, data: JSONBody[SchoolMessaging]
) -> SchoolMessaging:
    return await messages.update_messaging_settings(services, actor, data)


@get("/api/v1/notification-preferences", tags=TAGS, summary="My notification preferences")
async def preferences_get(services: AppServices, actor: SignedInActor) -> NotificationPreferences:
    return await messages.get_preferences(services, actor)


@put(
    "/api/v1/notification-preferences",
    tags=TAGS,
    summary="Change my notification preferences (daily email digest on or off)",
)
async def preferences_put(
    services: AppServices, actor: SignedInActor, data: JSONBody[NotificationPreferences]
) -> NotificationPreferences:
    return await messages.set_preferences(services, actor, data)


routes = [
    Router(
        "/",
        guards=[signed_in],
        route_handlers=[
            unread,
            inbox,
            conversation_start,
            conversation_get,
            conversation_reply,
            attachment_get,
            conversation_read,
            conversation_archive,
            contacts,
            message_report,
            message_hide,
            reports,
            report_dismiss,
            announcements_list,
            announcement_post,
            announcement_get,
            announcement_read,
            announcement_receipts,
            settings_get,
            settings_put,
            preferences_get,
            preferences_put,
        ],
    )
]
