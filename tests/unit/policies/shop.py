"""A shop's orders driven through `OrderService` on an in-memory log, in the wire's JSON form.

A fixed timeline keeps the dates readable: placed on Monday `T0`, dispatched a day later,
delivered on the Thursday, returned the Monday after and received and inspected on the
Thursday after that. Tests move any step by passing their own time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventstore import InMemoryEventStore, RecordedEvent
from lifecycle import Order, OrderService, Outcome, PolicyRegistry, ReturnCase
from lifecycle.events import RefundDecided, ReturnTerms
from tests.support import T0, at

PLACED = T0
DISPATCHED = at(1)
DELIVERED = at(3)
REQUESTED = at(7)
RECEIVED = at(10)
INSPECTED = at(10, hours=2)


def line(line_id: str, unit_price: int, quantity: int = 1, **extra: Any) -> dict[str, Any]:
    """An order line in the wire form (`category`, `final_sale`, `free_gift`, `bundle`...)."""
    return {
        "line_id": line_id,
        "sku": f"sku-{line_id}",
        "quantity": quantity,
        "unit_price": unit_price,
        **extra,
    }


class Shop:
    """One shop's policy, a fresh in-memory log, and the service over both."""

    def __init__(self, policy: str) -> None:
        self.policy = policy
        self.store = InMemoryEventStore()
        self.service = OrderService(self.store, PolicyRegistry.shipped())

    def close(self) -> None:
        self.store.close()

    def handle(self, kind: str, order_id: str, when: datetime, **fields: Any) -> Outcome:
        """Any order command, by its wire type."""
        command = {"type": kind, "order_id": order_id, "at": when.isoformat(), **fields}
        return self.service.handle(command)

    def place(
        self,
        *lines: dict[str, Any],
        order_id: str = "o1",
        country: str = "US",
        when: datetime = PLACED,
        currency: str = "USD",
        payment_method: str = "visa",
        shipping_fee: int | None = None,
        **fields: Any,
    ) -> Outcome:
        """Place an order; with no `shipping_fee` the policy's shipping rules compute it."""
        extra = dict(fields)
        if shipping_fee is not None:
            extra["shipping_fee"] = shipping_fee
        return self.handle(
            "place_order",
            order_id,
            when,
            policy=self.policy,
            currency=currency,
            customer={"id": "c1", "country": country},
            lines=list(lines),
            payment_method=payment_method,
            **extra,
        )

    def delivered(
        self,
        *lines: dict[str, Any],
        order_id: str = "o1",
        delivered_at: datetime = DELIVERED,
        **place: Any,
    ) -> Order:
        """Place, dispatch and deliver an order; fails the test if any step is refused."""
        steps = [
            self.place(*lines, order_id=order_id, **place),
            self.handle("dispatch_order", order_id, DISPATCHED),
            self.handle("confirm_delivery", order_id, delivered_at),
        ]
        for outcome in steps:
            assert outcome.ok, outcome.error
        return self.order(order_id)

    def request(
        self,
        return_id: str,
        units: dict[str, int],
        *,
        reason: str = "changed_mind",
        method: str = "own_carrier",
        when: datetime = REQUESTED,
        order_id: str = "o1",
        **fields: Any,
    ) -> Outcome:
        """Ask to return `units` ({line id: quantity})."""
        return self.handle(
            "request_return",
            order_id,
            when,
            return_id=return_id,
            lines=[{"line_id": key, "quantity": quantity} for key, quantity in units.items()],
            reason=reason,
            method=method,
            **fields,
        )

    def send_back(
        self,
        return_id: str,
        found: list[tuple[str, int, str]],
        *,
        postage: int | None = None,
        received: datetime = RECEIVED,
        inspected: datetime = INSPECTED,
        order_id: str = "o1",
    ) -> Outcome:
        """The parcel arrives (with the postage the customer paid) and is inspected as `found`
        ([(line id, quantity, condition)]); the outcome is the inspection's."""
        extra = {} if postage is None else {"return_shipping_paid": postage}
        arrived = self.handle("receive_return", order_id, received, return_id=return_id, **extra)
        assert arrived.ok, arrived.error
        return self.handle(
            "inspect_return",
            order_id,
            inspected,
            return_id=return_id,
            lines=[
                {"line_id": key, "quantity": quantity, "condition": condition}
                for key, quantity, condition in found
            ],
        )

    def order(self, order_id: str = "o1") -> Order:
        order = self.service.load(order_id)
        assert order is not None, f"order {order_id} was never placed"
        return order

    def case(self, return_id: str, order_id: str = "o1") -> ReturnCase:
        case = self.order(order_id).find_return(return_id)
        assert case is not None, f"order {order_id} has no return {return_id}"
        return case

    def terms(self, return_id: str, order_id: str = "o1") -> ReturnTerms:
        """The terms the policy set when it accepted (or held) the return."""
        terms = self.case(return_id, order_id).terms
        assert terms is not None, f"return {return_id} was not accepted"
        return terms

    def refund(self, return_id: str, order_id: str = "o1") -> RefundDecided:
        """The refund decided for a return."""
        refund = self.case(return_id, order_id).refund
        assert refund is not None, f"return {return_id} has no refund"
        return refund

    def order_refund(self, order_id: str = "o1") -> RefundDecided:
        """The order-level refund (a cancellation or a lost parcel)."""
        refund = self.order(order_id).order_refund
        assert refund is not None, f"order {order_id} has no order-level refund"
        return refund


def only_event(outcome: Outcome, kind: str) -> RecordedEvent:
    """The one recorded event of a type in an outcome."""
    found = [event for event in outcome.recorded if event.type == kind]
    assert len(found) == 1, f"expected one {kind} in {outcome.events}"
    return found[0]


def declined(outcome: Outcome) -> tuple[str, str]:
    """(code, clause) of a recorded decline; fails the test if the request was not declined."""
    assert not outcome.ok
    assert outcome.events == ("ReturnDeclined",), outcome.as_dict()
    data = only_event(outcome, "ReturnDeclined").data
    return data["code"], data["clause"]


def refused(outcome: Outcome) -> str:
    """The error code of a refused command (nothing written)."""
    assert not outcome.ok
    assert outcome.events == (), outcome.as_dict()
    assert outcome.error is not None
    return outcome.error["code"]


def adjustments(refund: RefundDecided) -> dict[str, tuple[int, str]]:
    """A refund's adjustments by kind: {kind: (amount, clause)}."""
    found = {a.kind.value: (a.amount, a.clause) for a in refund.adjustments}
    assert len(found) == len(refund.adjustments), "one adjustment of each kind expected"
    return found
