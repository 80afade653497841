"""What every action needs, assembled once by :mod:`preau.bootstrap`."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from preau.gate.settings import GateSettings
from preau.live import LiveHub
from preau.ports import FileStore, SharedState
from preau.settings import Settings

if TYPE_CHECKING:
    from preau.actions.accounts import LoginThrottle, Passwords
    from preau.actions.classwork.todo import HomeworkCache, TodoCache
    from preau.actions.messages.sending import SendingLimit
    from preau.actions.sessions import Sessions
    from preau.actions.timetable.weeks import WeekCache
    from preau.actions.virtual.pool import JanusPool
    from preau.adapters.shared import Shared


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    state: SharedState
    sessions: Sessions
    passwords: Passwords
    throttle: LoginThrottle
    files: FileStore
    todo_cache: TodoCache  # also the registry of read versions (DESIGN.md §5)
    week_cache: WeekCache  # timetables: one's own week, warm
    homework_cache: HomeworkCache  # classwork: a pupil's own view of one homework, warm
    sending: SendingLimit  # messages: how many one person may send
    # ``state`` and the stores that live beside it, in this process or on its Redis: the
    # gate's queue and passes (which the operator pages read too), the limits' counters.
    shared: Shared
    clock: Callable[[], float] = field(default=time.time)
    live: LiveHub = field(default_factory=LiveHub)  # messages: this process's live fan-out
    janus: JanusPool | None = None  # virtual classes: the Janus nodes, when configured
    gate: GateSettings = field(default_factory=GateSettings)  # the gate's start-up settings
    zones: dict[int, ZoneInfo] = field(default_factory=dict)  # school id -> zone (actions/zones)
    # virtual classes: (room, pupil) -> when this process last wrote the pupil's last_seen_at
    # (monotonic seconds), so floor polls write it at most once a minute (actions/virtual/hands)
    seen_written: dict[tuple[int, int], float] = field(default_factory=dict)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)
