"""The kept copies (per process within a byte budget, shared beside) and which errors mean
"the database is unreachable"."""

from __future__ import annotations

import errno

import pytest
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from preau.actions.degraded import StaleCopies, StaleCopy, database_unavailable
from preau.adapters.memory.shared_state import MemorySharedState


class ReadOnly(Exception):
    sqlstate = "25006"  # as asyncpg's ReadOnlySQLTransactionError carries it


def copy(body: bytes) -> StaleCopy:
    return StaleCopy(content_type=b"application/json", etag=body[:8], body=body, saved_at=1.0)


async def test_copies_stay_within_their_budget_and_are_found_shared() -> None:
    copies = StaleCopies(MemorySharedState(), max_bytes=250)
    for name in ("a", "b", "c"):
        copies.keep(name, copy(name.encode() * 100))
    await copies.flush()
    assert list(copies.entries) == ["b", "c"]  # "a" went first
    assert copies.kept_bytes == 200
    found = await copies.find("a")  # from the shared state
    assert found is not None
    assert found.body == b"a" * 100
    assert await copies.find("never") is None


async def test_an_unchanged_copy_is_not_written_again() -> None:
    state = MemorySharedState()
    copies = StaleCopies(state)
    copies.keep("k", copy(b"x" * 10))
    await copies.flush()
    await state.delete("k")
    copies.keep("k", copy(b"x" * 10))  # same ETag: nothing to write
    await copies.flush()
    assert await state.get("k") is None
    copies.keep("k", copy(b"y" * 10))
    await copies.flush()
    assert await state.get("k") is not None


@pytest.mark.parametrize(
    ("error", "unreachable"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), True),
        (TimeoutError(), True),
        (OSError(errno.EHOSTUNREACH, "no route"), True),
        (FileNotFoundError(errno.ENOENT, "no such file"), False),
        (OSError(errno.ENOSPC, "disk full"), False),
        (OperationalError("SELECT 1", {}, Exception("server closed the connection")), True),
        (IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (ValueError("a bug"), False),
        (DBAPIError("INSERT", {}, ReadOnly("read-only transaction")), True),
    ],
)
def test_which_errors_mean_unreachable(error: BaseException, unreachable: bool) -> None:
    assert database_unavailable(error) is unreachable
