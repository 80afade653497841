"""How many messages and announcements one person may send: a moving window per minute
and per day, on the shared rate-limit storage. When the storage is unreachable sending
is let through and counted, as the login throttle does."""

from __future__ import annotations

from limits import parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError
from prometheus_client import Counter

from preau.domain.errors import TooManyAttempts
from preau.i18n import lazy

SENDING_LIMITED = lazy(
    "You have sent many messages in a short time. Please wait {minutes} minutes before sending "
    "more."
)

sending_fail_open = Counter(
    "preau_sending_limit_fail_open_total",
    "Messages let through because the rate-limit storage was unreachable.",
)
sending_refused = Counter("preau_sending_limited_total", "Sendings refused by the rate limit.")


class SendingLimit:
    def __init__(self, storage: Storage, *, per_minute: int, per_day: int) -> None:
        self.limiter = MovingWindowRateLimiter(storage)
        self.per_minute = parse(f"{per_minute}/minute")
        self.per_day = parse(f"{per_day}/day")

    @classmethod
    def in_memory(cls) -> SendingLimit:
        return cls(MemoryStorage(), per_minute=20, per_day=400)

    async def hit(self, school_id: int, person_id: int, cost: int = 1) -> None:
        """Count one sending by this person, or refuse it with a sentence and Retry-After."""
        key = f"{school_id}:{person_id}"
        try:
            if not await self.limiter.hit(self.per_minute, "send-minute", key, cost=cost):
                sending_refused.inc()
                raise TooManyAttempts(SENDING_LIMITED, retry_after=60, minutes=1)
            if not await self.limiter.hit(self.per_day, "send-day", key, cost=cost):
                sending_refused.inc()
                raise TooManyAttempts(SENDING_LIMITED, retry_after=3600, minutes=60)
        except StorageError:
            sending_fail_open.inc()
