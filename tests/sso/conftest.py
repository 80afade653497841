"""Préau with single sign-on configured, beside a real pysaml2 identity provider."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import httpx
import pytest
import sqlalchemy as sa
import uvicorn
from litestar import Litestar
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.actions.context import Services
from preau.adapters.sql.schema import people
from preau.asgi import ASGIApp
from preau.bootstrap import around, build_services, start_services, stop_services
from preau.settings import Settings
from tests.helpers import (
    PASSWORD,
    App,
    School,
    as_served,
    build_world,
    make_settings,
    reused_router,
    running_app,
)
from tests.sso.identity_providers import (
    IDP_ENTITY_ID,
    SamlIdentityProvider,
    idp_metadata,
    make_key_pair,
)

# The roster identifiers the world's people carry (people.source_id): what EduConnect sends
# as FrEduCtId in these tests.
PUPIL_A = "fr-educonnect-pupil-a"
PARENT_A = "fr-educonnect-parent-a"


@dataclass
class Keys:
    folder: Path
    idp_key: str
    idp_cert: str
    sp_key: str
    sp_cert: str
    idp_metadata_file: str


@pytest.fixture(scope="session")
def saml_keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("saml")
    idp_key, idp_cert = make_key_pair(folder, "idp")
    sp_key, sp_cert = make_key_pair(folder, "sp")
    metadata_file = folder / "educonnect.xml"
    metadata_file.write_text(idp_metadata(idp_key, idp_cert))
    return Keys(folder, idp_key, idp_cert, sp_key, sp_cert, str(metadata_file))


def sso_settings(database_url: str, keys: Keys, **overrides: object) -> dict[str, object]:
    return {
        "base_url": "http://testserver",
        "saml_idps": (
            f"educonnect|ÉduConnect|{IDP_ENTITY_ID}|{keys.idp_metadata_file}|0750001A,0750002B"
        ),
        "saml_sp_key_file": keys.sp_key,
        "saml_sp_cert_file": keys.sp_cert,
        "cas_services": "0750001A=https://pronote.test/0750001A/ http://apps.test:8080/cas-demo",
        **overrides,
    }


@pytest.fixture
async def sso_app(engine: AsyncEngine, database_url: str, saml_keys: Keys) -> AsyncIterator[App]:
    settings = make_settings(database_url, **sso_settings(database_url, saml_keys))
    async with running_app(settings) as running:
        yield running


@pytest.fixture
async def sso_world(sso_app: App) -> dict[str, School]:
    return await roster_world(sso_app.services)


async def roster_world(services: Services) -> dict[str, School]:
    """The two-school world, some of its people with the identifiers the roster carries."""
    world = await build_world(services, await services.passwords.hash(PASSWORD))
    async with services.engine.begin() as connection:
        for role, source_id in (("pupil", PUPIL_A), ("parent", PARENT_A)):
            await connection.execute(
                people.update()
                .where(people.c.id == world["a"].people[role])
                .values(source_id=source_id)
            )
        await connection.execute(
            people.update()
            .where(people.c.id == world["b"].people["pupil"])
            .values(source_id="fr-educonnect-pupil-b")
        )
    return world


@pytest.fixture
async def idp(sso_app: App, saml_keys: Keys) -> SamlIdentityProvider:
    metadata = (await sso_app.client.get("/sso/saml/metadata")).text
    return SamlIdentityProvider(saml_keys.idp_key, saml_keys.idp_cert, metadata)


async def person_of(app: App, person_id: int) -> str:
    async with app.services.engine.connect() as connection:
        return str(
            (
                await connection.execute(
                    sa.select(people.c.username).where(people.c.id == person_id)
                )
            ).scalar_one()
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """Préau behind a real HTTP server on this machine (uvicorn, in this event loop), for
    clients that speak HTTP themselves: python-cas, the OpenID provider's redirects."""

    services: Services
    base_url: str
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    def client(self) -> httpx.AsyncClient:
        """A browser of its own (cookies), closed with the server."""
        client = httpx.AsyncClient(base_url=self.base_url)
        self.clients.append(client)
        return client


@asynccontextmanager
async def served(settings: Settings) -> AsyncIterator[Served]:
    services = build_services(settings)
    with reused_router(services) as router:  # built once per worker (tests/helpers.py)
        async with served_on(settings, services, router) as running:
            yield running


@asynccontextmanager
async def served_on(
    settings: Settings, services: Services, router: Litestar
) -> AsyncIterator[Served]:
    asgi = around(cast("ASGIApp", router), services, settings, gate=None)
    await start_services(services)
    server = uvicorn.Server(
        uvicorn.Config(
            as_served(asgi),
            host="127.0.0.1",
            port=int(settings.base_url.rsplit(":", 1)[1]),
            lifespan="off",
            log_level="warning",
            access_log=False,
        )
    )
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        running = Served(services, settings.base_url)
        try:
            yield running
        finally:
            for client in running.clients:
                await client.aclose()
    finally:
        server.should_exit = True
        await task
        await stop_services(services)


@pytest.fixture(params=["memory", "redis"])
async def cas_preau(
    request: pytest.FixtureRequest, engine: AsyncEngine, database_url: str, saml_keys: Keys
) -> AsyncIterator[Served]:
    """Préau as a CAS server, its tickets in memory or on Redis."""
    redis: dict[str, object] = {}
    if request.param == "redis":
        redis = {
            "redis_url": request.getfixturevalue("redis_url"),
            "redis_prefix": request.getfixturevalue("redis_prefix"),
        }
    port = free_port()
    settings = make_settings(
        database_url,
        **{**sso_settings(database_url, saml_keys), "base_url": f"http://127.0.0.1:{port}"},
        **redis,
    )
    async with served(settings) as running:
        yield running


# -- OpenID Connect: oidc-provider under Node ---------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
OIDC_SCRIPT = Path(__file__).with_name("oidc_provider.mjs")
OIDC_CLIENT_ID = "preau"
OIDC_CLIENT_SECRET = "preau-test-client-secret-0123456789"


@dataclass
class OidcProviderProcess:
    issuer: str
    preau_port: int  # the redirect URI registered at the provider names this port
    private_key: dict[str, str | list[str]]  # the provider's signing key, to forge tokens


@pytest.fixture(scope="session")
def oidc_provider() -> Iterator[OidcProviderProcess]:
    from joserfc.jwk import RSAKey

    from tests.conftest import missing_service

    if not (ROOT / "node_modules" / "oidc-provider").is_dir() or shutil.which("node") is None:
        missing_service("oidc-provider is not installed: run `make node-deps` (npm ci)")
    key = RSAKey.generate_key(2048, parameters={"kid": "test-1", "use": "sig", "alg": "RS256"})
    private = dict(key.as_dict(private=True))
    port, preau_port = free_port(), free_port()
    options = {
        "port": port,
        "client_id": OIDC_CLIENT_ID,
        "client_secret": OIDC_CLIENT_SECRET,
        "redirect_uri": f"http://127.0.0.1:{preau_port}/sso/oidc/academie/callback",
        "jwks": {"keys": [private]},
    }
    process = subprocess.Popen(
        ["node", str(OIDC_SCRIPT), json.dumps(options)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        said = []  # oidc-provider warns first (Node 20, the in-memory store of tests)
        while not (line := process.stdout.readline()).startswith("listening"):
            said.append(line)
            assert line, "oidc-provider did not start: " + "".join(said)
            assert len(said) < 20, "oidc-provider did not start: " + "".join(said)
        yield OidcProviderProcess(f"http://127.0.0.1:{port}", preau_port, private)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


@pytest.fixture
async def oidc_preau(
    engine: AsyncEngine,
    database_url: str,
    saml_keys: Keys,
    oidc_provider: OidcProviderProcess,
) -> AsyncIterator[Served]:
    settings = make_settings(
        database_url,
        **{
            **sso_settings(database_url, saml_keys),
            "base_url": f"http://127.0.0.1:{oidc_provider.preau_port}",
            "oidc_providers": (
                f"academie|Académie de Paris|{oidc_provider.issuer}|{OIDC_CLIENT_ID}|"
                f"{OIDC_CLIENT_SECRET}|0750001A"
            ),
        },
    )
    async with served(settings) as running:
        yield running
