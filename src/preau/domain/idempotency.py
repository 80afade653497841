"""Idempotency keys, the pure part: a key's shape, a request's fingerprint, what a stored
record says about a request carrying the same key, which headers an answer keeps.

One mechanism for every write (docs/offline.md): a browser's outbox or an API client
sends ``Idempotency-Key``; the first answer is kept by (person, key) and replayed.
"""

from __future__ import annotations

import enum
import hashlib
import re
from datetime import datetime, timedelta

from preau.domain.errors import InvalidInput


def lazy(message: str) -> str:
    """Mark a sentence for extraction; it is translated where it is shown."""
    return message


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_PATTERN = re.compile(r"[\x21-\x7e]{8,100}")
KEY_SHAPE = lazy("An Idempotency-Key is 8 to 100 printable ASCII characters, with no spaces.")
# A claim whose request never finished (the process died before its write committed) may
# be taken over after this long: longer than any request is allowed to run.
LEASE = timedelta(seconds=60)
# Answers bigger than this are not kept whole: the record says the write was done.
MAX_KEPT_BODY = 256 * 1024
# Headers an answer is replayed with: never a cookie, never the first answer's date.
KEPT_HEADERS = frozenset({b"content-type", b"location", b"etag", b"cache-control"})


class Replay(enum.Enum):
    """What to do with a request whose key is already recorded."""

    PROCEED = "proceed"  # no live record: do the write
    ANSWER = "answer"  # the first answer is kept: send it again
    DONE = "done"  # the write committed but its answer was lost (process killed)
    IN_PROGRESS = "in_progress"  # the first request is still running
    OTHER_REQUEST = "other_request"  # the key came with another request: 422


def check_key(raw: str) -> str:
    if not KEY_PATTERN.fullmatch(raw):
        raise InvalidInput(KEY_SHAPE, field="Idempotency-Key")
    return raw


def fingerprint(method: str, path: str, query: bytes, content_type: bytes, body: bytes) -> str:
    """A digest of what was asked. A multipart body's boundary is random for each sending
    (an outbox sending the same form again draws a new one), so it is left out."""
    digest = hashlib.sha256()
    boundary = _boundary(content_type)
    if boundary:
        body = body.replace(boundary, b"")
        content_type = content_type.replace(boundary, b"")
    for part in (method.encode(), path.encode(), query, content_type.lower()):
        digest.update(part)
        digest.update(b"\0")
    digest.update(body)
    return digest.hexdigest()


def _boundary(content_type: bytes) -> bytes:
    for parameter in content_type.split(b";")[1:]:
        name, _, value = parameter.strip().partition(b"=")
        if name.lower() == b"boundary":
            return value.strip(b'"')
    return b""


def replay_for(
    *,
    stored_fingerprint: str,
    fingerprint: str,
    done: bool,
    answered: bool,
    claimed_at: datetime,
    now: datetime,
) -> Replay:
    if stored_fingerprint != fingerprint:
        return Replay.OTHER_REQUEST
    if answered:
        return Replay.ANSWER
    if done:
        return Replay.DONE
    if now - claimed_at < LEASE:
        return Replay.IN_PROGRESS
    return Replay.PROCEED


def expired_before(now: datetime, hours: int) -> datetime:
    return now - timedelta(hours=hours)


def kept_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower(), value) for name, value in headers if name.lower() in KEPT_HEADERS]
