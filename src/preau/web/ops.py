"""Health, readiness and Prometheus metrics for operators and load balancers.

``/readyz`` answers ``200`` whenever this process can serve: ``{"status": "ok"}`` with
every part reachable, ``"degraded"`` (and which part is not) while the database or the
shared state is down, since kept copies still answer the hot reads."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from litestar import Response, get
from prometheus_client import CONTENT_TYPE_LATEST, Gauge, generate_latest

from preau.ports import SharedStateUnavailable
from preau.web.dependencies import AppServices

pool_in_use = Gauge("preau_db_pool_checked_out", "Database connections in use in this process.")
pool_size = Gauge("preau_db_pool_size", "Database connections held by this process's pool.")


@get("/healthz", include_in_schema=False, sync_to_thread=False)
def healthz() -> Response[bytes]:
    return Response(b"ok", media_type="text/plain")


@get("/readyz", include_in_schema=False)
async def readyz(services: AppServices) -> Response[dict[str, str]]:
    checks: dict[str, str] = {}
    try:
        async with asyncio.timeout(2):
            async with services.engine.connect() as connection:
                await connection.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
        services.database_watch.noticed_up()
    except Exception as error:
        checks["database"] = f"unreachable: {type(error).__name__}"
        services.database_watch.noticed_down()  # warm answers are marked from now on
    try:
        async with asyncio.timeout(2):
            await services.state.ping()
        checks["shared_state"] = "ok"
    except (SharedStateUnavailable, TimeoutError) as error:
        checks["shared_state"] = f"unreachable: {type(error).__name__}"
    # Degraded, not dead: with the database or the shared state down this process still
    # answers the hot reads from its kept copies and refuses writes clearly, so load
    # balancers keep routing to it (docs/reliability.md). It says which part is missing.
    checks["status"] = "ok" if all(value == "ok" for value in checks.values()) else "degraded"
    return Response(checks, status_code=200)


@get("/metrics", include_in_schema=False)
async def metrics(services: AppServices) -> Response[bytes]:
    pool = services.engine.sync_engine.pool
    checked_out = getattr(pool, "checkedout", None)
    size = getattr(pool, "size", None)
    if callable(checked_out):
        pool_in_use.set(checked_out())
    if callable(size):
        pool_size.set(size())
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


routes = [healthz, readyz, metrics]
