"""The installable web app: the manifest in French and English, our own icons, the
service worker script and where it may act, the page of what a device saved, and the
base page's links to them."""

from __future__ import annotations

import struct

from preau.web import icons
from tests.helpers import App, School, login


async def test_the_manifest_in_french_and_english(app: App) -> None:
    french = await app.client.get("/manifest.webmanifest", headers={"accept-language": "fr"})
    assert french.status_code == 200
    assert french.headers["content-type"].startswith("application/manifest+json")
    manifest = french.json()
    assert manifest["lang"] == "fr"
    assert manifest["name"].startswith("Préau — espace de travail")
    assert manifest["display"] == "standalone"
    assert manifest["start_url"] == "/home"
    assert manifest["theme_color"] == "#0b5cad"
    sizes = {icon["sizes"] for icon in manifest["icons"]}
    assert {"192x192", "512x512", "any"} <= sizes
    english = await app.client.get("/manifest.webmanifest", headers={"accept-language": "en"})
    assert english.json()["name"] == "Préau — school workspace"
    for icon in manifest["icons"]:
        assert (await app.client.get(icon["src"])).status_code == 200


async def test_the_icons_are_real_pngs_of_their_size(app: App) -> None:
    for size in icons.SIZES:
        answer = await app.client.get(f"/icons/preau-{size}.png")
        assert answer.headers["content-type"] == "image/png"
        body = answer.content
        assert body.startswith(b"\x89PNG\r\n\x1a\n")
        width, height = struct.unpack(">II", body[16:24])
        assert (width, height) == (size, size)
    svg = await app.client.get("/icons/preau.svg")
    assert svg.headers["content-type"].startswith("image/svg+xml")
    assert svg.text.startswith("<svg")
    assert (await app.client.get("/icons/preau-64.png")).status_code == 404
    assert (await app.client.get("/icons/other.png")).status_code == 404
    favicon = await app.client.get("/favicon.ico")
    assert favicon.content == icons.png(32)


async def test_the_service_worker_may_control_every_page(app: App) -> None:
    script = await app.client.get("/sw.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert script.headers["service-worker-allowed"] == "/"
    assert script.headers["cache-control"] == "no-cache"  # an update is seen at once
    budget = app.services.settings.offline_budget_mb * 1024 * 1024
    assert f"var BUDGET = {budget};" in script.text
    assert "__BUDGET__" not in script.text


async def test_pages_link_the_manifest_and_say_whose_they_are(
    app: App, world: dict[str, School]
) -> None:
    anonymous = await app.client.get("/login")
    assert '<link rel="manifest" href="/manifest.webmanifest">' in anonymous.text
    assert "preau-person" not in anonymous.text
    client = app.client_for()
    await login(client, "pupil.a")
    school = world["a"]
    home = await client.get("/home")
    assert f'<meta name="preau-person" content="{school.id}-{school.people["pupil"]}">' in (
        home.text
    )
    assert '<script src="/static/offline.js" defer></script>' in home.text
    todo = await client.get("/todo")  # a page kept rendered in a cache says it too
    assert f'content="{school.id}-{school.people["pupil"]}"' in todo.text


async def test_the_saved_pages_page_needs_no_login(app: App) -> None:
    page = await app.client.get("/offline", headers={"accept-language": "fr"})
    assert page.status_code == 200
    assert "Enregistré sur cet appareil" in page.text
    assert 'id="saved-pages"' in page.text
