"""Préau's icon, drawn here: a school yard shelter (a roof on two posts) on the accent
blue. The SVG is the favicon; the PNGs the web app manifest needs are rasterised from the
same shapes in pure Python (no image library, no third-party asset), once per size."""

from __future__ import annotations

import functools
import struct
import zlib

BLUE = (0x0B, 0x5C, 0xAD)
WHITE = (0xFF, 0xFF, 0xFF)
YELLOW = (0xF2, 0xA9, 0x00)
SIZES = (32, 180, 192, 512)
# On a 512 grid, inside the central 80 % a maskable icon must keep its drawing in.
ROOF = ((256, 112), (72, 248), (440, 248))
POSTS = ((136, 240, 176, 392), (336, 240, 376, 392))
GROUND = (96, 392, 416, 424)


def _rect(box: tuple[int, int, int, int], fill: str) -> str:
    a, b, c, d = box
    return f'<rect x="{a}" y="{b}" width="{c - a}" height="{d - b}" fill="{fill}"/>'


SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512">'
    '<rect width="512" height="512" rx="96" fill="#0b5cad"/>'
    f'<polygon points="{" ".join(f"{x},{y}" for x, y in ROOF)}" fill="#fff"/>'
    + "".join(_rect(post, "#fff") for post in POSTS)
    + _rect(GROUND, "#f2a900")
    + "</svg>\n"
)


def _in_roof(x: float, y: float) -> bool:
    (ax, ay), (bx, by), (cx, _cy) = ROOF
    if y > by or y < ay:
        return False
    half = (cx - bx) / 2 * (y - ay) / (by - ay)
    return ax - half <= x <= ax + half


def _colour(x: float, y: float) -> tuple[int, int, int]:
    if _in_roof(x, y) or any(a <= x < c and b <= y < d for a, b, c, d in POSTS):
        return WHITE
    a, b, c, d = GROUND
    if a <= x < c and b <= y < d:
        return YELLOW
    return BLUE


@functools.cache
def png(size: int) -> bytes:
    """The icon as a square PNG of ``size`` pixels (full bleed: fit for "maskable")."""
    scale = 512 / size
    rows = bytearray()
    for row in range(size):
        rows.append(0)  # no filter
        y = (row + 0.5) * scale
        for column in range(size):
            rows.extend(_colour((column + 0.5) * scale, y))
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)  # 8-bit RGB
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + kind
        + data
        + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    )
