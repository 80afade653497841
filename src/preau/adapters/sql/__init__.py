"""Storage on SQL with SQLAlchemy 2 Core: SQLite (aiosqlite) or PostgreSQL (asyncpg)."""
