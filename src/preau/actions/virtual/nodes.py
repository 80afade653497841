"""The Janus nodes as operators see and steer them (``preau janus status|drain|resume``):
each node's health and planned load, and draining one."""

from __future__ import annotations

import msgspec
import sqlalchemy as sa

from preau.actions.context import Services
from preau.actions.virtual.placement import node_loads
from preau.actions.virtual.pool import pool_of
from preau.adapters.janus import JanusUnavailable
from preau.adapters.sql.schema import virtual_rooms
from preau.domain.errors import NotFound, ServiceUnavailable
from preau.domain.virtual import UNAVAILABLE
from preau.i18n import lazy


class NodeStatus(msgspec.Struct, kw_only=True):
    name: str
    janus_url: str
    healthy: bool
    accepting: bool
    error: str
    rooms: int
    participants: int
    max_participants: int
    bitrate: int
    max_bitrate: int


async def drain_node(services: Services, name: str, *, draining: bool) -> NodeStatus:
    """Stop (or resume) new rooms and new sessions on a node; rooms there run on."""
    pool = pool_of(services)
    node = pool.by_name.get(name)
    if node is None:
        raise NotFound(lazy("There is no video server with this name."))
    try:
        await pool.admin.set_accepting(node, accept=not draining)
    except JanusUnavailable as error:
        raise ServiceUnavailable(UNAVAILABLE) from error
    await pool.check(node)
    return next(status for status in await node_statuses(services) if status.name == name)


async def node_statuses(services: Services) -> list[NodeStatus]:
    pool = pool_of(services)
    now = services.now()
    async with services.engine.connect() as connection:
        loads = await node_loads(connection, pool, now)
        counted = await connection.execute(
            sa.select(virtual_rooms.c.node, sa.func.count().label("rooms"))
            .where(virtual_rooms.c.ends_at > now, virtual_rooms.c.node.is_not(None))
            .group_by(virtual_rooms.c.node)
        )
        counts = {str(row.node): int(row.rooms) for row in counted}
    return [
        NodeStatus(
            name=node.name,
            janus_url=node.janus_url,
            healthy=pool.health[node.name].healthy,
            accepting=pool.health[node.name].accepting,
            error=pool.health[node.name].error,
            rooms=int(counts.get(node.name, 0)),
            participants=loads[node.name].participants,
            max_participants=node.max_participants,
            bitrate=loads[node.name].bitrate,
            max_bitrate=node.max_bitrate,
        )
        for node in pool.nodes
    ]
