"""The event store contract on PostgreSQL, plus what only PostgreSQL has: its schema and marker,
the triggers that refuse UPDATE, DELETE and TRUNCATE, and its errors as the store's typed errors.

An attacker with a superuser's connection edits the log by disabling the triggers, changing rows
and enabling the triggers again; a column's type is changed to `jsonb` to hold a wrong type."""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

import pytest

from eventstore import (
    ConcurrencyConflict,
    CorruptLog,
    DatabaseNotFound,
    EventStore,
    ForeignDatabase,
    OrderlogError,
    SchemaTooNew,
    StorageIOError,
    StoredRow,
)
from eventstore.postgres import PostgresEventStore, split_dsn
from eventstore.postgres_schema import MARKER, SCHEMA_VERSION, lock_key
from eventstore.schema import APPLICATION_ID
from tests.integration.store_contract import (
    SHOP_KEY,
    SQLSchemaContract,
    _fill,
    events,
    write_events,
)
from tests.pg import DSN, fresh_schema, needs_postgres, with_schema

pytestmark = needs_postgres

_COLUMN_TYPES = dict(
    zip(StoredRow._fields, (int, str, int, str, int, str, str, str, str, str, str), strict=True)
)
_TABLES = ("events", "commands")


class TestPostgres(SQLSchemaContract):
    supports_processes = True

    @pytest.fixture(autouse=True)
    def _database(self) -> Iterator[None]:
        with fresh_schema() as schema:
            self.schema = schema
            self.dsn = with_schema(DSN, schema)
            yield

    def open_store(self, **options: Any) -> EventStore:
        return PostgresEventStore(self.dsn, **options)

    # -- the attacker's tools ------------------------------------------------------------------

    @contextmanager
    def raw(self) -> Iterator[Any]:
        import psycopg

        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {self.schema}")
            yield conn

    def tamper(self, *statements: str, params: tuple[Any, ...] = ()) -> None:
        """Run raw SQL against the log's schema, as its owner would."""
        with self.raw() as conn:
            for statement in statements:
                conn.execute(statement, params or None)

    @contextmanager
    def hold_write_lock(self) -> Iterator[None]:
        with self.raw() as conn:
            conn.execute("BEGIN")
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", lock_key(self.schema))
            try:
                yield
            finally:
                conn.execute("ROLLBACK")

    def untriggered(self, statement: str, params: tuple[Any, ...] = ()) -> None:
        """Run one statement with orderlog's triggers disabled, then enable them again."""
        with self.raw() as conn, conn.transaction():
            for table in _TABLES:
                conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
            conn.execute(statement, params or None)
            triggers = conn.execute(
                "SELECT tgname, tgrelid::regclass::text FROM pg_trigger t JOIN pg_class c "
                "ON c.oid = t.tgrelid WHERE c.relnamespace = %s::regnamespace "
                "AND NOT tgisinternal",
                (self.schema,),
            ).fetchall()
            for name, table in triggers:
                conn.execute(f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER {name}")

    def edit_row(self, position: int, /, **columns: Any) -> None:
        values: list[object] = []
        for column, value in columns.items():
            if value is None:
                if column != "mac":
                    self.tamper(f"ALTER TABLE events ALTER COLUMN {column} DROP NOT NULL")
                values.append(None)
            elif type(value) is not _COLUMN_TYPES[column]:
                if isinstance(value, bytes):
                    pytest.skip("PostgreSQL cannot hold bytes in a text column for one row alone")
                # jsonb keeps each row's JSON type: the other rows still read as before.
                self.tamper(
                    f"ALTER TABLE events ALTER COLUMN {column} TYPE jsonb USING to_jsonb({column})"
                )
                values.append(json.dumps(value))
            else:
                values.append(value)
        sets = ", ".join(f"{column} = %s" for column in columns)
        self.untriggered(f"UPDATE events SET {sets} WHERE position = %s", (*values, position))

    def delete_rows(self, *positions: int) -> None:
        self.untriggered("DELETE FROM events WHERE position = ANY(%s)", (list(positions),))

    def insert_row(self, row: StoredRow) -> None:
        marks = ", ".join(["%s"] * len(row))
        self.untriggered(f"INSERT INTO events VALUES ({marks})", tuple(row))

    def forge_ledger(self, command_id: str, first: int, last: int) -> None:
        if "\x00" in command_id:
            pytest.skip("PostgreSQL text cannot hold NUL, so no such entry can be forged")
        self.untriggered("INSERT INTO commands VALUES (%s, %s, %s, 'x')", (command_id, first, last))

    def clear_ledger(self) -> None:
        self.untriggered("DELETE FROM commands")

    def run_writer_processes(self, writers: int, per_writer: int) -> None:
        PostgresEventStore(self.dsn).close()  # create the schema before the race
        context = multiprocessing.get_context("spawn")
        with context.Pool(writers) as pool:
            opener = partial(PostgresEventStore, self.dsn)
            jobs = [pool.apply_async(write_events, (opener, n, per_writer)) for n in range(writers)]
            for job in jobs:
                job.get(timeout=120)

    # -- what the database itself refuses ------------------------------------------------------

    @pytest.mark.parametrize(
        "statement",
        [
            "UPDATE events SET data = '{}' WHERE position = 1",
            "DELETE FROM events WHERE position = 2",
            "TRUNCATE events",
            "DELETE FROM commands",
            "UPDATE commands SET last_position = 1",
            "TRUNCATE commands",
            "INSERT INTO events SELECT * FROM events WHERE position = 2 "
            "ON CONFLICT (position) DO UPDATE SET data = '{}'",
        ],
    )
    def test_a_raw_update_delete_or_truncate_is_refused_by_the_database(
        self, store: EventStore, statement: str
    ) -> None:
        import psycopg

        store.append("order-1", events(2), command_id="c")
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            self.tamper(statement)
        assert store.verify().ok
        assert store.head().position == 2

    def test_the_triggers_fire_even_as_a_replica(self, store: EventStore) -> None:
        import psycopg

        store.append("order-1", events(1))
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            self.tamper("SET session_replication_role = replica", "DELETE FROM events")

    def test_a_row_before_position_one_is_refused_by_the_database(self, store: EventStore) -> None:
        import psycopg

        _fill(store)
        with pytest.raises(psycopg.errors.RaiseException, match="positions start at 1"):
            self.tamper(
                "INSERT INTO events SELECT 0, 'order-forged', 1, type, schema_version, data, "
                "metadata, occurred_at, recorded_at, hash FROM events WHERE position = 1"
            )

    # -- verify checks the schema's own structure ----------------------------------------------

    @pytest.mark.parametrize(
        "trigger",
        [
            "events_no_update",
            "events_no_delete",
            "events_no_truncate",
            "events_positions",
            "commands_no_update",
            "commands_no_delete",
            "commands_no_truncate",
        ],
    )
    def test_verify_reports_a_missing_or_disabled_trigger(
        self, store: EventStore, trigger: str
    ) -> None:
        _fill(store)
        table = trigger.split("_")[0]
        self.tamper(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
        problem = store.verify().problem
        assert problem is not None
        assert (problem.position, problem.kind) == (0, "schema_altered")
        assert f"trigger {trigger} is disabled" in problem.message
        self.tamper(f"DROP TRIGGER {trigger} ON {table}")
        problem = store.verify().problem
        assert problem is not None
        assert f"trigger {trigger} is missing" in problem.message

    def test_verify_reports_a_trigger_that_is_only_enabled_for_origin_sessions(
        self, store: EventStore
    ) -> None:
        _fill(store)
        self.tamper("ALTER TABLE events ENABLE TRIGGER events_no_delete")
        problem = store.verify().problem
        assert problem is not None
        assert "trigger events_no_delete was altered" in problem.message

    def test_verify_reports_a_trigger_or_rule_that_is_not_orderlogs(
        self, store: EventStore
    ) -> None:
        _fill(store)
        self.tamper(
            "CREATE FUNCTION swallow() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RETURN NULL; END $$",
            "CREATE TRIGGER swallow BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION "
            "swallow()",
        )
        problem = store.verify().problem
        assert problem is not None
        assert "trigger swallow on events is not orderlog's" in problem.message
        self.tamper("DROP TRIGGER swallow ON events")
        self.tamper("CREATE RULE hide AS ON INSERT TO events DO INSTEAD NOTHING")
        problem = store.verify().problem
        assert problem is not None
        assert "rule hide on events is not orderlog's" in problem.message

    def test_verify_reports_a_rewritten_trigger_function(self, store: EventStore) -> None:
        _fill(store)
        self.tamper(
            "CREATE OR REPLACE FUNCTION orderlog_append_only() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RETURN OLD; END $$"
        )
        problem = store.verify().problem
        assert problem is not None
        assert "trigger function orderlog_append_only was altered" in problem.message

    # -- the schema, its marker and migrations -------------------------------------------------

    def test_the_schema_carries_orderlogs_marker_and_version(self) -> None:
        PostgresEventStore(self.dsn).close()
        with self.raw() as conn:
            rows = conn.execute(f"SELECT application_id, schema_version FROM {MARKER}").fetchall()
        assert rows == [(APPLICATION_ID, SCHEMA_VERSION)]

    def test_another_applications_schema_is_refused_and_left_alone(self) -> None:
        self.tamper(
            f"CREATE SCHEMA {self.schema}", f"CREATE TABLE {self.schema}.customers (id int)"
        )
        with pytest.raises(ForeignDatabase, match="another application") as raised:
            PostgresEventStore(self.dsn)
        assert raised.value.code == "foreign_database"
        with self.raw() as conn:
            tables = conn.execute(
                "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace "
                "AND relkind = 'r'",
                (self.schema,),
            ).fetchall()
        assert tables == [("customers",)]

    def test_a_marker_of_another_application_is_refused(self) -> None:
        self.tamper(
            f"CREATE SCHEMA {self.schema}",
            f"CREATE TABLE {self.schema}.{MARKER} (application_id int, schema_version int)",
            f"INSERT INTO {self.schema}.{MARKER} VALUES (42, 1)",
        )
        with pytest.raises(ForeignDatabase, match="another application"):
            PostgresEventStore(self.dsn)

    def test_a_log_from_before_the_keyed_chain_reads_and_migrates_keeping_its_events(
        self,
    ) -> None:
        store = PostgresEventStore(self.dsn)
        store.append("order-1", events(3))
        store.close()
        self.tamper("ALTER TABLE events DROP COLUMN mac", f"UPDATE {MARKER} SET schema_version = 1")
        reader = PostgresEventStore(self.dsn, read_only=True)
        try:
            assert [row.mac for row in reader.read_rows()] == [None] * 3
            assert reader.verify().ok  # compared with the schema of version 1
        finally:
            reader.close()
        keyed = PostgresEventStore(self.dsn, key=SHOP_KEY)
        try:
            keyed.append("order-1", events(1))
            assert keyed.verify().ok
            assert [row.mac is None for row in keyed.read_rows()] == [True] * 3 + [False]
        finally:
            keyed.close()

    def test_a_log_with_a_newer_schema_is_refused(self) -> None:
        PostgresEventStore(self.dsn).close()
        self.tamper(f"UPDATE {MARKER} SET schema_version = {SCHEMA_VERSION + 1}")
        with pytest.raises(SchemaTooNew, match="upgrade orderlog") as raised:
            PostgresEventStore(self.dsn)
        assert isinstance(raised.value, OrderlogError)

    def test_a_missing_log_is_created_unless_told_not_to(self) -> None:
        with pytest.raises(DatabaseNotFound):
            PostgresEventStore(self.dsn, create=False)
        with pytest.raises(DatabaseNotFound, match="nothing to read"):
            PostgresEventStore(self.dsn, read_only=True)
        PostgresEventStore(self.dsn).close()
        PostgresEventStore(self.dsn, create=False).close()
        PostgresEventStore(self.dsn, read_only=True).close()

    def test_a_log_whose_tables_contradict_its_version_is_refused(self) -> None:
        PostgresEventStore(self.dsn).close()
        self.tamper(
            "DROP TRIGGER events_no_delete ON events", f"UPDATE {MARKER} SET schema_version = 0"
        )
        with pytest.raises(CorruptLog, match="marker was edited"):
            PostgresEventStore(self.dsn)

    def test_two_processes_creating_one_log_at_once_both_succeed(self) -> None:
        context = multiprocessing.get_context("spawn")
        with context.Pool(3) as pool:
            heads = pool.map(_open_and_append, [self.dsn] * 3)
        assert sorted(heads) == [1, 2, 3]

    def test_a_read_only_store_refuses_to_append(self, store: EventStore) -> None:
        from eventstore import ReadOnlyLog

        store.append("order-1", events(1))
        reader = PostgresEventStore(self.dsn, read_only=True)
        try:
            with pytest.raises(ReadOnlyLog, match="read-only"):
                reader.append("order-1", events(1))
            assert reader.verify().ok
        finally:
            reader.close()

    def test_logs_in_two_schemas_are_apart(self, store: EventStore) -> None:
        store.append("order-1", events(2))
        with fresh_schema() as other_schema:
            other = PostgresEventStore(with_schema(DSN, other_schema))
            try:
                assert other.head().position == 0
                with self.hold_write_lock():  # this log's lock does not hold the other's writers
                    other.append("order-1", events(1))
            finally:
                other.close()

    def test_a_failing_inline_listener_rolls_the_append_back(self, store: EventStore) -> None:
        seen: list[int] = []

        def listener(conn: Any, recorded: Any) -> None:
            conn.execute("SELECT 1")  # the listener gets the append's own connection
            seen.extend(e.position for e in recorded)
            if len(seen) > 2:
                raise RuntimeError("read model broke")

        store.subscribe_inline(listener)
        store.append("order-1", events(2))
        with pytest.raises(RuntimeError):
            store.append("order-1", events(1))
        assert store.head().position == 2

    # -- errors ------------------------------------------------------------------------------

    def test_an_unreachable_server_is_a_typed_error(self) -> None:
        with pytest.raises(StorageIOError, match="cannot be reached") as raised:
            PostgresEventStore("postgresql://postgres@127.0.0.1:1/test", connect_timeout=2)
        assert "password" not in raised.value.message

    def test_a_missing_database_is_not_found(self) -> None:
        base = DSN.rsplit("/", 1)[0]
        with pytest.raises((DatabaseNotFound, StorageIOError), match="orderlog_no_such_db"):
            PostgresEventStore(f"{base}/orderlog_no_such_db")

    def test_a_bad_schema_name_is_refused(self) -> None:
        from eventstore import StoreFileError

        with pytest.raises(StoreFileError, match="schema name"):
            split_dsn(f"{DSN}?schema=Robert'); DROP TABLE x")

    def test_the_password_is_never_in_a_message(self) -> None:
        store = PostgresEventStore(self.dsn)
        try:
            assert "schema=" in store.name
        finally:
            store.close()
        _, schema = split_dsn("postgresql://u:secret@h/d?schema=abc")
        assert schema == "abc"
        from eventstore.postgres import display_name

        assert "secret" not in display_name("postgresql://u:secret@h/d", "abc")

    def test_a_serialization_failure_is_a_conflict(self) -> None:
        import psycopg

        from eventstore.postgres_errors import translate

        error = psycopg.errors.SerializationFailure("could not serialize access")
        assert isinstance(translate(error, "x", 1.0), ConcurrencyConflict)


def _open_and_append(dsn: str) -> int:
    store = PostgresEventStore(dsn)
    try:
        return store.append("order-1", events(1)).events[0].position
    finally:
        store.close()


@needs_postgres
def test_threads_share_one_store_over_a_connection_pool() -> None:
    import threading

    from psycopg_pool import ConnectionPool

    with fresh_schema() as schema:
        pool = ConnectionPool(
            with_schema(DSN, "x").split("?")[0], min_size=1, max_size=3, open=True
        )
        try:
            store = PostgresEventStore(pool=pool, schema=schema)
            threads = [
                threading.Thread(
                    target=lambda n=n: [store.append(f"order-{n}", events(1)) for _ in range(10)]
                )
                for n in range(4)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert store.head().position == 40
            assert store.verify().ok
            assert pool.get_stats()["pool_size"] <= 3
            store.close()
        finally:
            pool.close()


@needs_postgres
def test_a_log_from_before_the_keyed_chain_reads_and_migrates_keeping_its_events() -> None:
    import psycopg

    from eventstore.postgres_schema import MIGRATIONS

    with fresh_schema() as schema:
        dsn = with_schema(DSN, schema)
        with psycopg.connect(DSN, autocommit=True) as conn:  # a release without `mac`
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"SET search_path TO {schema}")
            MIGRATIONS[0](conn)
            conn.execute(
                f"CREATE TABLE {MARKER} (application_id integer NOT NULL, "
                "schema_version integer NOT NULL)"
            )
            conn.execute(f"INSERT INTO {MARKER} VALUES (%s, 1)", (APPLICATION_ID,))
        writer = _v1_rows(dsn, schema, 3)
        reader = PostgresEventStore(dsn, read_only=True)
        try:
            assert [row.mac for row in reader.read_rows()] == [None] * 3
            assert reader.verify().ok  # compared with the schema of version 1
        finally:
            reader.close()
        store = PostgresEventStore(dsn)
        try:
            store.append("order-1", events(1))
            assert store.verify().ok
            assert [row.hash for row in store.read_rows()][:3] == writer
        finally:
            store.close()
        with psycopg.connect(DSN, autocommit=True) as conn:
            version = conn.execute(f"SELECT schema_version FROM {schema}.{MARKER}").fetchone()
        assert version == (SCHEMA_VERSION,)


def _v1_rows(dsn: str, schema: str, count: int) -> list[str]:
    """Rows as a release before the keyed chain wrote them (ten columns); their hashes."""
    import psycopg

    from eventstore.codec import GENESIS_HASH
    from eventstore.rows import prepare, seal

    previous, hashes = GENESIS_HASH, []
    with psycopg.connect(DSN, autocommit=True) as conn:
        for n in range(1, count + 1):
            row = seal(
                prepare(events(1)[0]),
                previous_hash=previous,
                position=n,
                stream_id="order-0",
                stream_version=n,
                recorded_at="2026-03-02T09:00:00.000000+00:00",
            )
            conn.execute(
                f"INSERT INTO {schema}.events VALUES ({', '.join(['%s'] * 10)})", tuple(row[:10])
            )
            previous = row.hash
            hashes.append(row.hash)
    return hashes


@needs_postgres
def test_a_service_shared_by_threads_over_a_pooled_store() -> None:
    import threading

    from psycopg_pool import ConnectionPool

    from lifecycle.registry import PolicyRegistry
    from lifecycle.service import OrderService
    from tests.integration.workloads import journey

    with fresh_schema() as schema, ConnectionPool(DSN, min_size=1, max_size=4) as pool:
        store = PostgresEventStore(pool=pool, schema=schema)
        service = OrderService(store, PolicyRegistry.shipped())
        failed: list[str] = []

        def run(n: int) -> None:
            for command in journey(f"t{n}")[:-1]:  # the last is a decline by design
                outcome = service.handle(command)
                if not outcome.ok:
                    failed.append(f"{command['type']}: {outcome.error}")

        threads = [threading.Thread(target=run, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert failed == []
        assert store.verify().ok
        assert {s for s in store.stream_ids() if s.startswith("order-")} == {
            f"order-t{n}" for n in range(4)
        }
        store.close()
