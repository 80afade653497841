"""Who may reach each route, read from the application Litestar builds: a few routes are
public on purpose, the school's administration and the waiting room have their own guard,
and every other route needs someone signed in. A new route left outside its area's guarded
router fails here until it is listed as public."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute

from preau.bootstrap import build_router, build_services
from preau.web.guards import platform_operator, school_admin, signed_in
from tests.helpers import make_settings

PUBLIC = {
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/activate"),
    ("POST", "/activate"),
    ("GET", "/password/forgot"),
    ("POST", "/password/forgot"),
    ("GET", "/password/reset/{token:str}"),
    ("POST", "/password/reset/{token:str}"),
    ("POST", "/logout"),
    # Someone whose session ended goes to the login page itself (not back to a form's target).
    ("POST", "/account/logout-others"),
    ("POST", "/account/password"),
    ("POST", "/lang"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/calendar/{name:str}"),  # reached by its secret alone, from calendar apps
    ("GET", "/janus-gateway/janus.js"),
    ("POST", "/api/v1/session"),
    ("POST", "/api/v1/activation"),
    # The installable web app (docs/offline.md): read before anyone signs in, or while held.
    ("GET", "/manifest.webmanifest"),
    ("GET", "/icons/{name:str}"),
    ("GET", "/favicon.ico"),
    ("GET", "/sw.js"),
    ("GET", "/offline"),
    ("GET", "/katex/{name:path}"),  # Debian's KaTeX, for formulas in exercises
    # Single sign-on (docs/sso.md): reached before anyone is signed in, by the browser on
    # its way to or back from an identity provider, or by another school application.
    ("GET", "/sso/saml/metadata"),
    ("GET", "/sso/saml/{name:str}/login"),
    ("POST", "/sso/saml/acs"),
    ("GET", "/sso/saml/sls"),
    ("GET", "/sso/oidc/{name:str}/login"),
    ("GET", "/sso/oidc/{name:str}/callback"),
    ("GET", "/cas/login"),  # signed in or not: asks to sign in first when not
    ("GET", "/cas/serviceValidate"),
    ("GET", "/cas/p3/serviceValidate"),
    ("GET", "/cas/logout"),
}
NOT_HANDLERS = ("/static", "/api/v1/schema")  # Litestar's own: files and the OpenAPI document


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    database = Path(tmp_path_factory.mktemp("guards")) / "unused.sqlite3"
    return build_router(build_services(make_settings(f"sqlite+aiosqlite:///{database}")))


def expected_guard(method: str, path: str) -> object:
    if (method, path) in PUBLIC:
        return None
    if path.startswith(("/admin/gate", "/api/v1/gate")):
        return platform_operator
    if path.startswith(("/admin/", "/api/v1/roster-imports")):
        return school_admin
    return signed_in


def test_every_route_is_public_on_purpose_or_guarded(router: Litestar) -> None:
    seen = set()
    wrong = {}
    for route in router.routes:
        if not isinstance(route, HTTPRoute) or route.path.startswith(NOT_HANDLERS):
            continue
        for method, (handler, _model) in route.route_handler_map.items():
            if method in {"OPTIONS", "HEAD"}:
                continue
            seen.add((method, route.path))
            guards = handler.resolve_guards()
            # Litestar keeps the guards as it calls them; a coroutine guard is itself.
            found = guards[0] if len(guards) == 1 else (None if not guards else tuple(guards))
            if found is not expected_guard(method, route.path):
                wrong[f"{method} {route.path}"] = found
    assert not wrong, f"guards other than expected: {wrong}"
    assert seen >= PUBLIC, f"listed as public but not routed: {PUBLIC - seen}"
    assert len(seen) > 100  # the walk above saw the application, not an empty router


def test_no_handler_asks_for_both_the_session_and_the_actor(router: Litestar) -> None:
    """Both at once would be resolved in a task group, the costly path the providers'
    chain avoids (``web/dependencies.py``); ``session.actor`` is the actor."""
    both = [
        handler.handler_name
        for route in router.routes
        if isinstance(route, HTTPRoute)
        for handler, _model in route.route_handler_map.values()
        if {"session", "actor"} <= set(handler.parsed_fn_signature.parameters)
    ]
    assert not both, f"ask for `session` or `actor`, not both: {both}"


def test_the_expected_guard_is_read_from_the_path() -> None:
    assert expected_guard("GET", "/login") is None
    assert expected_guard("PATCH", "/api/v1/gate") is platform_operator
    assert expected_guard("POST", "/admin/people/{person_id:int}") is school_admin
    assert expected_guard("GET", "/api/v1/me") is signed_in
    assert expected_guard("DELETE", "/api/v1/session") is signed_in
