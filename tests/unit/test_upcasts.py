"""Old events read in the current schema (issue 11, ruling 1): a `RefundDecided` recorded before
refunds kept their reimbursed part apart (schema 1) is read with `reimbursed` worked out from its
adjustments. Stored rows are never rewritten."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventstore import InMemoryEventStore, NewEvent
from lifecycle import OrderService, PolicyRegistry
from lifecycle.upcasts import refund_decided_v1
from tests.support import at

CREDIT = {"kind": "return_shipping_credit", "amount": 699, "clause": "allegra-k/x", "note": ""}
POSTAGE = {"kind": "return_postage", "amount": 300, "clause": "allegra-k/y", "note": ""}
FEE = {"kind": "label_fee", "amount": -699, "clause": "allegra-k/z", "note": ""}


def test_ruling_1_a_schema_1_refund_counts_its_credit_and_postage_as_reimbursed() -> None:
    data = {"amount": 2000, "adjustments": [CREDIT, POSTAGE, FEE]}
    assert refund_decided_v1(data)["reimbursed"] == 699 + 300


def test_ruling_1_a_schema_1_refund_capped_below_its_reimbursements_is_all_reimbursed() -> None:
    # Schema 1 capped the whole refund: its reimbursement is counted as paid first.
    assert refund_decided_v1({"amount": 500, "adjustments": [CREDIT]})["reimbursed"] == 500
    assert refund_decided_v1({"amount": 500, "adjustments": []})["reimbursed"] == 0


def test_ruling_1_an_old_log_replays_with_its_reimbursements_apart() -> None:
    """A log written before schema 2: the same events, the refund stored as schema 1."""
    new_log, old_log = InMemoryEventStore(), InMemoryEventStore()
    service = OrderService(new_log, PolicyRegistry.shipped())
    steps: list[tuple[str, datetime, dict[str, Any]]] = [
        ("place_order", at(0), {"policy": "allegra-k", "currency": "USD", "shipping_fee": 0}),
        ("dispatch_order", at(1), {}),
        ("confirm_delivery", at(3), {}),
        ("request_return", at(5), {"reason": "changed_mind", "method": "own_carrier"}),
        ("receive_return", at(8), {}),
        ("inspect_return", at(9), {}),
    ]
    for kind, when, fields in steps:
        command: dict[str, Any] = {"type": kind, "order_id": "o1", "at": when.isoformat(), **fields}
        if kind == "place_order":
            command |= {
                "customer": {"id": "c1", "country": "CA"},
                "lines": [{"line_id": "l1", "sku": "TOP", "quantity": 1, "unit_price": 400}],
                "payment_method": "visa",
            }
        if kind in ("request_return", "receive_return", "inspect_return"):
            command["return_id"] = "r1"
        if kind == "request_return":
            command["lines"] = [{"line_id": "l1", "quantity": 1}]
        if kind == "inspect_return":
            command["lines"] = [{"line_id": "l1", "quantity": 1, "condition": "unopened"}]
        assert service.handle(command).ok, command
    for stream in ("policy-allegra-k", "order-o1"):
        for recorded in new_log.read_stream(stream):
            data = dict(recorded.data)
            version = recorded.schema_version
            if recorded.type == "RefundDecided":
                assert (version, data.pop("reimbursed")) == (2, 699)
                version = 1
            old = NewEvent(recorded.type, data, recorded.occurred_at, version, recorded.metadata)
            old_log.append(stream, [old])

    [stored] = [r for r in old_log.read_stream("order-o1") if r.type == "RefundDecided"]
    assert stored.schema_version == 1
    assert "reimbursed" not in stored.data
    order = OrderService(old_log, PolicyRegistry.shipped()).load("o1")
    assert order is not None
    assert (order.decided_total, order.reimbursed_total) == (400 + 699, 699)
    case = order.find_return("r1")
    assert case is not None
    assert case.refund is not None
    assert (case.refund.amount, case.refund.reimbursed, case.refund.goods_amount) == (
        1099,
        699,
        400,
    )
    new_log.close()
    old_log.close()
