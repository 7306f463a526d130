"""Refund arithmetic: the paid price of the accepted units, minus deductions, plus
reimbursements, as the policy says; recorded line by line with the clauses behind each amount.
The total refunded for an order never exceeds what was paid for it."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import attrs
import pytest

from lifecycle import Order, Policy
from lifecycle import events as ev
from lifecycle.vocabulary import AdjustmentKind, RefundBasis
from lifecycle.wire import event_from_dict, event_to_dict
from tests.support import at
from tests.unit.builders import (
    applied,
    delivered,
    inspect_return,
    line,
    make_policy,
    only,
    receive_return,
    request_return,
    return_case,
    settle,
    sole,
    types,
    when,
)

PLAIN = make_policy()


def refund_of(events: list[ev.OrderEvent]) -> ev.RefundDecided:
    refund = only(events, ev.RefundDecided)
    assert isinstance(refund, ev.RefundDecided)
    return refund


def adjustments(refund: ev.RefundDecided) -> list[tuple[str, int, str]]:
    return [(a.kind.value, a.amount, a.clause) for a in refund.adjustments]


def refund_for(
    policy: Policy, order: Order, request: dict[str, Any], **receipt: Any
) -> ev.RefundDecided:
    _, events = settle(policy, order, request, **receipt)
    return refund_of(events)


# -- the paid price of the accepted units --------------------------------------------------------


def test_a_refund_repays_the_paid_price_of_the_accepted_units() -> None:
    order = delivered(PLAIN, line("l1", quantity=2, unit_price=1500), line("l2", unit_price=700))
    refund = refund_for(PLAIN, order, request_return(at(3), {"l1": 2, "l2": 1}))
    assert [(r.line_id, r.quantity, r.amount) for r in refund.lines] == [
        ("l1", 2, 2 * 1500),
        ("l2", 1, 700),
    ]
    assert refund.amount == 2 * 1500 + 700
    assert refund.adjustments == ()
    assert (refund.basis, refund.currency, refund.return_id) == (RefundBasis.RETURN, "EUR", "r1")


def test_a_discounted_line_is_refunded_its_share_of_the_discount() -> None:
    # Goods 3000 and 1000 with a 400 discount: l2 paid 1000 - 100.
    order = delivered(
        PLAIN, line("l1", quantity=3, unit_price=1000), line("l2", unit_price=1000), discount=400
    )
    assert refund_for(PLAIN, order, request_return(at(3), {"l2": 1})).amount == 1000 - 100
    # Each unit of l1 paid a third of 3000 - 300.
    assert refund_for(PLAIN, order, request_return(at(3), {"l1": 1})).amount == 2700 // 3


def test_several_partial_returns_of_one_line_add_up_to_what_the_line_paid() -> None:
    # 1000 for three units cannot split evenly: the units are worth 334, 333 and 333.
    order = delivered(PLAIN, line("l1", quantity=3, unit_price=1000), discount=0)
    total = 0
    for index in range(3):
        request = request_return(at(3 + index * 3), {"l1": 1}, return_id=f"r{index}")
        order, events = settle(PLAIN, order, request)
        order = applied(order, events)
        total += refund_of(events).amount
    assert total == 3 * 1000 == order.placed.lines[0].paid
    assert order.decided_total == 3 * 1000


def test_partial_returns_settled_out_of_order_still_add_up() -> None:
    order = delivered(PLAIN, line("l1", quantity=3, unit_price=1000), discount=1001)
    paid = order.placed.lines[0].paid
    assert paid == 3000 - 1001  # 1999 over 3 units: 667, 666, 666
    # Return "a" (one unit) is requested first but settled after return "b" (two units).
    order = applied(order, when(order, request_return(at(3), {"l1": 1}, return_id="a"), PLAIN))
    order, events = settle(PLAIN, order, request_return(at(4), {"l1": 2}, return_id="b"))
    order = applied(order, events)
    first = refund_of(events).amount
    assert first == 667 + 666
    order = applied(order, when(order, receive_return(at(7), return_id="a"), PLAIN))
    later = refund_of(when(order, inspect_return(at(8), return_id="a"), PLAIN))
    assert later.amount == 666
    assert first + later.amount == paid


# -- deductions and reimbursements ----------------------------------------------------------------

SHIPPING = make_policy(
    """
    [fault]
    merchant_reasons = ["damaged", "wrong_item", "not_as_described"]
    clause = "shop/our-fault"

    [[return_shipping]]
    fault = "merchant"
    reimburse_postage = true
    reimburse_cap = 1000
    clause = "shop/we-pay-postage-up-to-10"

    [[return_shipping]]
    countries = ["EU"]
    package = "first"
    methods = ["prepaid_label", "own_carrier"]
    clause = "shop/eu-first-return-free"

    [[return_shipping]]
    countries = ["EU"]
    package = "later"
    methods = ["prepaid_label"]
    label_fee = 650
    clause = "shop/eu-later-returns-label-fee"

    [[return_shipping]]
    countries = ["US"]
    methods = ["pickup"]
    pickup_fee = 300
    clause = "shop/us-pickup"

    [[return_shipping]]
    countries = ["CH"]
    credit = 500
    clause = "shop/swiss-credit"
    """
)
LABEL: dict[str, Any] = {"method": "prepaid_label"}
# A line nobody returns, so that reimbursements are not cut back by the cap on what was paid.
KEPT = line("kept", unit_price=5000)


def second_return(policy: Policy, order: Order, **request: Any) -> ev.RefundDecided:
    """The refund of a second return (package 2) after a first one was authorized."""
    order = applied(order, when(order, request_return(at(3), {"l1": 1}, return_id="r0"), policy))
    return refund_for(policy, order, request_return(at(4), {"l2": 1}, **request))


def test_the_first_return_from_the_eu_is_free() -> None:
    order = delivered(SHIPPING, line("l1", unit_price=2000), KEPT, country="FR")
    refund = refund_for(SHIPPING, order, request_return(at(3), **LABEL))
    assert refund.amount == 2000
    assert refund.adjustments == ()


def test_a_later_return_from_the_eu_pays_the_label_fee() -> None:
    order = delivered(SHIPPING, line("l1"), line("l2", unit_price=2000), country="DE")
    refund = second_return(SHIPPING, order, **LABEL)
    assert adjustments(refund) == [("label_fee", -650, "shop/eu-later-returns-label-fee")]
    assert refund.amount == 2000 - 650


def test_the_package_number_is_in_the_terms() -> None:
    order = delivered(SHIPPING, line("l1"), line("l2"), country="DE")
    first = only(
        when(order, request_return(at(3), {"l1": 1}, **LABEL), SHIPPING), ev.ReturnAuthorized
    )
    order = applied(order, [first])
    second = only(
        when(order, request_return(at(4), {"l2": 1}, return_id="r2", **LABEL), SHIPPING),
        ev.ReturnAuthorized,
    )
    assert (first.terms.package, second.terms.package) == (1, 2)
    assert first.terms.shipping.clause == "shop/eu-first-return-free"
    assert second.terms.shipping.clause == "shop/eu-later-returns-label-fee"


def test_a_method_no_rule_covers_is_declined() -> None:
    order = delivered(SHIPPING, line("l1"), line("l2"), country="DE")
    order = applied(order, when(order, request_return(at(3), {"l1": 1}), SHIPPING))
    events = when(order, request_return(at(4), {"l2": 1}, return_id="r2"), SHIPPING)
    assert types(events) == ["ReturnDeclined"]
    decline = sole(events, ev.ReturnDeclined)
    assert (decline.code, decline.clause) == ("method_not_offered", "orderlog/no-rule-for-method")
    assert "own_carrier is not offered for return package 2 from DE" in decline.message


def test_a_country_outside_the_eu_is_not_covered_by_the_eu_rules() -> None:
    order = delivered(SHIPPING, country="NO")
    events = when(order, request_return(at(3), **LABEL), SHIPPING)
    assert sole(events, ev.ReturnDeclined).code == "method_not_offered"


def test_a_pickup_fee_is_deducted_for_a_pickup() -> None:
    order = delivered(SHIPPING, line("l1", unit_price=2000), KEPT, country="US")
    refund = refund_for(SHIPPING, order, request_return(at(3), method="pickup"))
    assert adjustments(refund) == [("pickup_fee", -300, "shop/us-pickup")]
    assert refund.amount == 2000 - 300


def test_a_fixed_credit_toward_return_shipping_is_added() -> None:
    order = delivered(SHIPPING, line("l1", unit_price=2000), KEPT, country="CH")
    refund = refund_for(SHIPPING, order, request_return(at(3)))
    assert adjustments(refund) == [("return_shipping_credit", 500, "shop/swiss-credit")]
    assert refund.amount == 2000 + 500


def test_on_merchant_fault_the_postage_paid_is_reimbursed() -> None:
    order = delivered(SHIPPING, line("l1", unit_price=2000), KEPT, country="US")
    request = request_return(at(3), reason="damaged")
    found = [("l1", 1, "damaged")]
    refund = refund_for(SHIPPING, order, request, found=found, return_shipping_paid=800)
    assert adjustments(refund) == [("return_postage", 800, "shop/we-pay-postage-up-to-10")]
    assert refund.amount == 2000 + 800


def test_on_merchant_fault_the_postage_is_reimbursed_up_to_the_cap() -> None:
    order = delivered(SHIPPING, line("l1", unit_price=2000), KEPT, country="US")
    request = request_return(at(3), reason="wrong_item")
    refund = refund_for(SHIPPING, order, request, return_shipping_paid=1500)
    [postage] = refund.adjustments
    assert (postage.kind.value, postage.amount) == ("return_postage", 1000)
    assert postage.note == "postage paid EUR 15.00, capped at EUR 10.00"
    assert refund.amount == 2000 + 1000


def test_on_merchant_fault_without_postage_paid_nothing_is_added() -> None:
    order = delivered(SHIPPING, line("l1", unit_price=2000), KEPT, country="US")
    assert refund_for(SHIPPING, order, request_return(at(3), reason="damaged")).amount == 2000


def test_the_customers_postage_is_not_reimbursed_on_customer_fault() -> None:
    order = delivered(SHIPPING, line("l1", unit_price=2000), KEPT, country="DE")
    refund = refund_for(SHIPPING, order, request_return(at(3)), return_shipping_paid=800)
    assert refund.amount == 2000


def test_the_return_terms_name_the_fault_and_the_shipping_clause() -> None:
    order = delivered(SHIPPING, country="US")
    authorized = only(
        when(order, request_return(at(3), reason="not_as_described"), SHIPPING), ev.ReturnAuthorized
    )
    assert authorized.terms.fault.value == "merchant"
    assert authorized.terms.shipping.reimburse_cap == 1000
    assert "shop/our-fault" in authorized.terms.clauses
    assert "shop/we-pay-postage-up-to-10" in authorized.terms.clauses


RESTOCKING = make_policy(
    """
    [restocking_fee]
    percent = 15
    clause = "shop/restocking-15"

    [fault]
    merchant_reasons = ["defective"]
    clause = "shop/our-fault"
    """
)


def test_a_restocking_fee_keeps_a_percentage_of_the_goods() -> None:
    order = delivered(RESTOCKING, line("l1", quantity=2, unit_price=1000))
    refund = refund_for(RESTOCKING, order, request_return(at(3), {"l1": 2}))
    assert adjustments(refund) == [("restocking_fee", -300, "shop/restocking-15")]
    assert refund.amount == 2000 - 2000 * 15 // 100


def test_the_restocking_fee_rounds_down() -> None:
    # 15% of 999 is 149.85: the shop keeps 149.
    order = delivered(RESTOCKING, line("l1", unit_price=999))
    assert refund_for(RESTOCKING, order, request_return(at(3))).amount == 999 - 149


def test_no_restocking_fee_when_the_shop_is_at_fault() -> None:
    order = delivered(RESTOCKING, line("l1", unit_price=1000))
    request = request_return(at(3), reason="defective")
    assert refund_for(RESTOCKING, order, request, found=[("l1", 1, "defective")]).amount == 1000


ORIGINAL_SHIPPING = make_policy(
    """
    [original_shipping]
    refunded_for = ["not_as_described", "wrong_item"]
    clause = "shop/shipping-back-when-we-erred"
    """
)


def test_original_shipping_is_refunded_for_the_reasons_the_policy_names() -> None:
    order = delivered(ORIGINAL_SHIPPING, line("l1", unit_price=2000), shipping_fee=495)
    refund = refund_for(ORIGINAL_SHIPPING, order, request_return(at(3), reason="not_as_described"))
    assert adjustments(refund) == [("original_shipping", 495, "shop/shipping-back-when-we-erred")]
    assert refund.amount == 2000 + 495


def test_original_shipping_is_not_refunded_for_other_reasons() -> None:
    order = delivered(ORIGINAL_SHIPPING, line("l1", unit_price=2000), shipping_fee=495)
    assert refund_for(ORIGINAL_SHIPPING, order, request_return(at(3))).amount == 2000


def test_original_shipping_is_refunded_only_once_per_order() -> None:
    order = delivered(
        ORIGINAL_SHIPPING,
        line("l1", unit_price=2000),
        line("l2", unit_price=1000),
        shipping_fee=495,
    )
    order, events = settle(
        ORIGINAL_SHIPPING, order, request_return(at(3), {"l1": 1}, reason="wrong_item")
    )
    order = applied(order, events)
    assert refund_of(events).amount == 2000 + 495
    again = refund_for(
        ORIGINAL_SHIPPING,
        order,
        request_return(at(6), {"l2": 1}, return_id="r2", reason="wrong_item"),
    )
    assert again.amount == 1000


# -- deadlines -----------------------------------------------------------------------------------


def test_the_refund_is_due_days_after_the_return_arrives() -> None:
    policy = make_policy('[refund]\ndeadline_days = 14\nclause = "shop/14-days"')
    # Requested on day 3; settle() receives it a day later, Friday 6 March 2026.
    refund = refund_for(policy, delivered(policy), request_return(at(3)))
    assert refund.due_by == date(2026, 3, 6) + timedelta(days=14)
    assert "shop/14-days" in refund.clauses


def test_the_refund_is_due_business_days_after_the_return_arrives_skipping_holidays() -> None:
    policy = make_policy(
        "[refund]\ndeadline_days = 10\nbusiness_days = true\nholidays = [2026-03-20]\n"
        'clause = "shop/10-business-days"'
    )
    refund = refund_for(policy, delivered(policy), request_return(at(3)))
    # Received Friday 6 March: 9-13, 16-19 are nine business days; Friday 20 March is a
    # holiday, so the tenth is Monday 23 March.
    assert refund.due_by == date(2026, 3, 23)


def test_a_claims_refund_is_due_counting_from_the_decision() -> None:
    policy = make_policy(
        '[refund]\ndeadline_days = 7\nclause = "shop/7-days"\n'
        '[missing_item]\nclause = "shop/missing"'
    )
    events = when(delivered(policy), request_return(at(3), reason="missing_item"), policy)
    assert refund_of(events).due_by == at(3).date() + timedelta(days=7)


def test_without_a_refund_rule_there_is_no_deadline() -> None:
    assert refund_for(PLAIN, delivered(PLAIN), request_return(at(3))).due_by is None


# -- goods never more than was paid, never less than nothing; reimbursements outside the cap ------

GENEROUS = make_policy(
    """
    [[return_shipping]]
    credit = 5000
    clause = "shop/big-credit"
    """
)


def test_ruling_1_a_reimbursement_sits_outside_the_order_cap() -> None:
    # Issue 11, ruling 1: a credit toward return shipping repays the carrier, not the goods.
    order = delivered(GENEROUS, line("l1", unit_price=1000), shipping_fee=0)
    refund = refund_for(GENEROUS, order, request_return(at(3)))
    assert (refund.amount, refund.reimbursed, refund.goods_amount) == (6000, 5000, 1000)
    assert adjustments(refund) == [("return_shipping_credit", 5000, "shop/big-credit")]
    assert "orderlog/refund-cap" not in refund.clauses


def test_ruling_1_a_return_after_a_reimbursed_one_gets_its_full_price() -> None:
    order = delivered(GENEROUS, line("l1", quantity=2, unit_price=1000), shipping_fee=0)
    order, events = settle(GENEROUS, order, request_return(at(3), {"l1": 1}, return_id="a"))
    order = applied(order, events)
    assert (order.decided_total, order.reimbursed_total, order.decided_goods_total) == (
        6000,
        5000,
        1000,
    )
    second = refund_for(GENEROUS, order, request_return(at(6), {"l1": 1}, return_id="b"))
    assert (second.goods_amount, second.reimbursed) == (1000, 5000)


def test_ruling_1_goods_and_original_shipping_stay_within_what_was_paid_postage_beside_it() -> None:
    policy = make_policy(
        """
        [fault]
        merchant_reasons = ["wrong_item"]
        clause = "shop/our-fault"

        [[return_shipping]]
        fault = "merchant"
        reimburse_postage = true
        clause = "shop/we-pay-postage"

        [original_shipping]
        refunded_for = ["wrong_item"]
        clause = "shop/shipping-back"
        """
    )
    order = delivered(policy, line("l1", unit_price=2000), shipping_fee=495)
    request = request_return(at(3), reason="wrong_item")
    refund = refund_for(policy, order, request, return_shipping_paid=700)
    # 2000 + shipping 495 is all that was paid for them; the 700 postage is paid back beside it.
    assert refund.goods_amount == order.paid_total == 2000 + 495
    assert refund.amount == 2000 + 495 + 700
    assert [a.kind.value for a in refund.adjustments] == ["return_postage", "original_shipping"]


def test_ruling_1_the_cap_bounds_goods_and_shipping_only() -> None:
    # As if 900 of the 1000 paid had been decided for goods already: the goods part is cut to
    # the 100 left, and the credit toward return shipping stands whole.
    order = attrs.evolve(delivered(GENEROUS, line("l1", unit_price=1000)), decided_total=900)
    refund = refund_for(GENEROUS, order, request_return(at(3)))
    assert (refund.goods_amount, refund.reimbursed) == (100, 5000)
    assert adjustments(refund)[-1] == ("cap", -900, "orderlog/refund-cap")


def test_deductions_never_take_a_refund_below_zero() -> None:
    policy = make_policy(
        '[[return_shipping]]\nmethods = ["prepaid_label"]\nlabel_fee = 650\nclause = "shop/label"'
    )
    order = delivered(policy, line("l1", unit_price=500))
    refund = refund_for(policy, order, request_return(at(3), method="prepaid_label"))
    assert refund.amount == 0
    assert adjustments(refund) == [
        ("label_fee", -650, "shop/label"),
        ("floor", 650 - 500, "orderlog/refund-not-negative"),
    ]


def test_a_label_fee_is_not_deducted_when_the_customer_ships_it_themselves() -> None:
    policy = make_policy('[[return_shipping]]\nlabel_fee = 650\nclause = "shop/label"')
    order = delivered(policy, line("l1", unit_price=2000))
    assert refund_for(policy, order, request_return(at(3), method="own_carrier")).amount == 2000


# -- the breakdown ---------------------------------------------------------------------------------


def test_the_refund_records_each_line_and_every_clause_behind_it() -> None:
    policy = make_policy(
        """
        [conditions]
        accepted = ["unopened", "opened"]
        clause = "shop/unworn"

        [restocking_fee]
        percent = 10
        clause = "shop/restocking"

        [refund]
        deadline_days = 14
        clause = "shop/14-days"
        """
    )
    order = delivered(policy, line("l1", unit_price=2000), line("l2", unit_price=1000))
    refund = refund_for(policy, order, request_return(at(3), {"l1": 1, "l2": 1}))
    assert [(r.line_id, r.amount, r.clause) for r in refund.lines] == [
        ("l1", 2000, "shop/unworn"),
        ("l2", 1000, "shop/unworn"),
    ]
    assert refund.clauses == ("shop/unworn", "shop/restocking", "shop/14-days")
    assert refund.amount == 3000 - 300


def test_the_refund_decided_is_pending_until_issued() -> None:
    order = delivered(PLAIN, line("l1", unit_price=2000))
    order, events = settle(PLAIN, order, request_return(at(3)))
    order = applied(order, events)
    assert (order.decided_total, order.refunded_total, order.refund_pending) == (2000, 0, 2000)
    assert return_case(order).refund == refund_of(events)


@pytest.mark.parametrize("reason", ["changed_mind", "other", "allergic_reaction"])
def test_a_policy_silent_on_everything_refunds_the_goods_and_nothing_else(reason: str) -> None:
    order = delivered(PLAIN, line("l1", unit_price=2000), shipping_fee=495)
    refund = refund_for(
        PLAIN, order, request_return(at(3), reason=reason), return_shipping_paid=700
    )
    assert refund.amount == 2000
    assert refund.adjustments == ()


def test_every_adjustment_kind_is_stored_by_its_word_and_read_back() -> None:
    """`Adjustment.kind` is an enum in Python and the same word in the log as before, so events
    already stored still decode."""
    refund = ev.RefundDecided(
        order_id="o1",
        at=at(3),
        return_id="r1",
        basis=RefundBasis.RETURN,
        currency="EUR",
        amount=0,
        adjustments=tuple(
            ev.Adjustment(kind=kind, amount=0, clause="shop/x") for kind in AdjustmentKind
        ),
    )
    data = event_to_dict(refund)
    assert [a["kind"] for a in data["adjustments"]] == [
        "restocking_fee",
        "label_fee",
        "pickup_fee",
        "return_shipping_credit",
        "return_postage",
        "original_shipping",
        "original_shipping_kept",
        "not_applied",
        "exchange_difference",
        "floor",
        "cap",
    ]
    assert event_from_dict("RefundDecided", data, refund.at) == refund
