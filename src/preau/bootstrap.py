"""The composition root: the only place that picks implementations from settings."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, cast

import msgspec
from litestar import Litestar
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router

from preau.actions.accounts import LoginThrottle, Passwords
from preau.actions.classwork.todo import HomeworkCache, TodoCache
from preau.actions.context import Services
from preau.actions.degraded import DatabaseWatch, StaleCopies
from preau.actions.idempotency import install as install_idempotency
from preau.actions.lessons.transcoding import MediaWorker
from preau.actions.messages.sending import SendingLimit
from preau.actions.password_resets import ResetLimit
from preau.actions.report_cards import ReportCardCache
from preau.actions.sessions import Sessions
from preau.actions.sso import SingleSignOn
from preau.actions.sso.cas import CasServer
from preau.actions.sso.oidc import OidcRelyingParty
from preau.actions.sso.saml import SamlServiceProvider
from preau.actions.timetable.weeks import WeekCache
from preau.actions.virtual.pool import JanusPool
from preau.actions.warm import ReadVersions
from preau.adapters.clock import SystemClock
from preau.adapters.files.local import LocalFileStore
from preau.adapters.files.s3 import S3FileStore
from preau.adapters.janus import JanusAdmin
from preau.adapters.media import Ffmpeg
from preau.adapters.memory.shared_state import MemorySharedState
from preau.adapters.redis.shared_state import RedisSharedState
from preau.adapters.shared import Shared, shared_in_memory, shared_on_redis
from preau.adapters.sql.engine import make_engine
from preau.api import accounts as api_accounts
from preau.api import attendance as api_attendance
from preau.api import classwork as api_classwork
from preau.api import directory as api_directory
from preau.api import exercises as api_exercises
from preau.api import gate as api_gate
from preau.api import lessons as api_lessons
from preau.api import marks as api_marks
from preau.api import messages as api_messages
from preau.api import roster as api_roster
from preau.api import skills as api_skills
from preau.api import timetable as api_timetable
from preau.api import virtual as api_virtual
from preau.asgi import ASGIApp
from preau.domain.sso import (
    ConfigError,
    parse_cas_services,
    parse_oidc_providers,
    parse_saml_providers,
)
from preau.gate import build_gate
from preau.gate.settings import GateSettings
from preau.observability import configure_logging
from preau.ports import FileStore
from preau.settings import Settings, SettingsError
from preau.web import accounts as web_accounts
from preau.web import attendance as web_attendance
from preau.web import classwork as web_classwork
from preau.web import directory as web_directory
from preau.web import exercises as web_exercises
from preau.web import formulas as web_formulas
from preau.web import gate as web_gate
from preau.web import hand_in_review as web_hand_in_review
from preau.web import home as web_home
from preau.web import lessons as web_lessons
from preau.web import live as web_live
from preau.web import marks as web_marks
from preau.web import messages as web_messages
from preau.web import offline as web_offline
from preau.web import ops as web_ops
from preau.web import password_resets as web_password_resets
from preau.web import roster as web_roster
from preau.web import school_accounts as web_school_accounts
from preau.web import skills as web_skills
from preau.web import sso as web_sso
from preau.web import timetable as web_timetable
from preau.web import virtual as web_virtual
from preau.web.degraded import Degraded
from preau.web.dependencies import dependencies
from preau.web.errors import check_request, exception_handlers
from preau.web.idempotency import IdempotencyKeys
from preau.web.middleware import Edge, SessionMiddleware
from preau.web.warm import WarmPage, WarmRead, WarmReads

STATIC = Path(__file__).parent / "web" / "static"


def available_cores() -> int:
    """The cores this process may run on (its CPU affinity, as a container's cpuset sets
    it), not the machine's: the default number of password-hashing threads."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    return Settings.from_environ(os.environ if environ is None else environ).with_secret()


def build_shared(settings: Settings) -> Shared:
    """The shared state and the stores beside it (the gate's admission store, the rate
    limits' storages): all on one Redis, shared by every process, or all in this one
    process (the demo, most tests), each application built here with stores of its own."""
    if settings.shared_on_redis:
        return shared_on_redis(
            RedisSharedState(
                settings.redis_url,
                prefix=settings.redis_prefix,
                sentinels=settings.sentinels,
                master=settings.redis_sentinel_master,
            )
        )
    return shared_in_memory(MemorySharedState())


def build_file_store(settings: Settings) -> FileStore:
    if settings.files_backend == "s3":
        return S3FileStore(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            access_key=settings.s3_access_key or None,
            secret_key=settings.s3_secret_key or None,
        )
    return LocalFileStore(settings.files_dir)


def _names(raw: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in raw.split(",") if part.strip())


def build_sso(settings: Settings) -> SingleSignOn:
    """The identity providers and CAS services the settings declare (docs/sso.md)."""
    try:
        saml_providers = parse_saml_providers(settings.saml_idps)
        oidc_providers = parse_oidc_providers(settings.oidc_providers)
        cas_services = parse_cas_services(settings.cas_services)
    except ConfigError as error:
        raise SettingsError(str(error)) from None
    sso = SingleSignOn()
    base_url = settings.base_url.rstrip("/")
    if saml_providers:
        if not settings.saml_sp_key_file or not settings.saml_sp_cert_file:
            raise SettingsError(
                "PREAU_SAML_SP_KEY_FILE and PREAU_SAML_SP_CERT_FILE must name Préau's SAML key "
                "and certificate (PEM files) when PREAU_SAML_IDPS is set: identity providers "
                "ask for signed requests (docs/operations.md, Connecting ÉduConnect)."
            )
        sso.saml = SamlServiceProvider(
            base_url=base_url,
            providers=saml_providers,
            key_file=settings.saml_sp_key_file,
            cert_file=settings.saml_sp_cert_file,
            identifier_attributes=_names(settings.saml_identifier_attributes),
            workers=settings.saml_workers or os.cpu_count() or 1,
            queue=settings.saml_queue,
        )
    sso.oidc = {
        provider.name: OidcRelyingParty(
            provider,
            base_url=base_url,
            identifier_claims=_names(settings.oidc_identifier_claims),
        )
        for provider in oidc_providers
    }
    if cas_services:
        sso.cas = CasServer(cas_services, settings.cas_ticket_seconds)
    return sso


def build_services(settings: Settings, gate: GateSettings | None = None) -> Services:
    engine = make_engine(settings.database_url, pool_size=settings.database_pool_size)
    install_idempotency(engine)  # a keyed write's record commits with it (docs/offline.md)
    shared = build_shared(settings)
    state = shared.state
    versions = ReadVersions(engine=engine, state=state)
    todo_cache = TodoCache(engine=engine, versions=versions)
    return Services(
        settings=settings,
        gate=gate or GateSettings(),
        engine=engine,
        state=state,
        sessions=Sessions(
            secret=settings.secret_key,
            engine=engine,
            state=state,
            session_seconds=settings.session_seconds,
            device_seconds=settings.device_days * 86400,
        ),
        passwords=Passwords(
            time_cost=settings.argon2_time_cost,
            memory_kib=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            concurrency=settings.password_hash_concurrency or available_cores(),
            queue=settings.password_hash_queue,
        ),
        throttle=LoginThrottle(
            shared.limits,
            per_account=settings.login_attempts_per_account,
            per_address=settings.login_attempts_per_address,
        ),
        files=build_file_store(settings),
        versions=versions,
        todo_cache=todo_cache,
        week_cache=WeekCache(versions),
        homework_cache=HomeworkCache(todo_cache),
        report_cards=ReportCardCache(),
        reset_limit=ResetLimit(
            shared.limits,
            per_account=settings.password_resets_per_account,
            per_address=settings.password_resets_per_address,
        ),
        sending=SendingLimit(
            shared.limits,
            per_minute=settings.messages_per_minute,
            per_day=settings.messages_per_day,
        ),
        shared=shared,
        stale_copies=StaleCopies(state),
        database_watch=DatabaseWatch(engine),
        janus=JanusPool(
            settings,
            JanusAdmin(admin_secret=settings.janus_admin_secret, room_key=settings.janus_room_key),
        ),
        media=Ffmpeg.found(),
        sso=build_sso(settings),
    )


async def start_services(services: Services) -> None:
    await services.sessions.start(services.clock)
    await services.versions.start()
    await services.live.start(services.state)
    await services.room_live.start(services.state)
    if services.janus is not None:
        await services.janus.start(services)
    if services.settings.media_worker:
        worker = MediaWorker(services)
        worker.start()
        services.media_worker = worker


async def stop_services(services: Services) -> None:
    if services.media_worker is not None:
        await services.media_worker.stop()
    if services.janus is not None:
        await services.janus.stop()
    await services.live.stop()
    await services.room_live.stop()
    await services.sessions.stop()
    await services.versions.stop()
    await services.database_watch.stop()
    await services.stale_copies.flush()
    await services.files.close()
    services.passwords.close()
    if services.sso is not None:
        await services.sso.close()
    await services.state.close()
    await services.engine.dispose()


def build_router(services: Services) -> Litestar:
    @asynccontextmanager
    async def lifespan(_app: Litestar) -> AsyncIterator[None]:
        await start_services(services)
        # A full collection of a warm heap takes ~50 ms here; freezing the start-up
        # objects keeps them out of every later collection (DESIGN.md §5).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await stop_services(services)

    openapi = OpenAPIConfig(
        title="Préau API",
        version="1",
        path="/api/v1/schema",
        description=(
            "JSON API of Préau. Authenticate with POST /api/v1/session and send the token as "
            "`Authorization: Bearer <token>`. Errors are application/problem+json with a "
            "sentence in `detail`."
        ),
        components=Components(
            security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}
        ),
        security=[{"bearer": []}],
        create_examples=False,
    )
    app = Litestar(
        route_handlers=[
            *web_ops.routes,
            *web_accounts.routes,
            *web_password_resets.routes,
            *web_home.routes,
            *web_directory.routes,
            *web_gate.routes,
            *web_roster.routes,
            *web_classwork.routes,
            *web_hand_in_review.routes,
            *web_school_accounts.routes,
            *web_messages.routes,
            *web_live.routes,
            *web_timetable.routes,
            *web_virtual.routes,
            *web_marks.routes,
            *web_lessons.routes,
            *web_attendance.routes,
            *web_exercises.routes,
            *web_formulas.routes,
            *web_skills.routes,
            *web_offline.routes,
            *web_sso.routes,
            *api_accounts.routes,
            *api_directory.routes,
            *api_gate.routes,
            *api_roster.routes,
            *api_classwork.routes,
            *api_messages.routes,
            *api_timetable.routes,
            *api_virtual.routes,
            *api_marks.routes,
            *api_lessons.routes,
            *api_attendance.routes,
            *api_exercises.routes,
            *api_skills.routes,
            create_static_files_router(
                path="/static",
                directories=[STATIC],
                include_in_schema=False,
                send_as_attachment=False,
            ),
        ],
        dependencies=dependencies(services),
        before_request=check_request,
        exception_handlers=exception_handlers,  # type: ignore[arg-type]  # handlers narrow the type
        openapi_config=openapi,
        lifespan=[lifespan],
        request_max_body_size=50 * 1024 * 1024,
        debug=False,
        logging_config=None,
    )
    app.state.services = services
    return app


def build_app(settings: Settings, gate: GateSettings | None = None) -> ASGIApp:
    """The whole ASGI application: the router inside the layers of :func:`around`."""
    gate = gate or GateSettings()
    services = build_services(settings, gate)
    return around(cast("ASGIApp", build_router(services)), services, settings, gate=gate)


# The hot reads answered before the router when warm, each declared once in its area and
# used by its handler too (web/warm.py, DESIGN.md §5).
WARM_READS: tuple[WarmRead[Any, Any], ...] = (
    api_classwork.TODO_JSON,
    web_classwork.TODO_PAGE,
    api_messages.INBOX_JSON,
    api_messages.UNREAD_JSON,
    web_messages.INBOX_PAGE,
    api_timetable.WEEK_JSON,
    web_timetable.WEEK_PAGE,
)
# The hot pages of one object each, answered the same way (no ETag: made per reader).
WARM_PAGES: tuple[WarmPage, ...] = (web_classwork.OWN_HOMEWORK_PAGE,)


def around(
    router: ASGIApp, services: Services, settings: Settings, *, gate: GateSettings | None
) -> ASGIApp:
    """The layers around the router, outermost first: the edge (proxy address, request
    id, security headers, metrics), the gate (waiting room, rate limits, shedding; left
    out when ``gate`` is None or disabled), sessions (cookies, locale, session), the
    ``Idempotency-Key`` of every write (docs/offline.md), then the warm reads (to-do,
    inbox, unread counts, own week) that skip the router (DESIGN.md §5). Around the
    session layer, what keeps the hot reads readable while the database is down and
    refuses writes clearly (``web/degraded.py``, docs/reliability.md)."""
    app: ASGIApp = Degraded(
        SessionMiddleware(
            IdempotencyKeys(
                WarmReads(router, services=services, reads=WARM_READS, pages=WARM_PAGES),
                services=services,
            ),
            services=services,
            session_seconds=settings.session_seconds,
            secure_cookies=settings.cookie_secure,
            default_locale=settings.default_locale,
        ),
        copies=services.stale_copies,
        watch=services.database_watch,
    )
    if gate is not None and gate.enabled:
        app = build_gate(
            app,
            settings=gate,
            secret_key=settings.secret_key,
            shared=services.shared,
            clock=SystemClock(),
            samples=services.gate_samples,
        )
    return Edge(
        app,
        hsts=settings.cookie_secure,
        forwarded_allow_ips=settings.forwarded_allow_ips,
        access_log=settings.access_log,
    )


def asgi_app() -> ASGIApp:
    """Factory for ASGI servers (``uvicorn --factory preau.bootstrap:asgi_app``)."""
    settings = load_settings()
    configure_logging(json_lines=settings.log_json)
    gate = GateSettings.from_environ(os.environ)
    if settings.cookie_secure and not gate.cookie_secure:
        gate = msgspec.structs.replace(gate, cookie_secure=True)
    return build_app(settings, gate)
