"""The database engine: built from DATABASE_URL, bound to every table of the app.

Services open transactions with `async with transaction():`. Tables are bound to the
same engine object, so their queries join the open transaction.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import AsyncIterator

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

_engine: Engine | None = None


def engine_for(database_url: str) -> Engine:
    if database_url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": database_url})
    path = Path(database_url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return SQLiteEngine(path=str(path), timeout=15)


def database_url_from_env() -> str:
    from portal.settings import DEFAULT_SQLITE_PATH

    return os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def bind(engine: Engine) -> Engine:
    """Point every table of the app at `engine` (tests switch engines this way)."""
    global _engine
    from portal.piccolo_app import APP_CONFIG

    for table in APP_CONFIG.table_classes:
        table._meta.db = engine
    _engine = engine
    return engine


def engine() -> Engine:
    if _engine is None:
        raise RuntimeError("database engine not bound; call portal.db.bind() first")
    return _engine


def transaction():
    """One use case, one transaction. On SQLite take the write lock up front."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


@contextlib.asynccontextmanager
async def pool(db: Engine, size: int) -> AsyncIterator[None]:
    """A PostgreSQL connection pool for the app's lifetime (size 0: a connection per query)."""
    if isinstance(db, PostgresEngine) and size > 0:
        await db.start_connection_pool(min_size=1, max_size=size)
        try:
            yield
        finally:
            await db.close_connection_pool()
    else:
        yield


def is_postgres() -> bool:
    return isinstance(engine(), PostgresEngine)
