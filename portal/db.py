"""The database engine: built from DATABASE_URL, bound to every table of the app.

Services open transactions with `async with transaction():`. Tables are bound to the
same engine object, so their queries join the open transaction.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from piccolo.engine.base import Engine
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType

from portal.piccolo_app import APP_CONFIG
from portal.settings import DEFAULT_SQLITE_PATH

_engine: Engine | None = None


def engine_for(database_url: str) -> Engine:
    if database_url.startswith(("postgres://", "postgresql://")):
        return PostgresEngine(config={"dsn": database_url})
    path = Path(database_url.removeprefix("sqlite:///"))
    path.parent.mkdir(parents=True, exist_ok=True)
    return SQLiteEngine(path=str(path), timeout=15)


def database_url_from_env() -> str:

    return os.environ.get("DATABASE_URL", "").strip() or f"sqlite:///{DEFAULT_SQLITE_PATH}"


def bind(engine: Engine) -> Engine:
    """Point every table of the app at `engine` (tests switch engines this way)."""
    global _engine

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


def locked(query, **options):
    """The select, its rows locked for the transaction on PostgreSQL (FOR UPDATE, or what `options`
    ask: nowait, skip_locked, of, lock_strength); as it is on SQLite, whose transaction holds the
    database's write lock already."""
    return query.lock_rows(**options) if is_postgres() else query


class QueryCount:
    """What one stretch of work asked the database: statements, and the rows it locked (FOR UPDATE)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    @property
    def queries(self) -> int:
        return len(self.statements)

    @property
    def row_locks(self) -> int:
        return sum(1 for s in self.statements if " FOR UPDATE" in s.upper() or " FOR NO KEY UPDATE" in s.upper())


@contextlib.contextmanager
def counting_queries() -> Iterator[QueryCount]:
    """Count the statements run inside the block (Piccolo's query log, turned into a counter), for
    tests and benchmarks that hold a use case to its number of queries. Not for concurrent use."""
    db = engine()
    count = QueryCount()
    kind = type(db)  # engines have __slots__: the log hook is replaced on the class for the block
    saved_flag, saved_hook = db.log_queries, kind.print_query
    db.log_queries = True
    kind.print_query = lambda self, query_id, query: count.statements.append(str(query))  # type: ignore[method-assign]
    try:
        yield count
    finally:
        db.log_queries = saved_flag
        kind.print_query = saved_hook  # type: ignore[method-assign]
