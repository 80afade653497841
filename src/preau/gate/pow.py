"""Proof of work for joining the queue under attack (ALTCHA v2, PBKDF2/SHA-256).

A challenge is signed, expires, and is single-use: the first valid solution marks it
spent in shared state with ``add``, so a replay (in any process) is refused. The browser
solves it with WebCrypto in ``static/gate.js``. Its cost (PBKDF2 iterations) is the one in
force when it was fetched, raised while arrivals outrun admissions
(:func:`preau.domain.admission.proof_of_work_cost`). A solution of a lower cost than the
one in force is refused, except one step below for a challenge issued in the last
``pow_late_grace_s`` (fetched just before a raise): a stock of cheap solutions prepared
while the cost was low buys nothing once it rises.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
from typing import Any

import altcha

from preau.domain.admission import proof_cost_accepted
from preau.gate import metrics
from preau.gate.settings import GateSettings
from preau.ports import SharedState, SharedStateUnavailable


class ProofOfWork:
    def __init__(self, secret_key: str, state: SharedState) -> None:
        self._hmac_secret = "preau-gate-pow:" + secret_key
        self.state = state

    def challenge(
        self,
        settings: GateSettings,
        *,
        now: float,
        cost: int,
        network: str = "",
        device: str | None = None,
    ) -> dict[str, Any]:
        """A challenge at ``cost``, bound to the ``network`` it was priced for or, for a
        known device not surcharged, to that ``device``: it cannot be fetched cheaply
        elsewhere and solved for a network whose price is higher."""
        bound: dict[str, str] = {"dev": device} if device else {"net": network}
        challenge = altcha.create_challenge(
            algorithm=settings.pow_algorithm,
            cost=cost,
            key_prefix="0" * settings.pow_difficulty,
            expires_at=int(now + settings.pow_challenge_ttl_s),
            # Signed with the rest: when it was issued, for the grace after a raise.
            data={"id": secrets.token_hex(8), "issued": int(now), **bound},
            hmac_secret=self._hmac_secret,
        )
        result: dict[str, Any] = challenge.to_dict()
        return result

    async def verify(  # noqa: PLR0911 - one refusal per way a solution can be wrong
        self,
        payload: str,
        settings: GateSettings,
        *,
        required_cost: int,
        now: float,
        network: str = "",
        device: str | None = None,
    ) -> bool:
        """True for a valid, unexpired solution seen for the first time, at the cost in
        force (``required_cost``; a challenge fetched just before a raise still counts),
        sent from the network (or by the device) its challenge was priced for."""
        if not payload or len(payload) > 8192:
            metrics.POW_VERIFIED.labels("malformed").inc()
            return False
        try:
            decoded = json.loads(base64.b64decode(payload, validate=True))
            parsed = altcha.Payload.from_dict(decoded)
        except (ValueError, KeyError, TypeError, binascii.Error):
            metrics.POW_VERIFIED.labels("malformed").inc()
            return False
        parameters = parsed.challenge.parameters
        data = parameters.data if isinstance(parameters.data, dict) else {}
        issued, expires = data.get("issued"), parameters.expires_at
        if (
            type(parameters.cost) is not int
            or not isinstance(parameters.key_prefix, str)
            or type(issued) is not int
            or type(expires) is not int
        ):
            # Unsigned yet (the signature is checked below): compared as they are, they
            # would fail the request instead of the proof.
            metrics.POW_VERIFIED.labels("malformed").inc()
            return False
        if (
            parameters.algorithm != settings.pow_algorithm
            or not proof_cost_accepted(
                parameters.cost,
                required_cost,
                issued_at=issued,
                now=now,
                late_grace_s=settings.pow_late_grace_s,
            )
            or not parameters.key_prefix.startswith("0" * settings.pow_difficulty)
        ):
            # Signed, but issued under easier settings than those now in force.
            metrics.POW_VERIFIED.labels("too_easy").inc()
            return False
        if ("dev" in data and data["dev"] != device) or (
            "dev" not in data and data.get("net") != network
        ):
            # Priced for another network or device (checked with the signature below).
            metrics.POW_VERIFIED.labels("elsewhere").inc()
            return False
        if expires < now:
            # altcha checks expiry on the system's clock; the gate's own may be another.
            metrics.POW_VERIFIED.labels("expired").inc()
            return False
        result = altcha.verify_solution(parsed, self._hmac_secret)
        if not result.verified:
            metrics.POW_VERIFIED.labels("invalid").inc()
            return False
        ttl = max(1.0, settings.pow_challenge_ttl_s)
        try:
            first_use = await self.state.add(
                f"gate:pow:{parsed.challenge.signature}", b"1", ttl_seconds=ttl
            )
        except SharedStateUnavailable:
            # No replay store: a solved, unexpired challenge is still real work; accept it.
            metrics.SHARED_STATE_ERRORS.labels("pow").inc()
            first_use = True
        if not first_use:
            metrics.POW_VERIFIED.labels("replayed").inc()
            return False
        metrics.POW_VERIFIED.labels("accepted").inc()
        return True
