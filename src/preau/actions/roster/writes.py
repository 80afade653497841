"""How an import writes: each file's inserts, updates and deletes planned first, then sent in
batches (many rows per statement), with a progress callback as each batch is written."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from preau.domain.roster.report import FileReport

#: ``progress(stage, done, total)``, called as each batch of a stage is written.
Progress = Callable[[str, int, int], None]

#: Rows per statement batch: large enough to amortise round trips, small enough for progress.
CHUNK = 5000
#: Values per ``IN (…)`` look-up.
LOOKUP_CHUNK = 1000


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class Writes:
    """The statements one file needs, counted for the progress bar."""

    def __init__(self) -> None:
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []  # each with "row_id"
        self.deletes: list[int] = []

    @property
    def total(self) -> int:
        return len(self.inserts) + len(self.updates) + len(self.deletes)

    def plan(
        self,
        report: FileReport,
        stored: Any,
        values: Mapping[str, Any],
        *,
        new: Mapping[str, Any],
        changed: Mapping[str, Any] | None = None,
    ) -> None:
        """One record of the file: inserted (``new`` and ``values``) when nothing is stored,
        updated (``values`` and ``changed``) when a stored column differs, else unchanged.

        ``values`` are named as the stored record's fields, so they are compared one by one.
        """
        if stored is None:
            self.inserts.append({**new, **values})
            report.created += 1
        elif any(getattr(stored, column) != value for column, value in values.items()):
            self.updates.append({"row_id": stored.id, **values, **(changed or {})})
            report.updated += 1
        else:
            report.unchanged += 1


class Stage:
    def __init__(self, name: str, total: int, progress: Progress | None) -> None:
        self.name = name
        self.total = total
        self.done = 0
        self.progress = progress
        if progress is not None:
            progress(name, 0, total)

    def advance(self, count: int) -> None:
        self.done += count
        if self.progress is not None:
            self.progress(self.name, min(self.done, self.total), self.total)


async def write_rows(
    connection: AsyncConnection,
    table: sa.Table,
    writes: Writes,
    stage: Stage,
    returning: Sequence[sa.ColumnElement[Any]] = (),
) -> list[sa.Row[Any]]:
    """A file's writes to one table: deletes, then updates, then inserts (``returning`` their
    columns), so what a delete frees under a unique constraint (a sourcedId; an enrolment's
    group, person and role) may be written again by the same file."""
    await delete_many(connection, table, writes.deletes, stage)
    await update_many(connection, table, writes.updates, stage)
    return await insert_many(connection, table, writes.inserts, stage, returning=returning)


async def update_many(
    connection: AsyncConnection, table: sa.Table, rows: Sequence[dict[str, Any]], stage: Stage
) -> None:
    """``UPDATE … WHERE id = :row_id`` for many rows; rows with the same keys go together."""
    by_keys: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        by_keys.setdefault(tuple(sorted(row)), []).append(row)
    for keys, same in by_keys.items():
        statement = (
            sa.update(table)
            .where(table.c.id == sa.bindparam("row_id"))
            .values({key: sa.bindparam(key) for key in keys if key != "row_id"})
        )
        for chunk in chunks(same, CHUNK):
            await connection.execute(statement, list(chunk))
            stage.advance(len(chunk))


def refresh(
    by_id: Mapping[int, Any],
    updates: list[dict[str, Any]],
    inserted: Iterable[Any],
    make: Callable[[Any], Any],
    add: Callable[[Any], None],
) -> None:
    """After a commit: bring the import's in-memory copy of a table up to date with the rows
    it updated (by ``row_id``) and inserted. Only columns the cached record has are copied."""
    for update in updates:
        old = by_id[update["row_id"]]
        add(old._replace(**{k: v for k, v in update.items() if k in old._fields}))
    for row in inserted:
        add(make(row))


async def insert_many(
    connection: AsyncConnection,
    table: sa.Table,
    rows: Sequence[dict[str, Any]],
    stage: Stage,
    returning: Sequence[sa.ColumnElement[Any]] = (),
) -> list[sa.Row[Any]]:
    returned: list[sa.Row[Any]] = []
    for chunk in chunks(rows, CHUNK):
        if returning:
            result = await connection.execute(table.insert().returning(*returning), list(chunk))
            returned.extend(result.all())
        else:
            await connection.execute(table.insert(), list(chunk))
        stage.advance(len(chunk))
    return returned


async def delete_many(
    connection: AsyncConnection, table: sa.Table, ids: Sequence[int], stage: Stage
) -> None:
    for chunk in chunks(ids, LOOKUP_CHUNK):
        await connection.execute(table.delete().where(table.c.id.in_(list(chunk))))
        stage.advance(len(chunk))
