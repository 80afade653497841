"""The installable web app and what the browser keeps (docs/offline.md): the manifest,
the icons, the service worker, and the page listing what this device saved. All public
and outside the gate: a pupil held in the waiting room reads what their device saved."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, get
from litestar.params import FromPath

from preau import i18n
from preau.web import icons
from preau.web.dependencies import AppServices
from preau.web.render import render

STATIC = Path(__file__).parent / "static"
NAMES = {
    "fr": ("Préau — espace de travail de l’école", "Devoirs, emploi du temps et messages."),
    "en": ("Préau — school workspace", "Homework, timetable and messages."),
}
REVALIDATE = {"cache-control": "no-cache"}  # kept, but asked again each time
A_DAY = {"cache-control": "public, max-age=86400"}


@get("/manifest.webmanifest", include_in_schema=False, sync_to_thread=False)
def manifest() -> Response[dict[str, Any]]:
    locale = i18n.current_locale.get()
    name, description = NAMES.get(locale, NAMES["fr"])
    body = {
        "id": "/",
        "name": name,
        "short_name": "Préau",
        "description": description,
        "lang": locale,
        "start_url": "/home",
        "scope": "/",
        "display": "standalone",
        "background_color": "#fbfaf7",
        "theme_color": "#0b5cad",
        "icons": [
            {"src": "/icons/preau.svg", "sizes": "any", "type": "image/svg+xml"},
            *(
                {
                    "src": f"/icons/preau-{size}.png",
                    "sizes": f"{size}x{size}",
                    "type": "image/png",
                    "purpose": "any maskable",
                }
                for size in (192, 512)
            ),
        ],
    }
    return Response(
        body,
        media_type="application/manifest+json",
        headers={**A_DAY, "vary": "accept-language, cookie"},
    )


@get("/icons/{name:str}", include_in_schema=False, sync_to_thread=False)
def icon(name: FromPath[str]) -> Response[bytes]:
    if name == "preau.svg":
        return Response(icons.SVG.encode(), media_type="image/svg+xml", headers=A_DAY)
    size = name.removeprefix("preau-").removesuffix(".png")
    if not name.startswith("preau-") or not size.isdigit() or int(size) not in icons.SIZES:
        return Response(b"", status_code=404, media_type="text/plain")
    return Response(icons.png(int(size)), media_type="image/png", headers=A_DAY)


@get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
def favicon() -> Response[bytes]:
    return Response(icons.png(32), media_type="image/png", headers=A_DAY)


@get("/sw.js", include_in_schema=False)
async def service_worker(services: AppServices) -> Response[bytes]:
    """The service worker, at the root so it may control every page; the size budget of
    saved files comes from the settings."""
    budget = services.settings.offline_budget_mb * 1024 * 1024
    script = (STATIC / "sw.js").read_bytes().replace(b"__BUDGET__", str(budget).encode())
    return Response(
        script,
        media_type="text/javascript",
        headers={**REVALIDATE, "service-worker-allowed": "/"},
    )


@get("/offline", include_in_schema=False)
async def saved_pages(request: Request[Any, Any, Any]) -> Response[Any]:
    """What this device saved, listed by the page's script from the browser's own cache
    (the same page is kept by the service worker, so it opens with no network)."""
    return render(request, "offline.html")


routes = [manifest, icon, favicon, service_worker, saved_pages]
