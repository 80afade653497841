"""The teacher's review in Chromium, in French: a pupil turns in a picture and a PDF; the
teacher, from the homework list, opens the work to review, sees the picture and the PDF
inline (Chromium's own PDF viewer, under the file's sandboxing policy), goes to the next
pupil and back, returns the work and lands back on the homework, whose "back" link goes
to the list the teacher came from. Screenshots of the review page at 390 and 1280 px,
light and dark, go to the test's folder."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from preau.web.icons import png
from tests.browser.conftest import Server
from tests.browser.test_classwork_in_browser import confirmed, local, set_homework, signed_in

pytestmark = pytest.mark.browser

# A PDF with one page, which Chromium's viewer draws.
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)
SHOTS = Path(__file__).parent.parent.parent / "var" / "screenshots" / "review"


def pdf_viewer_shown(page: Any) -> bool:
    """Whether Chromium's PDF viewer (an extension frame) came up, waiting for it a while."""
    for _ in range(50):
        if any(f.url.startswith("chrome-extension://") for f in page.frames):
            return True
        page.wait_for_timeout(200)
    return False


def screenshots(page: Any, url: str) -> None:
    """The page at 390 and 1280 px, light and dark, in var/; none wider than the screen."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width, height in ((390, 844), (1280, 800)):
            page.set_viewport_size({"width": width, "height": height})
            page.goto(url)
            pdf_viewer_shown(page)
            page.screenshot(path=str(SHOTS / f"review-{width}-{scheme}.png"), full_page=True)
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"{width} px {scheme}: {overflow} px too wide"
    page.emulate_media(color_scheme="light")


def test_review_next_pupil_inline_preview_and_return(
    server: Server, browser: Any, tmp_path: Path
) -> None:
    teacher = signed_in(browser, server, "teacher")
    set_homework(teacher, server, "Tracer un triangle", due=local(timedelta(days=2)))
    teacher.get_by_role("button", name="Donner un devoir").click()
    teacher.wait_for_url(re.compile(r".*/homework/\d+\?done=created"))
    homework_url = teacher.url.split("?")[0]

    picture, document = tmp_path / "triangle.png", tmp_path / "mesures.pdf"
    picture.write_bytes(png(180))
    document.write_bytes(PDF)
    pupil = signed_in(browser, server, "pupil")
    pupil.goto(homework_url)
    pupil.get_by_label("Ma réponse").fill("Voici mon triangle.")
    pupil.get_by_label("Fichiers (facultatif)").set_input_files([str(picture), str(document)])
    pupil.get_by_role("button", name="Rendre", exact=True).click()
    confirmed(pupil, "Votre travail est rendu.")

    teacher.goto(server.url + "/classwork")
    teacher.get_by_role("link", name="Tracer un triangle").first.click()
    teacher.get_by_role("link", name="Corriger le travail rendu").click()
    teacher.get_by_role("heading", name="Léa Dubois").wait_for()
    assert "filter=to-review" in teacher.url
    assert "1 sur 1" in teacher.locator(".review-nav").inner_text()

    image = teacher.get_by_role("img", name="Image rendue : triangle.png")
    image.wait_for()
    assert image.evaluate("i => i.complete && i.naturalWidth") == 180
    frame = teacher.locator("iframe[title='Document rendu : mesures.pdf']")
    frame.wait_for()
    frame.scroll_into_view_if_needed()
    # Chromium's PDF viewer is an extension frame inside the file's own frame: it is there
    # only when the browser accepted to show the PDF under its sandboxing policy.
    assert pdf_viewer_shown(teacher), [f.url for f in teacher.frames]
    review_url = teacher.url

    # Every pupil of the class, in the class list order: the next one and back again.
    teacher.get_by_role("link", name="Afficher tous les élèves").click()
    position = teacher.locator(".review-position").inner_text()
    teacher.get_by_role("link", name=re.compile("Élève suivant")).click()
    teacher.wait_for_url(re.compile(r".*/hand-ins/\d+"))
    assert teacher.locator(".review-position").inner_text() != position
    assert teacher.get_by_role("heading", level=1).inner_text() != "Léa Dubois"
    teacher.get_by_role("link", name=re.compile("Élève précédent")).click()
    teacher.get_by_role("heading", name="Léa Dubois").wait_for()

    screenshots(teacher, review_url)

    teacher.goto(review_url)
    teacher.get_by_label("Appréciation").fill("Bien tracé.")
    teacher.get_by_role("button", name="Rendre à l’élève").click()
    teacher.wait_for_url("**done=all-returned**")
    assert "Aucun autre travail n’attend de correction." in teacher.content()
    teacher.get_by_role("link", name="Retour aux devoirs").click()
    teacher.wait_for_url(re.compile(r".*/classwork$"))
    for page in (teacher, pupil):
        assert not page.errors, page.errors  # no CSP violation or script error
        page.context.close()
