"""The event store contract run against each SQLite flavour, plus what only a file can do."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from eventstore import (
    DatabaseNotFound,
    EventStore,
    ForeignDatabase,
    OrderlogError,
    SchemaTooNew,
    SQLiteEventStore,
)
from eventstore.schema import SCHEMA_VERSION
from tests.integration.store_contract import EventStoreContract, events, write_events


class TestFileSQLite(EventStoreContract):
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


class TestMemorySQLite(EventStoreContract):
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
