"""Virtual classes API, inside the room: the chat, polls, the whiteboard, breakout groups
and who stayed how long. The class page's live stream is ``GET /live/virtual/rooms/{id}``
(web/virtual_room.py)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Request, delete, get, post
from litestar.params import JSONBody, QueryParameter
from msgspec import Meta

from preau.actions.virtual import board, breakouts, chat, polls, presence
from preau.actions.virtual.board import BoardExport, BoardView, DrawnStroke
from preau.actions.virtual.breakouts import Breakouts
from preau.actions.virtual.chat import ChatMessage
from preau.actions.virtual.polls import PollView
from preau.actions.virtual.presence import PresenceLine
from preau.domain.bounds import Id, Input
from preau.domain.virtual_room import BREAKOUT_MAX_GROUPS, POLL_MAX_CHOICES, Stroke
from preau.web.dependencies import AppServices, SignedInActor
from preau.web.params import IdPath

TAGS = ["virtual"]
ROOM = "/api/v1/virtual/rooms/{room_id:int}"
UPLOAD_LIMIT = 9 * 1024 * 1024

# Bounds far past what the rules accept (domain/virtual_room.py says the real ones, in a
# sentence): only absurd bodies stop here.
PdfPage = Annotated[int, QueryParameter(ge=1, le=999)]
LongText = Annotated[str, Meta(max_length=20_000)]
ShortText = Annotated[str, Meta(max_length=2_000)]


class ChatRequest(Input, kw_only=True):
    body: LongText
    to_teacher: bool = False
    multiline = frozenset({"body"})


class MuteRequest(Input, kw_only=True):
    person_id: Id
    muted: bool


class PollRequest(Input, kw_only=True):
    question: ShortText
    choices: Annotated[list[ShortText], Meta(max_length=POLL_MAX_CHOICES * 4)]


class AnswerRequest(Input, kw_only=True):
    choice: Annotated[int, Meta(ge=0, le=100)]


class ShowRequest(Input, kw_only=True):
    shown: bool
    close: bool = False


class DrawRequest(Input, kw_only=True):
    pupils_draw: bool


class SplitRequest(Input, kw_only=True):
    groups: Annotated[int, Meta(ge=1, le=BREAKOUT_MAX_GROUPS * 5)] | None = None
    chosen: Annotated[dict[str, int], Meta(max_length=2000)] | None = None


# -- chat ----------------------------------------------------------------------------------


@get(f"{ROOM}/chat", tags=TAGS, summary="The chat: the newest messages I may read")
async def chat_list(
    services: AppServices, actor: SignedInActor, room_id: IdPath
) -> list[ChatMessage]:
    return await chat.chat_history(services, actor, room_id)


@post(f"{ROOM}/chat", tags=TAGS, summary="Post a chat message (public, or to the teacher)")
async def chat_post(
    services: AppServices, actor: SignedInActor, room_id: IdPath, data: JSONBody[ChatRequest]
) -> ChatMessage:
    return await chat.post_message(services, actor, room_id, data.body, to_teacher=data.to_teacher)


@delete(
    f"{ROOM}/chat/{{message_id:int}}",
    tags=TAGS,
    summary="Delete a chat message (the teacher)",
    status_code=204,
)
async def chat_delete(
    services: AppServices, actor: SignedInActor, room_id: IdPath, message_id: IdPath
) -> None:
    await chat.delete_message(services, actor, room_id, message_id)


@post(
    f"{ROOM}/mute",
    tags=TAGS,
    summary="Mute a pupil in the chat, or not (the teacher)",
    status_code=204,
)
async def chat_mute(
    services: AppServices, actor: SignedInActor, room_id: IdPath, data: JSONBody[MuteRequest]
) -> None:
    await chat.mute(services, actor, room_id, data.person_id, muted=data.muted)


# -- polls ---------------------------------------------------------------------------------


@get(f"{ROOM}/poll", tags=TAGS, summary="The newest poll (null when none)")
async def poll_current(
    services: AppServices, actor: SignedInActor, room_id: IdPath
) -> PollView | None:
    return await polls.current(services, actor, room_id)


@post(f"{ROOM}/polls", tags=TAGS, summary="Ask a poll (the teacher)")
async def poll_ask(
    services: AppServices, actor: SignedInActor, room_id: IdPath, data: JSONBody[PollRequest]
) -> PollView:
    return await polls.ask(services, actor, room_id, data.question, data.choices)


@post(f"{ROOM}/polls/{{poll_id:int}}/answer", tags=TAGS, summary="Answer a poll", status_code=200)
async def poll_answer(
    services: AppServices,
    actor: SignedInActor,
    room_id: IdPath,
    poll_id: IdPath,
    data: JSONBody[AnswerRequest],
) -> PollView:
    return await polls.answer(services, actor, room_id, poll_id, data.choice)


@post(
    f"{ROOM}/polls/{{poll_id:int}}/results",
    tags=TAGS,
    summary="Show the results to all, or hide them; close the poll (the teacher)",
    status_code=200,
)
async def poll_show(
    services: AppServices,
    actor: SignedInActor,
    room_id: IdPath,
    poll_id: IdPath,
    data: JSONBody[ShowRequest],
) -> PollView:
    return await polls.show(services, actor, room_id, poll_id, shown=data.shown, close=data.close)


# -- whiteboard ----------------------------------------------------------------------------


@get(f"{ROOM}/board", tags=TAGS, summary="The whiteboard as it is now")
async def board_get(services: AppServices, actor: SignedInActor, room_id: IdPath) -> BoardView:
    return await board.board(services, actor, room_id)


@post(f"{ROOM}/board/strokes", tags=TAGS, summary="Draw on the whiteboard")
async def board_draw(
    services: AppServices, actor: SignedInActor, room_id: IdPath, data: JSONBody[Stroke]
) -> DrawnStroke:
    return await board.draw(services, actor, room_id, data)


@delete(
    f"{ROOM}/board/strokes",
    tags=TAGS,
    summary="Clear the whiteboard (the teacher)",
    status_code=204,
)
async def board_clear(services: AppServices, actor: SignedInActor, room_id: IdPath) -> None:
    await board.clear(services, actor, room_id)


@post(
    f"{ROOM}/board/drawers",
    tags=TAGS,
    summary="Let pupils draw, or not (the teacher)",
    status_code=204,
)
async def board_drawers(
    services: AppServices, actor: SignedInActor, room_id: IdPath, data: JSONBody[DrawRequest]
) -> None:
    await board.let_pupils_draw(services, actor, room_id, allowed=data.pupils_draw)


@post(
    f"{ROOM}/board/background",
    tags=TAGS,
    summary="Put a picture, or a PDF's page, behind the board (the teacher; the body is the file)",
    status_code=204,
    request_max_body_size=UPLOAD_LIMIT,
)
async def board_background_set(
    request: Request[Any, Any, Any],
    services: AppServices,
    actor: SignedInActor,
    room_id: IdPath,
    page: PdfPage = 1,
) -> None:
    await board.set_background(services, actor, room_id, await request.body(), page=page)


@post(
    f"{ROOM}/board/exports",
    tags=TAGS,
    summary="Keep a PNG picture of the board with the lesson (the teacher; the body is the PNG)",
    request_max_body_size=UPLOAD_LIMIT,
)
async def board_export(
    request: Request[Any, Any, Any], services: AppServices, actor: SignedInActor, room_id: IdPath
) -> BoardExport:
    return await board.export(services, actor, room_id, await request.body())


@get(f"{ROOM}/board/exports", tags=TAGS, summary="The board's pictures kept with the lesson")
async def board_exports(
    services: AppServices, actor: SignedInActor, room_id: IdPath
) -> list[BoardExport]:
    return await board.exports(services, actor, room_id)


# -- breakout groups -----------------------------------------------------------------------


@get(f"{ROOM}/breakouts", tags=TAGS, summary="The breakout groups now")
async def breakouts_get(services: AppServices, actor: SignedInActor, room_id: IdPath) -> Breakouts:
    return await breakouts.current(services, actor, room_id)


@post(f"{ROOM}/breakouts", tags=TAGS, summary="Split the class into groups (the teacher)")
async def breakouts_split(
    services: AppServices, actor: SignedInActor, room_id: IdPath, data: JSONBody[SplitRequest]
) -> Breakouts:
    chosen = None
    if data.chosen is not None:
        chosen = {}
        for key, number in data.chosen.items():
            chosen[int(key) if key.isdigit() and len(key) < 11 else -1] = number
    return await breakouts.split(services, actor, room_id, groups=data.groups, chosen=chosen)


@delete(
    f"{ROOM}/breakouts", tags=TAGS, summary="Bring everyone back (the teacher)", status_code=204
)
async def breakouts_end(services: AppServices, actor: SignedInActor, room_id: IdPath) -> None:
    await breakouts.bring_back(services, actor, room_id)


# -- attendance ----------------------------------------------------------------------------


@get(f"{ROOM}/presence", tags=TAGS, summary="Who stayed, when and how long (the teacher)")
async def presence_get(
    services: AppServices, actor: SignedInActor, room_id: IdPath
) -> list[PresenceLine]:
    return await presence.presence(services, actor, room_id)


handlers = [
    chat_list,
    chat_post,
    chat_delete,
    chat_mute,
    poll_current,
    poll_ask,
    poll_answer,
    poll_show,
    board_get,
    board_draw,
    board_clear,
    board_drawers,
    board_background_set,
    board_export,
    board_exports,
    breakouts_get,
    breakouts_split,
    breakouts_end,
    presence_get,
]
