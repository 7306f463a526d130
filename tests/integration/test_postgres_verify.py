"""`orderlog verify` on a PostgreSQL log compares the read models kept in its schema with a
fresh replay, as on SQLite: checkpoints at the head, each table's columns as orderlog creates
them, and the rows equal by column name, each as many times as it occurs. The tampers both
backends must catch are tests/read_model_tampers.py, run here on a schema; the ones below are
PostgreSQL's own."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from eventstore import Problem
from eventstore.postgres import PostgresEventStore
from lifecycle.registry import PolicyRegistry
from lifecycle.service import OrderService
from projections.app import READ_MODELS, Orderlog
from projections.audit import NOT_KEPT, audit, first_difference
from projections.bench import order_commands
from projections.framework import read_facts
from projections.pgmodels import PgConnection, PgFreshReplay
from tests.pg import DSN, fresh_schema, needs_postgres, with_schema
from tests.read_model_tampers import ReadModelTamperContract

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


class TestPostgresReadModelTampers(ReadModelTamperContract):
    kept = "the log's schema"

    def verified(self, shop: str) -> dict[str, Any]:
        return verified(shop)

    def tamper(self, shop: str, *statements: str) -> None:
        with psycopg.connect(DSN, autocommit=True) as conn:
            conn.execute(f"SET search_path TO {shop}")
            for statement in statements:
                conn.execute(statement)

    def doubled_row_problem(self, shop: str) -> Problem | None:
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
                    return first_difference(fresh.copy_kept(), tables, head)
                finally:
                    fresh.close()
        finally:
            store.close()

    # -- what only PostgreSQL's tables can be made to hold -------------------------------------

    def test_a_deleted_row_is_caught_as_missing_from_the_schema(self, shop: str) -> None:
        self.tamper(shop, "DELETE FROM returns WHERE ctid = (SELECT min(ctid) FROM returns)")
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_mismatch"
        assert "a fresh replay has" in problem["message"]

    def test_a_column_of_another_type_is_a_named_problem(self, shop: str) -> None:
        self.tamper(shop, "ALTER TABLE orders ALTER COLUMN paid_total TYPE numeric")
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_schema"
        assert "paid_total numeric" in problem["message"]

    def test_a_dropped_not_null_is_a_named_problem(self, shop: str) -> None:
        self.tamper(shop, "ALTER TABLE projection_checkpoints ALTER COLUMN position DROP NOT NULL")
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_schema"
        assert "projection_checkpoints" in problem["message"]

    # -- the same through the CLI --------------------------------------------------------------

    def test_the_cli_verifies_an_untouched_log_with_its_read_models_compared(
        self, shop: str, orderlog: Any
    ) -> None:
        run = orderlog("verify", "--db", with_schema(DSN, shop), "--json")
        assert run.code == 0, run.out
        assert run.json()["checks"]["read_models"] == "ok"

    def test_the_cli_names_checkpoints_behind_the_log(self, shop: str, orderlog: Any) -> None:
        self.tamper(shop, "UPDATE projection_checkpoints SET position = position - 1")
        run = orderlog("verify", "--db", with_schema(DSN, shop), "--json")
        assert run.code == 1
        assert run.json()["problem"]["kind"] == "read_models_behind"


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
