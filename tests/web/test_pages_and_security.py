"""Pages in French and English, CSRF, security headers, errors, health and the OpenAPI document."""

from __future__ import annotations

from preau.cookies import LANG_COOKIE
from tests.helpers import App, School, csrf_from, login


async def test_login_page_is_french_by_default_and_english_on_request(app: App) -> None:
    french = await app.client.get("/login")
    assert '<html lang="fr">' in french.text
    assert "Se connecter à Préau" in french.text
    english = await app.client_for().get("/login", headers={"accept-language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in english.text
    assert "Log in to Préau" in english.text


async def test_language_switch_sets_a_cookie(app: App) -> None:
    page = await app.client.get("/login")
    switched = await app.client.post(
        "/lang", data={"lang": "en", "next": "/login", "csrf_token": csrf_from(page.text)}
    )
    assert switched.status_code in (302, 303)
    assert app.client.cookies[LANG_COOKIE] == "en"
    assert "Log in to Préau" in (await app.client.get("/login")).text


async def test_forms_without_csrf_token_are_refused(app: App, world: dict[str, School]) -> None:
    await app.client.get("/login")
    refused = await app.client.post("/login", data={"username": "admin.a", "password": "x"})
    assert refused.status_code == 403
    assert "Rechargez la page" in refused.text
    await login(app.client, "admin.a")
    forged = await app.client.post(
        "/admin/people/new",
        data={
            "given_name": "Eve",
            "family_name": "Forger",
            "profile": "pupil",
            "csrf_token": "forged",
        },
    )
    assert forged.status_code == 403
    # An API call carrying the session cookie also needs the token, in a header.
    api = await app.client.post("/api/v1/groups", json={"name": "Sneaky"})
    assert api.status_code == 403
    page = await app.client.get("/home")
    allowed = await app.client.post(
        "/api/v1/groups", json={"name": "4e C"}, headers={"x-csrf-token": csrf_from(page.text)}
    )
    assert allowed.status_code == 201


async def test_security_headers_on_every_response(app: App) -> None:
    for path in ("/login", "/api/v1/me", "/healthz", "/does-not-exist"):
        response = await app.client.get(path)
        csp = response.headers["content-security-policy"]
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-request-id"]


async def test_session_cookies_are_http_only(app: App, world: dict[str, School]) -> None:
    response = await login(app.client, "pupil.a")
    cookies = response.headers.get_list("set-cookie")
    session = [c for c in cookies if c.startswith("preau_session=")]
    assert session
    assert all("HttpOnly" in c and "SameSite=lax" in c.replace("Lax", "lax") for c in session)


async def test_unknown_page_and_api_path(app: App) -> None:
    page = await app.client.get("/nowhere")
    assert page.status_code == 404
    assert "Introuvable" in page.text
    api = await app.client.get("/api/v1/nowhere")
    assert api.status_code == 404
    assert api.headers["content-type"].startswith("application/problem+json")
    assert api.json()["detail"]


async def test_open_redirects_are_refused(app: App, world: dict[str, School]) -> None:
    page = await app.client.get("/login")
    response = await app.client.post(
        "/login",
        data={
            "username": "pupil.a",
            "password": "correct horse battery",
            "next": "//evil.example/x",
            "csrf_token": csrf_from(page.text),
        },
    )
    assert response.headers["location"] == "/home"


async def test_health_readiness_and_metrics(app: App) -> None:
    assert (await app.client.get("/healthz")).text == "ok"
    ready = await app.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"database": "ok", "shared_state": "ok", "status": "ok"}
    await app.client.get("/login")
    metrics = (await app.client.get("/metrics")).text
    assert 'preau_http_requests_total{method="GET",route="/login",status="200"}' in metrics
    assert "preau_db_pool" in metrics


async def test_openapi_document_lists_the_api(app: App) -> None:
    response = await app.client.get("/api/v1/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    paths = document["paths"]
    for path in ("/api/v1/session", "/api/v1/people", "/api/v1/groups/{group_id}", "/api/v1/me"):
        assert path in paths, path
    assert not any(p.startswith("/admin") or p == "/login" for p in paths)
