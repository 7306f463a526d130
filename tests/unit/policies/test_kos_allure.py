"""KOS Allure (seed 000): each clause of lifecycle/policies/kos-allure.toml, through the service."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta

import pytest

from tests.support import at

from .clauses import coverage_problems
from .shop import DELIVERED, DISPATCHED, Shop, declined, line, refused

SERUM = 2800
"""A serum's price in cents ($28.00)."""
TONER = 1500
"""A toner's price in cents ($15.00)."""
US_SHIPPING = 500
"""The seed's US shipping: "5 USD per order"."""
FREE_OVER = 3000
"""The seed's threshold: free shipping "when purchased over 30 USD"."""


@pytest.fixture
def shop() -> Iterator[Shop]:
    shop = Shop("kos-allure")
    yield shop
    shop.close()


# -- placing orders -----------------------------------------------------------------------------


def test_kos_allure_us_shipping_5_free_over_30_charges_5_at_exactly_30(shop: Shop) -> None:
    goods = 2 * TONER
    assert goods == FREE_OVER  # "over 30 USD" is more than 30.00, so 30.00 still pays

    assert shop.place(line("l1", TONER, 2)).ok

    placed = shop.order().placed
    assert placed.shipping_fee == US_SHIPPING
    assert placed.shipping_clause == "kos-allure/us-shipping-5-free-over-30"
    assert placed.paid_total == goods + US_SHIPPING


def test_kos_allure_us_shipping_5_free_over_30_ships_free_over_30(shop: Shop) -> None:
    assert shop.place(line("l1", SERUM), line("l2", TONER)).ok

    placed = shop.order().placed
    assert placed.shipping_fee == 0
    assert placed.shipping_clause == "kos-allure/us-shipping-5-free-over-30"
    assert placed.paid_total == SERUM + TONER


def test_kos_allure_us_shipping_5_free_over_30_counts_goods_after_the_discount(
    shop: Shop,
) -> None:
    discount = SERUM + TONER - FREE_OVER + 100  # brings the goods to $29.00
    assert shop.place(line("l1", SERUM), line("l2", TONER), discount=discount).ok

    placed = shop.order().placed
    assert placed.shipping_fee == US_SHIPPING
    assert placed.paid_total == SERUM + TONER - discount + US_SHIPPING


def test_kos_allure_orders_abroad_need_the_shipping_fee_charged(shop: Shop) -> None:
    # kos-allure/ships-internationally is out of scope: the seed gives no rates abroad.
    assert refused(shop.place(line("l1", SERUM), country="FR")) == "invalid_command"
    assert shop.service.load("o1") is None

    dhl_rate = 1800
    assert shop.place(line("l1", SERUM), country="FR", shipping_fee=dhl_rate).ok
    assert shop.order().placed.paid_total == SERUM + dhl_rate


def test_kos_allure_usd_only_refuses_other_currencies(shop: Shop) -> None:
    outcome = shop.place(line("l1", SERUM), currency="EUR")

    assert refused(outcome) == "unsupported_currency"
    assert outcome.error is not None
    assert "kos-allure/usd-only" in outcome.error["message"]
    assert shop.service.load("o1") is None


@pytest.mark.parametrize("method", ["visa", "mastercard", "amex", "paypal"])
def test_kos_allure_visa_mastercard_amex_paypal_are_accepted(shop: Shop, method: str) -> None:
    assert shop.place(line("l1", SERUM), payment_method=method).ok
    assert shop.order().placed.payment_method == method


def test_kos_allure_visa_mastercard_amex_paypal_refuses_other_methods(shop: Shop) -> None:
    outcome = shop.place(line("l1", SERUM), payment_method="discover")

    assert refused(outcome) == "unsupported_payment_method"
    assert outcome.error is not None
    assert "kos-allure/visa-mastercard-amex-paypal" in outcome.error["message"]


# -- returns ------------------------------------------------------------------------------------


def test_kos_allure_return_within_14_days_of_purchase_gives_a_full_refund(shop: Shop) -> None:
    discount = 300
    shop.delivered(line("l1", SERUM), line("l2", TONER), discount=discount)
    serum_paid = SERUM - discount * SERUM // (SERUM + TONER)  # its share of the discount

    last_day = at(14)  # placed on T0; day 14 after the purchase is still inside
    assert shop.request("r1", {"l1": 1}, when=last_day).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], received=at(17), inspected=at(17)).ok

    refund = shop.refund("r1")
    assert refund.amount == serum_paid
    assert refund.adjustments == ()  # full refund: nothing deducted
    assert "kos-allure/return-within-14-days-of-purchase" in shop.terms("r1").clauses


def test_kos_allure_return_within_14_days_of_purchase_closes_on_day_15(shop: Shop) -> None:
    # Delivered late: the window still counts from the purchase, not the delivery.
    shop.delivered(line("l1", SERUM), delivered_at=at(12))

    outcome = shop.request("r1", {"l1": 1}, when=at(15))

    assert declined(outcome) == (
        "return_window_closed",
        "kos-allure/return-within-14-days-of-purchase",
    )
    assert shop.case("r1").refund is None


def test_kos_allure_unopened_original_packaging_refunds_only_unopened_units(shop: Shop) -> None:
    shop.delivered(line("l1", TONER, 2))
    assert shop.request("r1", {"l1": 2}).ok

    outcome = shop.send_back("r1", [("l1", 1, "unopened"), ("l1", 1, "opened")])

    assert outcome.events == ("ReturnInspected", "RefundDecided")
    refund = shop.refund("r1")
    assert refund.amount == TONER
    assert [(r.quantity, r.clause) for r in refund.lines] == [
        (1, "kos-allure/unopened-original-packaging")
    ]
    rejected = [r for r in shop.case("r1").inspection if not r.accepted]
    assert [(r.condition.value, r.clause) for r in rejected] == [
        ("opened", "kos-allure/unopened-original-packaging")
    ]


def test_kos_allure_unopened_original_packaging_rejects_an_opened_return(shop: Shop) -> None:
    shop.delivered(line("l1", SERUM))
    assert shop.request("r1", {"l1": 1}).ok

    outcome = shop.send_back("r1", [("l1", 1, "opened")])

    assert outcome.events == ("ReturnRejected",)
    assert shop.case("r1").refund is None
    assert shop.case("r1").inspection[0].clause == "kos-allure/unopened-original-packaging"


def test_kos_allure_allergic_reaction_within_14_days_refunds_a_used_product(shop: Shop) -> None:
    # Ruling (issue 11.9): settled without a parcel back, once a person approves the report.
    shop.delivered(line("l1", SERUM))
    day_14_after_delivery = DELIVERED + timedelta(days=14)

    held = shop.request("r1", {"l1": 1}, reason="allergic_reaction", when=day_14_after_delivery)
    assert held.events == ("ReturnHeldForReview",)
    approved = shop.handle("review_return", "o1", at(18), return_id="r1", decision="approve")

    assert approved.events == ("ReturnApproved", "ClaimAccepted", "RefundDecided")
    refund = shop.refund("r1")
    assert refund.amount == SERUM
    assert refund.clauses[0] == "kos-allure/allergic-reaction-within-14-days"
    assert "kos-allure/allergic-reaction-within-14-days" in shop.terms("r1").clauses
    assert shop.terms("r1").returnless


def test_kos_allure_allergic_reaction_within_14_days_counts_from_delivery(shop: Shop) -> None:
    shop.delivered(line("l1", SERUM))
    day_15_after_delivery = DELIVERED + timedelta(days=15)

    outcome = shop.request("r1", {"l1": 1}, reason="allergic_reaction", when=day_15_after_delivery)

    assert declined(outcome) == (
        "return_window_closed",
        "kos-allure/allergic-reaction-within-14-days",
    )


def test_kos_allure_allergic_reaction_within_14_days_can_be_an_exchange(shop: Shop) -> None:
    shop.delivered(line("l1", SERUM))
    assert shop.request(
        "r1", {"l1": 1}, reason="allergic_reaction", resolution="exchange", exchange_sku="gentle"
    ).ok

    approved = shop.handle("review_return", "o1", at(9), return_id="r1", decision="approve")
    assert approved.events == ("ReturnApproved", "ClaimAccepted")
    shipped = shop.handle("ship_replacement", "o1", at(11), return_id="r1")

    assert shipped.events == ("ReplacementShipped",)
    assert shipped.recorded[0].data["skus"] == ["gentle"]
    assert shop.case("r1").refund is None
    assert "kos-allure/allergic-reaction-within-14-days" in shop.terms("r1").clauses


def test_kos_allure_exchange_for_another_product_ships_it_instead_of_refunding(
    shop: Shop,
) -> None:
    shop.delivered(line("l1", TONER))
    assert shop.request("r1", {"l1": 1}, resolution="exchange", exchange_sku="toner-b").ok
    assert "kos-allure/exchange-for-another-product" in shop.terms("r1").clauses

    assert shop.send_back("r1", [("l1", 1, "unopened")]).events == ("ReturnInspected",)
    shipped = shop.handle("ship_replacement", "o1", at(11), return_id="r1")

    assert shipped.events == ("ReplacementShipped",)
    assert shop.order().decided_total == 0


def test_kos_allure_exchange_for_another_product_needs_the_unopened_product(shop: Shop) -> None:
    shop.delivered(line("l1", TONER))
    assert shop.request("r1", {"l1": 1}, resolution="exchange", exchange_sku="toner-b").ok

    assert shop.send_back("r1", [("l1", 1, "opened")]).events == ("ReturnRejected",)


def test_kos_allure_lost_parcel_refunded_in_full_with_shipping(shop: Shop) -> None:
    assert shop.place(line("l1", TONER)).ok  # under $30: shipping is charged
    assert shop.handle("dispatch_order", "o1", DISPATCHED).ok

    outcome = shop.handle("report_lost", "o1", at(9))

    assert outcome.events == ("ParcelLost", "RefundDecided")
    refund = shop.order_refund()
    assert refund.amount == TONER + US_SHIPPING
    assert refund.clauses == ("kos-allure/lost-parcel-refunded",)


def test_kos_allure_every_clause_is_encoded_out_of_scope_or_tested() -> None:
    assert coverage_problems("kos-allure", sys.modules[__name__]) == []
