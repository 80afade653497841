"""Video lessons (docs/lessons.md): the renditions a video is transcoded into, what a
probe of an upload must show, byte ranges asked by players, and how much of a video a
pupil watched. Pure: the probe's JSON, headers and positions are passed in."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec

from preau.domain.errors import InvalidInput, PreauError


def lazy(message: str) -> str:
    return message


NOT_A_VIDEO = lazy(
    "This file is not a video Préau can read. Send an MP4, WebM, MOV or another common "
    "video format."
)
TOO_LONG = lazy("A video lesson lasts at most 3 hours.")
TOO_BIG = lazy("This video is too big: send at most {megabytes} MB.")
BAD_CAPTIONS = lazy("Captions are a WebVTT file (.vtt) that starts with the line WEBVTT.")
BAD_PROGRESS = lazy("A position is a number of seconds within the video.")
VIDEO_NOT_FOUND = lazy("This video does not exist or you cannot see it.")
NOT_READY = lazy("This video is still being prepared. Come back in a few minutes.")

MAX_SECONDS = 3 * 3600
MAX_CAPTIONS = 1_000_000
MAX_INTERVALS = 200  # a pupil's watched stretches kept per video (merged as they grow)


class RangeNotSatisfiable(PreauError):
    status = 416


class State(enum.StrEnum):
    QUEUED = "queued"  # uploaded, waiting for the transcoder
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class Rendition(msgspec.Struct, frozen=True, kw_only=True):
    name: str  # "low", "medium", "high"
    height: int
    video_kbps: int
    audio_kbps: int

    @property
    def total_kbps(self) -> int:
        return self.video_kbps + self.audio_kbps


# H.264 + AAC in MP4 (every browser plays it); "low" stays under 300 kbit/s in all for a
# weak connection, mono audio at 32 kbit/s is enough for a teacher's voice.
LADDER = (
    Rendition(name="low", height=240, video_kbps=230, audio_kbps=32),
    Rendition(name="medium", height=480, video_kbps=750, audio_kbps=96),
    Rendition(name="high", height=720, video_kbps=1800, audio_kbps=128),
)


class VideoInfo(msgspec.Struct, frozen=True, kw_only=True):
    duration_s: Decimal
    width: int
    height: int
    has_audio: bool


def read_probe(probe: Mapping[str, Any]) -> VideoInfo:
    """What ffprobe's JSON (``-show_format -show_streams``) says of an upload, or a
    refusal a teacher understands: no video stream, no duration, too long."""
    streams = probe.get("streams") or []
    video = next(
        (
            stream
            for stream in streams
            if stream.get("codec_type") == "video"
            and not (stream.get("disposition") or {}).get("attached_pic")
        ),
        None,
    )
    if video is None or not video.get("width") or not video.get("height"):
        raise InvalidInput(NOT_A_VIDEO, field="file")
    try:
        duration = Decimal(str((probe.get("format") or {}).get("duration") or video["duration"]))
    except (KeyError, InvalidOperation):
        raise InvalidInput(NOT_A_VIDEO, field="file") from None
    if not duration.is_finite() or duration <= 0:
        raise InvalidInput(NOT_A_VIDEO, field="file")
    if duration > MAX_SECONDS:
        raise InvalidInput(TOO_LONG, field="file")
    return VideoInfo(
        duration_s=duration,
        width=int(video["width"]),
        height=int(video["height"]),
        has_audio=any(stream.get("codec_type") == "audio" for stream in streams),
    )


def renditions_for(info: VideoInfo) -> tuple[Rendition, ...]:
    """The ladder up to the source's height; always the low one (a small source is still
    made light for a weak connection)."""
    return tuple(r for r in LADDER if r.height <= info.height or r.name == "low")


RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end included) a ``Range`` header asks of a file of ``size`` bytes, None
    for the whole file (no header, or several ranges, which players never send), or 416."""
    if not header:
        return None
    found = RANGE.match(header.strip())
    if found is None:
        return None  # not a single byte range: answer the whole file, as RFC 9110 allows
    first, last = found[1], found[2]
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0:
            raise RangeNotSatisfiable(lazy("This part of the file does not exist."))
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(lazy("This part of the file does not exist."))
    return start, end


def watched(
    intervals: Sequence[tuple[int, int]], start: float, end: float, duration: float
) -> list[tuple[int, int]]:
    """The stretches watched once ``start``–``end`` (seconds) is added: merged, within the
    video, whole seconds."""
    if not (0 <= start <= end) or end - start > duration + 1 or start > duration + 1:
        raise InvalidInput(BAD_PROGRESS, field="position")
    added = (int(start), min(int(end + 0.999), int(duration + 0.999)))
    merged: list[tuple[int, int]] = []
    for low, high in sorted([*intervals, added]):
        if merged and low <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged[-MAX_INTERVALS:]


def seconds_watched(intervals: Sequence[tuple[int, int]]) -> int:
    return sum(high - low for low, high in intervals)


def check_captions(data: bytes) -> str:
    """WebVTT text, or a refusal (checked by its signature line, as browsers do)."""
    if len(data) > MAX_CAPTIONS:
        raise InvalidInput(BAD_CAPTIONS, field="captions")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(BAD_CAPTIONS, field="captions") from None
    first = text.split("\n", 1)[0].rstrip("\r")
    if first != "WEBVTT" and not first.startswith(("WEBVTT ", "WEBVTT\t")):
        raise InvalidInput(BAD_CAPTIONS, field="captions")
    return text
