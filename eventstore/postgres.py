"""The PostgreSQL event store: one schema of a PostgreSQL database, for shops on many hosts.

Only the primitives the store core needs, in SQL. Every append runs in a READ COMMITTED
transaction that first takes a transaction-level advisory lock (`pg_advisory_xact_lock`) of its
log, so appends are serialised and positions commit in order: a reader that has seen position
n has seen every position below it (see docs/decisions.md, "No skipped events on PostgreSQL").
The lock is released only after the commit is visible; waiting for it is bounded by
`busy_timeout` (PostgreSQL's `lock_timeout`). Each commit that wrote events notifies the log's
channel (`channel`), so followers wake at once instead of polling.

Readers never block the writer: a snapshot is a REPEATABLE READ, READ ONLY transaction. Every
psycopg error is translated in one place (`postgres_errors`).

    store = PostgresEventStore("postgresql://postgres@127.0.0.1:5432/shop?schema=orderlog")

With a `psycopg_pool.ConnectionPool`, each operation borrows a connection and gives it back, and
one store may be shared by the threads of a service.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import conninfo as pg_conninfo
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool

from .errors import DatabaseNotFound, InvalidAppend, ReadOnlyLog, StoreFileError
from .keys import ChainKey
from .opening import is_postgres_dsn
from .postgres_errors import translate
from .postgres_schema import (
    MAC_SINCE,
    SCHEMA_VERSION,
    check_schema_name,
    lock_key,
    migrate,
    read_marker,
    schema_problem,
)
from .records import HeadDigest, Problem, RecordedEvent
from .rows import StoredRow
from .store import EventStore
from .upcasting import Upcasters

DEFAULT_SCHEMA = "orderlog"
"""The schema a log lives in when neither the DSN (`?schema=`) nor the caller names one."""

Connection = psycopg.Connection[Any]
InlineListener = Callable[[Connection, Sequence[RecordedEvent]], None]
"""Called inside the append's transaction with its connection and the events just written."""

_CHAINED = (
    "position, stream_id, stream_version, type, schema_version, data, metadata, "
    "occurred_at, recorded_at, hash"
)
_COLUMNS = f"{_CHAINED}, mac"
_CURSORS = itertools.count()


def split_dsn(dsn: str, schema: str | None = None) -> tuple[str, str]:
    """The DSN psycopg accepts and the schema: `?schema=NAME` in a URL, else `schema`, else
    `orderlog`. Raises `StoreFileError` for a DSN psycopg cannot parse or a bad schema name."""
    found = schema
    if is_postgres_dsn(dsn):
        parts = urlsplit(dsn)
        query = parse_qsl(parts.query, keep_blank_values=True)
        for key, value in query:
            if key == "schema" and schema is None:
                found = value
        dsn = urlunsplit(parts._replace(query=urlencode([kv for kv in query if kv[0] != "schema"])))
    try:
        pg_conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as error:
        raise StoreFileError(f"{dsn!r} is not a PostgreSQL DSN psycopg accepts ({error})") from None
    return dsn, check_schema_name(found or DEFAULT_SCHEMA)


def display_name(dsn: str, schema: str) -> str:
    """`postgresql://user@host:port/dbname?schema=NAME`, never the password: for messages."""
    info = pg_conninfo.conninfo_to_dict(dsn)
    user = f"{info['user']}@" if info.get("user") else ""
    port = f":{info['port']}" if info.get("port") else ""
    return (
        f"postgresql://{user}{info.get('host', '')}{port}/{info.get('dbname', '')}?schema={schema}"
    )


class _Session:
    """The connection an operation runs on and the transaction it is in (one per thread when
    the store borrows from a pool)."""

    __slots__ = ("conn", "depth", "head", "head_known", "inserted", "reading", "writing")

    def __init__(self, conn: Connection | None) -> None:
        self.conn: Connection | None = conn
        self.depth = 0
        self.reading = 0
        self.writing = False
        self.inserted = False
        self.head: HeadDigest | None = None
        self.head_known = False
        """Whether `head` is the head read with the write lock (None: an empty log)."""


class _Guard:
    """Hold a connection for the block (borrowing one from the pool at the outermost level) and
    turn psycopg's errors raised in it into the store's typed errors."""

    __slots__ = ("store",)

    def __init__(self, store: PostgresEventStore) -> None:
        self.store = store

    def __enter__(self) -> None:
        store = self.store
        session = store._session()
        if session.depth == 0 and store.pool is not None:
            try:
                session.conn = store._borrow()
            except psycopg.Error as error:
                raise translate(error, store.name, store.busy_timeout) from error
        session.depth += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        store = self.store
        session = store._session()
        session.depth -= 1
        if session.depth == 0 and store.pool is not None and session.conn is not None:
            conn, session.conn = session.conn, None
            store.pool.putconn(conn)
        if isinstance(error, psycopg.DataError):
            raise InvalidAppend(f"PostgreSQL cannot store a value of this append ({error})") from (
                error
            )
        if isinstance(error, psycopg.Error):
            raise translate(error, store.name, store.busy_timeout) from error


class PostgresEventStore(EventStore):
    """The event log in one schema of a PostgreSQL database.

    Without a pool, the store has one connection of its own: use one instance per thread
    (processes and hosts may share the log). With `pool`, threads may share one instance."""

    _serialise_appends = True
    """Take the log's advisory lock in every append. Only tests turn it off, to show what goes
    wrong without it (writers collide on positions and fail)."""

    def __init__(
        self,
        dsn: str | None = None,
        *,
        schema: str | None = None,
        pool: ConnectionPool[Any] | None = None,
        create: bool = True,
        busy_timeout: float = 10.0,
        upcasters: Upcasters | None = None,
        clock: Callable[[], datetime] | None = None,
        read_only: bool = False,
        connect_timeout: float = 10.0,
        key: ChainKey | bytes | None = None,
    ) -> None:
        """Open (and, unless `create=False` or `read_only`, create or migrate) the log in
        `schema` of the database `dsn` names (or the pool connects to).

        Raises `DatabaseNotFound` (no such database, or no log with `create=False`),
        `ForeignDatabase` (the schema holds another application's tables), `SchemaTooNew`,
        `CorruptLog` (its tables contradict its schema version), or `StorageIOError` (the
        server cannot be reached). With `key`, every event appended gets the shop's MAC and
        `verify` checks them (see `keys`)."""
        super().__init__(upcasters, clock, key=key)
        if (dsn is None) == (pool is None):
            raise StoreFileError("give PostgresEventStore a DSN or a connection pool, not both")
        self.pool = pool
        if dsn is None:
            conninfo = pool.conninfo  # type: ignore[union-attr]
            dsn = str(conninfo() if callable(conninfo) else conninfo)
        given = dsn
        self.dsn, self.schema = split_dsn(given, schema)
        self.name = display_name(self.dsn, self.schema)
        self.busy_timeout = busy_timeout
        self.read_only = read_only
        self.connect_timeout = connect_timeout
        self.channel = f"orderlog_{self.schema}"
        """The LISTEN/NOTIFY channel told of every commit that wrote events."""
        self._local = threading.local()
        self._listener: Connection | None = None
        self._own: _Session | None = None
        self._guard_block = _Guard(self)
        self._version = SCHEMA_VERSION
        self._prepare_sql()
        if pool is None:
            try:
                self._own = _Session(self._connect())
            except psycopg.Error as error:
                raise translate(error, self.name, busy_timeout) from error
        try:
            with self._guard_block:
                self._open(create and not read_only)
        except BaseException:
            self.close()
            raise

    def _prepare_sql(self, version: int = SCHEMA_VERSION) -> None:
        s = self.schema
        # A log from before the keyed chain, opened read-only, has no `mac` column: NULL.
        columns = _COLUMNS if version >= MAC_SINCE else f"{_CHAINED}, NULL"
        lock = ", ".join(map(str, lock_key(s)))
        timeout = max(1, round(self.busy_timeout * 1000))
        # One round trip: simple-query text may hold several statements; the head, read once
        # the lock is had, comes back with it.
        self._begin_write = (
            f"BEGIN ISOLATION LEVEL READ COMMITTED; SET LOCAL lock_timeout = {timeout}; "
            + (f"SELECT pg_advisory_xact_lock({lock}); " if self._serialise_appends else "")
            + f"SELECT position, hash FROM {s}.events ORDER BY position DESC LIMIT 1"
        )
        self._notify = f"NOTIFY {self.channel}"
        self._head_sql = f"SELECT position, hash FROM {s}.events ORDER BY position DESC LIMIT 1"
        self._version_sql = f"SELECT max(stream_version) FROM {s}.events WHERE stream_id = %s"
        self._rows_sql = (
            f"SELECT {columns} FROM {s}.events WHERE position BETWEEN %s AND %s "
            "ORDER BY position LIMIT %s"
        )
        self._stream_rows_sql = (
            f"SELECT {columns} FROM {s}.events WHERE stream_id = %s AND stream_version >= %s "
            "ORDER BY stream_version"
        )
        self._whole_stream_sql = (
            f"SELECT {columns} FROM {s}.events WHERE stream_id = %s ORDER BY stream_version"
        )
        self._stream_ids_sql = (
            f'SELECT DISTINCT stream_id COLLATE "C" AS s FROM {s}.events ORDER BY s'
        )
        self._stream_index_sql = (
            f"SELECT stream_id, stream_version, position FROM {s}.events WHERE position <= %s "
            "ORDER BY stream_id, stream_version"
        )
        marks = ", ".join(["%s"] * 11)
        self._insert_sql = f"INSERT INTO {s}.events ({_COLUMNS}) VALUES ({marks})"
        self._ledger_get_sql = (
            f"SELECT first_position, last_position FROM {s}.commands WHERE command_id = %s"
        )
        self._ledger_put_sql = (
            f"INSERT INTO {s}.commands (command_id, first_position, last_position, recorded_at) "
            "VALUES (%s, %s, %s, %s)"
        )
        self._ledger_entries_sql = (
            f"SELECT command_id, first_position, last_position FROM {s}.commands "
            'ORDER BY first_position, command_id COLLATE "C"'
        )

    def _connect(self) -> Connection:
        # No server-side prepared statements: a plan cached by a long-lived process fails
        # ("cached plan must not change result type") once another process migrates or alters
        # the tables, and a verifier must then name the damage, not trip over its own cache.
        return psycopg.connect(
            self.dsn,
            autocommit=True,
            connect_timeout=max(1, round(self.connect_timeout)),
            prepare_threshold=None,
        )

    def _borrow(self) -> Connection:
        assert self.pool is not None
        conn: Connection = self.pool.getconn(timeout=self.busy_timeout)
        if not conn.autocommit:
            conn.autocommit = True
        conn.prepare_threshold = None  # as in `_connect`
        return conn

    def _open(self, create: bool) -> None:
        """Check (and unless read-only, create or migrate) the log; note its schema version."""
        conn = self._conn()
        if self.read_only:
            version = read_marker(conn, self.schema, self.name)
            if not version:
                raise DatabaseNotFound(f"{self.name} holds no orderlog log yet: nothing to read")
            self._version = version
            self._prepare_sql(version)
            return
        conn.execute(f"SET search_path TO {self.schema}")  # for the migrations' bare names
        try:
            self._version = migrate(conn, self.schema, self.name, create=create)
        finally:
            conn.execute("RESET search_path")

    # -- connections and transactions ----------------------------------------------------------

    def _session(self) -> _Session:
        if self._own is not None:
            return self._own
        session: _Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = _Session(None)
        return session

    def _conn(self) -> Connection:
        conn = self._session().conn
        if conn is None:
            raise StoreFileError(f"the log at {self.name} was closed; open it again")
        return conn

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection to the log's database for the block (the store's own, or one borrowed
        from its pool), psycopg errors translated: for read models kept in the same database."""
        with self._guard_block:
            yield self._conn()

    def own_connection(self) -> Connection:
        """The connection of a store opened with a DSN (not a pool), for read models kept in
        the log's schema and read after the call returns; psycopg's errors on it are the
        caller's to translate (`with store.errors(): ...`)."""
        if self._own is None:
            raise StoreFileError("a store over a connection pool has no connection of its own")
        return self._conn()

    def errors(self) -> AbstractContextManager[None]:
        """A block in which psycopg errors become the store's typed errors."""
        return self._guard_block

    def subscribe_inline(self, listener: InlineListener) -> None:
        """Run `listener` inside every append's transaction; if it raises, nothing is written."""
        super().subscribe_inline(listener)

    def close(self) -> None:
        if self._listener is not None:
            listener, self._listener = self._listener, None
            listener.close()
        if self._own is not None and self._own.conn is not None:
            conn, self._own.conn = self._own.conn, None
            conn.close()

    def listen(self) -> bool:
        """Start listening on the log's channel (a connection of its own), if not yet; False
        when that cannot be done now (`wait_for_appends` polls then, and tries again)."""
        if self._listener is not None:
            return True
        try:
            listener = self._connect()
            listener.execute(f"LISTEN {self.channel}")
        except psycopg.Error:
            return False
        self._listener = listener
        return True

    def wait_for_appends(self, timeout: float) -> bool:
        """Block until a commit that wrote events is announced on the log's channel (LISTEN/
        NOTIFY), or `timeout` seconds pass; True when announced. If the server cannot be
        listened to, it sleeps instead, so a follower falls back to polling."""
        started = time.monotonic()
        if not self.listen():
            time.sleep(timeout)
            return False
        assert self._listener is not None
        try:
            for _ in self._listener.notifies(timeout=timeout, stop_after=1):
                return True
            return False
        except psycopg.Error:
            # The connection was lost: poll for the rest of the wait; listen again next time.
            with suppress(psycopg.Error):
                self._listener.close()
            self._listener = None
            time.sleep(max(0.0, timeout - (time.monotonic() - started)))
            return False

    def __del__(self) -> None:
        # A store dropped unclosed closes its connection quietly, as a SQLite store does.
        own = getattr(self, "_own", None)
        if own is not None and own.conn is not None:
            with suppress(Exception):
                own.conn.close()

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        session = self._session()
        conn = self._conn()
        if session.writing:
            yield conn
            return
        if self.read_only:
            raise ReadOnlyLog(f"{self.name} was opened read-only; open it for writing to append")
        try:
            cursor = conn.execute(self._begin_write)
            while cursor.nextset():
                pass  # to the last statement's result: the head
            row = cursor.fetchone()
        except BaseException:
            _rollback(conn)
            raise
        session.writing, session.inserted = True, False
        session.head = None if row is None else HeadDigest(row[0], row[1])
        session.head_known = True
        try:
            # Pipelined: inserts, the ledger entry, NOTIFY and COMMIT go in one round trip;
            # a read (a fetch) sends what is queued before it.
            with conn.pipeline():
                yield conn
                if session.inserted:
                    conn.execute(self._notify)
                conn.execute("COMMIT")
        except BaseException:
            _rollback(conn)
            raise
        finally:
            session.writing, session.head_known = False, False

    @contextmanager
    def _snapshot(self) -> Iterator[None]:
        session = self._session()
        if session.writing or session.reading:
            session.reading += 1
            try:
                yield
            finally:
                session.reading -= 1
            return
        conn = self._conn()
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        session.reading = 1
        try:
            yield
        finally:
            session.reading = 0
            _rollback(conn)  # nothing was written: ending it either way releases the snapshot

    def _guard(self) -> AbstractContextManager[None]:
        return self._guard_block

    # -- the core's primitives -----------------------------------------------------------------

    def _head(self) -> HeadDigest | None:
        session = self._session()
        if session.head_known and not session.inserted:
            return session.head  # read with the lock; nothing was inserted since
        row = self._conn().execute(self._head_sql).fetchone()
        return None if row is None else HeadDigest(row[0], row[1])

    def _stream_version(self, stream_id: str) -> int:
        row = self._conn().execute(self._version_sql, (stream_id,)).fetchone()
        return 0 if row is None or row[0] is None else int(row[0])

    def _rows(self, first: int, last: int, limit: int) -> list[StoredRow]:
        cursor = self._conn().execute(self._rows_sql, (first, last, limit))
        return [StoredRow._make(row) for row in cursor]

    def _stream_rows(self, stream_id: str, from_version: int) -> list[StoredRow]:
        if from_version < 1:  # the whole stream: no comparison, so a tampered column still reads
            cursor = self._conn().execute(self._whole_stream_sql, (stream_id,))
            return [StoredRow._make(row) for row in cursor]
        cursor = self._conn().execute(self._stream_rows_sql, (stream_id, from_version))
        return [StoredRow._make(row) for row in cursor]

    def _stream_ids(self) -> Iterator[str]:
        for (stream_id,) in self._conn().execute(self._stream_ids_sql).fetchall():
            yield stream_id

    def _stream_index(self, last: int) -> Iterator[tuple[str, int, int]]:
        yield from self._large(self._stream_index_sql, (last,))

    def _large(self, sql: str, params: tuple[Any, ...] = ()) -> Iterator[Any]:
        """Rows of a query that may be long: through a server-side cursor inside a transaction
        (verify runs in a snapshot), so memory stays flat."""
        conn = self._conn()
        if conn.info.transaction_status != TransactionStatus.INTRANS:
            yield from conn.execute(sql, params).fetchall()
            return
        with conn.cursor(name=f"orderlog_scan_{next(_CURSORS)}") as cursor:
            cursor.itersize = 2000
            cursor.execute(sql, params)
            yield from cursor

    def _insert(self, rows: Sequence[StoredRow]) -> None:
        conn = self._conn()
        if len(rows) == 1:
            conn.execute(self._insert_sql, rows[0])
        else:
            conn.cursor().executemany(self._insert_sql, rows)
        self._session().inserted = True

    def _ledger_get(self, command_id: str) -> tuple[int, int] | None:
        row = self._conn().execute(self._ledger_get_sql, (command_id,)).fetchone()
        return None if row is None else (row[0], row[1])

    def _ledger_put(self, command_id: str, first: int, last: int, recorded_at: str) -> None:
        self._conn().execute(self._ledger_put_sql, (command_id, first, last, recorded_at))

    def _ledger_entries(self) -> Iterator[tuple[Any, Any, Any]]:
        yield from self._large(self._ledger_entries_sql)

    def _label(self) -> str:
        return self.name

    def _schema_problem(self) -> Problem | None:
        problem = schema_problem(self._conn(), self.schema, self._version)
        if problem is None:
            return None
        return Problem(
            0,
            "schema_altered",
            f"{problem}: the log's tables or triggers were changed outside orderlog, so what "
            "it refuses (or holds) cannot be trusted",
        )


def _rollback(conn: Connection) -> None:
    """End the transaction, if one is open; a connection already lost has nothing to end."""
    if conn.closed or conn.info.transaction_status == TransactionStatus.IDLE:
        return
    with suppress(psycopg.Error):  # the error that got us here says more
        conn.execute("ROLLBACK")


__all__ = ["DEFAULT_SCHEMA", "PostgresEventStore", "is_postgres_dsn", "split_dsn"]
