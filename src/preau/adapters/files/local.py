"""Files on the local disk, under one folder: the embedded default.

Keys are chosen by Préau (random, see :mod:`preau.actions.classwork.files`), so they are
never the uploader's file name; they are still checked, so no key can leave the folder.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import re
import secrets
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from preau.domain.errors import STORAGE_FULL, InsufficientStorage

CHUNK = 256 * 1024
_KEY = re.compile(r"^[a-z0-9][a-z0-9/_-]{0,199}$")


def _checked(key: str) -> str:
    if not _KEY.match(key) or "//" in key or key.endswith("/"):
        raise ValueError(f"not a file key: {key!r}")
    return key


@contextlib.contextmanager
def _no_part_left(temporary: Path) -> Iterator[None]:
    """A write that fails removes its partial file; a full disk is told as such (507)."""
    try:
        yield
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        if error.errno in (errno.ENOSPC, errno.EDQUOT):
            raise InsufficientStorage(STORAGE_FULL) from error
        raise


class LocalFileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / _checked(key)

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            # Write aside, then rename: a reader never sees half a file.
            temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
            with _no_part_left(temporary), temporary.open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            temporary.replace(path)

        await asyncio.to_thread(write)

    async def put_path(self, key: str, path: Path, *, content_type: str) -> None:
        target = self._path(key)

        def copy() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
            with _no_part_left(temporary):
                shutil.copyfile(path, temporary)
                with temporary.open("rb") as handle:
                    os.fsync(handle.fileno())
            temporary.replace(target)

        await asyncio.to_thread(copy)

    async def size(self, key: str) -> int:
        return (await asyncio.to_thread(self._path(key).stat)).st_size

    async def open_range(self, key: str, start: int, end: int) -> AsyncIterator[bytes]:
        path = self._path(key)
        handle = await asyncio.to_thread(path.open, "rb")  # FileNotFoundError if gone
        try:
            await asyncio.to_thread(handle.seek, start)
            left = end - start + 1
            while left > 0 and (chunk := await asyncio.to_thread(handle.read, min(CHUNK, left))):
                left -= len(chunk)
                yield chunk
        finally:
            handle.close()

    async def open(self, key: str) -> AsyncIterator[bytes]:
        path = self._path(key)
        handle = await asyncio.to_thread(path.open, "rb")  # FileNotFoundError if gone
        try:
            while chunk := await asyncio.to_thread(handle.read, CHUNK):
                yield chunk
        finally:
            handle.close()

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    async def signed_url(
        self, key: str, *, filename: str, content_type: str, expires_seconds: int
    ) -> str | None:
        return None  # the app streams local files itself

    async def close(self) -> None:
        return None
