"""Every write sent with an ``Idempotency-Key``: claimed, marked done inside the write's
own transaction, its first answer kept and replayed (docs/offline.md).

The claim is a row written before the write, in its own transaction. While a claimed
request runs, a context variable names its claim; the first transaction of that request
that writes anything also sets the claim's ``done_at`` just before it commits (a
SQLAlchemy ``commit`` event on the engine), so the write and the record of it commit
together. The answer is stored after. A process killed between the two leaves a record
that says "done": a retry is then told so and nothing is written twice.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

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
    done: bool = False  # a write of this request committed, with done_at


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
        connection.execute(
            idempotency_records.update().where(*_is(claim)).values(done_at=claim.now)
        )
        connection.info.pop(_WROTE, None)
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
    mine = Claim(school_id=school_id, person_id=person_id, key=key, now=now)
    fresh = {
        "fingerprint": fingerprint,
        "method": method,
        "path": path[:500],
        "claimed_at": now,
        "done_at": None,
        "status": None,
        "headers": None,
        "body": None,
    }
    try:
        async with services.engine.begin() as connection:
            await connection.execute(
                idempotency_records.insert().values(
                    school_id=school_id, person_id=person_id, key=key, **fresh
                )
            )
    except IntegrityError:
        pass
    else:
        return Replay.PROCEED, mine, None
    async with services.engine.begin() as connection:
        stored = (
            await connection.execute(sa.select(idempotency_records).where(*_is(mine)))
        ).first()
        if stored is None:  # purged in between: claim it again
            await connection.execute(
                idempotency_records.insert().values(
                    school_id=school_id, person_id=person_id, key=key, **fresh
                )
            )
            return Replay.PROCEED, mine, None
        expired = stored.claimed_at < expired_before(now, services.settings.idempotency_hours)
        replay = (
            Replay.PROCEED
            if expired
            else replay_for(
                stored_fingerprint=stored.fingerprint,
                fingerprint=fingerprint,
                done=stored.done_at is not None,
                answered=stored.status is not None,
                claimed_at=stored.claimed_at,
                now=now,
            )
        )
        if replay is Replay.PROCEED:  # an expired record, or a claim whose process died
            taken = await connection.execute(
                idempotency_records.update()
                .where(*_is(mine), idempotency_records.c.claimed_at == stored.claimed_at)
                .values(**fresh)
            )
            return (Replay.PROCEED if taken.rowcount == 1 else Replay.IN_PROGRESS), mine, None
        answer = None
        if replay is Replay.ANSWER:
            answer = StoredAnswer(
                status=int(stored.status),
                headers=[(name.encode(), value.encode()) for name, value in stored.headers or []],
                body=bytes(stored.body or b""),
            )
        return replay, mine, answer


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
    """Store the first answer (None: too big to keep; the record still says done)."""
    values: dict[str, Any] = {"done_at": sa.func.coalesce(idempotency_records.c.done_at, claim.now)}
    if answer is not None:
        values |= {
            "status": answer.status,
            "headers": [
                [name.decode("latin-1"), value.decode("latin-1")] for name, value in answer.headers
            ],
            "body": answer.body,
        }
    async with services.engine.begin() as connection:
        await connection.execute(idempotency_records.update().where(*_is(claim)).values(**values))


async def release(services: Services, claim: Claim) -> None:
    """The request failed before writing anything: the key may be used again."""
    async with services.engine.begin() as connection:
        await connection.execute(
            idempotency_records.delete().where(*_is(claim), idempotency_records.c.done_at.is_(None))
        )


async def purge_expired(services: Services) -> int:
    """Forget records older than ``PREAU_IDEMPOTENCY_HOURS``."""
    before = expired_before(services.now(), services.settings.idempotency_hours)
    async with services.engine.begin() as connection:
        result = await connection.execute(
            idempotency_records.delete().where(idempotency_records.c.claimed_at < before)
        )
    return int(result.rowcount)
