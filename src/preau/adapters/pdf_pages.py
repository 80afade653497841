"""One page of a PDF as a PNG picture, by Debian's ``pdftoppm`` (poppler-utils): the PDF on
its standard input, the picture on its standard output, bounded in size and time."""

from __future__ import annotations

import asyncio
import contextlib
import shutil

PDFTOPPM = "pdftoppm"
LONGEST_SIDE = 1600  # pixels: the board's own width
SECONDS = 20.0


class PdfPageUnavailable(RuntimeError):
    """``pdftoppm`` is not installed here."""


class PdfPageFailed(ValueError):
    """The PDF could not be read, or has no such page."""


async def page_as_png(data: bytes, page: int) -> bytes:
    program = shutil.which(PDFTOPPM)
    if program is None:
        raise PdfPageUnavailable(PDFTOPPM)
    process = await asyncio.create_subprocess_exec(
        program,
        "-png",
        "-f",
        str(page),
        "-l",
        str(page),
        "-scale-to",
        str(LONGEST_SIDE),
        "-singlefile",
        "-",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        output, _ = await asyncio.wait_for(process.communicate(data), SECONDS)
    except TimeoutError as error:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise PdfPageFailed("too slow") from error
    if process.returncode != 0 or not output.startswith(b"\x89PNG"):
        raise PdfPageFailed(f"pdftoppm exited {process.returncode}")
    return output
