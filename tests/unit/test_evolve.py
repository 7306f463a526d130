"""What `evolve` refuses beyond the machines: a log that no decision could have written.

`decide` never writes these; a forged or hand-edited log can, and replay must catch it."""

from __future__ import annotations

import pytest

from lifecycle import IllegalTransition
from lifecycle import events as ev
from lifecycle.order import Order, evolve
from lifecycle.vocabulary import RefundBasis
from tests.support import at
from tests.unit.builders import applied, delivered, make_policy, request_return, settle

PLAIN = make_policy()


def refunded_return() -> tuple[Order, ev.RefundDecided]:
    """A delivered order with one return inspected and its refund decided (not issued)."""
    order, events = settle(PLAIN, delivered(PLAIN), request_return(at(3)))
    after = applied(order, events)
    decision = next(e for e in events if isinstance(e, ev.RefundDecided))
    return after, decision


def test_an_order_level_refund_on_a_received_order_is_no_legal_step() -> None:
    order = delivered(PLAIN)
    forged = ev.RefundIssued(order_id=order.order_id, at=at(4), amount=order.paid_total)
    with pytest.raises(IllegalTransition, match="issue_order_refund"):
        evolve(order, forged)


def test_a_refund_issued_for_another_amount_than_decided_is_refused() -> None:
    order, decision = refunded_return()
    forged = ev.RefundIssued(
        order_id=order.order_id, at=at(9), return_id="r1", amount=decision.amount + 1
    )
    with pytest.raises(IllegalTransition, match="does not match its decision"):
        evolve(order, forged)
    honest = ev.RefundIssued(
        order_id=order.order_id, at=at(9), return_id="r1", amount=decision.amount
    )
    assert evolve(order, honest).refunded_total == decision.amount


def test_a_second_decision_for_the_same_refund_is_refused() -> None:
    order, decision = refunded_return()
    with pytest.raises(IllegalTransition, match="second refund decision"):
        evolve(order, decision)


def test_a_decision_beyond_what_was_paid_is_refused() -> None:
    order = delivered(PLAIN)
    cancelled_like = ev.RefundDecided(
        order_id=order.order_id,
        at=at(4),
        return_id="r1",
        basis=RefundBasis.RETURN,
        currency="USD",
        amount=order.paid_total + 1,
    )
    with pytest.raises(IllegalTransition, match="exceed"):
        evolve(order, cancelled_like)


def test_a_replacement_for_a_return_settled_by_refund_is_refused() -> None:
    order, _ = refunded_return()
    forged = ev.ReplacementShipped(order_id=order.order_id, at=at(9), return_id="r1", skus=("X",))
    with pytest.raises(IllegalTransition, match="settled by refund"):
        evolve(order, forged)
