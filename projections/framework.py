"""Read models folded from the log, with checkpoints kept in the same transaction as their rows.

A projection declares the event types it handles and how it applies one event to its tables.
Each projection's checkpoint (the last position it has applied) is written with its rows, so a
crash neither skips nor doubles an event: on restart it resumes after its checkpoint. Inline
mode applies events inside the append's own transaction; catch-up mode tails the log into a
separate read database. Replay is catch-up from position 0 with the very same `apply`.
"""

from __future__ import annotations

import abc
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, ClassVar

import sqlite_utils

from eventstore import EventStore, OrderlogError, RecordedEvent
from eventstore.sqlite import immediate_transaction as transaction
from lifecycle.envelopes import from_recorded
from lifecycle.events import Event

CHECKPOINTS = "projection_checkpoints"
READ_MODEL_ID = 0x4F52524D  # "ORRM": a file holding only read models (see `open_read_db`)

Progress = Callable[[int], None]
"""Called with the number of events just applied, for progress bars."""


class Projection(abc.ABC):
    """A read model: the events it handles, its tables, and how one event changes them."""

    name: ClassVar[str]
    handles: ClassVar[frozenset[str]]
    tables: ClassVar[tuple[str, ...]]

    @abc.abstractmethod
    def create(self, db: sqlite_utils.Database) -> None:
        """Create this read model's tables if they do not exist."""

    @abc.abstractmethod
    def apply(self, conn: sqlite3.Connection, envelope: RecordedEvent, event: Event) -> None:
        """Fold one event into the tables. Never decides: it only records what the event says."""


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


def checkpoint(conn: sqlite3.Connection, name: str) -> int:
    """The last position a projection has applied (0 if none)."""
    row = conn.execute(f"SELECT position FROM {CHECKPOINTS} WHERE name = ?", (name,)).fetchone()
    return int(row[0]) if row else 0


def lowest_checkpoint(conn: sqlite3.Connection, projections: Sequence[Projection]) -> int:
    return min((checkpoint(conn, p.name) for p in projections), default=0)


def apply_events(
    conn: sqlite3.Connection,
    projections: Sequence[Projection],
    envelopes: Iterable[RecordedEvent],
    *,
    as_of: datetime | None = None,
) -> int:
    """Apply events (in position order) to every projection that has not seen them yet, and
    move the checkpoints. Run it inside a transaction. Returns the number of events read.

    With `as_of`, events that happened later are passed over (the checkpoints still move)."""
    marks = {p.name: checkpoint(conn, p.name) for p in projections}
    last = None
    count = 0
    for envelope in envelopes:
        count += 1
        last = envelope.position
        if as_of is not None and envelope.occurred_at > as_of:
            continue
        interested = [p for p in projections if envelope.type in p.handles and marks[p.name] < last]
        if not interested:
            continue
        event = from_recorded(envelope)
        for projection in interested:
            projection.apply(conn, envelope, event)
    if last is not None:
        conn.executemany(
            f"INSERT INTO {CHECKPOINTS} (name, position) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET position = excluded.position "
            "WHERE excluded.position > position",
            [(p.name, last) for p in projections],
        )
    return count


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
    batch: list[RecordedEvent] = []
    for envelope in source.read_all(start, to_position=last, batch_size=batch_size):
        batch.append(envelope)
        if len(batch) >= batch_size:
            total += _apply_batch(target, projections, batch, as_of, progress)
            batch = []
    if batch:
        total += _apply_batch(target, projections, batch, as_of, progress)
    return total


def _apply_batch(
    target: sqlite3.Connection,
    projections: Sequence[Projection],
    batch: list[RecordedEvent],
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
            behind = lowest_checkpoint(conn, self.projections)
            if behind < events[0].position - 1:
                # Inside the append's transaction, so this read sees a consistent log.
                missed = self.store.read_all(behind + 1, to_position=events[0].position - 1)
                apply_events(conn, self.projections, missed)
            apply_events(conn, self.projections, events)
        except Exception as error:
            # Not the command's fault: say so, rather than look like a refusal of it.
            raise ReadModelError(
                f"the read models could not follow event {events[0].position} "
                f"({type(error).__name__}: {error}); nothing was written; run `orderlog verify`"
            ) from error


class ReadModelError(OrderlogError):
    """A read model failed to apply an event inside an append; the append was rolled back."""

    code = "read_model_error"
