"""`orderlog verify` on a PostgreSQL log compares the read models kept in its schema with a
fresh replay, as on SQLite: checkpoints at the head, each table's columns as orderlog creates
them, and the rows equal by column name, each as many times as it occurs. Every tamper below
leaves the log intact and changes only the read models, and each is a named read-model
problem."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from eventstore.postgres import PostgresEventStore
from lifecycle.registry import PolicyRegistry
from lifecycle.service import OrderService
from projections.app import READ_MODELS, Orderlog
from projections.audit import NOT_KEPT, audit, first_difference
from projections.bench import order_commands
from projections.framework import read_facts
from projections.pgmodels import PgConnection, PgFreshReplay
from tests.pg import DSN, fresh_schema, needs_postgres, with_schema

pytestmark = needs_postgres


@pytest.fixture
def schema() -> Iterator[str]:
    with fresh_schema("vrm") as name:
        yield name


@pytest.fixture
def shop(schema: str) -> str:
    """A PostgreSQL log of a few orders, each returned and refunded, read models current."""
    dsn = with_schema(DSN, schema)
    with Orderlog(dsn) as log:
        for number in range(4):
            for command in order_commands(number):
                assert log.handle(command).ok
    return schema


def verified(schema: str) -> dict[str, Any]:
    store = PostgresEventStore(with_schema(DSN, schema), read_only=True)
    try:
        models = PgConnection(store.own_connection(), store.schema)
        return audit(store, PgFreshReplay(models, READ_MODELS), READ_MODELS)
    finally:
        store.close()


def tamper(schema: str, *statements: str) -> None:
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"SET search_path TO {schema}")
        for statement in statements:
            conn.execute(statement)


def problem_of(schema: str) -> dict[str, Any]:
    report = verified(schema)
    assert not report["ok"]
    assert report["checks"]["chain"] == "ok"
    assert report["checks"]["paths"] == "ok"
    assert report["checks"]["read_models"] == report["problem"]["message"]
    problem: dict[str, Any] = report["problem"]
    return problem


def test_an_untouched_log_verifies_with_its_read_models_compared(shop: str, orderlog: Any) -> None:
    report = verified(shop)
    assert report["ok"], report["problem"]
    assert report["checks"] == {"chain": "ok", "paths": "ok", "read_models": "ok"}
    run = orderlog("verify", "--db", with_schema(DSN, shop), "--json")
    assert run.code == 0, run.out
    assert run.json()["checks"]["read_models"] == "ok"


def test_a_changed_value_is_caught(shop: str) -> None:
    tamper(shop, "UPDATE orders SET paid_total = paid_total + 1 WHERE customer_id = 'c-1'")
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_mismatch"
    assert "read model orders" in problem["message"]
    assert "the log's schema has" in problem["message"]


def test_values_swapped_between_columns_of_the_right_shape_are_caught(shop: str) -> None:
    tamper(shop, "UPDATE orders SET paid_total = refunded_total, refunded_total = paid_total")
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_mismatch"
    assert "orders" in problem["message"]


def test_a_deleted_row_is_caught_as_missing_from_the_schema(shop: str) -> None:
    tamper(shop, "DELETE FROM returns WHERE ctid = (SELECT min(ctid) FROM returns)")
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_mismatch"
    assert "a fresh replay has" in problem["message"]


REBUILT_WITHOUT_KEY = (
    "CREATE TABLE refunds_copy AS SELECT * FROM refunds",
    "INSERT INTO refunds_copy SELECT * FROM refunds LIMIT 1",
    "DROP TABLE refunds",
    "ALTER TABLE refunds_copy RENAME TO refunds",
)


def test_refunds_rebuilt_without_their_key_with_a_row_doubled_are_caught(shop: str) -> None:
    tamper(shop, *REBUILT_WITHOUT_KEY)
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_schema"
    assert "read model refunds" in problem["message"]


def test_a_doubled_row_is_caught_by_its_count_even_where_the_schema_allows_it(
    shop: str,
) -> None:
    """The comparison itself counts rows: without the schema check, a duplicate still shows."""
    tamper(shop, *REBUILT_WITHOUT_KEY)
    store = PostgresEventStore(with_schema(DSN, shop), read_only=True)
    try:
        with store.snapshot():
            fresh = PgFreshReplay(PgConnection(store.own_connection(), shop), READ_MODELS)
            try:
                head = store.head().position
                for batch in read_facts(store, 1, head):
                    fresh.step(batch)
                fresh.compare(0)  # creates the fresh tables (the checkpoints say nothing at 0)
                tables = [table for p in READ_MODELS for table in p.schema]
                problem = first_difference(fresh.copy_kept(), tables, head)
            finally:
                fresh.close()
    finally:
        store.close()
    assert problem is not None
    assert problem.kind == "read_model_mismatch"
    assert "refunds" in problem.message
    assert "2 times" in problem.message


def test_two_columns_with_their_names_swapped_are_caught(shop: str) -> None:
    tamper(
        shop,
        "ALTER TABLE orders RENAME COLUMN paid_total TO swapped",
        "ALTER TABLE orders RENAME COLUMN refunded_total TO paid_total",
        "ALTER TABLE orders RENAME COLUMN swapped TO refunded_total",
    )
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_schema"
    assert "read model orders" in problem["message"]


def test_a_renamed_column_is_caught(shop: str) -> None:
    tamper(shop, "ALTER TABLE declines RENAME COLUMN message TO why")
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_schema"
    assert "read model declines" in problem["message"]


def test_an_added_column_is_a_named_problem(shop: str) -> None:
    tamper(shop, "ALTER TABLE returns ADD COLUMN note text")
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_schema"
    assert "read model returns" in problem["message"]


def test_a_column_of_another_type_is_a_named_problem(shop: str) -> None:
    tamper(shop, "ALTER TABLE orders ALTER COLUMN paid_total TYPE numeric")
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_schema"
    assert "paid_total numeric" in problem["message"]


def test_a_dropped_not_null_is_a_named_problem(shop: str) -> None:
    tamper(shop, "ALTER TABLE projection_checkpoints ALTER COLUMN position DROP NOT NULL")
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_schema"
    assert "projection_checkpoints" in problem["message"]


def test_a_dropped_table_is_a_named_problem(shop: str) -> None:
    tamper(shop, "DROP TABLE returns")
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_schema"
    assert "read model returns" in problem["message"]
    assert "no such table" in problem["message"]


def test_a_table_replaced_by_a_view_is_a_named_problem(shop: str) -> None:
    tamper(
        shop,
        "ALTER TABLE declines RENAME TO declines_old",
        "CREATE VIEW declines AS SELECT * FROM declines_old",
    )
    problem = problem_of(shop)
    assert problem["kind"] == "read_model_schema"
    assert "read model declines" in problem["message"]


def test_checkpoints_behind_the_log_are_named(shop: str, orderlog: Any) -> None:
    tamper(shop, "UPDATE projection_checkpoints SET position = position - 1")
    problem = problem_of(shop)
    assert problem["kind"] == "read_models_behind"
    run = orderlog("verify", "--db", with_schema(DSN, shop), "--json")
    assert run.code == 1
    assert run.json()["problem"]["kind"] == "read_models_behind"


def test_dropped_checkpoints_are_named(shop: str) -> None:
    tamper(shop, "DROP TABLE projection_checkpoints")
    problem = problem_of(shop)
    assert problem["kind"] == "read_models_missing"


def test_a_log_written_without_read_models_verifies_and_says_none_are_kept(
    schema: str,
) -> None:
    store = PostgresEventStore(with_schema(DSN, schema))
    try:
        service = OrderService(store, PolicyRegistry.shipped())
        for command in order_commands(0):
            assert service.handle(command).ok
    finally:
        store.close()
    report = verified(schema)
    assert report["ok"], report["problem"]
    assert report["checks"]["read_models"] == NOT_KEPT


def test_verify_beside_a_live_writer_finds_nothing_wrong(shop: str) -> None:
    """The comparison reads the schema inside the chain check's snapshot: rows and
    checkpoints committed meanwhile are not seen half-way."""
    done, writing = threading.Event(), threading.Event()

    def write() -> None:
        with Orderlog(with_schema(DSN, shop)) as log:
            number = 100
            while not done.is_set():
                for command in order_commands(number):
                    assert log.handle(command).ok
                    writing.set()
                number += 1

    writer = threading.Thread(target=write)
    writer.start()
    try:
        assert writing.wait(30)
        reports = [verified(shop) for _ in range(3)]
    finally:
        done.set()
        writer.join()
    for report in reports:
        assert report["ok"], report["problem"]
    assert verified(shop)["ok"]
