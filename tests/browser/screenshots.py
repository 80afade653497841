"""The README's pictures: each profile's home page of the demo school on a phone (390 px)
and a desktop (1280 px), light and dark, as small palette PNGs in docs/img/.

Run against a server with the demo school (`make run` in another shell):
    .venv/bin/python -m tests.browser.screenshots http://127.0.0.1:8000
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

OUT = Path(__file__).parent.parent.parent / "docs" / "img"
LOGINS = {
    "pupil": "eleve.demo",
    "parent": "parent.demo",
    "teacher": "prof.demo",
    "staff": "vie-scolaire.demo",
    "admin": "admin.demo",
}
PASSWORD = "preau-demo-2026"
SIZES = {"phone": (390, 844), "desktop": (1280, 800)}


def small_png(png: bytes, path: Path) -> None:
    """A screenshot in 64 colours: a fifth of the bytes, the same to the eye."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def main(url: str) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for profile, username in LOGINS.items():
            for scheme in ("light", "dark"):
                context = browser.new_context(locale="fr-FR", color_scheme=scheme)
                page = context.new_page()
                page.goto(url + "/login")
                page.get_by_label("Identifiant").fill(username)
                page.get_by_label("Mot de passe", exact=True).fill(PASSWORD)
                page.get_by_role("button", name="Se connecter").click()
                page.wait_for_url("**/home")
                for size, (width, height) in SIZES.items():
                    page.set_viewport_size({"width": width, "height": height})
                    page.goto(url + "/home")
                    path = OUT / f"home-{profile}-{size}-{scheme}.png"
                    small_png(page.screenshot(), path)
                    print(path.relative_to(OUT.parent.parent), path.stat().st_size, "bytes")
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:8000")
