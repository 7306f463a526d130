"""Read models: inline with every append, caught up after a crash, replayed to the same rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eventstore import SQLiteEventStore
from lifecycle.envelopes import order_stream
from lifecycle.registry import PolicyRegistry
from lifecycle.service import OrderService
from projections.app import READ_MODELS, Orderlog
from projections.audit import read_model_problem
from projections.framework import (
    Batch,
    Projection,
    Rows,
    Table,
    catch_up,
    checkpoint,
    lowest_checkpoint,
)
from projections.replay import replay_into
from tests.integration.workloads import (
    ORDER_PAID,
    SERUM_PAID,
    cancelled,
    journey,
    place,
    returned_serum,
    step,
)
from tests.support import at


@pytest.fixture
def log(tmp_path: Path) -> Any:
    with Orderlog(tmp_path / "orderlog.db") as opened:
        yield opened


def run(log: Orderlog, commands: list[dict[str, Any]]) -> None:
    for command in commands:
        log.handle(command)


def table(conn: sqlite3.Connection, name: str) -> list[tuple[Any, ...]]:
    return sorted(conn.execute(f"SELECT * FROM {name}").fetchall(), key=repr)


def test_a_status_read_right_after_a_command_sees_it(log: Orderlog) -> None:
    log.handle(place("o1"))
    assert log.status("o1").status.value == "placed"
    log.handle(step("dispatch_order", "o1", 0.5))
    assert log.status("o1").status.value == "dispatched"


def test_status_reports_the_spec_fields_through_a_journey(log: Orderlog) -> None:
    run(log, journey("o1"))
    status = log.status("o1", at(60)).as_dict()
    assert {k: status[k] for k in ("order_id", "policy", "status", "currency")} == {
        "order_id": "o1",
        "policy": "kiyomi",
        "status": "partially_refunded",
        "currency": "USD",
    }
    assert (status["paid_total"], status["refunded_total"], status["refund_pending"]) == (
        ORDER_PAID,
        SERUM_PAID,
        0,
    )
    assert status["returns"] == [
        {
            "return_id": "r1",
            "status": "refunded",
            "refund_amount": SERUM_PAID,
            "refund_due_by": "2026-03-25",
        },  # received Wed 03-11, + 10 business days
        {"return_id": "r2", "status": "declined", "refund_amount": None, "refund_due_by": None},
    ]
    assert status["cancellable_until"] == "2026-03-02T09:05:00.000000+00:00"
    assert status["returns_close_on"] == "2026-04-03"


def test_a_received_order_is_closed_once_its_return_window_has_passed(log: Orderlog) -> None:
    run(log, [place("o1"), step("dispatch_order", "o1", 1), step("confirm_delivery", "o1", 2)])
    assert log.status("o1", at(30)).status.value == "received"
    assert log.status("o1", at(33)).status.value == "closed"


def test_refunds_report_totals_pending_and_overdue_as_of_a_time(log: Orderlog) -> None:
    run(
        log,
        [
            *cancelled("o2"),
            place("o1"),
            step("dispatch_order", "o1", 0.5),
            step("confirm_delivery", "o1", 2),
            *returned_serum("o1", 5),
        ],
    )
    before_due = log.refunds(at(20))
    assert [(r["order_id"], r["return_id"]) for r in before_due["pending"]] == [("o1", "r1")]
    assert [(r["order_id"], r["return_id"]) for r in before_due["overdue"]] == [("o2", None)]
    after_due = log.refunds(at(30))
    assert after_due["pending"] == []
    assert {r["order_id"] for r in after_due["overdue"]} == {"o1", "o2"}
    totals = {(t["day"], t["policy"]): (t["decided"], t["issued"]) for t in after_due["totals"]}
    assert totals == {
        ("2026-03-02", "kiyomi"): (ORDER_PAID, 0),
        ("2026-03-11", "kiyomi"): (SERUM_PAID, 0),
    }
    assert log.refunds(at(1))["totals"] == [
        {
            "policy": "kiyomi",
            "currency": "USD",
            "day": "2026-03-02",
            "refunds": 1,
            "decided": ORDER_PAID,
            "issued": 0,
        }
    ]


def test_read_models_catch_up_with_events_written_without_them(tmp_path: Path) -> None:
    path = tmp_path / "orderlog.db"
    with Orderlog(path) as log:
        run(log, journey("o1"))
    raw = OrderService(SQLiteEventStore(path), PolicyRegistry.shipped())
    for command in cancelled("o2"):
        assert raw.handle(command).ok
    raw.store.close()
    with Orderlog(path) as log:
        log.handle(place("o3", 1))  # the inline projector catches up before applying this
        assert log.status("o2").status.value == "cancelled"
        assert log.status("o3").status.value == "placed"
        assert read_model_problem(log.store, log.conn, READ_MODELS) is None


class Exploding(Projection):
    """A read model that fails on its nth event, as a crash in the middle of a batch would."""

    name = "exploding"
    handles = frozenset({"OrderPlaced"})
    schema = (Table("exploded", {"order_id": str}, pk=("order_id",)),)

    def __init__(self, fail_at: int) -> None:
        self.fail_at = fail_at
        self.seen = 0

    def fold(self, rows: Batch, envelope: Any) -> None:
        self.seen += 1
        if self.seen == self.fail_at:
            raise RuntimeError("crash")
        rows["exploded"].put({"order_id": envelope.data["order_id"]})


def test_a_crash_during_catch_up_neither_skips_nor_doubles(tmp_path: Path) -> None:
    store = SQLiteEventStore.in_memory()
    service = OrderService(store, PolicyRegistry.shipped())
    for n in range(6):
        assert service.handle(place(f"o{n}", n / 10)).ok
    target = sqlite3.connect(tmp_path / "read.db", isolation_level=None)
    crashing = Exploding(fail_at=5)
    with pytest.raises(RuntimeError, match="crash"):
        catch_up(store, target, [crashing], batch_size=3)
    assert checkpoint(target, "exploding") == 3  # the first batch committed, the second did not
    assert table(target, "exploded") == [("o0",), ("o1",)]
    catch_up(store, target, [Exploding(fail_at=0)], batch_size=3)
    assert table(target, "exploded") == [(f"o{n}",) for n in range(6)]
    assert checkpoint(target, "exploding") == store.head().position


def test_a_full_replay_equals_the_live_read_models(log: Orderlog, tmp_path: Path) -> None:
    run(log, [*journey("o1"), *cancelled("o2"), place("o3", 3)])
    live = {name: table(log.conn, name) for p in READ_MODELS for name in p.tables}
    summary = replay_into(log, None, quiet=True)
    assert summary["events"] == log.store.head().position
    assert {name: table(log.conn, name) for name in live} == live
    replay_into(log, tmp_path / "copy.db", quiet=True)
    copy = sqlite3.connect(tmp_path / "copy.db")
    assert {name: table(copy, name) for name in live} == live


def test_replay_as_of_a_time_shows_the_world_as_it_was(log: Orderlog) -> None:
    run(log, [*journey("o1"), *cancelled("o2")])
    summary = replay_into(log, None, as_of=at(3), quiet=True)
    assert summary["into"] == "memory"
    # By day 3 o1 had been delivered (day 2) and o2 cancelled; the return came on day 5.
    assert summary["orders_by_status"] == {"cancelled": 1, "received": 1}
    assert summary["refunds_by_currency"] == [
        {"currency": "USD", "refunds": 1, "decided": ORDER_PAID, "issued": 0}
    ]
    # The live read models were not touched by the as-of replay.
    assert log.status("o1", at(60)).status.value == "partially_refunded"


def test_replay_to_a_position_stops_there(log: Orderlog) -> None:
    run(log, journey("o1"))
    placed_at = log.store.read_stream(order_stream("o1"))[0].position
    summary = replay_into(log, None, to_position=placed_at, quiet=True)
    assert summary["to_position"] == placed_at
    assert summary["orders_by_status"] == {"placed": 1}
    assert summary["refunds_by_currency"] == []


def test_read_models_apply_through_the_same_checkpoints(log: Orderlog) -> None:
    run(log, journey("o1"))
    head = log.store.head().position
    assert lowest_checkpoint(log.conn, READ_MODELS) == head


def test_status_counts_days_in_utc_whatever_the_offset_asked_in(log: Orderlog) -> None:
    from datetime import timedelta, timezone

    run(log, [place("o1"), step("dispatch_order", "o1", 1), step("confirm_delivery", "o1", 2)])
    closes = log.status("o1").as_dict()["returns_close_on"]
    # 20:00 UTC on the last day is already the next day in Tokyo; the window is still open.
    last_evening = at(2 + 30).replace(hour=20).astimezone(timezone(timedelta(hours=9)))
    assert closes == "2026-04-03"
    assert last_evening.date().isoformat() == "2026-04-04"
    assert log.status("o1", last_evening).status.value == "received"


def test_a_read_model_that_cannot_follow_fails_the_append_loudly_not_as_a_refusal(
    log: Orderlog,
) -> None:
    from projections.framework import ReadModelError

    log.handle(place("o1"))
    log.conn.execute("DELETE FROM orders")  # the read model has lost o1 behind the log's back
    before = log.store.head().position
    with pytest.raises(ReadModelError, match="could not follow event") as raised:
        log.handle(step("dispatch_order", "o1", 1))
    assert raised.value.code == "read_model_error"
    assert log.store.head().position == before


def test_a_row_the_batch_is_told_is_absent_is_not_looked_up() -> None:
    """`Rows.absent`: a projection that knows from the log that no row exists spares the
    lookup; a row put afterwards is written as usual."""
    conn = sqlite3.connect(":memory:")
    table = Table("things", {"key": str, "value": int}, pk=("key",))
    conn.execute("CREATE TABLE things (key TEXT PRIMARY KEY, value INTEGER)")
    queries: list[str] = []
    conn.set_trace_callback(queries.append)
    rows = Rows(conn, table)
    rows.absent("a")
    assert rows.get("a") is None
    assert not queries
    rows.put({"key": "a", "value": 1})
    rows.flush()
    assert conn.execute("SELECT key, value FROM things").fetchall() == [("a", 1)]
