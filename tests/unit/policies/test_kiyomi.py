"""Kiyomi (seed 003): each clause of lifecycle/policies/kiyomi.toml, through the service."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from lifecycle import Outcome
from tests.support import T0, at

from .clauses import coverage_problems
from .shop import DELIVERED, DISPATCHED, RECEIVED, Shop, adjustments, declined, line, refused

SERUM = 3200
"""A serum's price in cents ($32.00)."""
CREAM = 2400
"""A cream's price in cents ($24.00)."""
SHIPPING = 400
"""What the customer paid for shipping (the seed names no rates)."""
EVERY = 30
"""Days between subscription renewals in these tests."""


@pytest.fixture
def shop() -> Iterator[Shop]:
    shop = Shop("kiyomi")
    yield shop
    shop.close()


def serums(shop: Shop, quantity: int = 2, **delivered: Any) -> None:
    shop.delivered(line("l1", SERUM, quantity), shipping_fee=SHIPPING, **delivered)


def subscribe(shop: Shop, discount: int = 0) -> Outcome:
    """Start subscription s1 (first order o1) for one serum every `EVERY` days."""
    return shop.handle(
        "start_subscription",
        "o1",
        T0,
        subscription_id="s1",
        every_days=EVERY,
        policy="kiyomi",
        currency="USD",
        customer={"id": "c1", "country": "US"},
        lines=[line("l1", SERUM)],
        payment_method="visa",
        shipping_fee=SHIPPING,
        discount=discount,
    )


def cancel_subscription(shop: Shop, when: datetime) -> Outcome:
    command = {"type": "cancel_subscription", "subscription_id": "s1", "at": when.isoformat()}
    return shop.service.handle(command)


# -- cancelling ---------------------------------------------------------------------------------


def test_kiyomi_cancel_within_5_minutes_refunds_everything_paid(shop: Shop) -> None:
    assert shop.place(line("l1", SERUM), shipping_fee=SHIPPING).ok

    outcome = shop.handle("cancel_order", "o1", at(minutes=5))

    assert outcome.events == ("OrderCancelled", "RefundDecided")
    assert outcome.recorded[0].data["clause"] == "kiyomi/cancel-within-5-minutes"
    assert shop.order_refund().amount == SERUM + SHIPPING


def test_kiyomi_cancel_within_5_minutes_is_refused_after(shop: Shop) -> None:
    assert shop.place(line("l1", SERUM), shipping_fee=SHIPPING).ok

    outcome = shop.handle("cancel_order", "o1", at(minutes=5) + timedelta(seconds=1))

    assert refused(outcome) == "cancellation_window_closed"
    assert outcome.error is not None
    assert "kiyomi/cancel-within-5-minutes" in outcome.error["message"]
    assert shop.order().state.value == "placed"


def test_kiyomi_cancel_within_5_minutes_never_after_dispatch(shop: Shop) -> None:
    assert shop.place(line("l1", SERUM), shipping_fee=SHIPPING).ok
    assert shop.handle("dispatch_order", "o1", at(minutes=2)).ok

    assert refused(shop.handle("cancel_order", "o1", at(minutes=3))) == "illegal_transition"


# -- returns ------------------------------------------------------------------------------------


def test_kiyomi_return_window_30_days_from_receipt_accepts_day_30(shop: Shop) -> None:
    serums(shop)

    assert shop.request("r1", {"l1": 1}, when=DELIVERED + timedelta(days=30)).ok
    assert "kiyomi/return-window-30-days" in shop.terms("r1").clauses


def test_kiyomi_return_window_30_days_declines_day_31(shop: Shop) -> None:
    serums(shop)

    outcome = shop.request("r1", {"l1": 1}, when=DELIVERED + timedelta(days=31))

    assert declined(outcome) == ("return_window_closed", "kiyomi/return-window-30-days")


def test_kiyomi_unused_unopened_undamaged_refunds_an_unopened_serum(shop: Shop) -> None:
    serums(shop)
    assert shop.request("r1", {"l1": 2}).ok

    assert shop.send_back("r1", [("l1", 1, "unopened"), ("l1", 1, "opened")]).ok

    refund = shop.refund("r1")
    assert refund.amount == SERUM
    assert [(r.quantity, r.clause) for r in refund.lines] == [
        (1, "kiyomi/unused-unopened-undamaged")
    ]


@pytest.mark.parametrize("condition", ["opened", "used", "damaged"])
def test_kiyomi_unused_unopened_undamaged_rejects_the_rest(shop: Shop, condition: str) -> None:
    serums(shop)
    assert shop.request("r1", {"l1": 1}).ok

    assert shop.send_back("r1", [("l1", 1, condition)]).events == ("ReturnRejected",)
    assert shop.case("r1").inspection[0].clause == "kiyomi/unused-unopened-undamaged"


def test_kiyomi_damaged_or_defective_replaced_at_no_cost(shop: Shop) -> None:
    serums(shop)
    assert shop.request("r1", {"l1": 1}, reason="damaged", method="prepaid_label").ok
    terms = shop.terms("r1")
    assert terms.resolution.value == "replacement"
    assert "kiyomi/damaged-or-defective-replaced" in terms.clauses

    assert shop.send_back("r1", [("l1", 1, "damaged")]).events == ("ReturnInspected",)
    shipped = shop.handle("ship_replacement", "o1", at(11), return_id="r1")

    assert shipped.events == ("ReplacementShipped",)
    assert shipped.recorded[0].data["skus"] == ["sku-l1"]
    assert shop.case("r1").inspection[0].clause == "kiyomi/damaged-or-defective-replaced"
    assert shop.order().decided_total == 0


@pytest.mark.parametrize("found", ["opened", "used"])
def test_kiyomi_damaged_or_defective_replaced_only_when_the_fault_is_found(
    shop: Shop, found: str
) -> None:
    serums(shop)
    assert shop.request("r1", {"l1": 1}, reason="defective", method="prepaid_label").ok

    assert shop.send_back("r1", [("l1", 1, found)]).events == ("ReturnRejected",)


def test_kiyomi_package_offers_whole_declines_half_a_1_plus_1(shop: Shop) -> None:
    shop.delivered(
        line("a", SERUM, bundle="1+1"), line("b", CREAM, bundle="1+1"), shipping_fee=SHIPPING
    )

    outcome = shop.request("r1", {"a": 1})

    assert declined(outcome) == ("partial_bundle", "kiyomi/package-offers-whole")


def test_kiyomi_package_offers_whole_refunds_the_full_package(shop: Shop) -> None:
    shop.delivered(
        line("a", SERUM, bundle="1+1"), line("b", CREAM, bundle="1+1"), shipping_fee=SHIPPING
    )
    assert shop.request("r1", {"a": 1, "b": 1}).ok

    assert shop.send_back("r1", [("a", 1, "unopened"), ("b", 1, "unopened")]).ok

    assert shop.refund("r1").amount == SERUM + CREAM


def test_kiyomi_package_offers_whole_one_opened_unit_rejects_the_package(shop: Shop) -> None:
    shop.delivered(line("a", SERUM, 3, bundle="2+1"), shipping_fee=SHIPPING)
    assert shop.request("r1", {"a": 3}).ok

    outcome = shop.send_back("r1", [("a", 2, "unopened"), ("a", 1, "opened")])

    assert outcome.events == ("ReturnRejected",)
    assert {r.clause for r in shop.case("r1").inspection} == {"kiyomi/package-offers-whole"}


def test_kiyomi_customer_pays_return_shipping(shop: Shop) -> None:
    serums(shop)

    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], postage=650).ok

    assert shop.refund("r1").amount == SERUM  # the postage stays the customer's
    assert shop.terms("r1").shipping.clause == "kiyomi/customer-pays-return-shipping"


@pytest.mark.parametrize("method", ["prepaid_label", "pickup"])
def test_kiyomi_customer_pays_return_shipping_so_no_label_or_pickup(
    shop: Shop, method: str
) -> None:
    serums(shop)

    outcome = shop.request("r1", {"l1": 1}, method=method)

    assert declined(outcome) == ("method_not_offered", "kiyomi/customer-pays-return-shipping")


def test_kiyomi_replacement_no_additional_cost_goes_on_the_shops_label(shop: Shop) -> None:
    serums(shop)

    assert shop.request("r1", {"l1": 1}, reason="defective", method="prepaid_label").ok

    shipping = shop.terms("r1").shipping
    assert (shipping.clause, shipping.label_fee) == ("kiyomi/replacement-no-additional-cost", 0)


def test_kiyomi_replacement_no_additional_cost_pays_back_own_postage(shop: Shop) -> None:
    # Ruling (issue 11.5): a damaged serum the customer already posted back with their own
    # carrier is accepted; the replacement ships and the postage comes back with it.
    serums(shop)

    assert shop.request("r1", {"l1": 1}, reason="damaged", method="own_carrier").ok
    assert shop.send_back("r1", [("l1", 1, "damaged")], postage=450).events == ("ReturnInspected",)
    shipped = shop.handle("ship_replacement", "o1", at(11), return_id="r1")

    assert shipped.events == ("ReplacementShipped", "RefundDecided")
    refund = shop.refund("r1")
    assert (refund.amount, refund.basis.value) == (450, "replacement")
    assert adjustments(refund)["return_postage"] == (450, "kiyomi/replacement-no-additional-cost")
    assert shop.handle("issue_refund", "o1", at(12), return_id="r1").ok
    assert shop.case("r1").state.value == "replacement_sent"


def test_kiyomi_replacement_no_additional_cost_a_pickup_waits_for_a_person(shop: Shop) -> None:
    # Merchant-fault returns are never declined over the shipping method (ruling 11.5).
    serums(shop)

    outcome = shop.request("r1", {"l1": 1}, reason="damaged", method="pickup")

    assert outcome.events == ("ReturnHeldForReview",)
    assert shop.case("r1").state.value == "awaiting_review"
    assert shop.terms("r1").shipping.clause == "orderlog/fault-method-review"


def test_kiyomi_exchanges_offered_ship_the_new_item_without_refund(shop: Shop) -> None:
    serums(shop)
    assert shop.request("r1", {"l1": 1}, resolution="exchange", exchange_sku="cream").ok
    assert "kiyomi/exchanges-offered" in shop.terms("r1").clauses

    assert shop.send_back("r1", [("l1", 1, "unopened")]).events == ("ReturnInspected",)
    shipped = shop.handle("ship_replacement", "o1", at(11), return_id="r1")

    assert shipped.recorded[0].data["skus"] == ["cream"]
    assert shop.order().decided_total == 0


# -- refunds ------------------------------------------------------------------------------------


def test_kiyomi_refund_within_10_business_days_of_arrival(shop: Shop) -> None:
    serums(shop)
    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")]).ok

    refund = shop.refund("r1")
    assert refund.due_by == RECEIVED.date() + timedelta(weeks=2)  # ten working days
    assert "kiyomi/refund-within-10-business-days" in refund.clauses


def test_kiyomi_refund_after_inspection_not_on_arrival(shop: Shop) -> None:
    serums(shop)
    assert shop.request("r1", {"l1": 1}).ok

    arrived = shop.handle("receive_return", "o1", RECEIVED, return_id="r1")
    assert arrived.events == ("ReturnReceived",)
    assert shop.case("r1").refund is None

    inspected = shop.handle(
        "inspect_return",
        "o1",
        at(12),
        return_id="r1",
        lines=[{"line_id": "l1", "quantity": 1, "condition": "unopened"}],
    )
    assert inspected.events == ("ReturnInspected", "RefundDecided")
    assert shop.refund("r1").amount == SERUM


def test_kiyomi_lost_parcel_refunded_in_full_with_shipping(shop: Shop) -> None:
    assert shop.place(line("l1", SERUM), shipping_fee=SHIPPING).ok
    assert shop.handle("dispatch_order", "o1", DISPATCHED).ok

    assert shop.handle("report_lost", "o1", at(9)).events == ("ParcelLost", "RefundDecided")

    refund = shop.order_refund()
    assert refund.amount == SERUM + SHIPPING
    assert adjustments(refund)["original_shipping"] == (SHIPPING, "kiyomi/lost-parcel-refunded")


# -- subscriptions ------------------------------------------------------------------------------


def test_kiyomi_subscription_recurring_charges_at_the_checkout_price(shop: Shop) -> None:
    discount = 320  # a 10% subscription discount, kept on every renewal
    started = subscribe(shop, discount=discount)
    assert started.events == ("PolicyRecorded", "SubscriptionStarted", "OrderPlaced")

    renewed = shop.handle("renew_subscription", "o2", at(EVERY), subscription_id="s1")

    assert renewed.events == ("SubscriptionRenewed", "OrderPlaced")
    for order_id in ("o1", "o2"):
        placed = shop.order(order_id).placed
        assert placed.paid_total == SERUM - discount + SHIPPING
        assert placed.subscription_id == "s1"


def test_kiyomi_subscription_cancel_before_renewal(shop: Shop) -> None:
    assert subscribe(shop).ok

    cancelled = cancel_subscription(shop, at(EVERY - 1))

    assert cancelled.events == ("SubscriptionCancelled",)
    assert cancelled.recorded[0].data["clause"] == "kiyomi/subscription-cancel-before-renewal"
    renewal = shop.handle("renew_subscription", "o2", at(EVERY), subscription_id="s1")
    assert refused(renewal) == "illegal_transition"


def test_kiyomi_subscription_cancel_before_renewal_not_once_it_is_due(shop: Shop) -> None:
    assert subscribe(shop).ok

    outcome = cancel_subscription(shop, at(EVERY))

    assert refused(outcome) == "cancellation_window_closed"


def test_kiyomi_subscription_dispatch_final_renewals_cancel_until_dispatch(shop: Shop) -> None:
    assert subscribe(shop).ok
    assert shop.handle("renew_subscription", "o2", at(EVERY), subscription_id="s1").ok

    # Well past five minutes, but not yet dispatched: the renewal can still be stopped.
    outcome = shop.handle("cancel_order", "o2", at(EVERY, hours=3))

    assert outcome.events == ("OrderCancelled", "RefundDecided")
    assert outcome.recorded[0].data["clause"] == "kiyomi/subscription-dispatch-final"


def test_kiyomi_cancel_within_5_minutes_rules_the_checkout_order_that_starts_a_subscription(
    shop: Shop,
) -> None:
    # Issue 11, ruling 10: the first order is placed at checkout like any other order.
    assert subscribe(shop).ok
    placed = shop.order("o1").placed
    assert placed.cancellable_until == T0 + timedelta(minutes=5)
    assert placed.cancellation_clause == "kiyomi/cancel-within-5-minutes"

    late = shop.handle("cancel_order", "o1", at(minutes=5) + timedelta(seconds=1))

    assert refused(late) == "cancellation_window_closed"


def test_kiyomi_cancel_within_5_minutes_cancels_the_checkout_order_in_time(shop: Shop) -> None:
    assert subscribe(shop).ok

    outcome = shop.handle("cancel_order", "o1", at(minutes=5))

    assert outcome.events == ("OrderCancelled", "RefundDecided")
    assert outcome.recorded[0].data["clause"] == "kiyomi/cancel-within-5-minutes"


def test_kiyomi_subscription_dispatch_final_no_cancelling_after_dispatch(shop: Shop) -> None:
    assert subscribe(shop).ok
    assert shop.handle("renew_subscription", "o2", at(EVERY), subscription_id="s1").ok
    assert shop.handle("dispatch_order", "o2", at(EVERY, hours=1)).ok

    assert refused(shop.handle("cancel_order", "o2", at(EVERY, hours=2))) == "illegal_transition"


def test_kiyomi_subscription_returns_standard_conditions(shop: Shop) -> None:
    assert subscribe(shop).ok
    assert shop.handle("dispatch_order", "o1", DISPATCHED).ok
    assert shop.handle("confirm_delivery", "o1", DELIVERED).ok

    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "opened")]).events == ("ReturnRejected",)
    assert shop.case("r1").inspection[0].clause == "kiyomi/unused-unopened-undamaged"


def test_kiyomi_subscription_returns_standard_refund_after_inspection(shop: Shop) -> None:
    assert subscribe(shop).ok
    assert shop.handle("dispatch_order", "o1", DISPATCHED).ok
    assert shop.handle("confirm_delivery", "o1", DELIVERED).ok

    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")]).ok

    refund = shop.refund("r1")
    assert refund.amount == SERUM
    assert refund.clauses == (
        "kiyomi/unused-unopened-undamaged",
        "kiyomi/refund-within-10-business-days",
    )


def test_kiyomi_every_clause_is_encoded_out_of_scope_or_tested() -> None:
    assert coverage_problems("kiyomi", sys.modules[__name__]) == []
