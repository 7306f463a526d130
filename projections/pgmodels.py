"""Read models kept in a PostgreSQL log's own schema, moved inline in each append's transaction.

The read models are written once, for SQLite's connection (`?` marks, `main.` tables, integer
sums). `PgConnection` lets them run unchanged on the append's psycopg connection: it turns the
marks into psycopg's, `main.` into the log's schema, `numeric` sums back into integers, and
SQLite's write lock (`BEGIN IMMEDIATE`) into a transaction holding the log's advisory lock.
"""

from __future__ import annotations

import itertools
import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal
from typing import Any, cast

import psycopg
from psycopg.adapt import Buffer
from psycopg.pq import TransactionStatus
from psycopg.types.numeric import NumericLoader

from eventstore import EventStore, Problem, RecordedEvent
from eventstore.postgres import PostgresEventStore
from eventstore.postgres_schema import lock_key

from .audit import FreshReplay, TableShape, currency_problem, first_difference, schema_difference
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
_AFFINITY = {int: "INTEGER", str: "TEXT"}
_CHECKPOINTS_TABLE = Table(
    CHECKPOINTS, {"name": str, "position": int}, ("name",), frozenset({"position"})
)


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


def _pg_tables(projections: Sequence[Projection]) -> list[Table]:
    """The checkpoints and every read model's tables, as created in the log's schema."""
    return [_CHECKPOINTS_TABLE, *(table for p in projections for table in p.schema)]


def _pg_shape(table: Table) -> TableShape:
    """A table's columns as it is created in PostgreSQL, described as `TableShape` describes
    SQLite's (name, type, not null, default, primary key rank): what verify expects."""
    columns = tuple(
        (
            name,
            _TYPES[kind],
            int(name in table.not_null or name in table.pk),
            None,
            table.pk.index(name) + 1 if name in table.pk else 0,
        )
        for name, kind in table.columns.items()
    )
    return TableShape(_create_sql(table, columns), columns)


def _create_sql(table: Table, columns: Sequence[tuple[Any, ...]], schema: str = "main") -> str:
    body = [
        f"{name} {kind}{' NOT NULL' if required else ''}" for name, kind, required, *_ in columns
    ]
    body.append(f"PRIMARY KEY ({', '.join(table.pk)})")
    return f"CREATE TABLE IF NOT EXISTS {schema}.{table.name} ({', '.join(body)})"


def ensure_pg_schema(conn: PgConnection, projections: Sequence[Projection]) -> None:
    """Create the checkpoints and every read model's tables in the log's schema (idempotent),
    under the log's advisory lock so processes opening it at once create them once."""
    with conn.raw.transaction():
        conn.raw.execute(f"SELECT pg_advisory_xact_lock({conn.lock})")
        for table in _pg_tables(projections):
            conn.raw.execute(_create_sql(table, _pg_shape(table).columns, conn.schema))


def has_pg_models(conn: PgConnection, projections: Sequence[Projection]) -> bool:
    """Whether the log's schema holds the read models' tables and checkpoints."""
    wanted = {CHECKPOINTS, *(name for p in projections for name in p.tables)}
    return wanted <= _tables_in(conn)


def _tables_in(conn: PgConnection) -> set[str]:
    """The names of the tables in the log's schema."""
    sql = "SELECT tablename FROM pg_tables WHERE schemaname = %s"
    return {row[0] for row in conn.raw.execute(sql, (conn.schema,))}


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


class PgFreshReplay(FreshReplay):
    """`FreshReplay` for the read models in a PostgreSQL log's schema, run on the audit's
    snapshot connection. The fresh replay folds (by the same code) into a private SQLite
    scratch database on disk, so memory stays bounded; the checkpoints are read in the
    schema; each table's columns are read from PostgreSQL's catalogue and compared with what
    `ensure_pg_schema` creates; then the schema's rows are streamed (a server-side cursor,
    inside the snapshot) into plain tables beside the fresh ones, without keys (so a doubled
    row stays doubled), and compared by `first_difference`."""

    def __init__(self, conn: PgConnection, projections: Sequence[Projection]) -> None:
        super().__init__(sqlite3.connect(""), projections)
        self.pg = conn
        self.shapes = {table.name: _pg_shape(table) for table in _pg_tables(projections)}

    def kept(self) -> bool:
        """Whether the schema holds any of the read models' tables (a log written only by
        hosts without read models has none: its readers replay it in memory)."""
        return bool(self._kept_tables() & set(self.shapes))

    def _kept_tables(self) -> set[str]:
        return _tables_in(self.pg)

    def _differences(self, head: int, tables: set[str]) -> Problem | None:
        marks = {CHECKPOINTS: self.shapes[CHECKPOINTS]}
        return (
            # Checkpoints of another shape would fail to read (and end the snapshot).
            (schema_difference(self._shape, marks, head) if CHECKPOINTS in tables else None)
            or currency_problem(self.pg.as_sqlite(), self.projections, head, tables)
            or schema_difference(self._shape, self.shapes, head)
            or first_difference(self.copy_kept(), self._tables(), head, "the log's schema")
        )

    def _shape(self, table: str) -> TableShape:
        """A table of the log's schema as PostgreSQL describes it (no such table: no columns)."""
        columns = self.pg.raw.execute(_COLUMNS_SQL, (self.pg.schema, table)).fetchall()
        return TableShape("", tuple(tuple(column) for column in columns))

    def copy_kept(self) -> sqlite3.Connection:
        """The scratch database, the schema's read-model rows copied into its `main`."""
        for table in self._tables():
            names = list(table.columns)
            columns = ", ".join(f"{name} {_AFFINITY[table.columns[name]]}" for name in names)
            self.conn.execute(f"DROP TABLE IF EXISTS main.{table.name}")
            self.conn.execute(f"CREATE TABLE main.{table.name} ({columns})")
            insert = f"INSERT INTO main.{table.name} VALUES ({', '.join('?' * len(names))})"
            select = f"SELECT {', '.join(names)} FROM {self.pg.schema}.{table.name}"
            rows = _scan(self.pg.raw, select)
            while chunk := list(itertools.islice(rows, 2000)):
                self.conn.executemany(insert, chunk)
        return self.conn

    def close(self) -> None:
        super().close()
        self.conn.close()


def _scan(conn: psycopg.Connection[Any], sql: str) -> Iterator[tuple[Any, ...]]:
    """A query's rows through a server-side cursor (memory stays flat; it needs the snapshot's
    transaction)."""
    with conn.cursor(name="orderlog_read_models") as cursor:
        cursor.itersize = 2000
        cursor.execute(sql)
        yield from cursor


_COLUMNS_SQL = """
SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull::int,
       pg_get_expr(d.adbin, d.adrelid),
       coalesce(array_position(string_to_array(i.indkey::text, ' ')::int2[], a.attnum), 0)
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p')
ORDER BY a.attnum
"""
