"""Debian's janus-pp-rec (package janus-tools) and ffmpeg: read the header of each .mjr
file Janus recorded, turn the chosen tracks into ordinary media files and put them in
one container. Which tracks: ``domain/replay.py``."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from preau.adapters.media import run_tool
from preau.domain.replay import Track

# janus-pp-rec reads a one-hour track in seconds; the bound only catches a stuck process.
CONVERT_SECONDS = 1800
KINDS = {"a": "audio", "v": "video", "d": "data"}


class JanusRecordings:
    def __init__(self, janus_pp_rec: str, ffmpeg: str) -> None:
        self.janus_pp_rec = janus_pp_rec
        self.ffmpeg = ffmpeg

    @classmethod
    def found(cls) -> JanusRecordings | None:
        converter, ffmpeg = shutil.which("janus-pp-rec"), shutil.which("ffmpeg")
        return cls(converter, ffmpeg) if converter and ffmpeg else None

    async def tracks(self, folder: Path) -> list[Track]:
        """Every readable .mjr file of the folder, with its kind and codec."""
        found: list[Track] = []
        paths = await asyncio.to_thread(lambda: sorted(folder.glob("*.mjr")))
        for path in paths:
            output = await run_tool(
                [self.janus_pp_rec, "-j", "-d", "0", str(path)], CONVERT_SECONDS
            )
            try:
                header = json.loads(output.decode("utf-8", "replace").strip().splitlines()[-1])
            except (ValueError, IndexError):
                continue  # a file cut before its header: nothing to replay in it
            found.append(
                Track(
                    name=path.name,
                    kind=KINDS.get(str(header.get("t")), "data"),
                    codec=str(header.get("c", "")),
                    size=(await asyncio.to_thread(path.stat)).st_size,
                )
            )
        return found

    async def convert(self, source: Path, target: Path) -> None:
        await run_tool([self.janus_pp_rec, "-d", "0", str(source), str(target)], CONVERT_SECONDS)

    async def mux(self, video: Path | None, audio: Path | None, target: Path) -> None:
        """One file holding both (streams copied, not re-encoded: the transcoder does that)."""
        inputs = [str(path) for path in (video, audio) if path is not None]
        arguments = [self.ffmpeg, "-nostdin", "-v", "error", "-y"]
        for path in inputs:
            arguments += ["-i", path]
        for index in range(len(inputs)):
            arguments += ["-map", f"{index}:0"]
        await run_tool([*arguments, "-c", "copy", str(target)], CONVERT_SECONDS)
