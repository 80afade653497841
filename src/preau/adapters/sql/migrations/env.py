"""Alembic environment: runs on the connection handed in by ``preau.adapters.sql.engine``."""

from __future__ import annotations

from alembic import context

from preau.adapters.sql.schema import metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `preau migrate`, which passes a connection")
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
