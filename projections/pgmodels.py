"""Read models kept in a PostgreSQL log's own schema, moved inline in each append's transaction.

The read models are written once, for SQLite's connection (`?` marks, `main.` tables, integer
sums). `PgConnection` lets them run unchanged on the append's psycopg connection: it turns the
marks into psycopg's, `main.` into the log's schema, `numeric` sums back into integers, and
SQLite's write lock (`BEGIN IMMEDIATE`) into a transaction holding the log's advisory lock.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any, cast

import psycopg
from psycopg.adapt import Buffer
from psycopg.pq import TransactionStatus
from psycopg.types.numeric import NumericLoader

from eventstore import EventStore, RecordedEvent
from eventstore.postgres import PostgresEventStore
from eventstore.postgres_schema import lock_key

from .framework import (
    CHECKPOINTS,
    InlineProjector,
    Projection,
    Table,
    apply_events,
    checkpoints,
    read_facts,
)

_MAIN = re.compile(r"\bmain\.")
_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_TYPES = {int: "bigint", str: "text"}


class _IntegralNumeric(NumericLoader):
    """`sum()` of bigints is `numeric` in PostgreSQL; money sums are whole numbers: ints."""

    def load(self, data: Buffer) -> Any:
        value = super().load(data)
        if isinstance(value, Decimal) and value == value.to_integral_value():
            return int(value)
        return value


class PgConnection:
    """A psycopg connection seen as the `sqlite3.Connection` the read models are written for."""

    def __init__(self, conn: psycopg.Connection[Any], schema: str) -> None:
        self.raw = conn
        self.schema = schema
        self.lock = ", ".join(map(str, lock_key(schema)))
        conn.adapters.register_loader("numeric", _IntegralNumeric)

    def _sql(self, sql: str, named: bool = False) -> str:
        text = sql.replace("%", "%%")
        text = _NAMED.sub(r"%(\1)s", text) if named else text.replace("?", "%s")
        return _MAIN.sub(f"{self.schema}.", text)

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> psycopg.Cursor[Any]:
        if sql == "BEGIN IMMEDIATE":  # SQLite's write lock: the log's, as appends take it
            return self.raw.execute(f"BEGIN; SELECT pg_advisory_xact_lock({self.lock})")
        if isinstance(params, dict):
            return self.raw.execute(self._sql(sql, named=True), params)
        if not params:  # psycopg reads no marks (nor %) in a query without parameters
            return self.raw.execute(_MAIN.sub(f"{self.schema}.", sql))
        return self.raw.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        self.raw.cursor().executemany(self._sql(sql), list(rows))

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def as_sqlite(self) -> sqlite3.Connection:
        """This connection, typed as what the read models take (it answers the same calls)."""
        return cast(sqlite3.Connection, self)


def _create_sql(table: Table, schema: str) -> str:
    columns = []
    for name, kind in table.columns.items():
        required = " NOT NULL" if name in table.not_null or name in table.pk else ""
        columns.append(f"{name} {_TYPES[kind]}{required}")
    keys = ", ".join(table.pk)
    body = ", ".join([*columns, f"PRIMARY KEY ({keys})"])
    return f"CREATE TABLE IF NOT EXISTS {schema}.{table.name} ({body})"


def ensure_pg_schema(conn: PgConnection, projections: Sequence[Projection]) -> None:
    """Create the checkpoints and every read model's tables in the log's schema (idempotent),
    under the log's advisory lock so processes opening it at once create them once."""
    tables = [
        Table(CHECKPOINTS, {"name": str, "position": int}, ("name",), frozenset({"position"}))
    ]
    tables += [table for projection in projections for table in projection.schema]
    with conn.raw.transaction():
        conn.raw.execute(f"SELECT pg_advisory_xact_lock({conn.lock})")
        for table in tables:
            conn.raw.execute(_create_sql(table, conn.schema))


def has_pg_models(conn: PgConnection, projections: Sequence[Projection]) -> bool:
    """Whether the log's schema holds the read models' tables and checkpoints."""
    wanted = {CHECKPOINTS, *(name for p in projections for name in p.tables)}
    found = {
        row[0]
        for row in conn.raw.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = %s", (conn.schema,)
        )
    }
    return wanted <= found


class PgInlineProjector(InlineProjector):
    """`InlineProjector` on the append's own psycopg connection: the read models in the log's
    schema move in the same transaction as the events (if they fail, nothing is written)."""

    def __init__(self, store: PostgresEventStore, projections: Sequence[Projection]) -> None:
        self.store = store
        self.schema = store.schema
        self.projections = projections
        with store.connection() as conn:
            models = PgConnection(conn, store.schema)
            if not has_pg_models(models, projections):  # else no lock taken on every open
                ensure_pg_schema(models, projections)

    def __call__(self, conn: Any, events: Sequence[RecordedEvent]) -> None:
        wrapped = PgConnection(conn, self.schema).as_sqlite()
        super().__call__(wrapped, events)


def pg_lowest_checkpoint(conn: PgConnection, projections: Sequence[Projection]) -> int:
    marks = checkpoints(conn.as_sqlite())
    return min((marks.get(p.name, 0) for p in projections), default=0)


def pg_catch_up(store: EventStore, conn: PgConnection, projections: Sequence[Projection]) -> int:
    """Apply what the read models in the log's schema have not seen (events written by a
    process without them), in one transaction under the log's advisory lock. Returns the
    number of events applied."""
    start = pg_lowest_checkpoint(conn, projections) + 1
    head = store.head().position
    if start > head:
        return 0
    applied = 0
    with conn.raw.transaction():
        conn.raw.execute(f"SELECT pg_advisory_xact_lock({conn.lock})")
        start = pg_lowest_checkpoint(conn, projections) + 1  # another may have caught up
        for batch in read_facts(store, start, store.head().position):
            applied += apply_events(conn.as_sqlite(), projections, batch)
    return applied


def pg_reset(conn: PgConnection, projections: Sequence[Projection]) -> None:
    """Drop the read models' tables and checkpoints in the log's schema and create them empty
    (an in-place replay), in the caller's transaction."""
    for projection in projections:
        for table in projection.tables:
            conn.raw.execute(f"DROP TABLE IF EXISTS {conn.schema}.{table}")
    conn.raw.execute(f"DROP TABLE IF EXISTS {conn.schema}.{CHECKPOINTS}")
    ensure_pg_schema(conn, projections)
