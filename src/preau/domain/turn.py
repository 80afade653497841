"""TURN for pupils behind strict networks: time-limited credentials in coturn's "TURN REST
API" form, and coturn's configuration. Pure: the secret and the time come in.

coturn (``use-auth-secret``) accepts a username ``<expiry>:<anything>`` whose password is
``base64(HMAC-SHA1(static-auth-secret, username))`` until ``expiry`` (Unix seconds), so
Préau hands out credentials without telling coturn about each one, and a leaked pair dies
on its own.
"""

from __future__ import annotations

import base64
import hmac
from datetime import datetime, timedelta

import msgspec

from preau.domain.errors import InvalidInput


class IceServer(msgspec.Struct, frozen=True, kw_only=True):
    """One entry of RTCPeerConnection's ``iceServers``."""

    urls: tuple[str, ...]
    username: str = ""
    credential: str = ""


def turn_password(secret: str, username: str) -> str:
    mac = hmac.digest(secret.encode(), username.encode(), "sha1")
    return base64.b64encode(mac).decode()


def turn_username(expires_at: datetime, person_id: int) -> str:
    return f"{int(expires_at.timestamp())}:{person_id}"


def ice_servers(
    *, secret: str, urls: tuple[str, ...], person_id: int, now: datetime, ttl_seconds: int
) -> tuple[IceServer, ...]:
    """The TURN servers for one person, valid ``ttl_seconds`` from ``now``; none when TURN
    is not configured (the page then relies on direct paths)."""
    if not secret or not urls:
        return ()
    username = turn_username(now + timedelta(seconds=ttl_seconds), person_id)
    return (IceServer(urls=urls, username=username, credential=turn_password(secret, username)),)


def parse_turn_urls(text: str) -> tuple[str, ...]:
    """``PREAU_TURN_URLS``: comma-separated ``turn:``/``turns:`` URIs (RFC 7065)."""
    urls = tuple(part.strip() for part in text.split(",") if part.strip())
    for url in urls:
        if not url.startswith(("turn:", "turns:")):
            raise ValueError(f"PREAU_TURN_URLS entry {url!r} must start with turn: or turns:")
    return urls


class CoturnOptions(msgspec.Struct, frozen=True, kw_only=True):
    """Where coturn listens and relays (``preau turn config``)."""

    secret: str
    realm: str
    listen_ip: str
    relay_ip: str
    external_ip: str = ""  # the public address when coturn sits behind 1:1 NAT
    port: int = 3478  # UDP and TCP
    tls_port: int = 0  # 443 in production (needs cert and key); 0: no TLS listener
    cert: str = ""
    key: str = ""
    min_port: int = 49152  # relayed UDP ports
    max_port: int = 65535
    janus_ips: tuple[str, ...] = ()  # the only peers relayed to, beyond public addresses
    log_file: str = "stdout"


# Never relay to these (RFC 1918, loopback, link-local, CGNAT, multicast, IPv6 private):
# a TURN server must not become a way into the school's or the hoster's own networks.
DENIED_PEERS = (
    "0.0.0.0-0.255.255.255",
    "10.0.0.0-10.255.255.255",
    "100.64.0.0-100.127.255.255",
    "127.0.0.0-127.255.255.255",
    "169.254.0.0-169.254.255.255",
    "172.16.0.0-172.31.255.255",
    "192.168.0.0-192.168.255.255",
    "224.0.0.0-255.255.255.255",
    "::1",
    "fc00::-fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
    "fe80::-febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
)


def coturn_configuration(options: CoturnOptions) -> str:
    """``turnserver.conf`` for Préau's credentials: REST-API secret, UDP and TCP on
    ``port``, TLS on ``tls_port`` when a certificate is given, relaying only to public
    addresses and the Janus nodes."""
    if len(options.secret) < 16:
        raise InvalidInput(
            "{name} must be set to at least 16 random characters.",
            field="turn",
            name="PREAU_TURN_SECRET",
        )
    if options.tls_port and not (options.cert and options.key):
        raise InvalidInput("A TLS port needs a certificate and its key.", field="turn")
    if not 0 < options.min_port <= options.max_port < 65536:
        raise InvalidInput("The relay ports must be a range inside 1–65535.", field="turn")
    lines = [
        "# Written by `preau turn config`: edit Préau's settings, not this file.",
        "use-auth-secret",
        f"static-auth-secret={options.secret}",
        f"realm={options.realm}",
        f"listening-ip={options.listen_ip}",
        f"relay-ip={options.relay_ip}",
        f"listening-port={options.port}",
        f"min-port={options.min_port}",
        f"max-port={options.max_port}",
        "fingerprint",
        "no-cli",
        "no-multicast-peers",
        "no-software-attribute",
        "stale-nonce=600",
        "user-quota=12",  # a pupil needs a few allocations (one per peer connection)
        f"log-file={options.log_file}",
        "simple-log",
    ]
    if options.external_ip:
        lines.append(f"external-ip={options.external_ip}/{options.relay_ip}")
    if options.tls_port:
        lines += [
            f"tls-listening-port={options.tls_port}",
            f"cert={options.cert}",
            f"pkey={options.key}",
            "no-tlsv1",
            "no-tlsv1_1",
        ]
    else:
        lines += ["no-tls", "no-dtls"]
    lines += [f"denied-peer-ip={peers}" for peers in DENIED_PEERS]
    lines += [f"allowed-peer-ip={address}" for address in options.janus_ips]
    if any(address.startswith("127.") for address in options.janus_ips):
        lines.append("allow-loopback-peers")  # a test lab: Janus on a loopback address
    return "\n".join(lines) + "\n"
