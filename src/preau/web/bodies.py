"""Request bodies held to their declared type and shape before any handler reads them.

A JSON endpoint takes ``application/json`` (or a ``+json`` type) and nothing else: a
``text/plain`` body is a 415, not JSON by accident. A JSON body nested deeper than
``MAX_JSON_DEPTH`` is a 400 with a sentence, instead of a decoder running out of stack.
The size of any body is capped by Litestar (``request_max_body_size`` in bootstrap: 413).
"""

from __future__ import annotations

import re
from typing import Any

from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException

from preau.domain.errors import InvalidInput
from preau.i18n import lazy

MAX_JSON_DEPTH = 32  # Préau's deepest body is 3 levels; 32 leaves room for any client
TOO_DEEP = lazy("What you sent is nested too deeply to be read.")
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")


def declared_media_type(request: Request[Any, Any, Any]) -> str | None:
    """The media type the handler's ``data`` is declared with, or None (no body)."""
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    media_type = getattr(data.kwarg_definition, "media_type", None)
    if media_type is None:
        return RequestEncodingType.JSON.value
    return str(getattr(media_type, "value", media_type))


def _is_json(content_type: str) -> bool:
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or (
        main.startswith("application/") and main.endswith("+json")
    )


def json_depth_exceeds(body: bytes, limit: int) -> bool:
    """Whether the JSON text nests arrays and objects deeper than ``limit`` (brackets inside
    strings do not count). Cheap for ordinary bodies: they have few brackets."""
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for bracket in _BRACKET.finditer(_STRING.sub(b'""', body)):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


async def check_body(request: Request[Any, Any, Any]) -> None:
    """415 for a body that is not the declared type; 400 for JSON nested too deeply."""
    expected = declared_media_type(request)
    if expected is None:
        return
    content_type = request.headers.get("content-type", "")
    if expected == RequestEncodingType.JSON.value:
        body = await request.body()
        if not body:
            return
        if not _is_json(content_type):
            raise HTTPException(status_code=415)
        if json_depth_exceeds(body, MAX_JSON_DEPTH):
            raise InvalidInput(TOO_DEEP)
    elif not content_type.lower().startswith(expected):
        raise HTTPException(status_code=415)
