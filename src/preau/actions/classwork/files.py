"""Uploaded files: checked (name, size, type sniffed from the content), stored under a
random key with their SHA-256, and served as downloads; images and PDFs may also be shown
inline (:func:`preview`), their type read again from the bytes."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.actions.access import access_file_by_id
from preau.actions.context import Services
from preau.adapters.files import open_existing
from preau.adapters.sql.schema import files
from preau.domain.classwork import (
    FILE_NOT_FOUND,
    FileView,
    check_upload,
    clean_file_name,
    sniff_content_type,
)
from preau.domain.errors import Forbidden, NotFound
from preau.domain.hand_in_review import INLINE_TYPES, inline_type
from preau.domain.people import Actor, Profile
from preau.i18n import lazy

SNIFF_BYTES = 4096
PARENTS_READ_ONLY = lazy("Parents can read their children's work but not send files.")
TOO_MANY_FILES = lazy("At most 20 files can be attached.")
NOT_SHOWN_INLINE = lazy("This file cannot be shown in the page; download it instead.")


@dataclass(frozen=True)
class Upload:
    """A file as the client sent it: the name it gave and the bytes."""

    name: str
    data: bytes


@dataclass(frozen=True)
class StoredFile:
    id: str
    key: str
    name: str
    content_type: str
    size: int
    sha256: str


def file_view(row: sa.Row[tuple[object, ...]] | StoredFile) -> FileView:
    values = row.__dict__ if isinstance(row, StoredFile) else dict(row._mapping)
    return FileView(
        id=str(values["id"]),
        name=str(values["name"]),
        content_type=str(values["content_type"]),
        size=int(str(values["size"])),
        sha256=str(values["sha256"]),
        url=f"/files/{values['id']}",
    )


def allowed_types(services: Services) -> set[str]:
    return {
        kind.strip() for kind in services.settings.files_allowed_types.split(",") if kind.strip()
    }


def check_uploads(services: Services, uploads: list[Upload]) -> list[StoredFile]:
    """Check every upload before anything is stored; return what would be stored."""
    limit = services.settings.files_max_upload_mb * 1024 * 1024
    allowed = allowed_types(services)
    prepared = []
    for upload in uploads:
        name = clean_file_name(upload.name)
        content_type = sniff_content_type(upload.data[:SNIFF_BYTES], name)
        check_upload(len(upload.data), content_type, max_bytes=limit, allowed=allowed)
        file_id = secrets.token_hex(16)
        prepared.append(
            StoredFile(
                id=file_id,
                key=f"f/{file_id[:2]}/{file_id}",
                name=name,
                content_type=content_type,
                size=len(upload.data),
                sha256=hashlib.sha256(upload.data).hexdigest(),
            )
        )
    return prepared


@asynccontextmanager
async def stored_bytes(
    services: Services, uploads: list[Upload]
) -> AsyncIterator[list[StoredFile]]:
    """Check ``uploads`` (the files port's size and type limits, types sniffed from the
    content) and store their bytes; the caller records them inside its own transaction. If
    anything in the block fails, the bytes are removed again, so a refused request leaves
    nothing behind (and a failed removal does not hide why it was refused)."""
    prepared = check_uploads(services, uploads)
    stored: list[StoredFile] = []
    try:
        for upload, item in zip(uploads, prepared, strict=True):
            await services.files.put(item.key, upload.data, content_type=item.content_type)
            stored.append(item)
        yield prepared
    except BaseException:
        for item in stored:
            with contextlib.suppress(Exception):
                await services.files.delete(item.key)
        raise


@asynccontextmanager
async def stored_uploads(
    services: Services, actor: Actor, uploads: list[Upload]
) -> AsyncIterator[list[StoredFile]]:
    """Homework attachments and hand-ins: :func:`stored_bytes`, for anyone but a parent."""
    if uploads and actor.profile is Profile.PARENT:
        raise Forbidden(PARENTS_READ_ONLY)
    async with stored_bytes(services, uploads) as prepared:
        yield prepared


async def record_files(
    connection: AsyncConnection, services: Services, actor: Actor, stored: list[StoredFile]
) -> None:
    if not stored:
        return
    now = services.now()
    await connection.execute(
        files.insert(),
        [
            {
                "id": item.id,
                "school_id": actor.school_id,
                "owner_id": actor.person_id,
                "name": item.name,
                "content_type": item.content_type,
                "size": item.size,
                "sha256": item.sha256,
                "storage_key": item.key,
                "created_at": now,
            }
            for item in stored
        ],
    )


async def upload_file(services: Services, actor: Actor, upload: Upload) -> FileView:
    """One file on its own (the API): attach it afterwards by its id."""
    async with (
        stored_uploads(services, actor, [upload]) as stored,
        services.engine.begin() as connection,
    ):
        await record_files(connection, services, actor, stored)
    return file_view(stored[0])


async def own_files(
    connection: AsyncConnection, services: Services, actor: Actor, file_ids: list[str]
) -> list[sa.Row[tuple[object, ...]]]:
    """Files the actor uploaded, to attach to their homework or hand-in."""
    rows = []
    for file_id in dict.fromkeys(file_ids):
        row = await access_file_by_id(connection, actor, file_id, now=services.now())
        if row.owner_id != actor.person_id:
            raise NotFound(FILE_NOT_FOUND, field="file_ids")
        rows.append(row)
    return rows


@dataclass(frozen=True)
class Download:
    view: FileView
    chunks: AsyncIterator[bytes] | None  # None when ``redirect`` is set
    redirect: str | None


async def download(services: Services, actor: Actor, file_id: str) -> Download:
    async with services.engine.connect() as connection:
        row = await access_file_by_id(connection, actor, file_id, now=services.now())
    view = file_view(row)
    if services.settings.files_signed_urls:
        url = await services.files.signed_url(
            row.storage_key, filename=view.name, content_type=view.content_type, expires_seconds=300
        )
        if url is not None:
            return Download(view=view, chunks=None, redirect=url)
    try:
        chunks = await open_existing(services.files, row.storage_key)
    except FileNotFoundError:
        raise NotFound(FILE_NOT_FOUND) from None
    return Download(view=view, chunks=chunks, redirect=None)


@dataclass(frozen=True)
class Preview:
    view: FileView
    content_type: str  # read from the bytes, one of INLINE_TYPES
    chunks: AsyncIterator[bytes]


async def preview(services: Services, actor: Actor, file_id: str) -> Preview:
    """A file the actor may read, to show in the page: only an image or a PDF, its type
    recognised from its first bytes now (not only at upload), else :class:`NotFound`."""
    async with services.engine.connect() as connection:
        row = await access_file_by_id(connection, actor, file_id, now=services.now())
    view = file_view(row)
    if view.content_type not in INLINE_TYPES:
        raise NotFound(NOT_SHOWN_INLINE)
    try:
        chunks = await open_existing(services.files, row.storage_key)
    except FileNotFoundError:
        raise NotFound(FILE_NOT_FOUND) from None
    head = b""
    async for chunk in chunks:
        head += chunk
        if len(head) >= SNIFF_BYTES:
            break
    if inline_type(head[:SNIFF_BYTES]) != view.content_type:
        raise NotFound(NOT_SHOWN_INLINE)

    async def everything() -> AsyncIterator[bytes]:
        yield head
        async for chunk in chunks:
            yield chunk

    return Preview(view=view, content_type=view.content_type, chunks=everything())
