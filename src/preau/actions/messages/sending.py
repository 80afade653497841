"""How many messages and announcements one person may send: a moving window per minute
and per day, on the shared rate-limit storage. When the storage is unreachable sending
is let through and counted (limiter ``sending``), as the login throttle does."""

from __future__ import annotations

from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

from preau.adapters.ratelimit import FailOpenLimiter
from preau.domain.errors import TooManyAttempts
from preau.i18n import lazy

SENDING_LIMITED = lazy(
    "You have sent many messages in a short time. Please wait {minutes} minutes before sending "
    "more."
)

sending_refused = Counter("preau_sending_limited_total", "Sendings refused by the rate limit.")


class SendingLimit:
    def __init__(self, storage: Storage, *, per_minute: int, per_day: int) -> None:
        self.limits = FailOpenLimiter("sending", storage, MovingWindowRateLimiter)
        self.per_minute = parse(f"{per_minute}/minute")
        self.per_day = parse(f"{per_day}/day")

    async def hit(self, school_id: int, person_id: int, cost: int = 1) -> None:
        """Count one sending by this person, or refuse it with a sentence and Retry-After."""
        key = f"{school_id}:{person_id}"
        await self.limits.attempt(lambda: self._hit(key, cost), fallback=None)

    async def _hit(self, key: str, cost: int) -> None:
        if not await self.limits.strategy.hit(self.per_minute, "send-minute", key, cost=cost):
            sending_refused.inc()
            raise TooManyAttempts(SENDING_LIMITED, retry_after=60, minutes=1)
        if not await self.limits.strategy.hit(self.per_day, "send-day", key, cost=cost):
            sending_refused.inc()
            raise TooManyAttempts(SENDING_LIMITED, retry_after=3600, minutes=60)
