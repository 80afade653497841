"""Virtual classes on a pool of Janus nodes: the nodes' configuration, placement, the
signed tokens Janus checks, and who may join. Pure: time, secrets and loads come in.

Janus (1.1, VideoRoom plugin) verifies HMAC-signed tokens by itself when the core has a
``token_auth_secret``: ``<expiry>,<realm>,<descriptor…>:<base64(HMAC-SHA1(secret, …))>``.
The core token (realm ``janus``) lists the plugins a session may attach; the room token
(realm ``janus.plugin.videoroom``) names one room. Janus has no participant limit, so
Préau caps a class by counting the tokens it issues.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import msgspec

from preau.domain.errors import InvalidInput
from preau.domain.turn import IceServer

VIDEOROOM = "janus.plugin.videoroom"
PLUGINS_FOLDER = "/usr/lib/x86_64-linux-gnu/janus"
# Every plugin, transport, logger and event handler Debian ships but Préau does not use.
UNUSED_PLUGINS = (
    "audiobridge",
    "duktape",
    "echotest",
    "lua",
    "nosip",
    "recordplay",
    "sip",
    "streaming",
    "textroom",
    "videocall",
    "voicemail",
)
UNUSED_TRANSPORTS = ("websockets", "pfunix", "mqtt", "nanomsg", "rabbitmq")
UNUSED_EVENTS = ("gelfevh", "mqttevh", "nanomsgevh", "rabbitmqevh", "sampleevh", "wsevh")


def lazy(message: str) -> str:
    """Mark a sentence for the catalogue; it is translated where shown (as ``i18n.lazy``)."""
    return message


ROOM_NOT_FOUND = lazy("This virtual class does not exist or is not one of yours.")
ROOM_FULL = lazy("This virtual class is full. Ask your teacher to let more people in.")
NOT_OPEN_YET = lazy("This virtual class opens {minutes} minutes before it starts.")
ROOM_OVER = lazy("This virtual class is over.")
UNAVAILABLE = lazy(
    "Virtual classes are unavailable: no video server is answering. Your timetable, "
    "homework and messages still work; try again later, or tell the school if it lasts."
)
NO_ROOM_FOR_CLASS = lazy(
    "No video server has room for this class right now. Try again in a minute."
)


class Role(enum.StrEnum):
    TEACHER = "teacher"  # publishes camera and screen; sees who is there
    PUPIL = "pupil"  # receives; raises a hand; speaks when allowed
    GUEST = "guest"  # invited staff: like a pupil who may always speak


class Node(msgspec.Struct, frozen=True, kw_only=True):
    """One Janus server, as configured."""

    name: str
    janus_url: str  # the Janus API (HTTP), also given to browsers
    admin_url: str  # the Admin API
    max_participants: int
    max_bitrate: int  # bits/s of egress Préau may plan on this node


class NodeLoad(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    healthy: bool
    accepting: bool  # False while an operator drains it
    participants: int  # expected participants of the rooms placed on it
    bitrate: int  # their planned egress, bits/s


class JoinGrant(msgspec.Struct, frozen=True, kw_only=True):
    """What the class page needs to enter its room."""

    room_id: int  # Préau's id
    janus_room: int
    janus_url: str
    node: str
    core_token: str
    room_token: str
    role: Role
    display: str
    expires_at: datetime
    title: str
    ice_servers: tuple[IceServer, ...] = ()  # TURN, with credentials for this person


def parse_nodes(text: str) -> list[Node]:
    """``name|janus_url|admin_url|max_participants|max_kbps`` entries, comma-separated."""
    nodes: list[Node] = []
    for entry in filter(None, (part.strip() for part in text.split(","))):
        cells = entry.split("|")
        if len(cells) != 5 or not all(cells) or not cells[3].isdigit() or not cells[4].isdigit():
            raise ValueError(
                f"PREAU_JANUS_NODES entry {entry!r} must be "
                "name|janus_url|admin_url|max_participants|max_kbps"
            )
        nodes.append(
            Node(
                name=cells[0],
                janus_url=cells[1].rstrip("/"),
                admin_url=cells[2].rstrip("/"),
                max_participants=int(cells[3]),
                max_bitrate=int(cells[4]) * 1000,
            )
        )
    if len({node.name for node in nodes}) != len(nodes):
        raise ValueError("PREAU_JANUS_NODES names must be unique")
    return nodes


# -- tokens ------------------------------------------------------------------------------


def signed_token(secret: str, expires_at: datetime, realm: str, *descriptors: str) -> str:
    """A token in Janus's ``token_auth_secret`` format (src/auth.c)."""
    data = ",".join([str(int(expires_at.timestamp())), realm, *descriptors])
    mac = hmac.digest(secret.encode(), data.encode(), "sha1")
    return f"{data}:{base64.b64encode(mac).decode()}"


def core_token(secret: str, expires_at: datetime) -> str:
    return signed_token(secret, expires_at, "janus", VIDEOROOM)


def room_token(secret: str, expires_at: datetime, janus_room: int) -> str:
    return signed_token(secret, expires_at, VIDEOROOM, f"room={janus_room}")


def room_secret(secret: str, janus_room: int) -> str:
    """The room's own secret (edit, destroy, moderate), derived so every process agrees."""
    return hmac.new(secret.encode(), f"room:{janus_room}".encode(), hashlib.sha256).hexdigest()


# -- placement ---------------------------------------------------------------------------


def spare_fraction(node: Node, load: NodeLoad, participants: int, bitrate: int) -> float:
    """How much of the node would stay free with this room added (the tighter resource)."""
    people = 1 - (load.participants + participants) / max(node.max_participants, 1)
    egress = 1 - (load.bitrate + bitrate) / max(node.max_bitrate, 1)
    return min(people, egress)


def choose_node(
    nodes: list[Node], loads: dict[str, NodeLoad], participants: int, bitrate: int
) -> Node | None:
    """The healthy, accepting node with the most spare capacity once the room is added, or
    None when no node can take it. Ties go to the first configured node."""
    best: tuple[float, int] | None = None
    chosen: Node | None = None
    for index, node in enumerate(nodes):
        load = loads.get(node.name)
        if load is None or not load.healthy or not load.accepting:
            continue
        spare = spare_fraction(node, load, participants, bitrate)
        if spare < 0:
            continue
        key = (spare, -index)
        if best is None or key > best:
            best, chosen = key, node
    return chosen


AUDIO_BITRATE = 32_000


def planned_bitrate(participants: int, room_bitrate: int) -> int:
    """Egress of a room: the teacher's stream to every other participant, plus audio."""
    return max(participants - 1, 0) * (room_bitrate + AUDIO_BITRATE)


# -- who may join ------------------------------------------------------------------------


def join_window(
    starts_at: datetime, ends_at: datetime, *, role: Role, early_minutes: int, lead_minutes: int
) -> tuple[datetime, datetime]:
    """When the join button shows: a few minutes before the start (the teacher from the
    moment the room exists) until the end."""
    minutes = lead_minutes if role is Role.TEACHER else early_minutes
    return starts_at - timedelta(minutes=minutes), ends_at


# -- Janus's own configuration -----------------------------------------------------------


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _port(url: str) -> int:
    parts = urlsplit(url)
    if parts.port is None:
        raise InvalidInput("A Janus address needs an explicit port.", field="janus_nodes")
    return parts.port


def janus_configuration(
    node: Node,
    *,
    configs_folder: str,
    bind: str,
    admin_secret: str,
    token_secret: str,
    room_key: str,
    rtp_ports: str,
    allow_origin: str,
    libraries: str = PLUGINS_FOLDER,
) -> dict[str, str]:
    """The files of one node's configuration folder (``janus -F <folder>``): transports
    bound to ``bind``, secrets set, signed tokens on, no demo rooms, and every plugin,
    transport and event handler Préau does not use disabled."""
    for name, value in (
        ("PREAU_JANUS_ADMIN_SECRET", admin_secret),
        ("PREAU_JANUS_TOKEN_SECRET", token_secret),
        ("PREAU_JANUS_ROOM_KEY", room_key),
    ):
        if len(value) < 16:
            raise InvalidInput(
                "{name} must be set to at least 16 random characters.",
                field="janus",
                name=name,
            )
    janus_path = urlsplit(node.janus_url).path or "/janus"
    admin_path = urlsplit(node.admin_url).path or "/admin"
    core = f"""# Written by `preau janus-config {node.name}`: edit Préau's settings, not this file.
general: {{
	configs_folder = {_quoted(configs_folder)}
	plugins_folder = "{libraries}/plugins"
	transports_folder = "{libraries}/transports"
	events_folder = "{libraries}/events"
	loggers_folder = "{libraries}/loggers"
	server_name = {_quoted("preau-" + node.name)}
	debug_level = 4
	admin_secret = {_quoted(admin_secret)}
	token_auth = true
	token_auth_secret = {_quoted(token_secret)}
	session_timeout = 60
	protected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys", "/usr"]
}}
media: {{
	rtp_port_range = {_quoted(rtp_ports)}
}}
nat: {{
	nice_debug = false
	ice_ignore_list = "vmnet"
}}
plugins: {{
	disable = {_quoted(",".join(f"libjanus_{name}.so" for name in UNUSED_PLUGINS))}
}}
transports: {{
	disable = {_quoted(",".join(f"libjanus_{name}.so" for name in UNUSED_TRANSPORTS))}
}}
loggers: {{
	disable = "libjanus_jsonlog.so"
}}
events: {{
	broadcast = false
	disable = {_quoted(",".join(f"libjanus_{name}.so" for name in UNUSED_EVENTS))}
}}
"""
    http = f"""# Written by `preau janus-config {node.name}`.
general: {{
	json = "compact"
	base_path = {_quoted(janus_path)}
	http = true
	port = {_port(node.janus_url)}
	ip = {_quoted(bind)}
	https = false
}}
admin: {{
	admin_base_path = {_quoted(admin_path)}
	admin_http = true
	admin_port = {_port(node.admin_url)}
	admin_ip = {_quoted(bind)}
	admin_https = false
}}
cors: {{
	allow_origin = {_quoted(allow_origin)}
}}
"""
    videoroom = f"""# Written by `preau janus-config {node.name}`: no rooms; Préau creates them.
general: {{
	admin_key = {_quoted(room_key)}
	lock_rtp_forward = true
}}
"""
    return {
        "janus.jcfg": core,
        "janus.transport.http.jcfg": http,
        "janus.plugin.videoroom.jcfg": videoroom,
    }
