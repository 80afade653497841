"""The files' disk full: uploads refused with a sentence (507), nothing half-written (no
row without its file, no partial file left), reads unaffected, uploads back once there is
room. The files directory is a small tmpfs the test mounts (it needs root: a missing
mount is a skip locally, a failure under ``PREAU_TEST_REQUIRE_SERVICES=1``)."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from preau.adapters.sql.schema import files, hand_ins
from tests.classwork.conftest import PDF, Clock, post_homework
from tests.conftest import missing_service
from tests.helpers import App, School, count_rows


@contextlib.contextmanager
def small_disk(path: Path, size: str = "256k") -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        check=False,
        text=True,
    )
    if mounted.returncode:
        missing_service(f"cannot mount a tmpfs for the disk-full test: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(path: Path) -> Path:
    """Write a filler until the disk refuses more."""
    filler = path / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        while True:
            os.write(descriptor, b"\0" * 4096)
    except OSError:
        pass
    finally:
        os.close(descriptor)
    return filler


def every_file(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def test_a_full_disk_refuses_uploads_clearly_and_keeps_reads(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, tmp_path: Path
) -> None:
    teacher, pupil = await as_user("teacher.a"), await as_user("pupil.a")
    with small_disk(tmp_path / "files") as disk:
        sheet = await teacher.post(
            "/api/v1/files", files={"file": ("fiche.pdf", PDF, "application/pdf")}
        )
        assert sheet.status_code == 201, sheet.text
        work = await post_homework(teacher, world["a"], clock, attachment_ids=[sheet.json()["id"]])
        filler = fill(disk)
        before = every_file(disk)
        rows = await count_rows(app.services, files)

        refused = await pupil.client.post(
            "/api/v1/files",
            headers={**pupil.headers, "accept-language": "fr", "idempotency-key": "full-0001"},
            files={"file": ("copie.pdf", PDF * 200, "application/pdf")},
        )
        assert refused.status_code == 507, refused.text
        assert refused.headers["retry-after"] == "60"
        assert "stockage est plein" in refused.json()["detail"]
        assert "Rien n’a été enregistré" in refused.json()["detail"]
        # Nothing half-written: no row, no partial file.
        assert await count_rows(app.services, files) == rows
        assert every_file(disk) == before

        # Reads go on: the homework, its attachment, the to-do.
        assert (await pupil.get(f"/api/v1/homework/{work['id']}")).status_code == 200
        downloaded = await pupil.get(f"/files/{sheet.json()['id']}")
        assert downloaded.status_code == 200
        assert downloaded.content == PDF
        assert (await pupil.get("/api/v1/todo")).status_code == 200

        # A turn-in with no file still lands; room again, and the same key goes through.
        turned = await pupil.post(
            f"/api/v1/homework/{work['id']}/turn-in",
            json={"text": "Sans fichier", "idempotency_key": "full-turn-in-1"},
        )
        assert turned.status_code == 200, turned.text
        filler.unlink()
        again = await pupil.client.post(
            "/api/v1/files",
            headers={**pupil.headers, "idempotency-key": "full-0001"},
            files={"file": ("copie.pdf", PDF * 200, "application/pdf")},
        )
        assert again.status_code == 201, again.text
        assert "idempotency-replayed" not in again.headers
        assert await count_rows(app.services, files) == rows + 1
        assert await count_rows(app.services, hand_ins) == 1


async def test_a_full_disk_refuses_a_page_turn_in_with_a_sentence(
    app: App, world: dict[str, School], clock: Clock, as_user: Any, tmp_path: Path
) -> None:
    from tests.helpers import csrf_from, login

    work = await post_homework(await as_user("teacher.a"), world["a"], clock)
    browser = app.client_for(headers={"accept-language": "en"})
    await login(browser, "pupil.a")
    page = await browser.get(f"/homework/{work['id']}")
    with small_disk(tmp_path / "files") as disk:
        fill(disk)
        before = every_file(disk)
        response = await browser.post(
            f"/homework/{work['id']}/turn-in",
            data={"text": "ma réponse", "csrf_token": csrf_from(page.text)},
            files=[("files", ("copie.pdf", PDF * 200, "application/pdf"))],
        )
        assert response.status_code == 507
        assert "storage is full" in response.text
        assert await count_rows(app.services, hand_ins) == 0
        assert every_file(disk) == before
    await browser.aclose()
