"""ASGI types for Préau's plain middleware (the gate, headers, sessions), and the request
headers by name, read once per request for all of them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

HEADERS_KEY = "preau.headers"
# Set in the scope by ``web/degraded`` when the answer was degraded (the database was
# unreachable: a kept copy, or a refusal): the gate leaves such answers out of the health
# it adapts the admission rate to, since admitting fewer people cannot bring the database
# back, and a cut would keep people waiting long after it is.
DEGRADED_KEY = "preau.degraded"
# A page made for each reader (their CSRF token, a fresh form key in it) names under this
# key of ``scope["state"]`` the content it was made from; the degraded layer rewrites the
# person's kept copy of it only when that changes, not for every reader (web/degraded.py).
COPY_TAG = "preau.copy_tag"


def headers_of(scope: Scope) -> dict[bytes, bytes]:
    """The request's headers by (lower-case) name, made by the first layer that asks and
    kept in the scope for the others: one pass over the header list per request instead
    of one per layer. A name sent on several lines has its values joined, cookies with
    ``; `` (HTTP/2 splits them, RFC 9113 §8.2.3), any other with ``, `` (RFC 9110 §5.3)."""
    found: dict[bytes, bytes] | None = scope.get(HEADERS_KEY)
    if found is None:
        raw = scope["headers"]
        found = dict(raw)
        if len(found) != len(raw):  # a name came more than once
            found = {}
            for name, value in raw:
                earlier = found.get(name)
                found[name] = (
                    value
                    if earlier is None
                    else earlier + (b"; " if name == b"cookie" else b", ") + value
                )
        scope[HEADERS_KEY] = found
    return found
