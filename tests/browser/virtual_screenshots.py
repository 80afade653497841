"""Screenshots of the class page in each mode (full, audio only, listen only, both, and
audio only suggested on a throttled 200 kbit/s line), at 390 and 1280 px, light and dark,
from the UDP-blocked lab (root: ``ip netns``). Written to the folder given (default
<temporary folder>/preau-virtual-screens):
    .venv/bin/python -m tests.browser.virtual_screenshots [folder]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from playwright.sync_api import sync_playwright

from tests.browser.screenshots import small_png
from tests.browser.virtual_lab import logged_in_page, netns_chromium, teacher_starts_class, wait_for
from tests.browser.weak_network_lab import STATS, blocked_udp_lab, throttle

MODES = {"full": "", "audio": "?mode=audio", "listen": "?mode=listen", "both": "?mode=listen-audio"}
SIZES = {"phone": (390, 844), "desktop": (1280, 900)}


def french(page: Any) -> Any:
    """The pages in French, as most of their readers see them (the login is in English)."""
    page.context.set_extra_http_headers({"accept-language": "fr-FR,fr;q=0.9"})
    return page


def shoot(page: Any, folder: Path, name: str) -> None:
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for size, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            time.sleep(0.3)
            path = folder / f"virtual-{name}-{size}-{scheme}.png"
            small_png(page.screenshot(full_page=True), path)
            print(path)


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as work,
        blocked_udp_lab(Path(work), pupils=5) as lab,
        sync_playwright() as playwright,
        netns_chromium(lab, playwright.chromium) as browser,
    ):
        teacher = teacher_starts_class(browser, lab.url)
        french(teacher).reload()
        room_url = teacher.url
        names = ["pupil.a", "pupil2.a", "pupil3.a", "pupil4.a", "pupil5.a"]
        pages = {}
        for (mode, query), name in zip(MODES.items(), names, strict=False):
            page = french(logged_in_page(browser, lab.url, name))
            page.goto(room_url + query)
            pages[mode] = page
        slow = french(logged_in_page(browser, lab.url, names[4]))
        throttle(slow, 200)
        slow.goto(room_url)
        pages["suggested"] = slow
        wait_for(lambda: all(p.evaluate(STATS)["packets"] > 20 for p in pages.values()), 90, "all")
        for mode, page in pages.items():
            shoot(page, folder, f"pupil-{mode}")
        shoot(teacher, folder, "teacher")


if __name__ == "__main__":
    default = Path(tempfile.gettempdir()) / "preau-virtual-screens"
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else default)
