"""The SQLite event store: one file (or a shared in-memory database), WAL, fsync on every commit.

Only the primitives the store core needs, in SQL. Writers take SQLite's write lock up front
(BEGIN IMMEDIATE) and wait up to a busy timeout, so several processes can append to one file;
every SQLite error is translated in one place (`sqlite_errors`), so a caller never sees
"database is locked". Readers never block the writer.
"""

from __future__ import annotations

import os
import random
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from pathlib import Path
from typing import Literal, TypeVar

from .errors import DatabaseNotFound, ReadOnlyLog, WalMissing
from .keys import ChainKey
from .records import HeadDigest, Problem, RecordedEvent
from .rows import StoredRow
from .schema import SCHEMA_VERSION, migrate, read_header, schema_problem
from .sqlite_errors import StorageErrors, is_busy
from .store import EventStore
from .upcasting import Upcasters

Durability = Literal["full", "normal", "off"]
"""SQLite's `synchronous` setting: `full` fsyncs every commit; `normal` may lose the last commits
on power loss (never corrupts in WAL mode); `off` leaves flushing to the operating system."""

InlineListener = Callable[[sqlite3.Connection, Sequence[RecordedEvent]], None]
"""Called inside the append's transaction with the events just written (inline read models)."""

_CHAINED = (
    "position, stream_id, stream_version, type, schema_version, data, metadata, "
    "occurred_at, recorded_at, hash"
)
_COLUMNS = f"{_CHAINED}, mac"
_INSERT_EVENT = f"INSERT INTO events ({_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
_MAC_SINCE = 3
"""The schema version that added the `mac` column; an older file, read-only, reads NULL."""
_T = TypeVar("_T")


@contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error) on an autocommit-mode connection.

    Inside a transaction that is already open it does nothing of its own, so callers nest.
    SQLite's errors pass through as they are: wrap it in `StorageErrors` to name them."""
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


@contextmanager
def read_transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """A read transaction: every query inside sees one snapshot. Nothing of its own if a
    transaction is open already."""
    if conn.in_transaction:
        yield
        return
    conn.execute("BEGIN")
    try:
        yield
    finally:
        _rollback(conn)  # nothing was written: ending it either way releases the snapshot


def _rollback(conn: sqlite3.Connection) -> None:
    # An error such as SQLITE_FULL may already have ended the transaction.
    if conn.in_transaction:
        conn.execute("ROLLBACK")


def _memdb(path: str) -> bool:
    return path.startswith("file:") and "vfs=memdb" in path


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
        key: ChainKey | bytes | None = None,
    ) -> None:
        """Open (and, unless `create=False` or `read_only`, create) the log at `path`.

        With `key` (the shop's secret, see `keys`) every event appended gets a MAC, and
        `verify` checks them; a keyed log refuses writers without its key (`WrongKey`).

        `read_only` never changes the file and leaves no side files: for auditors' copies, also
        on read-only media. Raises `DatabaseNotFound`, `ForeignDatabase` (not an orderlog
        file), `CorruptLog` (a damaged one), `SchemaTooNew`, `WalMissing`, or another
        `StoreFileError` naming what the disk said.
        """
        super().__init__(upcasters, clock, key=key)
        self.path = str(path)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self._errors = StorageErrors(self.path, busy_timeout)
        in_memory = _memdb(self.path)
        # SQLite's read-only connection to a WAL log makes -wal and -shm files and leaves them.
        self._tidy = read_only and not in_memory and not _side_files(self.path)
        with self._errors:
            if not in_memory:
                check_file(Path(self.path), create=create and not read_only, write=not read_only)
            if read_only and not in_memory:
                self._conn = open_read_only(self.path, busy_timeout)
            else:
                self._conn = _connect(self.path, busy_timeout)
            try:
                self._version = _until(busy_timeout, lambda: self._open(durability, in_memory))
            except BaseException:
                self._conn.close()
                raise
        self._select = _COLUMNS if self._version >= _MAC_SINCE else f"{_CHAINED}, NULL"

    def _open(self, durability: Durability, in_memory: bool) -> int:
        _, version = read_header(self._conn, self.path)  # refuse a foreign file first
        if self.read_only:
            if version == 0:
                raise DatabaseNotFound(f"{self.path} holds no orderlog log yet: nothing to read")
            return version
        if not in_memory:
            self._conn.execute("PRAGMA journal_mode = WAL")
        self._conn.execute(f"PRAGMA synchronous = {durability.upper()}")
        migrate(self._conn, self.path)
        return SCHEMA_VERSION

    @classmethod
    def in_memory(
        cls,
        name: str | None = None,
        *,
        upcasters: Upcasters | None = None,
        clock: Callable[[], datetime] | None = None,
        busy_timeout: float = 10.0,
        key: ChainKey | bytes | None = None,
    ) -> SQLiteEventStore:
        """A log that lives in memory. Stores opened with the same `name` share one database,
        with real locking between them (SQLite's memdb VFS); it vanishes when the last closes."""
        label = name or uuid.uuid4().hex
        return cls(
            f"file:/orderlog-{label}?vfs=memdb",
            upcasters=upcasters,
            clock=clock,
            busy_timeout=busy_timeout,
            key=key,
        )

    @property
    def connection(self) -> sqlite3.Connection:
        """The store's connection, for read models kept in the same file (see `projections`)."""
        return self._conn

    def errors(self) -> StorageErrors:
        """A block in which SQLite errors on this log become typed errors (see `sqlite_errors`),
        for code that runs its own SQL on `connection`: `with store.errors(): ...`."""
        return self._errors

    def subscribe_inline(self, listener: InlineListener) -> None:
        """Run `listener` inside every append's transaction; if it raises, nothing is written."""
        super().subscribe_inline(listener)

    def close(self) -> None:
        self._conn.close()
        if self._tidy:
            self._tidy = False
            remove_empty_side_files(self.path)

    # -- the core's primitives -----------------------------------------------------------------

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return immediate_transaction(self._conn)

    def _snapshot(self) -> AbstractContextManager[None]:
        return read_transaction(self._conn)

    def _guard(self) -> StorageErrors:
        return self._errors

    def _head(self) -> HeadDigest | None:
        row = self._conn.execute(
            "SELECT position, hash FROM events ORDER BY position DESC LIMIT 1"
        ).fetchone()
        return None if row is None else HeadDigest(row[0], row[1])

    def _stream_version(self, stream_id: str) -> int:
        row = self._conn.execute(
            "SELECT max(stream_version) FROM events WHERE stream_id = ?", (stream_id,)
        ).fetchone()
        return row[0] or 0

    def _rows(self, first: int, last: int, limit: int) -> list[StoredRow]:
        cursor = self._conn.execute(
            f"SELECT {self._select} FROM events WHERE position BETWEEN ? AND ? "
            "ORDER BY position LIMIT ?",
            (first, last, limit),
        )
        return [StoredRow._make(row) for row in cursor]

    def _stream_rows(self, stream_id: str, from_version: int) -> list[StoredRow]:
        cursor = self._conn.execute(
            f"SELECT {self._select} FROM events WHERE stream_id = ? AND stream_version >= ? "
            "ORDER BY stream_version",
            (stream_id, from_version),
        )
        return [StoredRow._make(row) for row in cursor]

    def _stream_ids(self) -> Iterator[str]:
        cursor = self._conn.execute("SELECT DISTINCT stream_id FROM events ORDER BY stream_id")
        for (stream_id,) in cursor:
            yield stream_id

    def _stream_index(self, last: int) -> Iterator[tuple[str, int, int]]:
        yield from self._conn.execute(
            "SELECT stream_id, stream_version, position FROM events WHERE position <= ? "
            "ORDER BY stream_id, stream_version",
            (last,),
        )

    def _insert(self, rows: Sequence[StoredRow]) -> None:
        self._conn.executemany(_INSERT_EVENT, rows)

    def _ledger_get(self, command_id: str) -> tuple[int, int] | None:
        row = self._conn.execute(
            "SELECT first_position, last_position FROM commands WHERE command_id = ?",
            (command_id,),
        ).fetchone()
        return None if row is None else (row[0], row[1])

    def _ledger_put(self, command_id: str, first: int, last: int, recorded_at: str) -> None:
        self._conn.execute(
            "INSERT INTO commands (command_id, first_position, last_position, recorded_at) "
            "VALUES (?, ?, ?, ?)",
            (command_id, first, last, recorded_at),
        )

    def _ledger_entries(self) -> Iterator[tuple[object, object, object]]:
        yield from self._conn.execute(
            "SELECT command_id, first_position, last_position FROM commands "
            "ORDER BY first_position, command_id"
        )

    def _label(self) -> str:
        return self.path

    def _schema_problem(self) -> Problem | None:
        problem = schema_problem(self._conn, self._version)
        if problem is None:
            return None
        return Problem(
            0,
            "schema_altered",
            f"{problem}: the file's tables or triggers were changed outside orderlog, so what "
            "it refuses (or holds) cannot be trusted",
        )


def check_folder(path: Path) -> None:
    """Refuse a new log's path whose folder does not exist (a typo, most likely), rather than
    create folders or decide against an empty log. Raises `DatabaseNotFound`."""
    if not path.parent.is_dir():
        raise DatabaseNotFound(
            f"the folder {path.parent} does not exist: create it, or check the path {path}"
        )


def check_file(path: Path, *, create: bool, write: bool) -> None:
    """Refuse a path that is not there (or whose folder is not), one that cannot be written
    when `write`, and a file whose write-ahead log was deleted, before SQLite touches anything.
    Also for other SQLite files beside the log (read databases). Raises `DatabaseNotFound`,
    `ReadOnlyLog` or `WalMissing`."""
    if not path.exists():
        if not create:
            raise DatabaseNotFound(f"no orderlog database at {path}")
        check_folder(path)
        if not os.access(path.parent, os.W_OK):
            raise ReadOnlyLog(
                f"{path} cannot be created: its folder or disk is read-only; choose a folder "
                "you may write to"
            )
        return
    if write and not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)):
        raise ReadOnlyLog(
            f"{path} cannot be written: the file, its folder or its disk is read-only; open it "
            "read-only to read it, or copy it somewhere writable"
        )
    wal, shm = Path(f"{path}-wal"), Path(f"{path}-shm")
    if shm.exists() and not wal.exists() and shm.stat().st_size and not _settled(wal, shm):
        raise WalMissing(
            f"{wal} is missing but {shm} is there: the write-ahead log was deleted, and commits "
            f"not yet copied into {path} are in it; let any process that still has the log open "
            f"close (it copies them back), or put {wal} back; only if it is lost for good, delete "
            f"{shm} to open what {path} holds and run `orderlog verify`"
        )


def _side_files(path: str) -> bool:
    return Path(f"{path}-wal").exists() or Path(f"{path}-shm").exists()


def remove_empty_side_files(path: str) -> None:
    """After a read-only connection closed: the empty `-wal` and `-shm` it left beside a log
    that had none go. A read-write connection opened and closed at once makes SQLite remove
    them itself, and only if no other connection has the file open; with an empty write-ahead
    log, that changes nothing in the file. A log on read-only media never had them. This is a
    tidy-up: it never fails the command."""
    wal = Path(f"{path}-wal")
    try:
        if not wal.exists() or wal.stat().st_size or not os.access(path, os.W_OK):
            return
        conn = sqlite3.connect(path, timeout=0)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except (OSError, sqlite3.Error):
        return


def _settled(wal: Path, shm: Path) -> bool:
    """Whether a missing `-wal` beside a `-shm` was only another process closing the log."""
    time.sleep(0.05)
    return wal.exists() or not shm.exists()


def _connect(target: str, busy_timeout: float) -> sqlite3.Connection:
    return sqlite3.connect(
        target,
        uri=target.startswith("file:"),
        isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
        timeout=busy_timeout,
        check_same_thread=True,
    )


def open_read_only(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A read-only connection. A lone file on read-only media (no `-wal` beside it, and no way
    to create the `-shm` SQLite's WAL mode needs) is opened as immutable instead."""
    uri = Path(path).resolve().as_uri()
    conn = _connect(f"{uri}?mode=ro", busy_timeout)
    try:
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return conn
    except sqlite3.DatabaseError as error:
        code = getattr(error, "sqlite_errorcode", 0) & 0xFF
        if code not in (sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_READONLY):
            return conn  # reading the header names what else is wrong (`read_header`)
        conn.close()
        if Path(f"{path}-wal").exists():
            raise
    # Nothing else can be writing a file nobody can write beside: immutable is safe here.
    return _connect(f"{uri}?immutable=1", busy_timeout)


def _until(busy_timeout: float, step: Callable[[], _T]) -> _T:
    """Run `step`, again after a short jittered pause while the log is busy, until the busy
    timeout has passed (then the busy error goes on to be translated). Some of SQLite's open
    steps (switching to WAL) do not wait on their own."""
    deadline = time.monotonic() + busy_timeout
    while True:
        try:
            return step()
        except sqlite3.OperationalError as error:
            if not is_busy(error) or time.monotonic() >= deadline:
                raise
            time.sleep(random.uniform(0.005, 0.03))
