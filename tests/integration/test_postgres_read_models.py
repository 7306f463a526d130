"""Read models of a PostgreSQL log in its own schema, moved inline in each append's transaction:
what a status read shows right after a command, a read model failing rolls the append back, a
log written without them is caught up (or, read-only, read through a replay in memory), and
`replay` rebuilds them in place."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from eventstore.postgres import PostgresEventStore
from projections.app import Orderlog
from projections.framework import ReadModelError
from projections.orders import OrdersProjection
from tests.integration.workloads import journey
from tests.pg import DSN, fresh_schema, needs_postgres, with_schema

pytestmark = needs_postgres

AS_OF = datetime(2026, 3, 20, tzinfo=UTC)


@pytest.fixture
def schema() -> Iterator[str]:
    with fresh_schema("rm") as name:
        yield name


def _rows(schema: str, sql: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        return conn.execute(sql).fetchall()


def test_the_read_models_move_in_the_appends_transaction(schema: str) -> None:
    with Orderlog(with_schema(DSN, schema)) as log:
        for command in journey("o1")[:3]:
            assert log.handle(command).ok
        head = log.store.head().position
        # Seen from another connection: the rows and checkpoints committed with the events.
        assert _rows(schema, "SELECT order_id, state FROM orders") == [("o1", "received")]
        marks = _rows(schema, "SELECT DISTINCT position FROM projection_checkpoints")
        assert marks == [(head,)]
        assert log.status("o1", AS_OF).status.value == "received"


def test_a_failing_read_model_rolls_the_append_back(
    schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Orderlog(with_schema(DSN, schema)) as log:
        assert log.handle(journey("o1")[0]).ok
        head = log.store.head().position

        def broken(self: Any, rows: Any, envelope: Any) -> None:
            raise RuntimeError("read model broke")

        monkeypatch.setattr(OrdersProjection, "fold", broken)
        with pytest.raises(ReadModelError, match="nothing was written"):
            log.handle(journey("o1")[1])
        assert log.store.head().position == head
        assert _rows(schema, "SELECT state FROM orders") == [("placed",)]


def test_events_written_without_read_models_are_caught_up(schema: str) -> None:
    from lifecycle.registry import PolicyRegistry
    from lifecycle.service import OrderService

    dsn = with_schema(DSN, schema)
    with Orderlog(dsn) as log:
        assert log.handle(journey("o1")[0]).ok
    bare = PostgresEventStore(dsn)  # a host whose service keeps no read models
    try:
        service = OrderService(bare, PolicyRegistry.shipped())
        for command in journey("o1")[1:3]:
            assert service.handle(command).ok
        head = bare.head().position
    finally:
        bare.close()
    assert _rows(schema, "SELECT state FROM orders") == [("placed",)]
    with Orderlog(dsn, read_only=True) as reader:  # behind: read through memory, unchanged
        assert reader.status("o1", AS_OF).status.value == "received"
    assert _rows(schema, "SELECT state FROM orders") == [("placed",)]
    with Orderlog(dsn) as writer:  # a writer catches the schema's read models up
        assert [row["order_id"] for row in writer.orders(as_of=AS_OF)] == ["o1"]
    assert _rows(schema, "SELECT state FROM orders") == [("received",)]
    marks = _rows(schema, "SELECT DISTINCT position FROM projection_checkpoints")
    assert marks == [(head,)]


def test_a_log_without_read_models_in_its_schema_is_read_through_memory(schema: str) -> None:
    dsn = with_schema(DSN, schema)
    with Orderlog(dsn) as log:
        for command in journey("o1")[:3]:
            log.handle(command)
        rows = list(log.store.read_rows())
    with fresh_schema("bare") as other:
        target = PostgresEventStore(with_schema(DSN, other))
        try:
            target.import_rows(rows)  # no read models in this schema
        finally:
            target.close()
        with Orderlog(with_schema(DSN, other), read_only=True) as reader:
            assert reader.postgres_models is None
            assert reader.status("o1", AS_OF).status.value == "received"


def test_replay_rebuilds_the_read_models_in_place(orderlog: Any, schema: str) -> None:
    dsn = with_schema(DSN, schema)
    with Orderlog(dsn) as log:
        for command in journey("o1"):
            log.handle(command)
        head = log.store.head().position
    before = _rows(schema, "SELECT * FROM orders")
    with psycopg.connect(DSN, autocommit=True) as conn:  # damage them
        conn.execute(f"UPDATE {schema}.orders SET state = 'placed'")
    run = orderlog("replay", "--db", dsn, "--json")
    assert run.code == 0, run.err
    assert run.json()["events"] == head
    assert run.json()["into"] == "in place"
    assert _rows(schema, "SELECT * FROM orders") == before
