"""Formulas in exercises, drawn by Debian's KaTeX (libjs-katex, fonts-katex), never copied
into Préau: ``static/formulas.js`` loads it only on a page that holds a formula. The files
served are the few KaTeX needs, by name; anything else is a 404."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from litestar import Response, get
from litestar.params import FromPath
from litestar.response import File

from preau.domain.errors import NotFound
from preau.i18n import lazy

KATEX = Path("/usr/share/javascript/katex")  # Debian: libjs-katex
SERVED = re.compile(
    r"katex\.min\.(?P<js>js)|katex\.min\.(?P<css>css)|contrib/auto-render\.(?P<auto>js)"
    r"|fonts/KaTeX_[A-Za-z0-9_-]{1,40}\.(?P<font>woff2)"
)
MEDIA_TYPES = {"js": "text/javascript", "css": "text/css", "auto": "text/javascript"}
MISSING = lazy(
    "The formula renderer is not installed on this server (Debian package libjs-katex): "
    "formulas show as they were typed."
)


@get("/katex/{name:path}", include_in_schema=False)
async def katex_file(name: FromPath[str]) -> Response[Any]:
    wanted = name.lstrip("/")
    found = SERVED.fullmatch(wanted)
    if found is None:
        raise NotFound(MISSING)
    path = KATEX / wanted
    if not await asyncio.to_thread(path.is_file):
        raise NotFound(MISSING)
    kind = found.lastgroup or ""
    return File(
        path=path,
        media_type=MEDIA_TYPES.get(kind, "font/woff2"),
        content_disposition_type="inline",
        headers={"cache-control": "public, max-age=604800"},
    )


routes = [katex_file]
