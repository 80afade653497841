"""Debian's ffmpeg and ffprobe, run as processes: probing an upload, transcoding it to one
rendition (H.264 + AAC in MP4, moov atom first so players start before the end), and a
poster image. Nothing here decides what to make: that is ``domain/lessons.py``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

from preau.domain.lessons import Rendition, VideoInfo

PROBE_SECONDS = 60
# A generous bound: on one core a 1-hour 720p lesson transcodes in well under this.
TRANSCODE_SECONDS = 4 * 3600


class MediaError(RuntimeError):
    """ffmpeg could not read or write the video (a broken or truncated file)."""


async def run_tool(arguments: list[str], limit_s: float) -> bytes:
    """Run a media tool (ffmpeg, ffprobe, janus-pp-rec) with nothing on its input; its
    output, or MediaError naming the tool if it fails or runs past ``limit_s``."""
    name = Path(arguments[0]).name
    process = await asyncio.create_subprocess_exec(
        *arguments,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        output, errors = await asyncio.wait_for(process.communicate(), limit_s)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()
        raise MediaError(f"{name} took too long") from None
    if process.returncode != 0:
        text = (errors or output).decode("utf-8", "replace")[-500:]
        raise MediaError(f"{name}: {text}")
    return output


def _seconds(text: str) -> float | None:
    """A time as ffprobe prints it, or None for its "N/A"."""
    try:
        return float(text)
    except ValueError:
        return None


class Ffmpeg:
    def __init__(self, ffmpeg: str, ffprobe: str, *, threads: int = 1) -> None:
        self.ffmpeg = ffmpeg
        self.ffprobe = ffprobe
        self.threads = threads  # a transcode takes one core: the app keeps the others

    @classmethod
    def found(cls) -> Ffmpeg | None:
        """The installed tools, or None where ffmpeg is not installed."""
        ffmpeg, ffprobe = shutil.which("ffmpeg"), shutil.which("ffprobe")
        return cls(ffmpeg, ffprobe) if ffmpeg and ffprobe else None

    async def probe(self, path: Path) -> dict[str, Any]:
        output = await run_tool(
            [
                self.ffprobe, "-v", "error", "-print_format", "json",
                "-show_format", "-show_streams", str(path),
            ],
            PROBE_SECONDS,
        )  # fmt: skip
        try:
            found: dict[str, Any] = json.loads(output)
        except ValueError:
            raise MediaError("ffprobe gave no JSON") from None
        format_ = found.get("format")
        if isinstance(format_, dict) and not format_.get("duration"):
            # A browser's MediaRecorder writes WebM with no duration in its header: the
            # last video packet's end says it.
            measured = await self._last_packet_end(path)
            if measured > 0:
                format_["duration"] = f"{measured:.3f}"
        return found

    async def _last_packet_end(self, path: Path) -> float:
        output = await run_tool(
            [
                self.ffprobe, "-v", "error", "-select_streams", "v:0",
                "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", str(path),
            ],
            PROBE_SECONDS,
        )  # fmt: skip
        end = 0.0
        for line in output.decode(errors="replace").splitlines():
            times = [_seconds(part) for part in line.strip().split(",")]
            if times and times[0] is not None:  # a packet without a time stamp is skipped
                end = max(end, times[0] + (times[1] or 0.0 if len(times) > 1 else 0.0))
        return end

    async def transcode(
        self, source: Path, target: Path, rendition: Rendition, info: VideoInfo
    ) -> None:
        """One rendition: scaled to its height (never up), even width, capped bit rate."""
        height = min(rendition.height, info.height - info.height % 2)
        video_rate = rendition.video_kbps
        arguments = [
            self.ffmpeg, "-nostdin", "-v", "error", "-y", "-i", str(source),
            "-map", "0:v:0", "-map", "0:a:0?",
            "-vf", f"scale=-2:{height}",
            "-c:v", "libx264", "-preset", "veryfast", "-profile:v", "main",
            "-pix_fmt", "yuv420p",
            "-b:v", f"{video_rate}k", "-maxrate", f"{video_rate}k",
            "-bufsize", f"{video_rate * 2}k",
            "-c:a", "aac", "-b:a", f"{rendition.audio_kbps}k",
            *(["-ac", "1"] if rendition.audio_kbps < 64 else []),
            "-movflags", "+faststart", "-threads", str(self.threads),
            str(target),
        ]  # fmt: skip
        await run_tool(arguments, TRANSCODE_SECONDS)

    async def test_pattern(self, target: Path, seconds: int) -> None:
        """A clip of colour bars, a counter and a tone (the demo school's lesson)."""
        await run_tool(
            [
                self.ffmpeg, "-nostdin", "-v", "error", "-y",
                "-f", "lavfi", "-i", f"testsrc=duration={seconds}:size=854x480:rate=25",
                "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}", "-shortest",
                "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
                "-c:a", "aac", str(target),
            ],
            PROBE_SECONDS,
        )  # fmt: skip

    async def poster(self, source: Path, target: Path, at_s: float) -> None:
        await run_tool(
            [
                self.ffmpeg, "-nostdin", "-v", "error", "-y", "-ss", f"{at_s:.2f}",
                "-i", str(source), "-frames:v", "1", "-vf", "scale=-2:480",
                "-q:v", "4", str(target),
            ],
            PROBE_SECONDS,
        )  # fmt: skip
