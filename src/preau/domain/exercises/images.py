"""A picture with a question: what Préau accepts (raster images it can recognise from
their first bytes, never SVG, which can carry script) and the sentence a teacher reads."""

from __future__ import annotations

from preau.domain.bounds import check_line
from preau.domain.errors import InvalidInput
from preau.i18n import lazy

MAX_BYTES = 2_000_000
MAX_ALT = 300
# (first bytes, media type); WebP is "RIFF", a size, then "WEBP".
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)

NOT_AN_IMAGE = lazy("This file is not a picture Préau can show: send a PNG, JPEG, GIF or WebP.")
TOO_BIG = lazy("This picture is larger than 2 MB: make it smaller and send it again.")
NO_ALT = lazy(
    "Say in a few words what the picture shows: pupils who cannot see it are read this text."
)
ALT_TOO_LONG = lazy("The description of the picture must fit in 300 characters.")


def sniff(data: bytes) -> str | None:
    """The media type the bytes are, whatever name or type they were sent with."""
    for signature, media_type in SIGNATURES:
        if data.startswith(signature):
            return media_type
    if len(data) > 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def check_picture(data: bytes, alt: str) -> tuple[str, str]:
    """The picture's media type and its description, or a refusal with a sentence."""
    if len(data) > MAX_BYTES:
        raise InvalidInput(TOO_BIG, field="file")
    media_type = sniff(data)
    if media_type is None:
        raise InvalidInput(NOT_AN_IMAGE, field="file")
    text = " ".join(check_line(alt, field="alt").split())
    if not text:
        raise InvalidInput(NO_ALT, field="alt")
    if len(text) > MAX_ALT:
        raise InvalidInput(ALT_TOO_LONG, field="alt")
    return media_type, text
