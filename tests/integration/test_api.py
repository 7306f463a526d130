"""The `Orderlog` Python API: a typed status, history and explain, a short outcome repr, and a
clear error after `close()` (issue 12, item 10)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from lifecycle.errors import UnknownOrder
from lifecycle.states import OrderStatus, ReturnState
from projections import Orderlog
from projections.app import LogClosed
from projections.status import ReturnStatus, StatusReport
from tests.integration.workloads import ORDER_PAID, SERUM_PAID, journey, place
from tests.support import at


@pytest.fixture
def log(tmp_path: Path) -> Any:
    with Orderlog(tmp_path / "shop.db") as opened:
        for command in journey("o1"):
            opened.handle(command)
        yield opened


def test_status_is_a_typed_object_with_the_json_shape_as_a_dict(log: Orderlog) -> None:
    status = log.status("o1", at(60))
    assert isinstance(status, StatusReport)
    assert status.status is OrderStatus.PARTIALLY_REFUNDED
    assert (status.paid_total, status.refunded_total, status.refund_pending) == (
        ORDER_PAID,
        SERUM_PAID,
        0,
    )
    assert status.returns[0] == ReturnStatus(
        return_id="r1",
        status=ReturnState.REFUNDED,
        refund_amount=SERUM_PAID,
        refund_due_by=date(2026, 3, 25),
    )
    assert status.returns_close_on == date(2026, 4, 3)
    data = status.as_dict()
    assert list(data)[:12] == [
        "order_id",
        "policy",
        "policy_version",
        "status",
        "currency",
        "paid_total",
        "refunded_total",
        "reimbursed_total",
        "refund_pending",
        "placed_at",
        "cancellable_until",
        "returns_close_on",
    ]
    assert data["status"] == "partially_refunded"
    assert data["placed_at"] == "2026-03-02T09:00:00.000000+00:00"
    assert data["returns"][1] == {
        "return_id": "r2",
        "status": "declined",
        "refund_amount": None,
        "refund_due_by": None,
    }


def test_status_of_an_unknown_order_raises_unknown_order(log: Orderlog) -> None:
    with pytest.raises(UnknownOrder) as raised:
        log.status("nope")
    assert raised.value.code == "unknown_order"


def test_history_and_explain_are_there_and_refuse_an_unknown_order(log: Orderlog) -> None:
    history = log.history("o1")
    assert history[0]["event"] == "OrderPlaced"
    assert history[0]["data"]["paid_total"] == ORDER_PAID
    explained = log.explain("o1")
    assert [refund["amount"] for refund in explained["refunds"]] == [SERUM_PAID]
    for method in (log.history, log.explain):
        with pytest.raises(UnknownOrder):
            method("nope")


def test_an_outcome_repr_is_short_and_leaves_the_policy_text_out(tmp_path: Path) -> None:
    with Orderlog(tmp_path / "shop.db") as log:
        outcome = log.handle(place("o1"))
    assert outcome.recorded  # the events are there to read
    text = repr(outcome)
    assert text == (
        "Outcome(ok=True, events=('PolicyRecorded', 'OrderPlaced'), error=None, duplicate=False)"
    )


def test_calls_after_close_raise_log_closed(tmp_path: Path) -> None:
    log = Orderlog(tmp_path / "shop.db")
    log.handle(place("o1"))
    log.close()
    log.close()  # closing twice is fine
    for call in (
        lambda: log.handle(place("o2")),
        lambda: log.status("o1"),
        lambda: log.history("o1"),
        lambda: log.explain("o1"),
        lambda: log.refunds(),
        lambda: log.orders(),
        lambda: log.returns(),
        lambda: log.declines(),
        log.catch_up,
    ):
        with pytest.raises(LogClosed, match="was closed") as raised:
            call()
        assert raised.value.code == "log_closed"
