"""`orderlog verify` cannot be fooled by falsified read models (issue 10, item 1; the tampers are
tests/read_model_tampers.py, run here on a SQLite file) and sees one consistent state beside a
live writer (item 4)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest

from eventstore import Problem, SQLiteEventStore
from projections.app import READ_MODELS, Orderlog
from projections.audit import FreshReplay, PathWalk, audit, first_difference
from projections.bench import order_commands
from projections.framework import read_facts
from tests.read_model_tampers import ReadModelTamperContract
from tests.support import stress_scale


def shop(path: Path, orders: int = 6) -> Path:
    """A log of a few orders, each returned and refunded, read models current."""
    with Orderlog(path) as log:
        for number in range(orders):
            for command in order_commands(number):
                assert log.handle(command).ok
    return path


def verified(path: Path) -> dict[str, Any]:
    store = SQLiteEventStore(path, read_only=True)
    try:
        return audit(store, store.connection, READ_MODELS)
    finally:
        store.close()


class TestSQLiteReadModelTampers(ReadModelTamperContract):
    kept = "the file"

    @pytest.fixture
    def shop(self, tmp_path: Path) -> Path:
        return shop(tmp_path / "shop.db")

    def verified(self, shop: Path) -> dict[str, Any]:
        return verified(shop)

    def tamper(self, shop: Path, *statements: str) -> None:
        conn = sqlite3.connect(shop, isolation_level=None)
        for statement in statements:
            conn.execute(statement)
        conn.close()

    def doubled_row_problem(self, shop: Path) -> Problem | None:
        store = SQLiteEventStore(shop, read_only=True)
        try:
            with store.snapshot():
                fresh = FreshReplay(store.connection, READ_MODELS)
                for batch in read_facts(store, 1, store.head().position):
                    fresh.step(batch)
                tables = [table for p in READ_MODELS for table in p.schema]
                problem = first_difference(store.connection, tables, store.head().position)
                fresh.close()
        finally:
            store.close()
        return problem


def _append_orders(path: str, first: int, count: int) -> None:
    with Orderlog(path) as log:
        for number in range(first, first + count):
            for command in order_commands(number):
                log.handle(command)


def test_verify_beside_a_writer_in_another_process_finds_nothing_wrong(tmp_path: Path) -> None:
    path = shop(tmp_path / "live.db", orders=4)
    context = multiprocessing.get_context("spawn")
    writer = context.Process(target=_append_orders, args=(str(path), 4, 20 * stress_scale()))
    writer.start()
    audits: list[dict[str, Any]] = []
    try:
        while writer.is_alive() or len(audits) < 3:
            audits.append(verified(path))
            time.sleep(0.01)
    finally:
        writer.join(timeout=120)
    assert writer.exitcode == 0
    assert len(audits) >= 3
    assert [a["problem"] for a in audits if not a["ok"]] == []
    assert len({a["checked"] for a in audits}) > 1  # the log grew under the audits


def test_paths_are_checked_alike_when_stream_states_are_let_go(tmp_path: Path) -> None:
    """With room for one stream's state only, interleaved orders are folded again from the log
    whenever they come back: every path still checks, and a broken one is still found."""
    path = tmp_path / "interleaved.db"
    with Orderlog(path) as log:
        journeys = [order_commands(n) for n in range(3)]
        for step in range(len(journeys[0])):
            for commands in journeys:
                assert log.handle(commands[step]).ok
    store = SQLiteEventStore(path, read_only=True)
    try:
        tight = PathWalk(store, keep=1)
        for batch in read_facts(store, 1, store.head().position, batch_size=5):
            tight.step(batch)
        assert tight.problem is None
        assert len(tight.states) == 1
        facts = [f for b in read_facts(store, 1, store.head().position) for f in b]
        delivered = next(f for f in facts if f.type == "OrderDelivered")
        again = PathWalk(store, keep=1)
        again.step(facts)
        # The order's state was let go (others came after it); delivered again at the end:
        twice = delivered._replace(position=facts[-1].position + 1, stream_version=99)
        assert again.step([twice]) == []
        problem = again.problem
        assert problem is not None
        assert problem.kind == "illegal_path"
        assert problem.position == twice.position
    finally:
        store.close()


def test_a_log_created_but_never_written_verifies_without_read_models(tmp_path: Path) -> None:
    # A kill between creating the log's schema and its read-model tables leaves such a file.
    path = tmp_path / "empty.db"
    SQLiteEventStore(path).close()
    report = verified(path)
    assert report["ok"], report["problem"]
    assert report["checked"] == 0
