"""A TURN Allocate over TCP with long-term credentials (RFC 5389 / 5766), enough to ask
coturn whether it takes a username and password: the answer's class and error code."""

from __future__ import annotations

import hashlib
import hmac
import os
import socket
import struct
import zlib

MAGIC = 0x2112A442
ALLOCATE = 0x0003
SUCCESS, ERROR = 0x0103, 0x0113
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, REALM, NONCE = 0x0006, 0x0008, 0x0009, 0x0014, 0x0015
REQUESTED_TRANSPORT, FINGERPRINT = 0x0019, 0x8028


def _attribute(kind: int, value: bytes) -> bytes:
    padding = b"\0" * (-len(value) % 4)
    return struct.pack("!HH", kind, len(value)) + value + padding


def _message(kind: int, transaction: bytes, attributes: bytes, key: bytes | None) -> bytes:
    if key is not None:  # integrity over the header whose length counts the HMAC itself
        header = struct.pack("!HHI", kind, len(attributes) + 24, MAGIC) + transaction
        mac = hmac.digest(key, header + attributes, "sha1")
        attributes += _attribute(MESSAGE_INTEGRITY, mac)
    header = struct.pack("!HHI", kind, len(attributes) + 8, MAGIC) + transaction
    crc = (zlib.crc32(header + attributes) ^ 0x5354554E) & 0xFFFFFFFF
    attributes += _attribute(FINGERPRINT, struct.pack("!I", crc))
    return struct.pack("!HHI", kind, len(attributes), MAGIC) + transaction + attributes


def _read(connection: socket.socket) -> tuple[int, dict[int, bytes]]:
    def exactly(size: int) -> bytes:
        data = b""
        while len(data) < size:
            chunk = connection.recv(size - len(data))
            if not chunk:
                raise ConnectionError("TURN server closed the connection")
            data += chunk
        return data

    kind, length, _ = struct.unpack("!HHI", exactly(8))
    exactly(12)
    body = exactly(length)
    found: dict[int, bytes] = {}
    offset = 0
    while offset + 4 <= len(body):
        attribute, size = struct.unpack("!HH", body[offset : offset + 4])
        found[attribute] = body[offset + 4 : offset + 4 + size]
        offset += 4 + size + (-size % 4)
    return kind, found


def allocate(host: str, port: int, username: str, password: str) -> int:
    """0 when coturn grants a UDP relay to these credentials, else its error code."""
    transport = _attribute(REQUESTED_TRANSPORT, bytes([17, 0, 0, 0]))
    with socket.create_connection((host, port), timeout=5) as connection:
        connection.sendall(_message(ALLOCATE, os.urandom(12), transport, None))
        kind, answer = _read(connection)
        if kind != ERROR or ERROR_CODE not in answer:
            raise AssertionError(f"expected a 401 challenge, got {kind:#x}")
        realm, nonce = answer[REALM], answer[NONCE]
        key = hashlib.md5(  # noqa: S324 - the key RFC 5389 §15.4 defines
            f"{username}:{realm.decode()}:{password}".encode()
        ).digest()
        attributes = (
            transport
            + _attribute(USERNAME, username.encode())
            + _attribute(REALM, realm)
            + _attribute(NONCE, nonce)
        )
        connection.sendall(_message(ALLOCATE, os.urandom(12), attributes, key))
        kind, answer = _read(connection)
        if kind == SUCCESS:
            return 0
        code = answer.get(ERROR_CODE, b"\0\0\0\0")
        return int(code[2] & 0x7) * 100 + code[3]
