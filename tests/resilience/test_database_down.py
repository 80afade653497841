"""Reads while PostgreSQL is down, writes refused clearly, recovery, and a keyed write
replayed across a database restart: against a real PostgreSQL that the test stops and
starts (its own cluster, never the shared one)."""

from __future__ import annotations

import httpx

from preau.adapters.sql.schema import conversations, idempotency_records
from tests.helpers import App, School, api_token, count_rows, login
from tests.resilience.throwaway_postgres import ThrowawayPostgres

KEPT_PAGES = ("/todo", "/timetable", "/messages")
KEPT_API = ("/api/v1/todo", "/api/v1/timetable/week", "/api/v1/conversations")


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def send_message(app: App, token: str, pupil: int, key: str | None = None) -> httpx.Response:
    headers = bearer(token) | ({"idempotency-key": key} if key else {})
    return await app.client.post(
        "/api/v1/conversations",
        json={"person_ids": [pupil], "subject": "Sortie", "body": "Rendez-vous à 8 h."},
        headers=headers,
    )


async def check_reads_while_down(app: App, pupil: str, before: dict[str, httpx.Response]) -> None:
    # From this process's memory and its kept copies, then (this process forgetting its
    # copies) from the shared ones.
    for forget in (False, True):
        if forget:
            app.services.stale_copies.entries.clear()
        for path in KEPT_API:
            response = await app.client.get(path, headers=bearer(pupil))
            assert response.status_code == 200, (path, response.text)
            assert response.headers["warning"] == '110 - "Response is Stale"'
            assert int(response.headers["preau-stale"]) >= 0
            assert response.content == before[path].content
        for path in KEPT_PAGES:
            page = await app.client.get(path)
            assert page.status_code == 200, (path, page.text)
            assert 'data-stale="1"' in page.text
            assert "base de données" in page.text  # French first: the default locale
            assert page.headers["cache-control"] == "no-store"
    # A read with no kept copy: a sentence and Retry-After, not a 500.
    other = await app.client.get("/homework/999")
    assert other.status_code == 503
    assert other.headers["retry-after"]


async def check_writes_refused(app: App, teacher: str, school: School) -> None:
    """Refused with a sentence and Retry-After, keyed or not; nothing half-done."""
    for key in (None, "drill-key-0001"):
        refused = await send_message(app, teacher, school.people["pupil"], key)
        assert refused.status_code == 503, refused.text
        assert refused.headers["retry-after"]
        assert "Rien n’a été enregistré" in refused.json()["detail"]


async def test_reads_served_stale_writes_refused_then_recovered(
    app: App, world: dict[str, School], cluster: ThrowawayPostgres
) -> None:
    school = world["a"]
    teacher = await api_token(app.client, "teacher.a")
    sent = await send_message(app, teacher, school.people["pupil"])
    assert sent.status_code == 201, sent.text
    pupil = await api_token(app.client, "pupil.a")
    assert (await login(app.client, "pupil.a", remember=False)).status_code in (302, 303)
    before: dict[str, httpx.Response] = {}
    for path in KEPT_PAGES:
        before[path] = await app.client.get(path)
    for path in KEPT_API:
        before[path] = await app.client.get(path, headers=bearer(pupil))
    for path, response in before.items():
        assert response.status_code == 200, (path, response.text)
        assert "warning" not in response.headers
    assert "Sortie" in before["/api/v1/conversations"].text
    await app.services.stale_copies.flush()

    cluster.stop("fast")
    try:
        # The load balancer's probe notices first (a warm read alone touches nothing).
        ready = await app.client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["status"] == "degraded"
        assert ready.json()["database"].startswith("unreachable")
        await check_reads_while_down(app, pupil, before)
        await check_writes_refused(app, teacher, school)
    finally:
        cluster.start()

    # Back: ready again (the probe says so), fresh answers with no stale mark, writes
    # accepted. The pool's dead connections cost a read one transparent retry, not an error.
    assert (await app.client.get("/readyz")).json()["status"] == "ok"
    for path in KEPT_API:
        response = await app.client.get(path, headers=bearer(pupil))
        assert response.status_code == 200, (path, response.text)
        assert "warning" not in response.headers
    written = await send_message(app, teacher, school.people["pupil"])
    if written.status_code == 503:  # the one write that met a dead pooled connection
        written = await send_message(app, teacher, school.people["pupil"])
    assert written.status_code == 201, written.text
    assert await count_rows(app.services, conversations) == 2


async def test_keyed_write_replayed_across_a_database_restart(
    app: App, world: dict[str, School], cluster: ThrowawayPostgres
) -> None:
    school = world["a"]
    teacher = await api_token(app.client, "teacher.a")
    key = "restart-key-0001"
    first = await send_message(app, teacher, school.people["pupil"], key)
    assert first.status_code == 201, first.text
    # Acknowledged means committed: another connection sees the row and its record done.
    assert await count_rows(app.services, conversations) == 1

    cluster.stop("immediate")  # a crash, not a clean shutdown
    cluster.start()

    retried = await send_message(app, teacher, school.people["pupil"], key)
    if retried.status_code == 503:  # the dead pooled connection: the client tries again
        retried = await send_message(app, teacher, school.people["pupil"], key)
    assert retried.status_code == 201, retried.text
    assert retried.headers["idempotency-replayed"] == "answer"
    assert retried.json() == first.json()
    assert await count_rows(app.services, conversations) == 1
    assert await count_rows(app.services, idempotency_records) == 1
