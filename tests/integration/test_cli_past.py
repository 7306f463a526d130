"""The past view: `status`, `history`, `explain` and `refunds --as-of T` show the order as it was
at T (every field), and every time option reads times and days by one rule."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.clitools import applied, assert_one_line_error
from tests.integration.workloads import journey

# journey("o1"): placed 03-02 09:00, delivered 03-04 09:00, return r1 requested 03-07 09:00,
# received 03-11 09:00, inspected (refund decided) 03-11 21:00, refund issued 03-14 09:00.


@pytest.fixture
def log(orderlog: Any, db: Path, tmp_path: Path) -> Path:
    applied(orderlog, db, tmp_path, journey("o1"))
    return db


def _status(orderlog: Any, db: Path, as_of: str) -> dict[str, Any]:
    data: dict[str, Any] = orderlog(
        "status", "o1", "--db", str(db), "--json", "--as-of", as_of
    ).json()
    return data


def test_status_as_of_shows_money_and_returns_as_they_were(orderlog: Any, log: Path) -> None:
    now = orderlog("status", "o1", "--db", str(log), "--json").json()
    received = _status(orderlog, log, "2026-03-11T12:00:00Z")
    assert now["refunded_total"] > 0
    assert (received["status"], received["refunded_total"], received["refund_pending"]) == (
        "return_in_progress",
        0,
        0,
    )
    assert received["returns"] == [
        {"return_id": "r1", "status": "received", "refund_amount": None, "refund_due_by": None}
    ]
    decided = _status(orderlog, log, "2026-03-12T00:00:00Z")
    refund = now["returns"][0]["refund_amount"]
    assert (decided["refunded_total"], decided["refund_pending"]) == (0, refund)
    assert decided["returns"][0]["status"] == "inspected"
    assert _status(orderlog, log, "2026-03-14T10:00:00Z")["refunded_total"] == refund


def test_status_as_of_before_delivery_shows_no_return_window(orderlog: Any, log: Path) -> None:
    placed = _status(orderlog, log, "2026-03-02T10:00:00Z")
    assert (placed["status"], placed["returns_close_on"], placed["returns"]) == ("placed", None, [])
    assert placed["cancellable_until"] is not None
    assert _status(orderlog, log, "2026-03-05T00:00:00Z")["returns_close_on"] is not None


def test_a_day_means_the_end_of_that_utc_day_for_every_as_of(orderlog: Any, log: Path) -> None:
    assert _status(orderlog, log, "2026-03-11")["returns"][0]["status"] == "inspected"
    assert _status(orderlog, log, "2026-03-11T20:59:00Z")["returns"][0]["status"] == "received"
    assert _status(orderlog, log, "2026-03-11")["as_of"] == "2026-03-11T23:59:59.999999+00:00"
    refunds = orderlog("refunds", "--db", str(log), "--json", "--as-of", "2026-03-11").json()
    assert [row["order_id"] for row in refunds["pending"]] == ["o1"]
    for command in ("orders", "returns", "replay"):
        assert orderlog(command, "--db", str(log), "--as-of", "2026-03-11").code == 0


def test_times_are_read_as_the_tool_prints_them(orderlog: Any, log: Path) -> None:
    printed = _status(orderlog, log, "2026-03-11 21:00 UTC")
    assert printed["returns"][0]["status"] == "inspected"
    text = orderlog("status", "o1", "--db", str(log), "--as-of", "2026-03-11").out
    assert "as of 2026-03-11 23:59 UTC" in text.splitlines()[0]


def test_history_as_of_stops_at_that_time(orderlog: Any, log: Path) -> None:
    entries = orderlog("history", "o1", "--db", str(log), "--json", "--as-of", "2026-03-04").json()
    assert [entry["event"] for entry in entries] == [
        "OrderPlaced",
        "OrderDispatched",
        "OrderDelivered",
    ]


def test_explain_as_of_shows_only_the_refunds_decided_by_then(orderlog: Any, log: Path) -> None:
    def refunds(as_of: str) -> list[dict[str, Any]]:
        args = ("explain", "o1", "--db", str(log), "--json", "--as-of", as_of)
        found: list[dict[str, Any]] = orderlog(*args).json()["refunds"]
        return found

    assert refunds("2026-03-10") == []
    assert [refund["return_id"] for refund in refunds("2026-03-11")] == ["r1"]


def test_an_order_placed_later_was_not_there_yet(orderlog: Any, log: Path) -> None:
    for command in ("status", "history", "explain"):
        run = orderlog(command, "o1", "--db", str(log), "--as-of", "2026-03-01")
        assert_one_line_error(run, "unknown_order")
        assert "was not placed yet at 2026-03-01 23:59:59 UTC" in run.err
        assert "placed 2026-03-02 09:00 UTC" in run.err


def test_a_time_that_is_neither_a_time_nor_a_day_is_one_clear_line(
    orderlog: Any, log: Path
) -> None:
    run = orderlog("status", "o1", "--db", str(log), "--as-of", "2026-3-11")
    assert_one_line_error(run, "usage_error")
    assert "like 2026-03-02T09:00:00Z or a day like 2026-03-10" in run.err
