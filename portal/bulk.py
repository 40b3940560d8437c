"""Set-based writes for the hot paths (the dunning tick writes thousands of rows a batch):
one statement for many rows, on both engines. PostgreSQL gets one array per column through
unnest (a handful of parameters, whatever the number of rows); SQLite gets multi-row VALUES in
chunks under its parameter limit. Values are plain Python values in the columns' order.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from piccolo.columns import JSON, BigInt, Boolean, Column, Date, ForeignKey, Integer, Serial, Text, Timestamptz, Varchar
from piccolo.columns.combination import WhereRaw
from piccolo.table import Table

from portal import db

_PG_TYPES: tuple[tuple[type, str], ...] = (
    (ForeignKey, "int4"), (Serial, "int4"), (BigInt, "int8"), (Integer, "int4"), (Boolean, "bool"),
    (Timestamptz, "timestamptz"), (Date, "date"), (JSON, "text"), (Varchar, "text"), (Text, "text"),
)
SQLITE_MAX_PARAMS = 30_000


def _pg_type(column: Column) -> str:
    for kind, name in _PG_TYPES:
        if isinstance(column, kind):
            return name
    raise TypeError(f"no PostgreSQL array type for {type(column).__name__}")


def _name(column: Column) -> str:
    return f'"{column._meta.db_column_name}"'


def _prepare(columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    """JSON columns travel as text."""
    is_json = [isinstance(c, JSON) for c in columns]
    if not any(is_json):
        return [list(r) for r in rows]
    return [[json.dumps(v) if j and not isinstance(v, str) else v for v, j in zip(r, is_json, strict=False)] for r in rows]


def _json_cast(column: Column, expression: str) -> str:
    return f"CAST({expression} AS json)" if isinstance(column, JSON) and db.is_postgres() else expression


async def insert_many(
    table: type[Table], columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, on_conflict: str = "",
    returning: Sequence[Column] = (),
) -> list[dict]:
    """INSERT many rows in one statement (per chunk on SQLite). `on_conflict` is SQL such as
    'ON CONFLICT (key) DO NOTHING'; with `returning`, the rows actually written come back."""
    if not rows:
        return []
    rows = _prepare(columns, rows)
    names = ", ".join(_name(c) for c in columns)
    back = f" RETURNING {', '.join(_name(c) for c in returning)}" if returning else ""
    target = f'INSERT INTO "{table._meta.tablename}" ({names}) '
    if db.is_postgres():
        arrays = [list(values) for values in zip(*rows, strict=False)]
        selected = ", ".join(_json_cast(c, f"v{i}") for i, c in enumerate(columns))
        unnest = ", ".join(f"{{}}::{_pg_type(c)}[]" for c in columns)
        aliases = ", ".join(f"v{i}" for i in range(len(columns)))
        sql = f"{target}SELECT {selected} FROM unnest({unnest}) AS u({aliases}) {on_conflict}{back}"
        return await table.raw(sql, *arrays)
    out: list[dict] = []
    per_chunk = max(1, SQLITE_MAX_PARAMS // len(columns))
    one = "(" + ", ".join("{}" for _ in columns) + ")"
    for start in range(0, len(rows), per_chunk):
        chunk = rows[start:start + per_chunk]
        sql = f"{target}VALUES {', '.join(one for _ in chunk)} {on_conflict}{back}"
        out += await table.raw(sql, *[v for r in chunk for v in r])
    return out


async def update_many(table: type[Table], key: Column, columns: Sequence[Column], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE many rows, each to its own values: rows are (key value, *column values)."""
    if not rows:
        return
    rows = _prepare([key, *columns], rows)
    tablename = f'"{table._meta.tablename}"'
    if db.is_postgres():
        arrays = [list(values) for values in zip(*rows, strict=False)]
        unnest = ", ".join(f"{{}}::{_pg_type(c)}[]" for c in (key, *columns))
        aliases = ", ".join(f"v{i}" for i in range(len(columns) + 1))
        sets = ", ".join(f"{_name(c)} = {_json_cast(c, f'u.v{i + 1}')}" for i, c in enumerate(columns))
        await table.raw(f"UPDATE {tablename} SET {sets} FROM unnest({unnest}) AS u({aliases}) WHERE {tablename}.{_name(key)} = u.v0", *arrays)
        return
    per_chunk = max(1, SQLITE_MAX_PARAMS // (len(columns) + 1))
    one = "(" + ", ".join("{}" for _ in range(len(columns) + 1)) + ")"
    sets = ", ".join(f"{_name(c)} = u.column{i + 2}" for i, c in enumerate(columns))
    for start in range(0, len(rows), per_chunk):
        chunk = rows[start:start + per_chunk]
        await table.raw(
            f"UPDATE {tablename} SET {sets} FROM (VALUES {', '.join(one for _ in chunk)}) AS u "
            f"WHERE {tablename}.{_name(key)} = u.column1", *[v for r in chunk for v in r],
        )


def ids_in(column: Column, ids) -> WhereRaw:
    """`column IN (...)` for many integer ids, written inline (ints only, so nothing to escape):
    Piccolo's is_in converts each value on its own, which shows at thousands of ids."""
    values = ", ".join(str(int(i)) for i in ids) or "NULL"
    return WhereRaw(f"{_name(column)} IN ({values})")
