"""Préau with single sign-on configured, beside a real pysaml2 identity provider."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from preau.adapters.sql.schema import people
from tests.helpers import PASSWORD, App, School, build_world, make_settings, running_app
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
    world = await build_world(sso_app.services, await sso_app.services.passwords.hash(PASSWORD))
    async with sso_app.services.engine.begin() as connection:
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
