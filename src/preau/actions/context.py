"""What every action needs, assembled once by :mod:`preau.bootstrap`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncEngine

from preau.gate.samples import GateSamples
from preau.gate.settings import GateSettings
from preau.live import LiveHub
from preau.ports import FileStore, SharedState
from preau.settings import Settings

if TYPE_CHECKING:
    from preau.actions.accounts import LoginThrottle, Passwords
    from preau.actions.classwork.todo import HomeworkCache, TodoCache
    from preau.actions.degraded import DatabaseWatch, StaleCopies
    from preau.actions.lessons.transcoding import MediaWorker
    from preau.actions.messages.sending import SendingLimit
    from preau.actions.password_resets import ResetLimit
    from preau.actions.report_cards import ReportCardCache
    from preau.actions.sessions import Sessions
    from preau.actions.sso import SingleSignOn
    from preau.actions.timetable.weeks import WeekCache
    from preau.actions.virtual.live import RoomHub
    from preau.actions.virtual.pool import JanusPool
    from preau.actions.warm import ReadVersions
    from preau.adapters.media import Ffmpeg
    from preau.adapters.shared import Shared


def _room_hub() -> RoomHub:
    # Imported here: the virtual-class actions import this module.
    from preau.actions.virtual.live import RoomHub  # noqa: PLC0415 - circular otherwise (above)

    return RoomHub()


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
    versions: ReadVersions  # the read versions every warm read is kept under (actions/warm)
    todo_cache: TodoCache  # classwork: pupils' to-dos, warm
    week_cache: WeekCache  # timetables: one's own week, warm
    homework_cache: HomeworkCache  # classwork: a pupil's own view of one homework, warm
    report_cards: ReportCardCache  # marks and skills: a pupil's report card and summary, warm
    sending: SendingLimit  # messages: how many one person may send
    reset_limit: ResetLimit  # accounts: self-service password reset requests
    # ``state`` and the stores that live beside it, in this process or on its Redis: the
    # gate's queue and passes (which the operator pages read too), the limits' counters.
    shared: Shared
    # the last answer of each person's hot reads, served when the database is down
    stale_copies: StaleCopies
    database_watch: DatabaseWatch  # whether this process last found the database down
    clock: Callable[[], float] = field(default=time.time)
    live: LiveHub = field(default_factory=LiveHub)  # messages: this process's live fan-out
    janus: JanusPool | None = None  # virtual classes: the Janus nodes, when configured
    gate: GateSettings = field(default_factory=GateSettings)  # the gate's start-up settings
    # The operator's chart: recent figures the gate's rounds sampled (gate/samples.py).
    gate_samples: GateSamples = field(default_factory=GateSamples)
    zones: dict[int, ZoneInfo] = field(default_factory=dict)  # school id -> zone (actions/zones)
    media: Ffmpeg | None = None  # video lessons: ffmpeg, where installed
    media_wakeup: asyncio.Event | None = None  # set by an upload for this process's transcoder
    media_worker: MediaWorker | None = None
    sso: SingleSignOn | None = None  # single sign-on: SAML, OpenID Connect, CAS (actions/sso)
    # virtual classes: (room, pupil) -> when this process last wrote the pupil's last_seen_at
    # (monotonic seconds), so floor polls write it at most once a minute (actions/virtual/hands)
    seen_written: dict[tuple[int, int], float] = field(default_factory=dict)
    # virtual classes: this process's fan-out of chat, polls and the board to class pages
    room_live: RoomHub = field(default_factory=_room_hub)

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)
