"""How fast one person may post in a virtual class (chat, poll answers, board drawings):
moving windows per person and room on the shared rate-limit storage, failing open and
counted (limiter ``virtual-room``) as every limiter in Préau does."""

from __future__ import annotations

from limits import parse
from limits.aio.storage import Storage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

from preau.actions.context import Services
from preau.adapters.ratelimit import FailOpenLimiter
from preau.domain.errors import TooManyAttempts
from preau.domain.virtual_room import CHAT_PER_MINUTE, POLL_ANSWERS_PER_MINUTE, STROKES_PER_MINUTE

room_refused = Counter(
    "preau_virtual_room_limited_total", "Class-page posts refused by the rate limit.", ["what"]
)

PER_MINUTE = {
    "chat": CHAT_PER_MINUTE,
    "answer": POLL_ANSWERS_PER_MINUTE,
    "stroke": STROKES_PER_MINUTE,
}


class RoomLimits:
    def __init__(self, storage: Storage) -> None:
        self.limits = FailOpenLimiter("virtual-room", storage, MovingWindowRateLimiter)
        self.items = {what: parse(f"{count}/minute") for what, count in PER_MINUTE.items()}

    async def hit(self, what: str, room_id: int, person_id: int, refusal: str) -> None:
        """Count one post, or refuse it with ``refusal`` and a Retry-After of a minute."""
        if not await self.limits.hit(self.items[what], f"room-{what}", f"{room_id}:{person_id}"):
            room_refused.labels(what).inc()
            raise TooManyAttempts(refusal, retry_after=60)


_by_storage: dict[int, RoomLimits] = {}


def room_limits(services: Services) -> RoomLimits:
    """The limiter on this application's shared storage (one per storage, made on first use)."""
    storage = services.shared.limits
    found = _by_storage.get(id(storage))
    if found is None or found.limits.storage is not storage:
        found = _by_storage[id(storage)] = RoomLimits(storage)
    return found
