"""The gate as plain ASGI middleware, outermost around the application.

An admitted browser (valid pass cookie) goes straight through, subject only to its rate
limit and to the worker's load shedder. Anyone else is rate-limited (per address, and per
network on taking a ticket), then queued: they take a ticket (after a proof of work while
under attack) and wait on ``/gate/wait`` until their turn, when they get a pass.
``/healthz``, ``/readyz``, ``/metrics`` and ``/static/`` are never gated.

Past 900 lines on purpose: one class whose methods are the paths a request can take
through the gate (hot, general, waiting room, proof of work), calling each other directly;
the rules they apply are already elsewhere (``domain/admission.py``, ``pow.py``,
``ratelimit.py``, ``runtime.py``). Splitting the class would add a call on every request,
which ``bench/hot_paths.py`` measures.
"""

from __future__ import annotations

import contextlib
import logging
import random
import urllib.parse
from collections.abc import Awaitable
from typing import Any

from preau import i18n
from preau.asgi import DEGRADED_KEY, HEADERS_KEY, ASGIApp, Message, Receive, Scope, Send, headers_of
from preau.cookies import (
    LANG_COOKIE,
    PASS_COOKIE,
    SESSION_COOKIE,
    TICKET_COOKIE,
    cookie_header,
    parse_cookies,
)
from preau.domain.admission import (
    Criticality,
    Lane,
    criticality_for,
    first_poll_interval,
    full_jitter,
    network_arrivals_per_minute,
    network_of,
    network_proof_factor,
    poll_interval,
    priced_networks,
    progress_percent,
)
from preau.gate import metrics, pages
from preau.gate.passes import Credentials, GatePass, GateTicket
from preau.gate.pow import ProofOfWork
from preau.gate.ratelimit import (
    BatchedLimit,
    ChallengeCounts,
    NetworkShare,
    RouteLimits,
    local_storage,
)
from preau.gate.runtime import GateRuntime, TicketStatus
from preau.gate.settings import GateSettings
from preau.gate.shedding import LoadShedder

log = logging.getLogger("preau.gate")
UNGATED_PREFIXES = (
    *("/healthz", "/readyz", "/metrics", "/static/", "/favicon.ico"),
    # What a browser needs to read its saved pages while held (docs/offline.md).
    *("/offline", "/sw.js", "/manifest.webmanifest", "/icons/"),
)
# Streams that stay open for minutes (Server-Sent Events): admitted like any request, but
# they neither hold one of the shedder's in-flight slots nor count as latency samples.
LONG_LIVED_PREFIXES = ("/live",)
# The hot path leaves these to the general path: the waiting room's own pages, and streams
# (kept out of the shedder). Ungated paths may take it: they cost nothing more there.
_NOT_HOT = (*LONG_LIVED_PREFIXES, "/gate/")
_JITTER = random.Random()  # noqa: S311 - spreading polls needs no cryptographic randomness


def _header(scope: Scope, name: bytes) -> str | None:
    value = headers_of(scope).get(name)
    return None if value is None else value.decode("latin-1")


def _safe_next(value: str | None) -> str:
    """Only a path on this site, percent-encoded: never an open redirect or a header break."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    if value.startswith("/gate/"):
        return "/"
    return urllib.parse.quote(value[:2000], safe="/?=&%:@!$'()*+,;~-._")


def _wants_json(scope: Scope, path: str) -> bool:
    if path.startswith("/api/"):
        return True
    accept = _header(scope, b"accept") or ""
    return "application/json" in accept and "text/html" not in accept


_HOT_LIMIT = 100_000  # cookie headers remembered per process
_HOT_PATHS_LIMIT = 10_000  # paths remembered per process


class _HotEntry:
    """What the hot path needs of an admitted browser's cookies: its pass (and account),
    when to look again (pass renewal, session expiry), and the hits not yet counted."""

    __slots__ = ("account", "batch", "hits", "pass_id", "renew_at")

    def __init__(self, pass_id: str, account: str | None, renew_at: float, batch: int) -> None:
        self.pass_id = pass_id
        self.account = account
        self.renew_at = renew_at
        self.batch = batch
        self.hits = 0


class GateMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: GateSettings,
        runtime: GateRuntime,
        credentials: Credentials,
        pow: ProofOfWork,
        shared_limits: Any,
    ) -> None:
        self.app = app
        self.settings = settings
        self.runtime = runtime
        self.credentials = credentials
        self.pow = pow
        self.clock = clock = runtime.clock
        processes = settings.process_count
        memory = local_storage()
        # Admitted traffic is already bounded by capacity; its limits guard against one
        # misbehaving device or account and are checked in the process, with no I/O.
        # Keys under half their limit's pace are left out of the hand-overs (ratelimit.py).
        self.pass_limit = BatchedLimit(
            "pass",
            settings.rate_limit_pass,
            memory,
            largest_batch=64,
            hand_over_s=settings.flush_interval_s,
            clock=clock.monotonic,
        )
        self.account_limit = BatchedLimit(
            "account",
            settings.rate_limit_account,
            memory,
            divide_by=processes,
            largest_batch=64,
            hand_over_s=settings.flush_interval_s,
            clock=clock.monotonic,
        )
        # Arrivals and waiting clients are the flood path: their limits are shared.
        self.address_limit = BatchedLimit(
            "address", settings.rate_limit_address, shared_limits, clock=clock.monotonic
        )
        self.route_limits = RouteLimits(
            settings.rate_limit_routes, shared_limits, clock=clock.monotonic
        )
        # Taking a ticket is also limited per network: many addresses of one network, each
        # under its own limit, still take no more than a share of the admissions.
        self.network_share = NetworkShare(shared_limits, clock=clock.monotonic)
        # Challenges fetched per network: their price (see _challenge).
        self.challenge_counts = ChallengeCounts(shared_limits, clock=clock.monotonic)
        self.ticket_limit = BatchedLimit(
            "ticket", settings.rate_limit_ticket, memory, clock=clock.monotonic
        )
        self.shedder = LoadShedder(
            maximum=settings.max_in_flight,
            minimum=settings.min_in_flight,
            queue_length=settings.shed_queue_length,
            latency_target_s=settings.shed_latency_target_s,
            clock=clock.monotonic,
        )
        self._enabled = settings.enabled
        # Cookie headers of admitted requests already checked by the general path, as the
        # browser sends them again and again: the hot path's only look-up.
        self._hot: dict[bytes, _HotEntry] = {}
        self._seen_passes = runtime.seen_passes
        # Paths the hot path may take, as requested: a set look-up instead of a prefix test.
        self._hot_paths: set[str] = set()
        self._renew_margin = settings.idle_timeout_s * 0.75
        self._latency_target = settings.latency_target_s
        self._sample = 0
        self._limits = [
            self.pass_limit,
            self.account_limit,
            self.address_limit,
            self.ticket_limit,
        ] + [limit for _, limit in self.route_limits.routes]

    # --- ASGI ---------------------------------------------------------------------------

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: C901, PLR0912 - plain-ASGI hot path, one coroutine per request by design (bench/hot_paths.py)
        if scope["type"] != "http" or not self._enabled:
            if scope["type"] == "lifespan":
                await self._lifespan(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        # The hot path: an admitted browser's ordinary request, most of the traffic. It is
        # written flat, in this one coroutine: the browser's whole cookie header is looked
        # up among those whose pass (and session, when signed in) this process has already
        # checked on the general path, so no token is parsed; the hits are counted on that
        # entry and handed to the rate limits in batches; no coroutine is created for the
        # limits or the shedder; each request is timed to its answer's start (two clock
        # readings, and a plain function in front of ``send``: the admission AIMD's
        # latency, where a slow database shows, and not a slow client's download) and one
        # in 64 has ``send`` wrapped by a coroutine (to sample status codes, and latency
        # for the shedder). Anything else goes to :meth:`_http`.
        # The headers as an outer layer left them (one call fewer), else made here.
        raw = (scope.get(HEADERS_KEY) or headers_of(scope)).get(b"cookie")
        if raw is None:
            await self._http(scope, receive, send)
            return
        entry = self._hot.get(raw)
        if (
            entry is None
            or entry.renew_at < self.runtime.now
            or (scope["path"] not in self._hot_paths and not self._hot_path(scope["path"]))
        ):
            await self._http(scope, receive, send)
            return
        hits = entry.hits + 1
        if hits < entry.batch:
            entry.hits = hits
        else:
            entry.hits = 0
            if not await self._commit(entry, hits):
                # Over a limit: out of the hot cache; the general path answers 429 until
                # the limit allows it again.
                self._hot.pop(raw, None)
                await self._http(scope, receive, send)
                return
        shedder = self.shedder
        if shedder.in_flight >= shedder.limit or shedder.waiters:
            await self._http(scope, receive, send)
            return
        shedder.in_flight += 1
        self._sample = sample = (self._sample + 1) & 63
        if sample:
            # ``send`` with a clock in front: the time to the answer's first message (the
            # whole time if none was sent). A closure returning ``send``'s own awaitable:
            # cheaper to make and to call than an object, and no coroutine.
            monotonic = self.clock.monotonic
            started = monotonic()
            answered = 0.0

            def timed(message: Message) -> Awaitable[None]:
                nonlocal answered
                if not answered:
                    answered = monotonic()
                return send(message)

            try:
                await self.app(scope, receive, timed)
            finally:
                shedder.in_flight -= 1
                if shedder.waiters:
                    shedder.release()
                if DEGRADED_KEY not in scope:
                    latency = (answered or monotonic()) - started
                    runtime = self.runtime
                    if latency > runtime.settings.latency_target_s:
                        runtime.record_latency(latency)
                    else:
                        runtime.health[0] += 1  # record_latency's count, one call fewer
            return
        await self._measured(scope, receive, send)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def receive_and_follow() -> Message:
            nonlocal started
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                started = True
            elif message["type"] == "lifespan.shutdown":
                await self.stop()
            return message

        try:
            await self.app(scope, receive_and_follow, send)
        except Exception:
            if started:
                raise
            # The application does not speak lifespan: the gate still needs its tasks.
            log.info("application without lifespan support; the gate runs it alone")
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.start()
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            if message["type"] == "lifespan.shutdown":
                await self.stop()
                await send({"type": "lifespan.shutdown.complete"})

    async def start(self) -> None:
        if self._flush_limits not in self.runtime.flush_hooks:
            self.runtime.flush_hooks.append(self._flush_limits)
        await self.runtime.start()

    async def stop(self) -> None:
        await self.runtime.stop()

    def _hot_path(self, path: str) -> bool:
        """Whether the hot path may take ``path`` (remembered in ``_hot_paths`` if so)."""
        if path.startswith(_NOT_HOT):
            return False
        if len(self._hot_paths) >= _HOT_PATHS_LIMIT:
            self._hot_paths.clear()
        self._hot_paths.add(path)
        return True

    async def _flush_limits(self) -> None:
        # Hits counted on the hot entries join the limits' pending counts first.
        passes, accounts = self.pass_limit.pending, self.account_limit.pending
        seen = self._seen_passes
        for entry in self._hot.values():
            if entry.hits:
                seen.add(entry.pass_id)
                passes[entry.pass_id] = passes.get(entry.pass_id, 0) + entry.hits
                if entry.account is not None:
                    accounts[entry.account] = accounts.get(entry.account, 0) + entry.hits
                entry.hits = 0
        for limit in self._limits:
            await limit.flush()
        await self.network_share.flush()

    async def _commit(self, entry: _HotEntry, hits: int) -> bool:
        """Hand a hot entry's batch of hits to its pass's and account's limits."""
        self._seen_passes.add(entry.pass_id)
        allowed = await self.pass_limit.commit(entry.pass_id, hits)
        if entry.account is not None:
            allowed = await self.account_limit.commit(entry.account, hits) and allowed
        return allowed

    # --- Requests -----------------------------------------------------------------------

    async def _measured(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run one sampled request, timing it for the shedder and the admission AIMD."""
        shedder = self.shedder
        status = 500
        monotonic = self.clock.monotonic
        started = answered = monotonic()

        async def send_and_watch(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = monotonic()
            await send(message)

        try:
            await self.app(scope, receive, send_and_watch)
        finally:
            shedder.in_flight -= 1
            latency = monotonic() - started
            shedder.adjust(latency)
            first_byte = answered - started if answered != started else latency
            self.runtime.record_response(
                status, first_byte, weight=64, degraded=DEGRADED_KEY in scope
            )
            if shedder.waiters:
                shedder.release()

    def _remember(self, scope: Scope, gate_pass: GatePass, session: dict[str, Any] | None) -> None:
        """Let the hot path take this browser's next requests with the same cookies."""
        raw = headers_of(scope).get(b"cookie")
        if raw is None:
            return
        if len(self._hot) >= _HOT_LIMIT:
            self._hot.clear()
        renew_at = gate_pass.expires_at - self._renew_margin
        account = None
        batch = self.pass_limit.batch
        if session is not None and "pid" in session:
            account = str(session["pid"])
            renew_at = min(renew_at, float(session["exp"]))
            batch = min(batch, self.account_limit.batch)
        self._hot[raw] = _HotEntry(gate_pass.identifier, account, renew_at, batch)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if path.startswith(UNGATED_PREFIXES):
            await self.app(scope, receive, send)
            return
        if not self.runtime.started:
            await self.start()
        cookie_text = _header(scope, b"cookie")
        cookies = parse_cookies(cookie_text) if cookie_text else {}
        now = self.clock.time()
        pass_token = cookies.get(PASS_COOKIE)
        if pass_token and not path.startswith("/gate/"):
            gate_pass = self.credentials.check_pass(pass_token, now=now)
            if gate_pass is not None:
                await self._admitted(
                    scope, receive, send, gate_pass=gate_pass, cookies=cookies, now=now
                )
                return
        token = i18n.current_locale.set(
            i18n.negotiate(cookies.get(LANG_COOKIE), _header(scope, b"accept-language"))
        )
        try:
            await self._not_admitted(scope, receive, send, cookies, now)
        finally:
            i18n.current_locale.reset(token)

    async def _admitted(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        gate_pass: GatePass,
        cookies: dict[str, str],
        now: float,
    ) -> None:
        runtime = self.runtime
        runtime.saw_pass(gate_pass.identifier)
        session = self.credentials.session(cookies.get(SESSION_COOKIE), now=now)
        refused_by = None if await self.pass_limit.allow(gate_pass.identifier) else "pass"
        if (
            refused_by is None
            and session is not None
            and "pid" in session
            and not await self.account_limit.allow(str(session["pid"]))
        ):
            refused_by = "account"
        if refused_by is not None:
            runtime.stats["rate_limited"] += 1
            await self._refuse(scope, send, 429, "rate-limited", retry_after=5, limit=refused_by)
            return
        if not gate_pass.identifier.startswith("L"):
            self._remember(scope, gate_pass, session)
        criticality = criticality_for(gate_pass.lane, signed_in=session is not None)
        settings = runtime.settings
        renewed: bytes | None = None
        if gate_pass.expires_at - now < settings.idle_timeout_s * 0.75:
            fresh = self.credentials.issue_pass(
                gate_pass.identifier,
                gate_pass.lane,
                now=now,
                idle_s=settings.idle_timeout_s,
                ttl_s=settings.pass_ttl_s,
                issued_at=gate_pass.issued_at,
            )
            if fresh.expires_at > gate_pass.expires_at:
                renewed = self._pass_cookie(fresh.token, settings)
        await self._run_app(scope, receive, send, criticality, renewed)

    async def _run_app(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        criticality: Criticality,
        set_cookie: bytes | None,
    ) -> None:
        runtime = self.runtime
        if scope["path"].startswith(LONG_LIVED_PREFIXES):
            await self.app(scope, receive, send)
            return
        status = 500
        monotonic = self.clock.monotonic
        started = answered = monotonic()

        async def send_and_watch(message: Message) -> None:
            nonlocal status, answered
            if message["type"] == "http.response.start":
                status = message["status"]
                answered = monotonic()
                if set_cookie is not None:
                    message["headers"] = [*message.get("headers", []), (b"set-cookie", set_cookie)]
            await send(message)

        async def call() -> None:
            await self.app(scope, receive, send_and_watch)

        try:
            ran = await self.shedder.run(criticality, call)
        finally:
            # To the answer's start: a slow client's download is not a slow application.
            ended = answered if answered != started else monotonic()
            runtime.record_response(status, ended - started, degraded=DEGRADED_KEY in scope)
        if not ran:
            runtime.stats["shed"] += 1
            retry = self.settings.retry_after_shed_s
            await self._refuse(scope, send, 503, "overloaded", retry_after=retry)

    async def _not_admitted(
        self, scope: Scope, receive: Receive, send: Send, cookies: dict[str, str], now: float
    ) -> None:
        path: str = scope["path"]
        if path in pages.ASSETS:
            await self._asset(send, path)
            return
        ticket = self._ticket_from(cookies, now)
        client = scope.get("client")
        address = client[0] if client else "unknown"
        refused_by = await self._limit_reached(ticket, path, address)
        if refused_by is not None:
            self.runtime.stats["rate_limited"] += 1
            await self._refuse(scope, send, 429, "rate-limited", retry_after=10, limit=refused_by)
            return
        query = urllib.parse.parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if path == "/gate/challenge":
            await self._send_json(send, 200, await self._challenge(cookies, now, address))
            return
        if path == "/gate/join" and scope["method"] == "POST":
            await self._join_with_proof(scope, receive, send, cookies, now, address=address)
            return
        if path.startswith("/gate/"):
            next_path = _safe_next((query.get("next") or ["/"])[0])
            as_json = path == "/gate/status" or _wants_json(scope, path)
        else:
            next_path = _safe_next(
                path + (f"?{scope['query_string'].decode()}" if scope.get("query_string") else "")
            )
            as_json = _wants_json(scope, path)
        joined = ticket is None
        if ticket is None:
            if self.runtime.attack:
                await self._ask_for_proof(send, next_path, as_json)
                return
            if not await self._network_allows(address):
                await self._refuse(
                    scope, send, 429, "rate-limited", retry_after=10, limit="network"
                )
                return
            ticket = await self._join(cookies, now, address)
        await self._answer_ticket(
            scope,
            receive,
            send,
            ticket=ticket,
            next_path=next_path,
            as_json=as_json,
            now=now,
            joined=joined,
        )

    async def _limit_reached(
        self, ticket: GateTicket | None, path: str, address: str
    ) -> str | None:
        """The limit a request that has no pass goes over (counted if not), or None."""
        if ticket is not None:
            # Someone already in line is limited per ticket, in this process: a whole
            # school waiting behind one address must not trip the address limit.
            allowed = await self.ticket_limit.allow(
                f"{ticket.origin}{int(ticket.lane)}.{ticket.number}"
            )
            return None if allowed else "ticket"
        if not await self.address_limit.allow(address):
            return "address"
        route_limit = self.route_limits.for_path(path)
        if route_limit is not None and not await route_limit.allow(address):
            return route_limit.scope
        return None

    async def _challenge(self, cookies: dict[str, str], now: float, address: str) -> dict[str, Any]:
        """A challenge at the price in force, times its network's surcharge: a known device
        (signed device cookie) is not surcharged; anyone else's network pays more with each
        challenge it fetched in the last 30 s beyond a few (its /48 too, for IPv6)."""
        settings = self.runtime.settings
        lane, device = self.credentials.lane_of(cookies, now=now)
        if lane != Lane.FIRST_TIME and device:
            return self.pow.challenge(settings, now=now, cost=self.runtime.pow_cost, device=device)
        factor = 1
        for network, multiple in priced_networks(address):
            fetched = await self.challenge_counts.fetched_before(network)
            factor = max(
                factor,
                network_proof_factor(
                    fetched,
                    free=settings.pow_network_free * multiple,
                    growth=settings.pow_network_growth,
                    maximum_factor=settings.pow_network_max_factor,
                ),
            )
        metrics.POW_NETWORK_FACTOR.observe(factor)
        return self.pow.challenge(
            settings, now=now, cost=self.runtime.pow_cost * factor, network=network_of(address)
        )

    async def _network_allows(self, address: str) -> bool:
        """Whether the network of ``address`` may take one more ticket (counted if so)."""
        settings = self.runtime.settings
        per_minute = network_arrivals_per_minute(
            settings.admission_rate_per_s,
            share=settings.network_share,
            minimum=settings.network_minimum_per_minute,
        )
        if await self.network_share.allow(network_of(address), per_minute=per_minute):
            return True
        self.runtime.stats["rate_limited"] += 1
        return False

    def _ticket_from(self, cookies: dict[str, str], now: float) -> GateTicket | None:
        token = cookies.get(TICKET_COOKIE)
        if not token:
            return None
        ticket = self.credentials.check_ticket(token, now=now)
        if ticket is None or not self.runtime.usable_origin(ticket.origin):
            return None
        return ticket

    async def _join(self, cookies: dict[str, str], now: float, address: str) -> GateTicket:
        lane, device = self.credentials.lane_of(cookies, now=now)
        origin, lane, number = await self.runtime.join(
            lane, device=device, network=network_of(address)
        )
        status = self.runtime.ticket_status(origin, lane, number)
        if not status.admitted:
            # Maybe nobody is waiting: one round right away spares a first poll.
            await self.runtime.admission_round_soon()
        view_serving = status.serving
        return GateTicket(origin, lane, number, view_serving, now)

    def _saw_poll(self, ticket: GateTicket, now: float, *, joined: bool) -> None:
        """Count a poll of ``ticket``, before any hold: a young ticket's (maybe its first)
        reaches the store at the next round. The request that took the ticket is no poll."""
        if joined:
            return
        young = now - ticket.joined_at <= self.runtime.settings.unpolled_ticket_timeout_s + 1
        self.runtime.saw_ticket(ticket.origin, ticket.lane, ticket.number, young=young)

    async def _come_in(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        ticket: GateTicket,
        next_path: str,
        as_json: bool,
    ) -> None:
        """Let in someone whose turn it is, at the door's pace: their pass, and the very
        request that was waiting (or, from the waiting room, where to go next)."""
        runtime = self.runtime
        settings = runtime.settings
        path: str = scope["path"]
        hold = runtime.door_delay(ticket.origin)
        if hold > 0:
            # Others have just come in: in at this process's pace (door_slot).
            metrics.DOOR_HELD.inc()
            await self.clock.sleep(hold)
        now = self.clock.time()
        # Come for its pass: a ticket admitted on credit pays for it at the flush.
        runtime.saw_ticket(ticket.origin, ticket.lane, ticket.number)
        pass_name = runtime.pass_for(ticket.origin, ticket.lane, ticket.number)
        gate_pass = self.credentials.issue_pass(
            pass_name,
            ticket.lane,
            now=now,
            idle_s=settings.idle_timeout_s,
            ttl_s=settings.pass_ttl_s,
        )
        # Not counted as seen: a pass is in use only once it comes back with a request
        # of its own, and until then holds its slot for the short unused timeout.
        pass_cookie = self._pass_cookie(gate_pass.token, settings)
        clear_ticket = cookie_header(TICKET_COOKIE, "", max_age=0, secure=settings.cookie_secure)
        if path.startswith("/gate/"):
            if as_json:
                await self._send_json(
                    send,
                    200,
                    {"admitted": True, "next": next_path},
                    extra=[(b"set-cookie", pass_cookie), (b"set-cookie", clear_ticket)],
                )
            else:
                await self._redirect(send, next_path, [pass_cookie, clear_ticket])
            return
        # Serve the very request that was waiting, with the pass attached.
        criticality = criticality_for(ticket.lane, signed_in=False)
        await self._run_app(scope, receive, send, criticality, pass_cookie)

    async def _answer_ticket(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        ticket: GateTicket,
        next_path: str,
        as_json: bool,
        now: float,
        joined: bool = False,
    ) -> None:
        """Answer someone holding ``ticket``: their pass if it is their turn, else where
        they stand. ``joined``: the ticket was taken by this very request, so it has not
        come back yet (its first poll is asked for soon, and only that poll counts)."""
        runtime = self.runtime
        settings = runtime.settings
        self._saw_poll(ticket, now, joined=joined)
        status = runtime.ticket_status(ticket.origin, ticket.lane, ticket.number)
        path: str = scope["path"]
        hold_s = settings.poll_minimum_s
        if (
            not status.admitted
            and path.startswith("/gate/")
            and status.wait_s is not None
            and status.wait_s <= hold_s
        ):
            # A poll whose turn is due before the next poll could come: answer at the turn.
            # (Only the waiting room's own requests are held: a request for the application
            # never has waiting in line hidden in its time.)
            status = await runtime.wait_for_turn(
                ticket.origin, ticket.lane, ticket.number, limit_s=hold_s
            )
            now = self.clock.time()
        if status.admitted:
            await self._come_in(
                scope, receive, send, ticket=ticket, next_path=next_path, as_json=as_json
            )
            return
        ticket_idle_s = settings.ticket_idle_s
        interval = poll_interval(
            status.wait_s, minimum=settings.poll_minimum_s, maximum=settings.poll_maximum_s
        )
        if joined:
            # Until its first poll the store keeps the ticket only briefly, and the cookie
            # lives no longer: a place given up for lost is never claimed later.
            ticket_idle_s = settings.unpolled_ticket_timeout_s
            interval = first_poll_interval(interval, settings.first_poll_s)
        ticket_token = self.credentials.issue_ticket(ticket, now=now, idle_s=ticket_idle_s)
        ticket_cookie = cookie_header(
            TICKET_COOKIE,
            ticket_token,
            max_age=max(1, int(ticket_idle_s)),
            secure=settings.cookie_secure,
        )
        if status.opening_at:
            interval = max(interval, min(settings.poll_maximum_s, status.opening_at - now))
        retry_after = max(1, round(interval))
        if as_json:
            metrics.QUEUED_RESPONSES.labels("json").inc()
            status_url = "/gate/status?next=" + urllib.parse.quote(next_path, safe="")
            if path == "/gate/status":
                progress = progress_percent(status.position, ticket.serving_at_join, status.serving)
                status_body = _status_body(status, retry_after, next_path, progress)
                await self._send(
                    send,
                    200,
                    pages._json.encode(status_body),
                    [
                        (b"content-type", b"application/json"),
                        (b"set-cookie", ticket_cookie),
                        (b"retry-after", str(retry_after).encode()),
                    ],
                )
                return
            await self._send(
                send,
                429,
                pages.queued_problem(
                    status,
                    retry_after=retry_after,
                    status_url=status_url,
                    zone=self.runtime.settings.zone,
                ),
                [
                    (b"content-type", b"application/problem+json"),
                    (b"set-cookie", ticket_cookie),
                    (b"retry-after", str(retry_after).encode()),
                ],
            )
            return
        if path != "/gate/wait":
            location = "/gate/wait?next=" + urllib.parse.quote(next_path, safe="")
            await self._redirect(send, location, [ticket_cookie])
            return
        metrics.QUEUED_RESPONSES.labels("page").inc()
        # The meta refresh has no jitter of its own, so the server draws it.
        refresh = max(1, round(full_jitter(interval, _JITTER.random(), floor=interval / 2)))
        body = pages.waiting_page(
            status,
            progress=progress_percent(status.position, ticket.serving_at_join, status.serving),
            refresh_s=refresh,
            next_path=next_path,
            zone=self.runtime.settings.zone,
        )
        await self._send(
            send,
            200,
            body,
            [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"set-cookie", ticket_cookie),
                (b"retry-after", str(retry_after).encode()),
            ],
        )

    async def _ask_for_proof(self, send: Send, next_path: str, as_json: bool) -> None:
        if as_json:
            body, headers = pages.problem(
                "proof-of-work-required",
                i18n.gettext("A proof of work is needed to join the waiting room"),
                503,
                i18n.gettext(
                    "Préau is under attack. Fetch a challenge from /gate/challenge, solve it "
                    "and send it as the altcha field of a POST to /gate/join."
                ),
                challenge_url="/gate/challenge",
                retry_after=1,
            )
            await self._send(send, 503, body, [*headers, (b"retry-after", b"1")])
            return
        await self._send(
            send,
            200,
            pages.challenge_page(next_path=next_path),
            [(b"content-type", b"text/html; charset=utf-8")],
        )

    async def _join_with_proof(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        cookies: dict[str, str],
        now: float,
        *,
        address: str,
    ) -> None:
        form = await _read_form(receive)
        next_path = _safe_next(form.get("next"))
        as_json = _wants_json(scope, "/gate/join")
        ticket = self._ticket_from(cookies, now)
        joined = ticket is None
        if ticket is None:
            # Before the proof is checked: a network over its share costs no derivation.
            if not await self._network_allows(address):
                await self._refuse(
                    scope, send, 429, "rate-limited", retry_after=10, limit="network"
                )
                return
            if self.runtime.attack:
                payload = form.get("altcha") or _header(scope, b"x-altcha") or ""
                settings, required = self.runtime.settings, self.runtime.pow_cost
                _, device = self.credentials.lane_of(cookies, now=now)
                if not await self.pow.verify(
                    payload,
                    settings,
                    required_cost=required,
                    now=now,
                    network=network_of(address),
                    device=device,
                ):
                    if as_json:
                        body, headers = pages.problem(
                            "proof-of-work-rejected",
                            i18n.gettext("The proof of work was not accepted"),
                            403,
                            i18n.gettext("Fetch a new challenge and solve it again."),
                        )
                        await self._send(send, 403, body, headers)
                    else:
                        await self._send(
                            send,
                            403,
                            pages.challenge_page(next_path=next_path, error=True),
                            [(b"content-type", b"text/html; charset=utf-8")],
                        )
                    return
                self.runtime.stats["proven"] += 1  # what the proof of work's price follows
            ticket = await self._join(cookies, now, address)
        scope = {**scope, "path": "/gate/status" if as_json else "/gate/wait"}
        await self._answer_ticket(
            scope,
            receive,
            send,
            ticket=ticket,
            next_path=next_path,
            as_json=as_json,
            now=now,
            joined=joined,
        )

    # --- Answers ------------------------------------------------------------------------

    def _pass_cookie(self, token: str, settings: GateSettings) -> bytes:
        return cookie_header(
            PASS_COOKIE, token, max_age=int(settings.pass_ttl_s), secure=settings.cookie_secure
        )

    async def _refuse(
        self,
        scope: Scope,
        send: Send,
        status: int,
        kind: str,
        *,
        retry_after: int,
        limit: str | None = None,
    ) -> None:
        """Refuse with ``status``; a ``429`` names the ``limit`` that refused it (pass,
        account, address, route:…, ticket, network) in the problem's ``limit`` member."""
        # Spread retries of everyone refused at once (full jitter on the advice).
        retry = max(1, round(full_jitter(retry_after * 2, _JITTER.random(), floor=retry_after)))
        if status == 429:
            title = i18n.gettext("Too many requests")
            detail = i18n.gettext(
                "Too many requests came from your connection. Please wait a little."
            )
        else:
            title = i18n.gettext("Préau is very busy")
            detail = i18n.gettext(
                "Préau is very busy right now and could not handle your request. It will try "
                "again by itself in a moment."
            )
        path: str = scope["path"]
        if _wants_json(scope, path) or path == "/gate/status":
            named = {"limit": limit} if limit is not None else {}
            body, headers = pages.problem(kind, title, status, detail, retry_after=retry, **named)
        else:
            body = pages.simple_page(title, detail, retry_after=retry)
            headers = [(b"content-type", b"text/html; charset=utf-8")]
        await self._send(send, status, body, [*headers, (b"retry-after", str(retry).encode())])

    async def _send_json(
        self, send: Send, status: int, body: Any, *, extra: list[tuple[bytes, bytes]] | None = None
    ) -> None:
        headers = [(b"content-type", b"application/json"), *(extra or [])]
        await self._send(send, status, pages._json.encode(body), headers)

    async def _redirect(self, send: Send, location: str, cookies: list[bytes]) -> None:
        headers = [(b"location", location.encode("latin-1"))]
        headers += [(b"set-cookie", cookie) for cookie in cookies]
        await self._send(send, 303, b"", headers)

    async def _asset(self, send: Send, path: str) -> None:
        file_path, content_type = pages.ASSETS[path]
        try:
            body = file_path.read_bytes()
        except OSError:
            await self._send(send, 404, b"", [])
            return
        await self._send(
            send,
            200,
            body,
            [(b"content-type", content_type), (b"cache-control", b"public, max-age=3600")],
        )

    async def _send(
        self, send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]
    ) -> None:
        all_headers = [
            *headers,
            (b"content-length", str(len(body)).encode()),
            (b"cache-control", b"no-store"),
            (b"content-security-policy", pages.CONTENT_SECURITY_POLICY),
            (b"x-content-type-options", b"nosniff"),
            (b"content-language", i18n.current_locale.get().encode()),
        ]
        await send({"type": "http.response.start", "status": status, "headers": all_headers})
        await send({"type": "http.response.body", "body": body})


def _status_body(
    status: TicketStatus, retry_after: int, next_path: str, progress: int | None
) -> dict[str, Any]:
    return {
        "admitted": False,
        "position": status.position,
        "ahead": status.ahead,
        "estimated_wait_s": None
        if (wait := pages.promised_wait(status)) is None
        else round(wait, 1),
        "opening_at": status.opening_at,
        "progress": None if status.opening_at else progress,
        "poll_s": retry_after,
        "next": next_path,
        "texts": pages.status_texts(status),
    }


async def _read_form(receive: Receive, limit: int = 16_384) -> dict[str, str]:
    body = b""
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
        if len(body) > limit:
            return {}
    with contextlib.suppress(UnicodeDecodeError):
        parsed = urllib.parse.parse_qs(body.decode("utf-8"), max_num_fields=10)
        return {name: values[0] for name, values in parsed.items()}
    return {}
