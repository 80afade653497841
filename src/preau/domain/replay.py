"""Recording a virtual class and making it a video lesson (a replay). Pure: which of
Janus's recorded tracks make the replay, its states and the sentences people see.

Janus's VideoRoom writes one ``.mjr`` file per recorded stream of each publisher
(``videoroom-<room>-user-<publisher>-<start>-audio-<mid>.mjr``, ``…-video-<mid>.mjr``,
each stream with its own start time). The replay is the
publisher with the most recorded media, normally the teacher's camera and microphone.
"""

from __future__ import annotations

import enum
import re

import msgspec


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


class RecordingState(enum.StrEnum):
    NONE = "none"  # never recorded (the page's state only)
    RECORDING = "recording"  # Janus is writing .mjr files
    PROCESSING = "processing"  # waiting for, or in, the media worker
    READY = "ready"  # a homework item holds the video lesson
    FAILED = "failed"


NOT_RECORDING = lazy("This class is not being recorded.")
ALREADY_RECORDING = lazy("This class is already being recorded.")
NOTHING_RECORDED = lazy(
    "Nothing was recorded: nobody was sending sound or video while recording was on."
)
CONVERSION_FAILED = lazy(
    "The recording could not be converted into a video (janus-pp-rec or ffmpeg failed). "
    "The files are kept; tell the person who runs Préau."
)
NO_TOOLS = lazy(
    "Recording needs janus-pp-rec (Debian package janus-tools) and ffmpeg on the server. "
    "Ask the person who runs Préau to install them."
)


class Track(msgspec.Struct, frozen=True, kw_only=True):
    """One recorded stream, as read from its .mjr header."""

    name: str  # the file name
    kind: str  # "audio", "video" or "data"
    codec: str
    size: int  # bytes


# Each stream's file carries its own start time: the publisher is what comes before it.
_STREAM = re.compile(
    r"^(?P<publisher>.+?-user-[^-]+)(?:-\d+)?-(?P<kind>audio|video|data)(?:-\d+)?\.mjr$"
)


def publisher_of(name: str) -> str | None:
    """The part of a recording's file name naming its room and publisher."""
    found = _STREAM.match(name)
    return found.group("publisher") if found else None


def choose_tracks(tracks: list[Track]) -> tuple[Track | None, Track | None]:
    """The video and audio of the replay: the publisher with the most recorded bytes
    (sound counts double: a lesson without a picture is still a lesson), its largest video
    and largest audio track. (None, None) when nothing was recorded."""
    by_publisher: dict[str, list[Track]] = {}
    for track in tracks:
        publisher = publisher_of(track.name)
        if publisher is not None and track.kind in {"audio", "video"} and track.size > 0:
            by_publisher.setdefault(publisher, []).append(track)
    if not by_publisher:
        return None, None

    def weight(publisher: str) -> int:
        return sum(t.size * (2 if t.kind == "audio" else 1) for t in by_publisher[publisher])

    chosen = by_publisher[max(sorted(by_publisher), key=weight)]
    video = max((t for t in chosen if t.kind == "video"), key=lambda t: t.size, default=None)
    audio = max((t for t in chosen if t.kind == "audio"), key=lambda t: t.size, default=None)
    return video, audio


def target_extension(track: Track) -> str:
    """What janus-pp-rec turns a track into (by codec)."""
    codec = track.codec.lower()
    if track.kind == "audio":
        return "opus" if codec == "opus" else "wav"
    if codec == "h264":
        return "mp4"
    return "webm"  # vp8, vp9, av1
