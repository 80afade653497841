"""Reading a roster upload: the CSV files of a folder, a .zip file or the bytes of an uploaded
zip, by file name, with a sentence when the upload cannot be read at all."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from preau.domain.roster.reasons import N_, RejectedRow, reject

#: An upload larger than this once unzipped is refused (a zip bomb, or not a roster).
MAX_UNZIPPED_BYTES = 1 << 30


def read_roster_source(source: Path | bytes) -> tuple[dict[str, bytes], RejectedRow | None]:
    """The CSV files of a folder, a .zip file or zip bytes, by file name (blocking I/O)."""
    name = "upload.zip" if isinstance(source, bytes) else source.name
    try:
        if isinstance(source, Path) and source.is_dir():
            found = sorted(source.rglob("*.csv"), key=lambda path: (len(path.parts), str(path)))
            files: dict[str, bytes] = {}
            for path in found:
                files.setdefault(path.name, path.read_bytes())
            return files, None
        archive = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
    except FileNotFoundError:
        return {}, reject(
            name, 0, N_("there is no such folder or file; check the path and try again.")
        )
    except (zipfile.BadZipFile, OSError):
        return {}, reject(
            name,
            0,
            N_(
                "this is not a zip file or a folder. Upload the OneRoster export as one .zip "
                "file holding manifest.csv and the other CSV files."
            ),
        )
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and info.filename.lower().endswith(".csv")
            and not Path(info.filename).name.startswith("._")  # macOS resource forks
        ]
        if sum(info.file_size for info in members) > MAX_UNZIPPED_BYTES:
            return {}, reject(
                name,
                0,
                N_("the zip file holds more than 1 GB of CSV once unzipped; it was not read."),
            )
        members.sort(key=lambda info: (info.filename.count("/"), info.filename))
        files = {}
        try:
            for info in members:
                files.setdefault(Path(info.filename).name, archive.read(info))
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as error:
            return {}, reject(
                name,
                0,
                N_("the zip file is damaged or encrypted ({error}); it was not read."),
                error=error,
            )
    return files, None
