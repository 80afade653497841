"""Every write sent with an ``Idempotency-Key``: claimed, marked done inside the write's
own transaction, its first answer kept and replayed (docs/offline.md).

Nothing is written before the write: a claim is a look-up (is the key recorded?) and, while
the request runs, a context variable naming it. The first transaction of that request
that writes anything also inserts the key's record, with ``done_at``, just before it
commits (a SQLAlchemy ``commit`` event on the engine), so the write and the record of it
commit together or not at all. A request whose transaction died with its connection (a
killed process, a lost primary) leaves no record: its retry proceeds at once instead of
waiting out a lease. The answer is stored after. A process killed between the two leaves
a record that says "done": a retry is then told so and nothing is written twice.

Two requests with one key at the same time both run; the second to commit finds the
record there (``ON CONFLICT DO NOTHING`` waits for the first's transaction), its
transaction fails with ``ClaimTaken`` and is rolled back, and its answer is replaced by
the first's. Records from before this scheme (claimed, ``done_at`` empty) still expire
after ``domain/idempotency.LEASE``.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from preau.actions.context import Services
from preau.adapters.sql.schema import idempotency_records
from preau.domain.idempotency import Replay, expired_before, replay_for

_WROTE = "preau_idempotency_wrote"


@dataclass
class Claim:
    school_id: int
    person_id: int
    key: str
    now: datetime
    fingerprint: str = ""
    method: str = ""
    path: str = ""
    done: bool = False  # a write of this request committed, with its record
    taken: bool = False  # another request with this key committed first


class ClaimTaken(Exception):
    """Raised inside a commit: another request with the same key committed first, so this
    request's transaction must not commit."""


@dataclass(frozen=True)
class StoredAnswer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


_running: ContextVar[Claim | None] = ContextVar("preau_idempotency_claim", default=None)


def install(engine: AsyncEngine) -> None:
    """Mark a running claim done in the transaction of its request's first write."""
    sync_engine = engine.sync_engine

    @event.listens_for(sync_engine, "after_cursor_execute")
    def _note_write(
        connection: Connection,
        _cursor: Any,
        _statement: str,
        _parameters: Any,
        context: Any,
        _executemany: bool,
    ) -> None:
        if _running.get() is not None and (
            context.isinsert or context.isupdate or context.isdelete
        ):
            connection.info[_WROTE] = True

    @event.listens_for(sync_engine, "commit")
    def _mark_done(connection: Connection) -> None:
        claim = _running.get()
        if claim is None or claim.done or not connection.info.pop(_WROTE, False):
            return
        inserted = connection.execute(_insert_once(connection.dialect.name, _record(claim)))
        connection.info.pop(_WROTE, None)
        if inserted.rowcount != 1:
            claim.taken = True
            raise ClaimTaken(claim.key)
        claim.done = True

    @event.listens_for(sync_engine, "rollback")
    def _forget(connection: Connection) -> None:
        # A connection the database dropped has no info left to clear (asking for it
        # would try to reconnect inside the rollback and fail the request with a 500).
        if not connection.invalidated:
            connection.info.pop(_WROTE, None)


def _is(claim: Claim) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        idempotency_records.c.school_id == claim.school_id,
        idempotency_records.c.person_id == claim.person_id,
        idempotency_records.c.key == claim.key,
    )


def _record(claim: Claim, **answer: Any) -> dict[str, Any]:
    return {
        "school_id": claim.school_id,
        "person_id": claim.person_id,
        "key": claim.key,
        "fingerprint": claim.fingerprint,
        "method": claim.method,
        "path": claim.path[:500],
        "claimed_at": claim.now,
        "done_at": claim.now,
        **answer,
    }


def _insert_once(dialect: str, values: dict[str, Any]) -> sa.Insert:
    """``INSERT ... ON CONFLICT DO NOTHING``: no row inserted when the key is recorded."""
    if dialect == "postgresql":
        return postgresql.insert(idempotency_records).values(**values).on_conflict_do_nothing()
    return sqlite.insert(idempotency_records).values(**values).on_conflict_do_nothing()


async def claim(
    services: Services,
    *,
    school_id: int,
    person_id: int,
    key: str,
    fingerprint: str,
    method: str,
    path: str,
) -> tuple[Replay, Claim, StoredAnswer | None]:
    """Claim ``key`` for this request, or say what the earlier request with it became."""
    now = services.now()
    mine = Claim(
        school_id=school_id,
        person_id=person_id,
        key=key,
        now=now,
        fingerprint=fingerprint,
        method=method,
        path=path,
    )
    async with services.engine.connect() as connection:
        replay, answer = await _look_up(services, connection, mine)
        if replay is Replay.PROCEED:
            await connection.commit()
    return replay, mine, answer


async def _look_up(
    services: Services, connection: AsyncConnection, mine: Claim
) -> tuple[Replay, StoredAnswer | None]:
    stored = (await connection.execute(sa.select(idempotency_records).where(*_is(mine)))).first()
    if stored is None:
        return Replay.PROCEED, None
    if stored.claimed_at < expired_before(mine.now, services.settings.idempotency_hours):
        replay = Replay.PROCEED
    else:
        replay = replay_for(
            stored_fingerprint=stored.fingerprint,
            fingerprint=mine.fingerprint,
            done=stored.done_at is not None,
            answered=stored.status is not None,
            claimed_at=stored.claimed_at,
            now=mine.now,
        )
    if replay is Replay.PROCEED:  # an expired record, or an old-style claim past its lease
        await connection.execute(
            idempotency_records.delete().where(
                *_is(mine), idempotency_records.c.claimed_at == stored.claimed_at
            )
        )
        return Replay.PROCEED, None
    if replay is Replay.ANSWER:
        return replay, StoredAnswer(
            status=int(stored.status),
            headers=[(name.encode(), value.encode()) for name, value in stored.headers or []],
            body=bytes(stored.body or b""),
        )
    return replay, None


async def replay_of(services: Services, claim: Claim) -> tuple[Replay, StoredAnswer | None]:
    """What the request that took ``claim``'s key first became (after ``ClaimTaken``)."""
    async with services.engine.connect() as connection:
        replay, answer = await _look_up(services, connection, claim)
        await connection.rollback()  # nothing to delete: the record is fresh
    return replay, answer


class running:  # noqa: N801 - used as a ``with`` block, like contextlib's helpers
    """Within the block, this request's writes mark ``claim`` done as they commit."""

    def __init__(self, claim: Claim) -> None:
        self.claim = claim

    def __enter__(self) -> Claim:
        self._token = _running.set(self.claim)
        return self.claim

    def __exit__(self, *_exc: object) -> None:
        _running.reset(self._token)


async def keep_answer(services: Services, claim: Claim, answer: StoredAnswer | None) -> None:
    """Store the first answer (None: too big to keep; the record still says done). A
    request that wrote nothing through SQL (its record is not there yet) is recorded now."""
    values: dict[str, Any] = {}
    if answer is not None:
        values = {
            "status": answer.status,
            "headers": [
                [name.decode("latin-1"), value.decode("latin-1")] for name, value in answer.headers
            ],
            "body": answer.body,
        }
    async with services.engine.begin() as connection:
        if claim.done:
            if values:
                await connection.execute(
                    idempotency_records.update().where(*_is(claim)).values(**values)
                )
        else:
            dialect = connection.dialect.name
            await connection.execute(_insert_once(dialect, _record(claim, **values)))


async def purge_expired(services: Services) -> int:
    """Forget records older than ``PREAU_IDEMPOTENCY_HOURS``."""
    before = expired_before(services.now(), services.settings.idempotency_hours)
    async with services.engine.begin() as connection:
        result = await connection.execute(
            idempotency_records.delete().where(idempotency_records.c.claimed_at < before)
        )
    return int(result.rowcount)
