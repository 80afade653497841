"""The gate's signed tokens: passes, tickets, and the lane a device's cookies earn (the
cookies' names and parsing live in :mod:`preau.cookies`).

Checking a cookie costs no I/O. A verified pass is remembered per process for a few
seconds, so the hot path of an admitted browser is a dictionary look-up, not an HMAC.
"""

from __future__ import annotations

from typing import Any

from preau.cookies import DEVICE_COOKIE, SESSION_COOKIE
from preau.domain.admission import Lane, lane_for_profile
from preau.domain.tokens import BadToken, Signer, fingerprint

_CACHE_LIMIT = 100_000


class GatePass:
    __slots__ = ("expires_at", "identifier", "issued_at", "lane", "renew_at", "token")

    def __init__(
        self, identifier: str, lane: Lane, issued_at: float, expires_at: float, token: str
    ) -> None:
        self.identifier = identifier
        self.lane = lane
        self.issued_at = issued_at
        self.expires_at = expires_at
        self.token = token
        self.renew_at = expires_at  # set earlier by the middleware when it caches the pass


class GateTicket:
    __slots__ = ("joined_at", "lane", "number", "origin", "serving_at_join")

    def __init__(
        self, origin: str, lane: Lane, number: int, serving_at_join: int, joined_at: float
    ) -> None:
        self.origin = origin
        self.lane = lane
        self.number = number
        self.serving_at_join = serving_at_join
        self.joined_at = joined_at


class Credentials:
    """Signs and checks the gate's tokens with the application's secret."""

    def __init__(self, secret_key: str) -> None:
        self.pass_signer = Signer(secret_key, "pass")
        self.ticket_signer = Signer(secret_key, "ticket")
        self.device_signer = Signer(secret_key, "device")
        self.session_signer = Signer(secret_key, "session")
        self._passes: dict[str, GatePass] = {}
        self._sessions: dict[str, tuple[float, dict[str, Any]]] = {}

    # Passes ------------------------------------------------------------------------------

    def issue_pass(
        self,
        identifier: str,
        lane: Lane,
        *,
        now: float,
        idle_s: float,
        ttl_s: float,
        issued_at: float | None = None,
    ) -> GatePass:
        issued = now if issued_at is None else issued_at
        expires_at = min(now + idle_s, issued + ttl_s)
        token = self.pass_signer.sign(
            {"i": identifier, "l": int(lane), "t": int(issued)}, expires_at=expires_at
        )
        return GatePass(identifier, lane, issued, float(int(expires_at)), token)

    def check_pass(self, token: str, *, now: float) -> GatePass | None:
        cached = self._passes.get(token)
        if cached is not None:
            if cached.expires_at > now:
                return cached
            del self._passes[token]
            return None
        try:
            payload = self.pass_signer.verify(token, now=now)
            gate_pass = GatePass(
                str(payload["i"]),
                Lane(int(payload["l"])),
                float(payload["t"]),
                float(payload["exp"]),
                token,
            )
        except (BadToken, KeyError, ValueError, TypeError):
            return None
        if len(self._passes) >= _CACHE_LIMIT:
            self._passes.clear()
        self._passes[token] = gate_pass
        return gate_pass

    # Tickets -----------------------------------------------------------------------------

    def issue_ticket(self, ticket: GateTicket, *, now: float, idle_s: float) -> str:
        return self.ticket_signer.sign(
            {
                "o": ticket.origin,
                "l": int(ticket.lane),
                "n": ticket.number,
                "s": ticket.serving_at_join,
                "j": int(ticket.joined_at),
            },
            expires_at=now + idle_s,
        )

    def check_ticket(self, token: str, *, now: float) -> GateTicket | None:
        try:
            payload = self.ticket_signer.verify(token, now=now)
            return GateTicket(
                str(payload["o"]),
                Lane(int(payload["l"])),
                int(payload["n"]),
                int(payload["s"]),
                float(payload["j"]),
            )
        except (BadToken, KeyError, ValueError, TypeError):
            return None

    # Who is asking -----------------------------------------------------------------------

    def session(self, token: str | None, *, now: float) -> dict[str, Any] | None:
        if not token:
            return None
        cached = self._sessions.get(token)
        if cached is not None and cached[0] > now:
            return cached[1]
        try:
            payload = self.session_signer.verify(token, now=now)
        except BadToken:
            return None
        if len(self._sessions) >= _CACHE_LIMIT:
            self._sessions.clear()
        self._sessions[token] = (float(payload["exp"]), payload)
        return payload

    def lane_of(self, cookies: dict[str, str], *, now: float) -> tuple[Lane, str | None]:
        """The lane this browser deserves, and a stable key for its device if it has one."""
        lanes = [Lane.FIRST_TIME]
        device_key = None
        device = cookies.get(DEVICE_COOKIE)
        if device:
            try:
                payload = self.device_signer.verify(device, now=now)
            except BadToken:
                payload = None
            if payload is not None:
                lanes.append(lane_for_profile(payload.get("pro")))
                device_key = fingerprint(device)[:32]
        session = self.session(cookies.get(SESSION_COOKIE), now=now)
        if session is not None:
            lanes.append(lane_for_profile(session.get("pro")))
        return min(lanes), device_key
