"""Janus's Admin API over HTTP: health, drain, and VideoRoom requests without a session
(``message_plugin``). One client per process, shared by every node."""

from __future__ import annotations

import logging
import secrets
from typing import Any

import httpx

from preau.domain.virtual import VIDEOROOM, Node

# httpx logs every request at INFO; health polls every few seconds would drown the log.
logging.getLogger("httpx").setLevel(logging.WARNING)

ROOM_EXISTS = 427  # VideoRoom: "Room <id> already exists"
NO_SUCH_ROOM = 426


class JanusUnavailable(RuntimeError):
    """The node did not answer, or answered with an error it should not have."""


class JanusAdmin:
    def __init__(self, *, admin_secret: str, room_key: str, timeout: float = 2.0) -> None:
        self._secret = admin_secret
        self._room_key = room_key
        self._timeout = timeout
        self._client: httpx.AsyncClient | None = None  # made on first use

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _call(self, node: Node, request: dict[str, Any]) -> dict[str, Any]:
        body = {"transaction": secrets.token_hex(6), "admin_secret": self._secret, **request}
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=self._timeout)
        try:
            response = await self._client.post(node.admin_url, json=body)
            answer: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as error:
            raise JanusUnavailable(f"{node.name}: {type(error).__name__}: {error}") from error
        if answer.get("janus") == "error":
            raise JanusUnavailable(f"{node.name}: {answer.get('error')}")
        return answer

    async def info(self, node: Node) -> dict[str, Any]:
        """Server information; ``accepting-new-sessions`` is False while drained."""
        return await self._call(node, {"janus": "info"})

    async def set_accepting(self, node: Node, *, accept: bool) -> None:
        await self._call(node, {"janus": "accept_new_sessions", "accept": accept})

    async def videoroom(self, node: Node, request: dict[str, Any]) -> dict[str, Any]:
        answer = await self._call(
            node, {"janus": "message_plugin", "plugin": VIDEOROOM, "request": request}
        )
        response: dict[str, Any] = answer.get("response", {})
        return response

    async def create_room(
        self,
        node: Node,
        *,
        janus_room: int,
        description: str,
        bitrate: int,
        room_secret: str,
        publishers: int = 6,
    ) -> None:
        """Create the room (idempotent: an existing room with this id is kept)."""
        response = await self.videoroom(
            node,
            {
                "request": "create",
                "admin_key": self._room_key,
                "room": janus_room,
                "description": description[:100],
                "publishers": publishers,
                "bitrate": bitrate,
                "bitrate_cap": True,
                "signed_tokens": True,
                "is_private": True,
                "secret": room_secret,
                "notify_joining": True,
                "audiolevel_event": False,
                "lock_record": True,  # only Préau (with the room's secret) starts recording
            },
        )
        if response.get("videoroom") != "created" and response.get("error_code") != ROOM_EXISTS:
            raise JanusUnavailable(f"{node.name}: create refused: {response}")

    async def room_exists(self, node: Node, janus_room: int) -> bool:
        response = await self.videoroom(node, {"request": "exists", "room": janus_room})
        return bool(response.get("exists"))

    async def destroy_room(self, node: Node, *, janus_room: int, room_secret: str) -> None:
        response = await self.videoroom(
            node, {"request": "destroy", "room": janus_room, "secret": room_secret}
        )
        if response.get("videoroom") != "destroyed" and response.get("error_code") != NO_SUCH_ROOM:
            raise JanusUnavailable(f"{node.name}: destroy refused: {response}")

    async def start_recording(
        self, node: Node, *, janus_room: int, room_secret: str, folder: str
    ) -> None:
        """Record every publisher of the room into ``folder`` (one .mjr file per stream)."""
        edited = await self.videoroom(
            node,
            {"request": "edit", "room": janus_room, "secret": room_secret, "new_rec_dir": folder},
        )
        if edited.get("videoroom") != "edited":
            raise JanusUnavailable(f"{node.name}: edit refused: {edited}")
        await self._recording(node, janus_room, room_secret, record=True)

    async def stop_recording(self, node: Node, *, janus_room: int, room_secret: str) -> None:
        await self._recording(node, janus_room, room_secret, record=False)

    async def _recording(
        self, node: Node, janus_room: int, room_secret: str, *, record: bool
    ) -> None:
        response = await self.videoroom(
            node,
            {
                "request": "enable_recording",
                "room": janus_room,
                "secret": room_secret,
                "record": record,
            },
        )
        if response.get("videoroom") != "success" and response.get("record") is None:
            raise JanusUnavailable(f"{node.name}: enable_recording refused: {response}")

    async def participants(self, node: Node, janus_room: int) -> list[dict[str, Any]]:
        response = await self.videoroom(node, {"request": "listparticipants", "room": janus_room})
        found: list[dict[str, Any]] = response.get("participants", [])
        return found
