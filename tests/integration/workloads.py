"""Command scripts shared by the projection and CLI tests: small, realistic journeys."""

from __future__ import annotations

from typing import Any

from tests.support import at


def when(days: float, hours: float = 0) -> str:
    return at(days, hours=hours).isoformat()


def place(order_id: str, day: float = 0, **extra: Any) -> dict[str, Any]:
    """A kiyomi order of two serums and a 1+1 mask package, USD 5 shipping."""
    return {
        "type": "place_order",
        "order_id": order_id,
        "at": when(day),
        "policy": "kiyomi",
        "currency": "USD",
        "customer": {"id": f"c-{order_id}", "country": "US"},
        "lines": [
            {"line_id": "l1", "sku": "SERUM", "quantity": 2, "unit_price": 2500},
            {"line_id": "l2", "sku": "MASK-A", "quantity": 1, "unit_price": 1000, "bundle": "1+1"},
            {"line_id": "l3", "sku": "MASK-B", "quantity": 1, "unit_price": 1000, "bundle": "1+1"},
        ],
        "payment_method": "visa",
        "shipping_fee": 500,
        **extra,
    }


def step(kind: str, order_id: str, day: float, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "order_id": order_id, "at": when(day), **fields}


def returned_serum(order_id: str, day: float, return_id: str = "r1") -> list[dict[str, Any]]:
    """One serum sent back unopened, received and inspected four days later."""
    return [
        step(
            "request_return",
            order_id,
            day,
            return_id=return_id,
            lines=[{"line_id": "l1", "quantity": 1}],
            reason="changed_mind",
            method="own_carrier",
        ),
        step("receive_return", order_id, day + 4, return_id=return_id),
        step(
            "inspect_return",
            order_id,
            day + 4.5,
            return_id=return_id,
            lines=[{"line_id": "l1", "quantity": 1, "condition": "unopened"}],
        ),
    ]


def journey(order_id: str = "o1") -> list[dict[str, Any]]:
    """Placed, delivered, one serum returned and refunded; a late second request declined."""
    return [
        place(order_id),
        step("dispatch_order", order_id, 0.5, carrier="post"),
        step("confirm_delivery", order_id, 2),
        *returned_serum(order_id, 5),
        step("issue_refund", order_id, 12, return_id="r1", payment_reference="pay-1"),
        step(
            "request_return",
            order_id,
            40,
            return_id="r2",
            lines=[{"line_id": "l1", "quantity": 1}],
            reason="changed_mind",
            method="own_carrier",
        ),
    ]


def cancelled(order_id: str = "o2") -> list[dict[str, Any]]:
    """Placed and cancelled within kiyomi's five minutes: everything paid is refunded."""
    return [place(order_id), step("cancel_order", order_id, 0, reason="typo")]


SERUM_PAID = 2500
"""What one serum of `place` cost: no discount, so its unit price."""

ORDER_PAID = 2 * 2500 + 2 * 1000 + 500
"""What `place` charges: the goods plus USD 5 shipping."""
