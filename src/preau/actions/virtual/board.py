"""The shared whiteboard of a virtual class: drawings kept in the room (bounded, so late
comers get the board as it is), drawn by the teacher and, when allowed, by pupils; a
picture as its background; PNG pictures of it kept with the lesson."""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

import msgspec
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_room_by_id
from preau.actions.context import Services
from preau.actions.virtual.limits import room_limits
from preau.actions.virtual.rooms import require_host
from preau.adapters.pdf_pages import PdfPageFailed, PdfPageUnavailable, page_as_png
from preau.adapters.sql.schema import virtual_board_exports, virtual_boards, virtual_strokes
from preau.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, ServiceUnavailable
from preau.domain.exercises.images import MAX_BYTES, TOO_BIG, sniff
from preau.domain.people import Actor
from preau.domain.virtual import Role
from preau.domain.virtual_room import (
    BOARD_FULL,
    BOARD_MAX_STROKES,
    BOARD_NOT_YOURS,
    BOARD_TOO_FAST,
    Stroke,
    check_stroke,
)
from preau.i18n import lazy

NOT_A_PICTURE = lazy(
    "The board's background is a picture or a PDF page: send a PNG, JPEG, GIF, WebP or PDF."
)
PDF_MAX_BYTES = 8_000_000
PDF_TOO_BIG = lazy("This PDF is larger than 8 MB: send the page you need as a picture.")
PDF_UNREADABLE = lazy("This PDF cannot be read, or has no page {page}.")
PDF_UNAVAILABLE = lazy(
    "This server cannot show PDF pages (pdftoppm is not installed): send the page as a picture."
)
NOT_A_PNG = lazy("A picture of the board is a PNG file, as the class page makes it.")
NO_BACKGROUND = lazy("This board has no background picture.")
EXPORT_NOT_FOUND = lazy("This picture of the board does not exist.")
EXPORT_MAX_BYTES = 8_000_000
EXPORT_TOO_BIG = lazy("This picture of the board is larger than 8 MB.")

_stroke = msgspec.json.Decoder(Stroke)


class DrawnStroke(msgspec.Struct, kw_only=True):
    id: int
    by: int
    stroke: Stroke


class BoardView(msgspec.Struct, kw_only=True):
    pupils_draw: bool
    background: bool  # GET …/board/background serves it
    strokes: list[DrawnStroke]
    may_draw: bool


class BoardExport(msgspec.Struct, kw_only=True):
    id: int
    size: int
    created_at: datetime


@dataclass(frozen=True)
class BoardFile:
    media_type: str
    size: int
    chunks: AsyncIterator[bytes]


async def _board(connection: AsyncConnection, room_id: int) -> sa.Row[object] | None:
    return (
        await connection.execute(
            sa.select(virtual_boards).where(virtual_boards.c.room_id == room_id)
        )
    ).first()


async def _upsert_board(
    connection: AsyncConnection, services: Services, school_id: int, room_id: int, **values: object
) -> None:
    if await _board(connection, room_id) is None:
        await connection.execute(
            virtual_boards.insert().values(
                room_id=room_id, school_id=school_id, updated_at=services.now(), **values
            )
        )
    else:
        await connection.execute(
            virtual_boards.update()
            .where(virtual_boards.c.room_id == room_id)
            .values(updated_at=services.now(), **values)
        )


def _may_draw(role: Role, board: sa.Row[object] | None) -> bool:
    return role is Role.TEACHER or (board is not None and bool(board.pupils_draw))


async def board(services: Services, actor: Actor, room_id: int) -> BoardView:
    """The board as it is now, for a page that opens (or catches up)."""
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        found = await _board(connection, room_id)
        rows = (
            await connection.execute(
                sa.select(
                    virtual_strokes.c.id, virtual_strokes.c.author_id, virtual_strokes.c.stroke
                )
                .where(virtual_strokes.c.room_id == room_id)
                .order_by(virtual_strokes.c.id)
            )
        ).all()
    return BoardView(
        pupils_draw=found is not None and bool(found.pupils_draw),
        background=found is not None and found.background_key is not None,
        strokes=[
            DrawnStroke(id=row.id, by=row.author_id, stroke=_stroke.decode(row.stroke))
            for row in rows
        ],
        may_draw=_may_draw(role, found),
    )


async def draw(services: Services, actor: Actor, room_id: int, stroke: Stroke) -> DrawnStroke:
    kept = check_stroke(stroke)
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        if not _may_draw(role, await _board(connection, room_id)):
            raise Forbidden(BOARD_NOT_YOURS)
    await room_limits(services).hit("stroke", room_id, actor.person_id, BOARD_TOO_FAST)
    async with services.engine.begin() as connection:
        drawn = (
            await connection.execute(
                sa.select(sa.func.count())
                .select_from(virtual_strokes)
                .where(virtual_strokes.c.room_id == room_id)
            )
        ).scalar_one()
        if drawn >= BOARD_MAX_STROKES:
            raise Conflict(BOARD_FULL, limit=BOARD_MAX_STROKES)
        stroke_id = (
            await connection.execute(
                virtual_strokes.insert()
                .values(
                    school_id=actor.school_id,
                    room_id=room_id,
                    author_id=actor.person_id,
                    stroke=msgspec.json.encode(kept).decode(),
                    created_at=services.now(),
                )
                .returning(virtual_strokes.c.id)
            )
        ).scalar_one()
    result = DrawnStroke(id=stroke_id, by=actor.person_id, stroke=kept)
    await services.room_live.publish(services.state, room_id, "stroke", result)
    return result


async def clear(services: Services, actor: Actor, room_id: int) -> None:
    async with services.engine.begin() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        await connection.execute(
            virtual_strokes.delete().where(virtual_strokes.c.room_id == room_id)
        )
    await services.room_live.publish(services.state, room_id, "clear", {})


async def let_pupils_draw(services: Services, actor: Actor, room_id: int, *, allowed: bool) -> None:
    async with services.engine.begin() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
        await _upsert_board(connection, services, actor.school_id, room_id, pupils_draw=allowed)
    await services.room_live.publish(services.state, room_id, "board", {"pupils_draw": allowed})


async def set_background(
    services: Services, actor: Actor, room_id: int, data: bytes, *, page: int = 1
) -> None:
    """A picture behind the drawings: an image, or one page of a PDF (drawn as a PNG by
    ``pdftoppm`` on the server, so every browser shows it alike)."""
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
    if data.startswith(b"%PDF-"):
        if len(data) > PDF_MAX_BYTES:
            raise InvalidInput(PDF_TOO_BIG, field="file")
        try:
            data = await page_as_png(data, page)
        except PdfPageUnavailable as error:
            raise ServiceUnavailable(PDF_UNAVAILABLE) from error
        except PdfPageFailed as error:
            raise InvalidInput(PDF_UNREADABLE, field="file", page=page) from error
    if len(data) > MAX_BYTES:
        raise InvalidInput(TOO_BIG, field="file")
    media_type = sniff(data)
    if media_type is None:
        raise InvalidInput(NOT_A_PICTURE, field="file")
    key = f"board/{secrets.token_hex(1)}/{secrets.token_hex(16)}"
    await services.files.put(key, data, content_type=media_type)
    try:
        async with services.engine.begin() as connection:
            found = await _board(connection, room_id)
            replaced = found.background_key if found is not None else None
            await _upsert_board(
                connection,
                services,
                actor.school_id,
                room_id,
                background_key=key,
                background_type=media_type,
            )
    except BaseException:
        with contextlib.suppress(Exception):
            await services.files.delete(key)
        raise
    if replaced:
        await services.files.delete(replaced)
    await services.room_live.publish(services.state, room_id, "board", {"background": True})


async def background(services: Services, actor: Actor, room_id: int) -> BoardFile:
    async with services.engine.connect() as connection:
        await access_room_by_id(connection, actor, room_id)
        found = await _board(connection, room_id)
    if found is None or found.background_key is None:
        raise NotFound(NO_BACKGROUND)
    key = str(found.background_key)
    try:
        size = await services.files.size(key)
    except FileNotFoundError as error:
        raise NotFound(NO_BACKGROUND) from error
    return BoardFile(
        media_type=str(found.background_type), size=size, chunks=services.files.open(key)
    )


async def export(services: Services, actor: Actor, room_id: int, data: bytes) -> BoardExport:
    """The teacher keeps a PNG picture of the board with the lesson."""
    if len(data) > EXPORT_MAX_BYTES:
        raise InvalidInput(EXPORT_TOO_BIG, field="file")
    if sniff(data) != "image/png":
        raise InvalidInput(NOT_A_PNG, field="file")
    async with services.engine.connect() as connection:
        _room, role = await access_room_by_id(connection, actor, room_id)
        require_host(role)
    key = f"board/{secrets.token_hex(1)}/{secrets.token_hex(16)}"
    await services.files.put(key, data, content_type="image/png")
    now = services.now()
    try:
        async with services.engine.begin() as connection:
            export_id = (
                await connection.execute(
                    virtual_board_exports.insert()
                    .values(
                        school_id=actor.school_id,
                        room_id=room_id,
                        file_key=key,
                        size=len(data),
                        created_by=actor.person_id,
                        created_at=now,
                    )
                    .returning(virtual_board_exports.c.id)
                )
            ).scalar_one()
    except BaseException:
        with contextlib.suppress(Exception):
            await services.files.delete(key)
        raise
    return BoardExport(id=export_id, size=len(data), created_at=now)


async def exports(services: Services, actor: Actor, room_id: int) -> list[BoardExport]:
    async with services.engine.connect() as connection:
        await access_room_by_id(connection, actor, room_id)
        rows = await connection.execute(
            sa.select(virtual_board_exports)
            .where(virtual_board_exports.c.room_id == room_id)
            .order_by(virtual_board_exports.c.id)
        )
        return [BoardExport(id=row.id, size=row.size, created_at=row.created_at) for row in rows]


async def open_export(services: Services, actor: Actor, room_id: int, export_id: int) -> BoardFile:
    async with services.engine.connect() as connection:
        await access_room_by_id(connection, actor, room_id)
        row = (
            await connection.execute(
                sa.select(virtual_board_exports).where(
                    virtual_board_exports.c.id == export_id,
                    virtual_board_exports.c.room_id == room_id,
                )
            )
        ).first()
    if row is None:
        raise NotFound(EXPORT_NOT_FOUND)
    return BoardFile(
        media_type="image/png", size=row.size, chunks=services.files.open(row.file_key)
    )
