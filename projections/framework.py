"""Read models folded from the log, with checkpoints kept in the same transaction as their rows.

A projection declares the event types it handles and how it applies one event to its tables.
Each projection's checkpoint (the last position it has applied) is written with its rows, so a
crash neither skips nor doubles an event: on restart it resumes after its checkpoint. Inline
mode applies events inside the append's own transaction; catch-up mode tails the log into a
separate read database. Replay is catch-up from position 0 with the very same `apply`.
"""

from __future__ import annotations

import abc
import gc
import operator
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, ClassVar, NamedTuple, Protocol, Self

import attrs
import orjson
import sqlite_utils

from eventstore import EventStore, OrderlogError, RecordedEvent
from eventstore.codec import format_time, parse_iso_time
from eventstore.errors import CorruptLog
from eventstore.rows import StoredRow, unreadable
from eventstore.sqlite import immediate_transaction as transaction
from eventstore.upcasting import Upcasters
from lifecycle.errors import IllegalTransition

CHECKPOINTS = "projection_checkpoints"
READ_MODEL_ID = 0x4F52524D  # "ORRM": a file holding only read models (see `open_read_db`)

UNFOLDABLE = (IllegalTransition, TypeError, ValueError, KeyError, AttributeError)
"""What a projection raises for a stored event whose data its type does not promise, or that
its machine forbids: orderlog never writes one, so the log was altered (`CorruptLog`)."""

Progress = Callable[[int], None]
"""Called with the number of events just applied, for progress bars."""


class ClosedOnExit(abc.ABC):
    """A `with` block gives the object itself and closes it however the block ends."""

    @abc.abstractmethod
    def close(self) -> None:
        """Let go of what the object holds."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()


class Envelope(Protocol):
    """What a projection reads of an event: a `RecordedEvent` (inline, just written) or a
    `Fact` (read back from the log for catching up)."""

    @property
    def position(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def data(self) -> dict[str, Any]: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def schema_version(self) -> int: ...


class Fact(NamedTuple):
    """An event read back for projections: only what they use, decoded once. The log's hash
    chain vouches for the data, so it is taken as stored (after upcasting), unchecked."""

    position: int
    stream_id: str
    stream_version: int
    type: str
    data: dict[str, Any]
    occurred_at: datetime
    stored_at: str
    """`occurred_at` as the log stores it (what `format_time` writes)."""
    schema_version: int
    """The schema `data` is in (the stored one, or the store's upcasters' last)."""


def read_facts(
    source: EventStore, first: int, last: int, batch_size: int = 2000
) -> Iterator[list[Fact]]:
    """The log's events from `first` to `last` as `Fact`s, in batches (memory stays flat).

    Raises `CorruptLog` for a row whose text does not decode."""
    for rows in source.read_row_batches(first, to_position=last, batch_size=batch_size):
        yield facts_of(rows, source.upcasters)


def facts_of(rows: Sequence[StoredRow], upcasters: Upcasters | None = None) -> list[Fact]:
    """Decode stored rows for projections (only their data and time); raises `CorruptLog` for
    a row whose text does not decode."""
    upcast = upcasters.upcast if upcasters else None
    facts: list[Fact] = []
    add = facts.append
    for row in rows:
        try:
            data = _decode(row.data)
            occurred_at = _from_text(row.occurred_at)
            if occurred_at.tzinfo is not UTC:  # not the store's own text: check it
                occurred_at = parse_iso_time(row.occurred_at)
        except (TypeError, ValueError, RecursionError) as error:
            raise unreadable(row, f"{type(error).__name__}: {error}") from None
        if type(data) is not dict:
            raise unreadable(row, "its data is not a JSON object")
        version = row.schema_version
        if upcast is not None:
            version, data = upcast(row.type, version, data)
        add(
            _fact(
                (
                    row.position,
                    row.stream_id,
                    row.stream_version,
                    row.type,
                    data,
                    occurred_at,
                    row.occurred_at,
                    version,
                )
            )
        )
    return facts


_from_text = datetime.fromisoformat


# orjson decodes the stored text in about a third of the stdlib's time (a third of replay's
# CPU was JSON). It refuses what the stdlib refuses, and NaN and lone surrogates besides
# (orderlog never writes them); only integers beyond 64 bits, which orderlog never writes
# (amounts stop at 10**12) and SQLite cannot hold, come out as floats, which verify's strict
# decoder then refuses. Hashing never uses it: the chain is over the text as stored.
_decode = orjson.loads
_fact = Fact._make


@attrs.frozen
class Table:
    """One read-model table: its columns in order (name and type), primary key and required
    columns. The projection creates it from this, folds rows of it in memory, and `verify`
    checks the file's table against it."""

    name: str
    columns: dict[str, type]
    pk: tuple[str, ...]
    not_null: frozenset[str] = frozenset()

    def create(self, db: sqlite_utils.Database) -> None:
        db.table(self.name).create(
            dict(self.columns),
            pk=self.pk[0] if len(self.pk) == 1 else self.pk,
            not_null=set(self.not_null),
            if_not_exists=True,
        )


class Rows:
    """The rows of one table that a batch of events touches, held in memory while the batch is
    folded and written back once at its end (`flush`, one `executemany`).

    `get` reads a row the first time the batch asks for it; rows are dicts keyed by column."""

    def __init__(self, conn: sqlite3.Connection, table: Table, schema: str = "main") -> None:
        self.conn = conn
        self.table = table
        self._held: dict[tuple[Any, ...], dict[str, Any] | None] = {}
        self._changed: dict[tuple[Any, ...], dict[str, Any]] = {}
        names = ", ".join(table.columns)
        where = " AND ".join(f"{column} = ?" for column in table.pk)
        self._select = f"SELECT {names} FROM {schema}.{table.name} WHERE {where}"
        updates = ", ".join(
            f"{column} = excluded.{column}" for column in table.columns if column not in table.pk
        )
        marks = ", ".join("?" for _ in table.columns)
        self._width = len(table.columns)
        self._values = _getter(tuple(table.columns))
        keys = _getter(table.pk)
        self._key: Callable[[dict[str, Any]], tuple[Any, ...]] = keys
        action = f"DO UPDATE SET {updates}" if updates else "DO NOTHING"
        self._upsert = (
            f"INSERT INTO {schema}.{table.name} ({names}) VALUES ({marks}) "
            f"ON CONFLICT ({', '.join(table.pk)}) {action}"
        )

    def get(self, *key: Any) -> dict[str, Any] | None:
        """The row with this primary key (None if there is none), as this batch left it."""
        if key in self._held:
            return self._held[key]
        found = self.conn.execute(self._select, key).fetchone()
        row = None if found is None else dict(zip(self.table.columns, found, strict=True))
        self._held[key] = row
        return row

    def absent(self, *key: Any) -> None:
        """Tell the batch there is no row with this key (the caller knows it from the log), so
        a later `get` of it in the batch does not query the table."""
        if key not in self._held:
            self._held[key] = None

    def put(self, row: dict[str, Any]) -> None:
        """Keep a new or changed row (missing columns are NULL; a row naming every column
        names them in the table's order, as `get` gives them); written at `flush`."""
        if len(row) != self._width:
            full = dict.fromkeys(self.table.columns)
            full.update(row)
            if len(full) != self._width:
                raise KeyError(f"{self.table.name} has no column {set(full) - set(row)}")
            row = full
        key = self._key(row)
        self._held[key] = row
        self._changed[key] = row

    def flush(self) -> None:
        if self._changed:
            self.conn.executemany(self._upsert, map(self._values, self._changed.values()))
        self._held.clear()
        self._changed.clear()


def _getter(names: tuple[str, ...]) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """A function picking these keys' values out of a dict, as a tuple (at C speed)."""
    if len(names) == 1:
        one = operator.itemgetter(names[0])
        return lambda row: (one(row),)
    return operator.itemgetter(*names)


class Batch:
    """The rows of every read-model table touched by one batch of events."""

    def __init__(
        self, conn: sqlite3.Connection, projections: Sequence[Projection], schema: str = "main"
    ) -> None:
        self._timed, self._time = 0, ""
        self.tables = {
            table.name: Rows(conn, table, schema)
            for projection in projections
            for table in projection.schema
        }

    def __getitem__(self, table: str) -> Rows:
        return self.tables[table]

    def time_of(self, envelope: Envelope) -> str:
        """When the event happened, as the log stores it (worked out once per event)."""
        if type(envelope) is Fact:
            return envelope.stored_at
        if envelope.position != self._timed:
            self._timed, self._time = envelope.position, format_time(envelope.occurred_at)
        return self._time

    def flush(self) -> None:
        for rows in self.tables.values():
            rows.flush()


class Projection(abc.ABC):
    """A read model: the events it handles, its tables, and how one event changes them.

    Events come from the log, whose hash chain vouches for them, so a projection reads the
    stored data (`envelope.data`, upcast to the current schema) as it is, without rebuilding
    domain objects."""

    name: ClassVar[str]
    handles: ClassVar[frozenset[str]]
    schema: ClassVar[tuple[Table, ...]]

    @property
    def tables(self) -> tuple[str, ...]:
        return tuple(table.name for table in self.schema)

    def create(self, db: sqlite_utils.Database) -> None:
        """Create this read model's tables if they do not exist."""
        for table in self.schema:
            table.create(db)

    @abc.abstractmethod
    def fold(self, rows: Batch, envelope: Envelope) -> None:
        """Fold one event into the batch's rows. Never decides: it only records what the event
        says."""


def ensure_schema(conn: sqlite3.Connection, projections: Sequence[Projection]) -> None:
    """Create the checkpoint table and every projection's tables (idempotent).

    All of them in one transaction under the write lock (BEGIN IMMEDIATE, which waits out the
    busy timeout): processes opening one log at once then create them once, and a busy log is
    SQLite's busy error, which the caller's `store.errors()` turns into a conflict. Nothing is
    locked when the tables are there already."""
    if _has_schema(conn, projections):
        return
    with transaction(conn):
        db = sqlite_utils.Database(conn, execute_plugins=False)
        db.table(CHECKPOINTS).create(
            {"name": str, "position": int}, pk="name", not_null={"position"}, if_not_exists=True
        )
        for projection in projections:
            projection.create(db)


def _has_schema(conn: sqlite3.Connection, projections: Sequence[Projection]) -> bool:
    wanted = {CHECKPOINTS, *(table for p in projections for table in p.tables)}
    return wanted <= _tables(conn)


def checkpoints(conn: sqlite3.Connection) -> dict[str, int]:
    """Every projection's last applied position, in one query."""
    return {name: int(position) for name, position in conn.execute(_CHECKPOINTS_SQL)}


_CHECKPOINTS_SQL = f"SELECT name, position FROM main.{CHECKPOINTS}"


def checkpoint(conn: sqlite3.Connection, name: str) -> int:
    """The last position a projection has applied (0 if none)."""
    return checkpoints(conn).get(name, 0)


def lowest_checkpoint(conn: sqlite3.Connection, projections: Sequence[Projection]) -> int:
    marks = checkpoints(conn)
    return min((marks.get(p.name, 0) for p in projections), default=0)


def apply_events(
    conn: sqlite3.Connection,
    projections: Sequence[Projection],
    envelopes: Iterable[Envelope],
    *,
    as_of: datetime | None = None,
    marks: dict[str, int] | None = None,
) -> int:
    """Apply events (in position order) to every projection that has not seen them yet, and
    move the checkpoints. Run it inside a transaction. Returns the number of events read.

    The events are folded in memory and the touched rows written once at the end. With
    `as_of`, events that happened later are passed over (the checkpoints still move). `marks`
    are the checkpoints when the caller has just read them."""
    if marks is None:
        marks = checkpoints(conn)
    seen = {p.name: marks.get(p.name, 0) for p in projections}
    caught_up = max(seen.values(), default=0)
    batch = Batch(conn, projections)
    routes: dict[str, list[Projection]] = {}  # who handles each event type
    last = None
    count = 0
    envelope = None
    try:  # one handler around the loop: nothing is paid per event
        for envelope in envelopes:
            count += 1
            last = envelope.position
            if as_of is not None and envelope.occurred_at > as_of:
                continue
            folds = routes.get(envelope.type)
            if folds is None:
                folds = routes[envelope.type] = [
                    p for p in projections if envelope.type in p.handles
                ]
            for projection in folds:
                if last > caught_up or seen[projection.name] < last:
                    projection.fold(batch, envelope)
    except UNFOLDABLE as error:
        if envelope is None:
            raise
        why = getattr(error, "message", None) or f"{type(error).__name__}: {error}"
        if type(error) is KeyError:
            why = f"its data has no {error}"
        raise CorruptLog.at(envelope.position, envelope.type, why) from None
    batch.flush()
    if last is not None:
        conn.executemany(
            f"INSERT INTO {CHECKPOINTS} (name, position) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position "
            f"WHERE excluded.position > {CHECKPOINTS}.position",
            [(p.name, last) for p in projections],
        )
    return count


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector less often while a whole log is read: folding makes
    many short-lived objects, and the default (a collection every 700 allocations) spends
    about a tenth of verify's time finding no cycles. Memory stays bounded: the objects are
    freed by reference counting, and the collector still runs (every 50,000)."""
    before = gc.get_threshold()
    gc.set_threshold(50_000, *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)


def catch_up(
    source: EventStore,
    target: sqlite3.Connection,
    projections: Sequence[Projection],
    *,
    to_position: int | None = None,
    as_of: datetime | None = None,
    batch_size: int = 2000,
    progress: Progress | None = None,
) -> int:
    """Apply everything after the projections' checkpoints, one transaction per batch.

    Returns the number of events read. Safe to stop at any point and run again."""
    ensure_schema(target, projections)
    start = lowest_checkpoint(target, projections) + 1
    last = source.head().position if to_position is None else to_position
    total = 0
    with fewer_collections():
        for batch in read_facts(source, start, last, batch_size):
            total += _apply_batch(target, projections, batch, as_of, progress)
    return total


def _apply_batch(
    target: sqlite3.Connection,
    projections: Sequence[Projection],
    batch: list[Fact],
    as_of: datetime | None,
    progress: Progress | None,
) -> int:
    with transaction(target):
        count = apply_events(target, projections, batch, as_of=as_of)
    if progress is not None:
        progress(count)
    return count


def reset(conn: sqlite3.Connection, projections: Sequence[Projection]) -> None:
    """Drop the projections' tables and checkpoints, then create them empty (for a replay)."""
    with transaction(conn):
        for projection in projections:
            for table in projection.tables:
                conn.execute(f"DROP TABLE IF EXISTS {table}")
        if CHECKPOINTS in _tables(conn):
            conn.executemany(
                f"DELETE FROM {CHECKPOINTS} WHERE name = ?", [(p.name,) for p in projections]
            )
        ensure_schema(conn, projections)


def fetch_dicts(
    conn: sqlite3.Connection, sql: str, params: Sequence[Any] | dict[str, Any] = ()
) -> list[dict[str, Any]]:
    """Rows of a query as dicts keyed by column name."""
    cursor = conn.execute(sql, params)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


def _tables(conn: sqlite3.Connection) -> set[str]:
    return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


class InlineProjector:
    """Keeps read models in the log's own file up to date inside every append's transaction,
    so a status read right after a command sees it. Catches up first if it is behind (events
    appended by a process without inline projections)."""

    def __init__(
        self, store: EventStore, conn: sqlite3.Connection, projections: Sequence[Projection]
    ) -> None:
        self.store = store
        self.projections = projections
        ensure_schema(conn, projections)

    def __call__(self, conn: sqlite3.Connection, events: Sequence[RecordedEvent]) -> None:
        if not events:
            return
        try:
            marks = checkpoints(conn)  # read once per append
            behind = min((marks.get(p.name, 0) for p in self.projections), default=0)
            if behind < events[0].position - 1:
                # Inside the append's transaction, so this read sees a consistent log.
                for missed in read_facts(self.store, behind + 1, events[0].position - 1):
                    apply_events(conn, self.projections, missed)
                marks = checkpoints(conn)
            # The events just written are folded as they are: nothing is decoded again.
            apply_events(conn, self.projections, events, marks=marks)
        except Exception as error:
            # Not the command's fault: say so, rather than look like a refusal of it.
            raise ReadModelError(
                f"the read models could not follow event {events[0].position} "
                f"({type(error).__name__}: {error}); nothing was written; run `orderlog verify`"
            ) from error


class ReadModelError(OrderlogError):
    """A read model failed to apply an event inside an append; the append was rolled back."""

    code = "read_model_error"
