"""The edge layer on its own: trusted proxies, request ids, security headers and metrics."""

from __future__ import annotations

from typing import Any

import pytest

from preau.asgi import Message, Receive, Scope, Send, headers_of
from preau.observability import REQUEST_STATS
from preau.web.middleware import Edge, TrustedProxies


def http_scope(
    headers: list[tuple[bytes, bytes]] | None = None,
    *,
    client: tuple[str, int] = ("127.0.0.1", 5000),
    kind: str = "http",
    path: str = "/edge-test",
) -> dict[str, Any]:
    return {
        "type": kind,
        "method": "GET",
        "path": path,
        "scheme": "http" if kind == "http" else "ws",
        "headers": headers or [],
        "client": client,
    }


@pytest.mark.parametrize(
    ("allowed", "peer", "forwarded", "expected"),
    [
        ("127.0.0.1", "127.0.0.1", "203.0.113.7", "203.0.113.7"),
        # The right-most address that is not a trusted proxy is the client: the left part
        # of the header is whatever the client itself sent.
        ("127.0.0.1, 10.0.0.2", "127.0.0.1", "6.6.6.6, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        ("10.0.0.0/8", "10.1.2.3", "198.51.100.4, 10.9.9.9", "198.51.100.4"),
        ("::1", "::1", "2001:db8::5", "2001:db8::5"),
        # Every hop trusted: the left-most address.
        ("*", "192.0.2.1", "198.51.100.4, 203.0.113.7", "198.51.100.4"),
        # A peer that is not trusted: the header is ignored.
        ("127.0.0.1", "198.51.100.9", "203.0.113.7", "198.51.100.9"),
        ("10.0.0.0/8", "11.0.0.1", "203.0.113.7", "11.0.0.1"),
    ],
)
def test_the_client_address_comes_from_trusted_proxies_only(
    allowed: str, peer: str, forwarded: str, expected: str
) -> None:
    scope = http_scope([(b"x-forwarded-for", forwarded.encode())], client=(peer, 5000))
    TrustedProxies(allowed).apply(scope)
    assert scope["client"][0] == expected


def test_forwarded_headers_split_over_lines_and_the_scheme() -> None:
    scope = http_scope(
        [
            (b"x-forwarded-for", b"198.51.100.4"),
            (b"x-forwarded-for", b"203.0.113.7"),
            (b"x-forwarded-proto", b"https"),
        ]
    )
    TrustedProxies("127.0.0.1").apply(scope)
    assert scope["client"] == ("203.0.113.7", 0)
    assert scope["scheme"] == "https"
    socket = http_scope([(b"x-forwarded-proto", b"https")], kind="websocket")
    TrustedProxies("127.0.0.1").apply(socket)
    assert socket["scheme"] == "wss"
    odd = http_scope([(b"x-forwarded-proto", b"gopher")])
    TrustedProxies("127.0.0.1").apply(odd)
    assert odd["scheme"] == "http"


def answering(status: int, headers: list[tuple[bytes, bytes]] | None = None) -> Any:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["path_template"] = "/edge-test"
        await send({"type": "http.response.start", "status": status, "headers": headers or []})
        await send({"type": "http.response.body", "body": b""})

    return app


async def call(app: Any, scope: dict[str, Any]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


async def test_request_ids_are_kept_or_made_and_differ() -> None:
    edge = Edge(answering(200), hsts=False, forwarded_allow_ips="127.0.0.1")
    given = await call(edge, http_scope([(b"x-request-id", b"r" * 100)]))
    assert dict(given[0]["headers"])[b"x-request-id"] == b"r" * 64
    made = {dict((await call(edge, http_scope()))[0]["headers"])[b"x-request-id"] for _ in range(3)}
    assert len(made) == 3
    # A client that is not a trusted proxy does not name its requests in our logs.
    stranger = http_scope([(b"x-request-id", b"forged")], client=("198.51.100.9", 5000))
    assert dict((await call(edge, stranger))[0]["headers"])[b"x-request-id"] != b"forged"


async def test_security_headers_but_not_on_a_304() -> None:
    ok = await call(Edge(answering(200), hsts=True, forwarded_allow_ips=""), http_scope())
    headers = dict(ok[0]["headers"])
    assert b"script-src 'self'" in headers[b"content-security-policy"]
    assert headers[b"strict-transport-security"].startswith(b"max-age=")
    assert headers[b"vary"] == b"Accept-Language, Cookie"
    assert b"content-language" not in headers  # nobody chose a locale (the gate says its own)
    unchanged = await call(Edge(answering(304), hsts=True, forwarded_allow_ips=""), http_scope())
    names = [name for name, _ in unchanged[0]["headers"]]
    assert b"content-security-policy" not in names
    assert b"vary" in names
    assert b"x-request-id" in names


async def test_an_answer_from_before_the_session_layer_has_no_locale_to_say() -> None:
    """Granian hands every request a ``state`` (a copy of the lifespan's, often empty); the
    gate answers before the session layer puts a locale in it."""
    for state in ({}, {"something": 1}):
        scope = {**http_scope(), "state": dict(state)}
        sent = await call(Edge(answering(503), hsts=False, forwarded_allow_ips=""), scope)
        assert sent[0]["status"] == 503
        assert b"content-language" not in dict(sent[0]["headers"])


async def test_a_page_with_its_own_policy_keeps_it_alone() -> None:
    own = (b"content-security-policy", b"default-src 'none'")
    sent = await call(Edge(answering(200, [own]), hsts=False, forwarded_allow_ips=""), http_scope())
    policies = [value for name, value in sent[0]["headers"] if name == b"content-security-policy"]
    assert policies == [b"default-src 'none'"]


async def test_a_security_header_set_inside_is_not_sent_twice() -> None:
    """The gate's own pages stand alone too, so they set nosniff and a policy themselves."""
    own = [
        (b"x-content-type-options", b"nosniff"),
        (b"content-security-policy", b"default-src 'none'"),
    ]
    sent = await call(Edge(answering(503, own), hsts=False, forwarded_allow_ips=""), http_scope())
    names = [name for name, _ in sent[0]["headers"]]
    assert names.count(b"x-content-type-options") == 1
    assert names.count(b"content-security-policy") == 1
    assert b"x-frame-options" in names  # the others are still added


def test_headers_are_read_once_per_request_and_repeated_names_joined() -> None:
    scope = http_scope(
        [
            (b"cookie", b"a=1"),
            (b"accept", b"text/html"),
            (b"cookie", b"b=2"),
            (b"x-forwarded-for", b"198.51.100.4"),
            (b"x-forwarded-for", b"203.0.113.7"),
        ]
    )
    headers = headers_of(scope)
    assert headers[b"cookie"] == b"a=1; b=2"  # HTTP/2 splits cookies over lines
    assert headers[b"x-forwarded-for"] == b"198.51.100.4, 203.0.113.7"
    assert headers[b"accept"] == b"text/html"
    assert headers_of(scope) is headers  # the next layer gets the same map
    assert headers_of(http_scope([(b"accept", b"*/*")])) == {b"accept": b"*/*"}


async def test_the_locale_chosen_inside_is_said_and_requests_are_counted() -> None:
    async def inside(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})["locale"] = "en"
        await answering(201)(scope, receive, send)

    before = REQUEST_STATS.count("GET", "/edge-test", 201)
    sent = await call(Edge(inside, hsts=False, forwarded_allow_ips=""), http_scope())
    assert dict(sent[0]["headers"])[b"content-language"] == b"en"
    assert REQUEST_STATS.count("GET", "/edge-test", 201) == before + 1


async def test_a_failure_inside_is_counted_as_500() -> None:
    async def failing(scope: Scope, receive: Receive, send: Send) -> None:
        scope["path_template"] = "/edge-failing"
        raise RuntimeError("boom")

    before = REQUEST_STATS.count("GET", "/edge-failing", 500)
    with pytest.raises(RuntimeError):
        await call(Edge(failing, hsts=False, forwarded_allow_ips=""), http_scope())
    assert REQUEST_STATS.count("GET", "/edge-failing", 500) == before + 1


async def test_made_request_ids_are_the_counter_in_eight_hex_digits() -> None:
    """Past 4,096 requests too (the last three digits come from a table)."""
    edge = Edge(answering(204), hsts=False, forwarded_allow_ips="")
    made = [
        dict((await call(edge, http_scope()))[0]["headers"])[b"x-request-id"] for _ in range(4_200)
    ]
    prefix = made[0][:8]
    assert [int(each[8:], 16) for each in made] == list(range(1, 4_201))
    assert all(len(each) == 16 and each[:8] == prefix for each in made)


async def test_every_request_is_counted_and_made_up_methods_as_other() -> None:
    edge = Edge(answering(202), hsts=False, forwarded_allow_ips="")
    before = REQUEST_STATS.count("GET", "/edge-test", 202)
    other = REQUEST_STATS.count("OTHER", "/edge-test", 202)
    for method in ("GET", "GET", "GET", "BREW", "BREW"):
        await call(edge, {**http_scope(), "method": method})
    assert REQUEST_STATS.count("GET", "/edge-test", 202) == before + 3
    assert REQUEST_STATS.count("OTHER", "/edge-test", 202) == other + 2
    assert REQUEST_STATS.count("BREW", "/edge-test", 202) == 0
