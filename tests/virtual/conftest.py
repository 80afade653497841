"""Virtual-class fixtures: real Janus nodes started with Préau's configuration, an app
driving them on each database, the two-school world and a clock the test sets."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import missing_service
from tests.helpers import PASSWORD, App, School, build_world, make_settings, running_app
from tests.virtual.janus_nodes import (
    ADMIN_SECRET,
    JANUS,
    ROOM_KEY,
    TOKEN_SECRET,
    JanusProcess,
    make_node,
    nodes_setting,
)


@pytest.fixture(scope="session")
def janus_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[JanusProcess]]:
    if not Path(JANUS).exists():
        missing_service("Janus is not installed (apt-get install janus)")
    folder = tmp_path_factory.mktemp("janus")
    offset = 1000 * (int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").lstrip("gw") or 0) % 20)
    nodes = [
        make_node(name, folder / name, rtp_base=30000 + offset + 500 * index)
        for index, name in enumerate(("a", "b"))
    ]
    for node in nodes:
        node.start()
    yield nodes
    for node in nodes:
        node.kill()


@pytest.fixture
def running_nodes(janus_nodes: list[JanusProcess]) -> list[JanusProcess]:
    """Every node up (a previous test may have killed one)."""
    for node in janus_nodes:
        node.ensure_running()
    return janus_nodes


def janus_settings(nodes: list[JanusProcess], **overrides: object) -> dict[str, object]:
    return {
        "janus_nodes": nodes_setting(nodes),
        "janus_admin_secret": ADMIN_SECRET,
        "janus_token_secret": TOKEN_SECRET,
        "janus_room_key": ROOM_KEY,
        "janus_poll_seconds": 3600.0,  # tests poll by hand: no background surprises
        "janus_dead_after": 1,
        **overrides,
    }


@pytest.fixture
async def app(
    engine: AsyncEngine, database_url: str, running_nodes: list[JanusProcess]
) -> AsyncIterator[App]:
    settings = make_settings(database_url, **janus_settings(running_nodes))
    async with running_app(settings) as running:
        yield running


@pytest.fixture
async def world(app: App) -> dict[str, School]:
    return await build_world(app.services, await app.services.passwords.hash(PASSWORD))
