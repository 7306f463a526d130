"""The event store contract run against every backend (a SQLite file, SQLite's shared memory, plain
Python memory), plus what only SQLite has: its schema, triggers, migrations and file."""

from __future__ import annotations

import abc
import multiprocessing
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlite_utils

from eventstore import (
    DatabaseNotFound,
    EventStore,
    ForeignDatabase,
    InMemoryEventStore,
    MemoryDatabase,
    OrderlogError,
    SchemaTooNew,
    SQLiteEventStore,
    StoredRow,
)
from eventstore.schema import APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION
from tests.integration.store_contract import (
    SHOP_KEY,
    EventStoreContract,
    SQLSchemaContract,
    _fill,
    events,
    write_events,
)

_COLUMN_TYPES = dict(
    zip(StoredRow._fields, (int, str, int, str, int, str, str, str, str, str, str), strict=True)
)


def _fits(column: str, value: Any) -> bool:
    """Whether the STRICT events table holds `value` in `column` as it is (the MAC may be NULL)."""
    return type(value) is _COLUMN_TYPES[column] or (column == "mac" and value is None)


class SQLiteContract(SQLSchemaContract):
    """The contract's tamper hooks for SQLite: raw SQL with the triggers dropped and put back
    (a careful attacker's way), plus the tests of what the database itself refuses."""

    @abc.abstractmethod
    def raw_connection(self) -> sqlite3.Connection:
        """A plain connection to this test's database, as an attacker with it would have."""

    def tamper(self, *statements: str) -> None:
        """Run raw SQL against the database."""
        conn = self.raw_connection()
        try:
            for statement in statements:
                conn.execute(statement)
        finally:
            conn.close()

    @contextmanager
    def hold_write_lock(self) -> Iterator[None]:
        conn = self.raw_connection()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")
            conn.close()

    def untriggered(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        """Run one statement with every trigger dropped, then put the triggers back."""
        conn = self.raw_connection()
        try:
            triggers = conn.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
            ).fetchall()
            for name, _ in triggers:
                conn.execute(f"DROP TRIGGER {name}")
            conn.execute(statement, params)
            for _, sql in triggers:
                conn.execute(sql)
        finally:
            conn.close()

    def edit_row(self, position: int, /, **columns: Any) -> None:
        if not all(_fits(k, v) for k, v in columns.items()):
            self._loosen_events()  # a STRICT table holds only its types: rebuild it without
        sets = ", ".join(f"{column} = ?" for column in columns)
        self.untriggered(
            f"UPDATE events SET {sets} WHERE position = ?", (*columns.values(), position)
        )

    def _loosen_events(self) -> None:
        columns = ", ".join(StoredRow._fields[1:])
        self.tamper(  # no declared types: SQLite keeps every value as given
            f"CREATE TABLE loose (position INTEGER PRIMARY KEY, {columns})",
            "INSERT INTO loose SELECT * FROM events",
            "DROP TABLE events",
            "ALTER TABLE loose RENAME TO events",
        )

    def delete_rows(self, *positions: int) -> None:
        marks = ", ".join("?" for _ in positions)
        self.untriggered(f"DELETE FROM events WHERE position IN ({marks})", positions)

    def insert_row(self, row: StoredRow) -> None:
        self.untriggered(f"INSERT INTO events VALUES ({', '.join('?' for _ in row)})", row)

    def forge_ledger(self, command_id: str, first: int, last: int) -> None:
        self.untriggered(
            "INSERT INTO commands (command_id, first_position, last_position, recorded_at) "
            "VALUES (?, ?, ?, 'x')",
            (command_id, first, last),
        )

    def clear_ledger(self) -> None:
        self.untriggered("DELETE FROM commands")

    # -- what the database itself refuses ------------------------------------------------------

    def test_a_raw_update_or_delete_is_refused_by_the_database(self, store: EventStore) -> None:
        store.append("order-1", events(2), command_id="c")
        for statement in (
            "UPDATE events SET data = '{}' WHERE position = 1",
            "DELETE FROM events WHERE position = 2",
            "DELETE FROM commands",
        ):
            with pytest.raises(Exception, match="append-only"):
                self.tamper(statement)
        assert store.verify().ok
        assert store.head().position == 2

    @pytest.mark.parametrize(
        "statement",
        [
            "INSERT OR REPLACE INTO events SELECT position, stream_id, stream_version, type, "
            "schema_version, '{\"n\":9}', metadata, occurred_at, recorded_at, hash, mac "
            "FROM events WHERE position = 1",
            "REPLACE INTO events SELECT 3, stream_id, stream_version, type, schema_version, "
            "data, metadata, occurred_at, recorded_at, hash, mac FROM events WHERE position = 1",
            "INSERT INTO events SELECT * FROM events WHERE position = 2 "
            "ON CONFLICT DO UPDATE SET data = '{}'",
            "REPLACE INTO commands VALUES ('c', 2, 2, 'x')",
            "INSERT OR REPLACE INTO commands SELECT command_id, 1, 1, recorded_at FROM commands",
        ],
    )
    def test_replace_is_refused_by_the_database(self, store: EventStore, statement: str) -> None:
        store.append("order-1", events(2), command_id="c")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            self.tamper(statement)
        assert store.verify().ok
        assert [e.data for e in store.read_all()] == [{"n": 0}, {"n": 1}]
        assert store.recorded("c") is not None

    def test_a_row_before_position_one_is_refused_by_the_database(self, store: EventStore) -> None:
        _fill(store)
        with pytest.raises(Exception, match="positions start at 1"):
            self.tamper(
                "INSERT INTO events SELECT 0, 'order-forged', 1, type, schema_version, data, "
                "metadata, occurred_at, recorded_at, hash, mac FROM events WHERE position = 1"
            )

    # -- verify checks the database's own structure --------------------------------------------

    @pytest.mark.parametrize(
        "trigger",
        [
            "events_no_update",
            "events_no_delete",
            "events_positions",
            "events_no_replace",
            "commands_no_update",
            "commands_no_delete",
            "commands_no_replace",
        ],
    )
    def test_verify_reports_a_missing_trigger(self, store: EventStore, trigger: str) -> None:
        _fill(store)
        self.tamper(f"DROP TRIGGER {trigger}")
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (0, "schema_altered")
        assert f"trigger {trigger} is missing" in problem.message

    def test_verify_reports_a_trigger_that_is_not_orderlogs(self, store: EventStore) -> None:
        _fill(store)
        self.tamper(
            "CREATE TRIGGER swallow BEFORE INSERT ON events BEGIN SELECT RAISE(IGNORE); END"
        )
        problem = store.verify().problem
        assert problem is not None
        assert "trigger swallow on events is not orderlog's" in problem.message

    def test_verify_reports_an_altered_ledger(self, store: EventStore) -> None:
        store.append("order-1", events(2), command_id="c1")
        self.tamper(
            "CREATE TABLE loose AS SELECT * FROM commands",
            "DROP TABLE commands",
            "ALTER TABLE loose RENAME TO commands",
        )
        problem = store.verify().problem
        assert problem is not None
        assert "the table commands was altered" in problem.message
        assert store.recorded("c1") is not None  # it still reads: verify says what changed


class TestFileSQLite(SQLiteContract):
    supports_processes = True

    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.path = tmp_path / "orderlog.db"

    def open_store(self, **options: Any) -> EventStore:
        return SQLiteEventStore(self.path, **options)

    def raw_connection(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, isolation_level=None)

    def run_writer_processes(self, writers: int, per_writer: int) -> None:
        SQLiteEventStore(self.path).close()  # create the schema before the race
        context = multiprocessing.get_context("spawn")
        with context.Pool(writers) as pool:
            opener = partial(SQLiteEventStore, str(self.path))
            jobs = [pool.apply_async(write_events, (opener, n, per_writer)) for n in range(writers)]
            for job in jobs:
                job.get(timeout=120)

    # -- what only a file has ------------------------------------------------------------------

    def test_the_file_uses_wal_and_full_sync_by_default(self) -> None:
        store = SQLiteEventStore(self.path)
        try:
            assert store.connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert store.connection.execute("PRAGMA synchronous").fetchone()[0] == 2
        finally:
            store.close()

    def test_durability_is_configurable(self) -> None:
        store = SQLiteEventStore(self.path, durability="normal")
        try:
            assert store.connection.execute("PRAGMA synchronous").fetchone()[0] == 1
        finally:
            store.close()

    def test_a_reader_does_not_block_a_writer(self) -> None:
        writer = SQLiteEventStore(self.path, busy_timeout=0.05)
        writer.append("order-1", events(3))
        reader = sqlite3.connect(self.path, isolation_level=None)
        try:
            reader.execute("BEGIN")
            assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == 3
            writer.append("order-1", events(1))  # while the read transaction is open
            assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == 3
            reader.execute("COMMIT")
        finally:
            reader.close()
            writer.close()

    def test_a_missing_file_is_created_unless_told_not_to(self) -> None:
        with pytest.raises(DatabaseNotFound) as raised:
            SQLiteEventStore(self.path, create=False)
        assert raised.value.code == "database_not_found"
        assert not self.path.exists()
        SQLiteEventStore(self.path).close()
        SQLiteEventStore(self.path, create=False).close()

    def test_a_file_that_is_not_sqlite_is_refused(self) -> None:
        self.path.write_text("order_id,total\n1,100\n" * 200)
        with pytest.raises(ForeignDatabase, match="not an orderlog database") as raised:
            SQLiteEventStore(self.path)
        assert raised.value.code == "foreign_database"

    def test_another_applications_database_is_refused_and_left_alone(self) -> None:
        conn = sqlite3.connect(self.path)
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY)")
        conn.commit()
        conn.close()
        with pytest.raises(ForeignDatabase, match="another application"):
            SQLiteEventStore(self.path)
        conn = sqlite3.connect(self.path)
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["customers"]
        conn.close()

    def test_a_file_with_a_newer_schema_is_refused(self) -> None:
        SQLiteEventStore(self.path).close()
        self.tamper(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        with pytest.raises(SchemaTooNew, match="upgrade orderlog") as raised:
            SQLiteEventStore(self.path)
        assert isinstance(raised.value, OrderlogError)

    def test_the_schema_version_is_recorded_in_the_file(self) -> None:
        SQLiteEventStore(self.path).close()
        conn = sqlite3.connect(self.path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.close()

    def test_a_file_from_before_the_keyed_chain_reads_and_migrates_keeping_its_events(
        self,
    ) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        db = sqlite_utils.Database(conn)
        for step in MIGRATIONS[:2]:  # the schema of a release without the `mac` column
            step(db)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute("PRAGMA user_version = 2")
        conn.close()
        self._write_v2_rows(3)
        reader = SQLiteEventStore(self.path, read_only=True)
        try:
            assert [row.mac for row in reader.read_rows()] == [None] * 3
            assert reader.verify().ok  # compared with the schema of version 2
        finally:
            reader.close()
        store = SQLiteEventStore(self.path, key=SHOP_KEY)
        try:
            store.append("order-1", events(1))
            assert store.verify().ok
            assert [row.mac is None for row in store.read_rows()] == [True] * 3 + [False]
        finally:
            store.close()
        conn = sqlite3.connect(self.path)
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        conn.close()

    def _write_v2_rows(self, count: int) -> None:
        """Rows as a release before the keyed chain wrote them: ten columns, no MAC."""
        from eventstore.rows import prepare, seal

        conn = sqlite3.connect(self.path, isolation_level=None)
        previous = "0" * 64
        for n in range(1, count + 1):
            row = seal(
                prepare(events(1)[0]),
                previous_hash=previous,
                position=n,
                stream_id="order-1",
                stream_version=n,
                recorded_at="2026-03-02T09:00:00.000000+00:00",
            )
            conn.execute(f"INSERT INTO events VALUES ({', '.join('?' * 10)})", row[:10])
            previous = row.hash
        conn.close()

    def test_a_failing_inline_listener_rolls_the_append_back(self) -> None:
        store = SQLiteEventStore(self.path)
        seen: list[int] = []

        def listener(conn: sqlite3.Connection, recorded: Any) -> None:
            seen.extend(e.position for e in recorded)
            if len(seen) > 2:
                raise RuntimeError("read model broke")

        store.subscribe_inline(listener)
        try:
            store.append("order-1", events(2))
            with pytest.raises(RuntimeError):
                store.append("order-1", events(1))
            assert store.head().position == 2
        finally:
            store.close()


class TestMemorySQLite(SQLiteContract):
    snapshots_block_writers = True  # SQLite's memdb has no WAL: a reader's lock holds commits

    @pytest.fixture(autouse=True)
    def _database(self, request: pytest.FixtureRequest) -> Iterator[None]:
        self.name = f"{request.node.name}-{id(self)}"
        # Keep one connection open so the shared in-memory database lives for the whole test.
        keeper = SQLiteEventStore.in_memory(self.name)
        yield
        keeper.close()

    def open_store(self, **options: Any) -> EventStore:
        return SQLiteEventStore.in_memory(self.name, **options)

    def raw_connection(self) -> sqlite3.Connection:
        return sqlite3.connect(
            f"file:/orderlog-{self.name}?vfs=memdb", uri=True, isolation_level=None, timeout=5
        )


class TestPlainMemory(EventStoreContract):
    """The plain in-memory backend: Python lists under a lock, no database."""

    @pytest.fixture(autouse=True)
    def _database(self) -> None:
        self.database = MemoryDatabase()

    def open_store(self, **options: Any) -> EventStore:
        return InMemoryEventStore(self.database, **options)

    @contextmanager
    def hold_write_lock(self) -> Iterator[None]:
        with self.database.write_lock:
            yield

    def edit_row(self, position: int, /, **columns: Any) -> None:
        rows = self.database.rows
        index = self.database.positions.index(position)
        rows[index] = rows[index]._replace(**columns)
        self.database.reindex()

    def delete_rows(self, *positions: int) -> None:
        self.database.rows[:] = [r for r in self.database.rows if r.position not in positions]
        self.database.reindex()

    def insert_row(self, row: StoredRow) -> None:
        self.database.rows.append(row)
        self.database.reindex()

    def forge_ledger(self, command_id: str, first: int, last: int) -> None:
        self.database.ledger[command_id] = (first, last, "x", 0)

    def clear_ledger(self) -> None:
        self.database.ledger.clear()

    def test_an_in_memory_store_needs_no_database(self) -> None:
        code = (
            "import sys\n"
            "from eventstore import InMemoryEventStore, NewEvent\n"
            "from datetime import datetime, UTC\n"
            "s = InMemoryEventStore()\n"
            "s.append('order-1', [NewEvent('Happened', {}, datetime.now(UTC))])\n"
            "assert s.verify().ok\n"
            "print(sorted(m for m in ('sqlite3', 'sqlite_utils') if m in sys.modules))\n"
        )
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "[]"


def test_importing_the_error_root_loads_no_other_store_module() -> None:
    code = (
        "import sys\n"
        "import eventstore.errors\n"
        "print(sorted(m for m in sys.modules if m.startswith('eventstore') or m == 'sqlite3'))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "['eventstore', 'eventstore.errors']"


def test_every_public_name_of_the_store_can_be_imported() -> None:
    import eventstore

    for name in eventstore.__all__:
        assert getattr(eventstore, name) is not None, name
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        eventstore.Nope  # noqa: B018
