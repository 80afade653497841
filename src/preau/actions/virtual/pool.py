"""The Janus nodes of the settings, their health, and the loop every process runs to keep
rooms placed (see :mod:`preau.actions.virtual.placement`).

:class:`JanusPool` polls each node's Admin API, places the rooms of lessons starting within
``janus_lead_minutes``, and moves the live rooms of a node that stopped answering to another
node.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import msgspec

from preau.actions.context import Services
from preau.adapters.janus import JanusAdmin, JanusUnavailable
from preau.domain.virtual import Node, parse_nodes
from preau.settings import Settings

log = logging.getLogger("preau.virtual")


class NodeHealth(msgspec.Struct, kw_only=True):
    healthy: bool = False
    accepting: bool = False
    misses: int = 0
    error: str = ""


class JanusPool:
    """The Janus nodes of the settings, their health, and the background loop, talking to
    the nodes through ``admin`` (built by the composition root; closed by :meth:`stop`)."""

    def __init__(self, settings: Settings, admin: JanusAdmin) -> None:
        self.settings = settings
        self.nodes: list[Node] = parse_nodes(settings.janus_nodes)
        self.by_name = {node.name: node for node in self.nodes}
        self.health: dict[str, NodeHealth] = {node.name: NodeHealth() for node in self.nodes}
        self.admin = admin
        self._task: asyncio.Task[None] | None = None
        self._services: Services | None = None
        self._ticks = 0

    @property
    def configured(self) -> bool:
        return bool(self.nodes)

    def healthy(self, name: str | None) -> bool:
        return name is not None and name in self.health and self.health[name].healthy

    def any_available(self) -> bool:
        return any(health.healthy and health.accepting for health in self.health.values())

    async def check(self, node: Node) -> None:
        health = self.health[node.name]
        try:
            info = await self.admin.info(node)
        except JanusUnavailable as error:
            health.misses += 1
            health.error = str(error)[:200]
            if health.misses >= self.settings.janus_dead_after:
                if health.healthy:
                    log.warning("janus node %s stopped answering: %s", node.name, error)
                health.healthy = False
            return
        if not health.healthy:
            log.info("janus node %s is answering", node.name)
        health.healthy, health.misses, health.error = True, 0, ""
        health.accepting = bool(info.get("accepting-new-sessions", True))

    async def refresh(self) -> None:
        """Poll every node once (concurrently)."""
        await asyncio.gather(*(self.check(node) for node in self.nodes))

    async def start(self, services: Services) -> None:
        if not self.nodes:
            return
        self._services = services
        await self.refresh()
        self._task = asyncio.create_task(self._loop(), name="janus-pool")

    async def _loop(self) -> None:
        # Placement works on the pool, so it is imported here rather than at the top, where
        # the two modules would import each other.
        from preau.actions.virtual.placement import (  # noqa: PLC0415 - see above
            place_upcoming,
            relocate_rooms,
        )

        assert self._services is not None
        every = max(1, int(30 / max(self.settings.janus_poll_seconds, 0.1)))
        while True:
            await asyncio.sleep(self.settings.janus_poll_seconds)
            try:
                await self.refresh()
                await relocate_rooms(self._services)
                if self._ticks % every == 0:
                    await place_upcoming(self._services)
                self._ticks += 1
            except Exception:  # the loop must outlive any one failure; logged
                log.exception("janus pool iteration failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.admin.close()


def pool_of(services: Services) -> JanusPool:
    pool = services.janus
    assert pool is not None
    return pool
