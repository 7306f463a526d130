"""The SQLite event store: one file (or a shared in-memory database), WAL, fsync on every commit.

Writers take SQLite's write lock up front (BEGIN IMMEDIATE) and wait up to a busy timeout, so
several processes can append to one file; a writer that cannot get the lock, or that finds its
stream moved on, gets `ConcurrencyConflict` and writes nothing. Readers never block the writer.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from .codec import GENESIS_HASH, check_json_object, format_time
from .errors import ConcurrencyConflict, CorruptLog, DatabaseNotFound, InvalidAppend
from .records import AppendResult, HeadDigest, Problem, RecordedEvent, StreamAppend
from .rows import (
    COMMAND_ID,
    OUTCOME,
    StoredRow,
    check_identifier,
    check_import,
    prepare_appends,
    seal,
    stamp,
    to_recorded,
)
from .schema import SCHEMA_VERSION, migrate, read_header
from .store import EventStore, check_expected
from .upcasting import Upcasters
from .verify import stream_break_problem

Durability = Literal["full", "normal", "off"]
"""SQLite's `synchronous` setting: `full` fsyncs every commit; `normal` may lose the last commits
on power loss (never corrupts in WAL mode); `off` leaves flushing to the operating system."""

InlineListener = Callable[[sqlite3.Connection, Sequence[RecordedEvent]], None]
"""Called inside the append's transaction with the events just written (inline read models)."""

_COLUMNS = (
    "position, stream_id, stream_version, type, schema_version, data, metadata, "
    "occurred_at, recorded_at, hash"
)
_INSERT_EVENT = f"INSERT INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)"
_BUSY_CODES = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED}


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit-mode connection.

    Inside a transaction that is already open it does nothing of its own, so callers nest."""
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        _rollback(conn)
        raise
    conn.execute("COMMIT")


def _rollback(conn: sqlite3.Connection) -> None:
    # An error such as SQLITE_FULL may already have ended the transaction.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _ledger(
    conn: sqlite3.Connection, command_id: str, first: int, last: int, recorded_at: datetime | str
) -> None:
    recorded = recorded_at if isinstance(recorded_at, str) else format_time(recorded_at)
    conn.execute(
        "INSERT INTO commands (command_id, first_position, last_position, recorded_at) "
        "VALUES (?, ?, ?, ?)",
        (command_id, first, last, recorded),
    )


IMPORT_BATCH = 1000


def _note_command(commands: dict[str, tuple[int, int, str]], event: RecordedEvent) -> None:
    """Rebuild the ledger of imported events from their metadata; a command's are contiguous."""
    command_id = event.metadata.get(COMMAND_ID)
    if command_id is None:
        return
    first, last, recorded_at = commands.get(
        command_id, (event.position, event.position - 1, format_time(event.recorded_at))
    )
    if last != event.position - 1:
        raise InvalidAppend(f"row {event.position}: the events of command {command_id} are apart")
    commands[command_id] = (first, event.position, recorded_at)


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and (code & 0xFF) in _BUSY_CODES


class SQLiteEventStore(EventStore):
    """The event log in a SQLite file. Use one instance per thread; processes may share a file."""

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        durability: Durability = "full",
        busy_timeout: float = 10.0,
        upcasters: Upcasters | None = None,
        clock: Callable[[], datetime] | None = None,
        read_only: bool = False,
    ) -> None:
        """Open (and, unless `create=False` or `read_only`, create) the log at `path`.

        `read_only` never changes the file: for auditors' copies. Raises `DatabaseNotFound`,
        `ForeignDatabase` (not an orderlog file) or `SchemaTooNew`.
        """
        super().__init__(upcasters)
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self._clock = clock or (lambda: datetime.now(UTC))
        self._listeners: list[InlineListener] = []
        in_memory = self.path.startswith("file:") and "vfs=memdb" in self.path
        if not in_memory and (read_only or not create) and not Path(self.path).exists():
            raise DatabaseNotFound(f"no orderlog database at {self.path}")
        target = self.path
        if read_only and not in_memory:
            target = f"{Path(self.path).resolve().as_uri()}?mode=ro"
        self._conn = sqlite3.connect(
            target,
            uri=target.startswith("file:"),
            isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
            timeout=busy_timeout,
        )
        try:
            _, version = read_header(self._conn, self.path)  # refuse a foreign file first
            if read_only and version < SCHEMA_VERSION:
                raise DatabaseNotFound(
                    f"{self.path} holds no orderlog log at schema {SCHEMA_VERSION} to read"
                )
            if not read_only:
                self._configure(durability, in_memory)
                migrate(self._conn, self.path)
        except BaseException:
            self._conn.close()
            raise

    @classmethod
    def in_memory(
        cls,
        name: str | None = None,
        *,
        upcasters: Upcasters | None = None,
        clock: Callable[[], datetime] | None = None,
        busy_timeout: float = 10.0,
    ) -> SQLiteEventStore:
        """A log that lives in memory. Stores opened with the same `name` share one database,
        with real locking between them (SQLite's memdb VFS); it vanishes when the last closes."""
        label = name or uuid.uuid4().hex
        return cls(
            f"file:/orderlog-{label}?vfs=memdb",
            upcasters=upcasters,
            clock=clock,
            busy_timeout=busy_timeout,
        )

    def _configure(self, durability: Durability, in_memory: bool) -> None:
        if not in_memory:
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute(f"PRAGMA synchronous = {durability.upper()}")

    @property
    def connection(self) -> sqlite3.Connection:
        """The store's connection, for read models kept in the same file (see `projections`)."""
        return self._conn

    def subscribe_inline(self, listener: InlineListener) -> None:
        """Run `listener` inside every append's transaction; if it raises, nothing is written."""
        self._listeners.append(listener)

    def close(self) -> None:
        self._conn.close()

    # -- writing -------------------------------------------------------------------------------

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock; busy becomes `ConcurrencyConflict`."""
        try:
            with immediate_transaction(self._conn) as conn:
                yield conn
        except sqlite3.OperationalError as error:
            if not _is_busy(error):
                raise
            raise ConcurrencyConflict(
                f"the log was busy: another writer held it for more than {self.busy_timeout:g}s; "
                "nothing was written; retry"
            ) from error

    def append_streams(
        self,
        appends: Sequence[StreamAppend],
        *,
        command_id: str | None = None,
        outcome: dict[str, object] | None = None,
    ) -> AppendResult:
        if command_id is not None:
            check_identifier(command_id, "command id")
        if outcome is not None:
            check_json_object(outcome, "outcome")
        prepared = prepare_appends(stamp(appends, command_id, outcome))
        with self._writing() as conn:
            if command_id is not None:
                prior = self._recorded(conn, command_id)
                if prior is not None:
                    return prior
            head = self._head(conn)
            position, previous_hash = head.position, head.hash
            recorded_at = self._clock()
            rows: list[StoredRow] = []
            for append, events in prepared:
                version = self._version(conn, append.stream_id)
                check_expected(append.stream_id, append.expected_version, version)
                for event in events:
                    position += 1
                    version += 1
                    row = seal(
                        event,
                        previous_hash=previous_hash,
                        position=position,
                        stream_id=append.stream_id,
                        stream_version=version,
                        recorded_at=recorded_at,
                    )
                    rows.append(row)
                    previous_hash = row.hash
            self._insert(conn, rows, command_id, recorded_at)
            recorded = tuple(to_recorded(row) for row in rows)
            for listener in self._listeners:
                listener(conn, recorded)
        return AppendResult(recorded, outcome)

    def _insert(
        self,
        conn: sqlite3.Connection,
        rows: list[StoredRow],
        command_id: str | None,
        recorded_at: datetime,
    ) -> None:
        try:
            conn.executemany(_INSERT_EVENT, rows)
            if command_id is not None:
                _ledger(conn, command_id, rows[0].position, rows[-1].position, recorded_at)
        except sqlite3.IntegrityError as error:
            # Cannot happen under the write lock unless another program writes without it.
            raise ConcurrencyConflict(
                f"another writer recorded the same stream version or command id ({error})"
            ) from error

    def import_rows(
        self, rows: Iterable[StoredRow], check: Callable[[RecordedEvent], None] | None = None
    ) -> int:
        count = 0
        with self._writing() as conn:
            head = self._head(conn)
            position, previous = head.position, head.hash
            versions: dict[str, int] = {}
            commands: dict[str, tuple[int, int, str]] = {}
            batch: list[RecordedEvent] = []
            for row in rows:
                check_import(row, position + 1, previous)
                if row.stream_id not in versions:
                    versions[row.stream_id] = self._version(conn, row.stream_id)
                if row.stream_version != versions[row.stream_id] + 1:
                    raise InvalidAppend(
                        f"row {row.position}: version {row.stream_version} of {row.stream_id} "
                        f"does not follow version {versions[row.stream_id]}"
                    )
                event = to_recorded(row, self.upcasters)
                if check is not None:
                    check(event)
                _note_command(commands, event)
                conn.execute(_INSERT_EVENT, row)
                versions[row.stream_id] = row.stream_version
                position, previous = row.position, row.hash
                count += 1
                batch.append(event)
                if len(batch) >= IMPORT_BATCH:
                    self._tell_listeners(conn, batch)
                    batch = []
            self._tell_listeners(conn, batch)
            for command_id, (first, last, recorded_at) in commands.items():
                if self._recorded(conn, command_id) is not None:
                    raise InvalidAppend(f"command {command_id} is in this log already")
                _ledger(conn, command_id, first, last, recorded_at)
        return count

    def _tell_listeners(self, conn: sqlite3.Connection, events: list[RecordedEvent]) -> None:
        for listener in self._listeners:
            if events:
                listener(conn, events)

    def stream_ids(self) -> Iterator[str]:
        cursor = self._conn.execute("SELECT DISTINCT stream_id FROM events ORDER BY stream_id")
        for (stream_id,) in cursor:
            yield stream_id

    # -- reading -------------------------------------------------------------------------------

    def recorded(self, command_id: str) -> AppendResult | None:
        check_identifier(command_id, "command id")
        return self._recorded(self._conn, command_id)

    def _recorded(self, conn: sqlite3.Connection, command_id: str) -> AppendResult | None:
        row = conn.execute(
            "SELECT first_position, last_position FROM commands WHERE command_id = ?",
            (command_id,),
        ).fetchone()
        if row is None:
            return None
        first, last = row
        events = tuple(
            to_recorded(stored, self.upcasters)
            for stored in self._rows_between(first, last, last - first + 1)
        )
        if len(events) != last - first + 1 or any(
            event.metadata.get(COMMAND_ID) != command_id for event in events
        ):
            raise CorruptLog(
                f"the ledger entry for command {command_id} does not match the events it points "
                "at: the file was altered; run `orderlog verify`"
            )
        return AppendResult(events, events[0].metadata.get(OUTCOME), True)

    def head(self) -> HeadDigest:
        return self._head(self._conn)

    @staticmethod
    def _head(conn: sqlite3.Connection) -> HeadDigest:
        row = conn.execute(
            "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
        ).fetchone()
        return HeadDigest(0, GENESIS_HASH) if row is None else HeadDigest(row[0], row[1])

    def stream_version(self, stream_id: str) -> int:
        check_identifier(stream_id, "stream id")
        return self._version(self._conn, stream_id)

    @staticmethod
    def _version(conn: sqlite3.Connection, stream_id: str) -> int:
        row = conn.execute(
            "SELECT max(stream_version) FROM events WHERE stream_id = ?", (stream_id,)
        ).fetchone()
        return row[0] or 0

    def _stream_rows(self, stream_id: str, from_version: int) -> list[StoredRow]:
        cursor = self._conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE stream_id = ? AND stream_version >= ? "
            "ORDER BY stream_version",
            (stream_id, from_version),
        )
        return [StoredRow._make(row) for row in cursor]

    def _rows_between(self, first: int, last: int, limit: int) -> list[StoredRow]:
        cursor = self._conn.execute(
            f"SELECT {_COLUMNS} FROM events WHERE position BETWEEN ? AND ? "
            "ORDER BY position LIMIT ?",
            (first, last, limit),
        )
        return [StoredRow._make(row) for row in cursor]

    def _hash_at(self, position: int) -> str | None:
        row = self._conn.execute(
            "SELECT hash FROM events WHERE position = ?", (position,)
        ).fetchone()
        return None if row is None else str(row[0])

    def _outside_chain(self) -> Problem | None:
        row = self._conn.execute(
            "SELECT position, stream_id, type FROM events WHERE position < 1 "
            "ORDER BY position LIMIT 1"
        ).fetchone()
        if row is None:
            return None
        return Problem(
            row[0],
            "outside_chain",
            f"event {row[0]} ({row[2]} in {row[1]}) sits before position 1, outside the chain: "
            "it was inserted by hand",
        )

    def _ledger_problem(self) -> Problem | None:
        row = self._conn.execute(
            """
            SELECT c.first_position, c.command_id FROM commands c
            WHERE c.first_position < 1 OR c.last_position < c.first_position
               OR (SELECT count(*) FROM events e
                   WHERE e.position BETWEEN c.first_position AND c.last_position
                     AND json_extract(e.metadata, '$.command_id') = c.command_id)
                  != c.last_position - c.first_position + 1
            ORDER BY c.first_position LIMIT 1
            """
        ).fetchone()
        if row is not None:
            return Problem(
                row[0],
                "ledger_mismatch",
                f"the ledger entry for command {row[1]} does not match the events it points at",
            )
        row = self._conn.execute(
            """
            SELECT e.position, json_extract(e.metadata, '$.command_id') AS command FROM events e
            WHERE command IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM commands c WHERE c.command_id = command
                   AND e.position BETWEEN c.first_position AND c.last_position)
            ORDER BY e.position LIMIT 1
            """
        ).fetchone()
        if row is None:
            return None
        return Problem(
            row[0],
            "ledger_mismatch",
            f"event {row[0]} belongs to command {row[1]}, which the ledger does not lead to",
        )

    def _first_stream_break(self, last: int) -> Problem | None:
        row = self._conn.execute(
            """
            SELECT position, stream_id, stream_version, previous FROM (
                SELECT position, stream_id, stream_version,
                       lag(stream_version, 1, 0)
                           OVER (PARTITION BY stream_id ORDER BY position) AS previous
                FROM events WHERE position <= ?
            )
            WHERE stream_version != previous + 1
            ORDER BY position LIMIT 1
            """,
            (last,),
        ).fetchone()
        return None if row is None else stream_break_problem(*row)
