"""Files attached to messages: checked and stored when a message is sent (removed again if
it is refused), recorded with it, and opened for a reader."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import ATTACHMENT_NOT_FOUND, access_attachment_by_id
from preau.actions.classwork.files import StoredFile, Upload, stored_bytes
from preau.actions.context import Services
from preau.adapters.files import open_existing
from preau.adapters.sql.schema import message_attachments
from preau.domain.errors import InvalidInput, NotFound
from preau.domain.messages import MAX_ATTACHMENTS, AttachmentUpload
from preau.domain.people import Actor
from preau.i18n import lazy

TOO_MANY_FILES = lazy("A message can carry at most {limit} files.")


@asynccontextmanager
async def stored_attachments(
    services: Services, uploads: Sequence[AttachmentUpload]
) -> AsyncIterator[list[StoredFile]]:
    """A message's files, at most ``MAX_ATTACHMENTS``, checked and stored by
    :func:`stored_bytes` (removed again if the message is refused)."""
    if len(uploads) > MAX_ATTACHMENTS:
        raise InvalidInput(TOO_MANY_FILES, field="attachments", limit=MAX_ATTACHMENTS)
    async with stored_bytes(services, [Upload(name=u.name, data=u.data) for u in uploads]) as done:
        yield done


async def record_attachments(
    connection: AsyncConnection, school_id: int, message_id: int, stored: list[StoredFile]
) -> None:
    if stored:
        await connection.execute(
            message_attachments.insert(),
            [
                {
                    "school_id": school_id,
                    "message_id": message_id,
                    "file_key": item.key,
                    "name": item.name,
                    "content_type": item.content_type,
                    "size": item.size,
                }
                for item in stored
            ],
        )


@dataclass(frozen=True)
class AttachmentDownload:
    name: str
    content_type: str
    size: int
    chunks: AsyncIterator[bytes]


async def open_attachment(
    services: Services, actor: Actor, attachment_id: int
) -> AttachmentDownload:
    """The bytes of a file attached to a message the actor may read (not once hidden)."""
    async with services.engine.connect() as connection:
        row = await access_attachment_by_id(connection, actor, attachment_id)
    try:
        chunks = await open_existing(services.files, row.file_key)
    except FileNotFoundError:
        raise NotFound(ATTACHMENT_NOT_FOUND) from None
    return AttachmentDownload(
        name=row.name, content_type=row.content_type, size=int(row.size), chunks=chunks
    )
