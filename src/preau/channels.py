"""Following a shared-state channel for the life of a process: subscribe, hand every
message over, and subscribe again after a loss (Redis restarting, a network blip).

Revocations, the read versions and live updates all listen this way; what each does with
a message, and what it forgets when messages may have been missed, is theirs to say.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from preau.ports import SharedState, SharedStateUnavailable

log = logging.getLogger("preau.channels")


async def follow(
    state: SharedState,
    channel: str,
    on_message: Callable[[bytes], None],
    *,
    on_subscribed: Callable[[], None] | None = None,
    on_lost: Callable[[], None] | None = None,
    retry_s: float = 1.0,
) -> None:
    """Run until cancelled. ``on_subscribed`` runs after each (re)subscription, ``on_lost``
    when the subscription ends or fails, before waiting ``retry_s`` to try again."""
    while True:
        try:
            subscription = await state.subscribe(channel)
            if on_subscribed is not None:
                on_subscribed()
            try:
                async for _channel, message in subscription:
                    on_message(message)
            finally:
                with contextlib.suppress(Exception):
                    await subscription.close()
        except (SharedStateUnavailable, OSError, ConnectionError):
            log.warning("channel %s lost; subscribing again in %s s", channel, retry_s)
        except Exception:
            log.exception(
                "listener of channel %s failed; subscribing again in %s s", channel, retry_s
            )
        if on_lost is not None:
            on_lost()
        await asyncio.sleep(retry_s)


async def cancel_all(tasks: list[asyncio.Task[None]]) -> None:
    """Stop a subscriber's background tasks and wait until each has ended."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    tasks.clear()
