"""What `evolve` refuses beyond the machines: a log that no decision could have written.

`decide` never writes these; a forged or hand-edited log can, and replay must catch it. The
stream guards and the settlement rule checked here are the ones `decide` uses too."""

from __future__ import annotations

import pytest

from lifecycle import IllegalTransition
from lifecycle import events as ev
from lifecycle.machines import Trigger
from lifecycle.order import Order, evolve, settlement_problem
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


# -- the stream guards, shared with subscriptions (lifecycle/streams.py) ------------------------


def test_an_order_placed_twice_is_refused() -> None:
    order = delivered(PLAIN)
    with pytest.raises(IllegalTransition, match=r"^order o1 was placed twice$") as raised:
        evolve(order, order.placed)
    assert (raised.value.state, raised.value.trigger) == ("received", "place_order")


def test_an_event_before_the_order_was_placed_is_refused() -> None:
    lost = ev.ParcelLost(order_id="o9", at=at(1))
    with pytest.raises(
        IllegalTransition, match=r"^ParcelLost for order o9, which was never placed$"
    ) as raised:
        evolve(None, lost)
    assert (raised.value.state, raised.value.trigger) == ("none", "report_lost")


def test_an_event_of_another_order_in_the_stream_is_refused() -> None:
    order = delivered(PLAIN)
    stray = ev.ParcelLost(order_id="o2", at=at(9))
    with pytest.raises(
        IllegalTransition, match=r"^ParcelLost of order o2 in the stream of o1$"
    ) as raised:
        evolve(order, stray)
    assert raised.value.state == "received"


def test_a_return_settled_by_refund_is_paid_and_never_sent_goods() -> None:
    order, _ = refunded_return()
    case = order.find_return("r1")
    assert case is not None
    assert case.settled_by_refund
    assert settlement_problem(case, Trigger.ISSUE_REFUND) is None
    assert settlement_problem(case, Trigger.SHIP_REPLACEMENT) == (
        "settled by a refund, not a replacement"
    )
    assert settlement_problem(case, Trigger.RECEIVE_RETURN) is None  # no settlement step
    assert settlement_problem(None, Trigger.ISSUE_REFUND) is not None


def test_a_return_settled_by_sending_goods_is_never_refunded() -> None:
    policy = make_policy(
        '[replacement]\nreasons = ["damaged"]\nclause = "shop/damaged-replaced"\n'
        '[conditions]\naccepted = ["damaged"]\nclause = "shop/damaged"'
    )
    request = request_return(at(3), reason="damaged")
    order, events = settle(policy, delivered(policy), request, [("l1", 1, "damaged")])
    case = applied(order, events).find_return("r1")
    assert case is not None
    assert not case.settled_by_refund
    assert settlement_problem(case, Trigger.SHIP_REPLACEMENT) is None
    assert settlement_problem(case, Trigger.ISSUE_REFUND) == (
        "settled by a replacement, not a refund"
    )
