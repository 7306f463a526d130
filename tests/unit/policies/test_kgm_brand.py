"""KGM BRAND (seed 002): each clause of lifecycle/policies/kgm-brand.toml, through the service."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support import at

from .clauses import coverage_problems
from .shop import DELIVERED, DISPATCHED, Shop, adjustments, declined, line

BAG = 4200
"""A bag's price in minor units."""
CAP = 1500
"""Return-shipping cap for KGM BRAND errors: a placeholder in kgm-brand.toml (the seed says
"up to a certain amount" and names none), so it never caps."""
PICKUP_FEE = 500
"""Pickup fee per package: a placeholder in kgm-brand.toml (the seed says "is /package"), so it
is never deducted."""
SHIPPING = 800
"""What the customer paid for shipping (the seed's rates are on a linked page)."""


@pytest.fixture
def shop() -> Iterator[Shop]:
    shop = Shop("kgm-brand")
    yield shop
    shop.close()


def two_bags(shop: Shop, **delivered: Any) -> None:
    shop.delivered(line("l1", BAG, 2), shipping_fee=SHIPPING, **delivered)


# -- returns at any time ------------------------------------------------------------------------


def test_kgm_brand_returns_any_time_full_refund_a_year_later(shop: Shop) -> None:
    two_bags(shop)
    a_year_later = DELIVERED + timedelta(days=365)

    assert shop.request("r1", {"l1": 1}, when=a_year_later).ok
    assert "kgm-brand/returns-any-time-full-refund" in shop.terms("r1").clauses
    assert shop.send_back(
        "r1",
        [("l1", 1, "used")],
        received=a_year_later + timedelta(days=5),
        inspected=a_year_later + timedelta(days=5),
    ).ok

    refund = shop.refund("r1")
    assert refund.amount == BAG  # full amount, whatever state the bag is in
    assert refund.lines[0].clause == "kgm-brand/returns-any-time-full-refund"


def test_kgm_brand_returns_any_time_full_refund_sets_no_closing_date(shop: Shop) -> None:
    two_bags(shop)

    assert shop.order().returns_close_on is None


# -- missing items ------------------------------------------------------------------------------


def test_kgm_brand_missing_item_video_within_24_hours_refunds_the_claim_at_once(
    shop: Shop,
) -> None:
    two_bags(shop)
    just_in_time = DELIVERED + timedelta(hours=24)

    outcome = shop.request(
        "r1",
        {"l1": 1},
        reason="missing_item",
        method="own_carrier",
        when=just_in_time,
        evidence={"unboxing_video": True},
    )

    assert outcome.events == ("ReturnAuthorized", "ClaimAccepted", "RefundDecided")
    refund = shop.refund("r1")
    assert refund.amount == BAG
    assert refund.lines[0].clause == "kgm-brand/missing-item-video-within-24-hours"


def test_kgm_brand_missing_item_video_within_24_hours_needs_the_video(shop: Shop) -> None:
    two_bags(shop)

    outcome = shop.request(
        "r1", {"l1": 1}, reason="missing_item", when=DELIVERED + timedelta(hours=2)
    )

    assert declined(outcome) == (
        "evidence_required",
        "kgm-brand/missing-item-video-within-24-hours",
    )


def test_kgm_brand_missing_item_video_within_24_hours_declines_a_late_claim(shop: Shop) -> None:
    two_bags(shop)

    outcome = shop.request(
        "r1",
        {"l1": 1},
        reason="missing_item",
        when=DELIVERED + timedelta(hours=24, minutes=1),
        evidence={"unboxing_video": True},
    )

    assert declined(outcome) == (
        "claim_window_closed",
        "kgm-brand/missing-item-video-within-24-hours",
    )


# -- refunds ------------------------------------------------------------------------------------


def test_kgm_brand_refund_within_3_business_days_skips_the_weekend(shop: Shop) -> None:
    two_bags(shop)
    friday = at(4)
    assert friday.weekday() == 4

    assert shop.request("r1", {"l1": 1}, when=at(3, hours=1)).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], received=friday, inspected=friday).ok

    refund = shop.refund("r1")
    assert refund.due_by == friday.date() + timedelta(days=5)  # Mon, Tue, Wed after the weekend
    assert "kgm-brand/refund-within-3-business-days" in refund.clauses


# -- who pays the way back ----------------------------------------------------------------------


@pytest.mark.parametrize("reason", ["wrong_item", "damaged", "defective", "not_as_described"])
def test_kgm_brand_brand_error_is_the_shops_fault(shop: Shop, reason: str) -> None:
    two_bags(shop)

    assert shop.request("r1", {"l1": 1}, reason=reason).ok

    terms = shop.terms("r1")
    assert terms.fault.value == "merchant"
    assert "kgm-brand/brand-error" in terms.clauses


REVIEWED = at(8)


def approved(shop: Shop, return_id: str, when: datetime = REVIEWED) -> None:
    """A person approves a return held for review."""
    outcome = shop.handle(
        "review_return", "o1", when, return_id=return_id, decision="approve", note="checked"
    )
    assert outcome.events == ("ReturnApproved",), outcome.as_dict()


def test_kgm_brand_brand_error_return_shipping_capped_waits_for_a_person_the_cap_a_placeholder(
    shop: Shop,
) -> None:
    # Issue 11, ruling 7: the seed states no cap, so the placeholder routes the return to a
    # person and never caps.
    two_bags(shop)

    outcome = shop.request("r1", {"l1": 1}, reason="damaged")

    assert outcome.events == ("ReturnHeldForReview",)
    held = outcome.recorded[0].data
    assert held["triggers"] == ["kgm-brand/brand-error-return-shipping-capped"]
    assert "reimburse_cap 1500 is a placeholder" in held["message"]
    shipping = shop.terms("r1").shipping
    assert (shipping.reimburse_postage, shipping.reimburse_cap) == (True, None)


def test_kgm_brand_brand_error_return_shipping_capped_repays_the_postage_paid_once_approved(
    shop: Shop,
) -> None:
    two_bags(shop)
    postage = CAP + 800  # more than the placeholder: it does not cap

    assert shop.request("r1", {"l1": 1}, reason="damaged").events == ("ReturnHeldForReview",)
    approved(shop, "r1")
    assert shop.send_back("r1", [("l1", 1, "damaged")], postage=postage).ok

    refund = shop.refund("r1")
    assert refund.amount == BAG + postage
    found = adjustments(refund)
    assert found["return_postage"] == (postage, "kgm-brand/brand-error-return-shipping-capped")
    assert found["not_applied"] == (0, "kgm-brand/brand-error-return-shipping-capped")


def test_kgm_brand_customer_pays_return_shipping(shop: Shop) -> None:
    two_bags(shop)

    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], postage=700).ok

    refund = shop.refund("r1")
    assert refund.amount == BAG
    assert adjustments(refund) == {}  # no postage back, and no original shipping either
    assert shop.terms("r1").shipping.clause == "kgm-brand/customer-pays-return-shipping"


def test_kgm_brand_pickup_fee_per_package_is_a_placeholder_that_waits_for_a_person(
    shop: Shop,
) -> None:
    # Issue 11, ruling 7: "The pickup fee is /package" names no amount: nothing is deducted,
    # and a person settles the fee.
    two_bags(shop)

    outcome = shop.request("r1", {"l1": 2}, method="pickup")

    assert outcome.events == ("ReturnHeldForReview",)
    assert outcome.recorded[0].data["triggers"] == ["kgm-brand/pickup-fee-per-package"]
    assert shop.terms("r1").shipping.pickup_fee == 0


def test_kgm_brand_pickup_fee_per_package_is_never_deducted_as_a_placeholder(shop: Shop) -> None:
    two_bags(shop)
    assert shop.request("r1", {"l1": 2}, method="pickup").events == ("ReturnHeldForReview",)
    approved(shop, "r1")

    assert shop.send_back("r1", [("l1", 2, "unopened")]).ok

    refund = shop.refund("r1")
    assert refund.amount == 2 * BAG
    assert adjustments(refund) == {"not_applied": (0, "kgm-brand/pickup-fee-per-package")}
    [note] = [a.note for a in refund.adjustments]
    assert note == f"pickup_fee {PICKUP_FEE} is a placeholder: the seed states no amount"


def test_kgm_brand_free_pickup_when_our_fault(shop: Shop) -> None:
    two_bags(shop)

    assert shop.request("r1", {"l1": 1}, reason="damaged", method="pickup").ok
    assert shop.send_back("r1", [("l1", 1, "damaged")]).ok

    refund = shop.refund("r1")
    assert refund.amount == BAG
    assert "pickup_fee" not in adjustments(refund)
    assert shop.terms("r1").shipping.clause == "kgm-brand/free-pickup-when-our-fault"


def test_kgm_brand_has_no_return_label(shop: Shop) -> None:
    two_bags(shop)

    outcome = shop.request("r1", {"l1": 1}, method="prepaid_label")

    assert declined(outcome) == ("method_not_offered", "orderlog/no-rule-for-method")


# -- purchase protection ------------------------------------------------------------------------


def test_kgm_brand_not_as_described_with_shipping_repays_the_original_shipping(
    shop: Shop,
) -> None:
    two_bags(shop)

    held = shop.request("r1", {"l1": 1}, reason="not_as_described")  # the cap is a placeholder
    assert held.events == ("ReturnHeldForReview",)
    approved(shop, "r1")
    assert shop.send_back("r1", [("l1", 1, "opened")]).ok

    refund = shop.refund("r1")
    assert refund.amount == BAG + SHIPPING
    assert adjustments(refund)["original_shipping"] == (
        SHIPPING,
        "kgm-brand/not-as-described-with-shipping",
    )


def test_kgm_brand_not_as_described_with_shipping_repays_it_once(shop: Shop) -> None:
    two_bags(shop)
    assert shop.request("r1", {"l1": 1}, reason="not_as_described").events == (
        "ReturnHeldForReview",
    )
    approved(shop, "r1")
    assert shop.send_back("r1", [("l1", 1, "opened")]).ok

    assert shop.request("r2", {"l1": 1}, reason="not_as_described", when=at(11)).ok
    approved(shop, "r2", at(11, hours=1))
    assert shop.send_back("r2", [("l1", 1, "opened")], received=at(12), inspected=at(12)).ok

    assert shop.refund("r2").amount == BAG
    assert shop.order().decided_total == 2 * BAG + SHIPPING


def test_kgm_brand_missing_parcel_full_refund_with_shipping(shop: Shop) -> None:
    assert shop.place(line("l1", BAG, 2), shipping_fee=SHIPPING).ok
    assert shop.handle("dispatch_order", "o1", DISPATCHED).ok

    assert shop.handle("report_lost", "o1", at(9)).events == ("ParcelLost", "RefundDecided")

    refund = shop.order_refund()
    assert refund.amount == 2 * BAG + SHIPPING
    assert [line.clause for line in refund.lines] == ["kgm-brand/missing-parcel-full-refund"]
    assert adjustments(refund)["original_shipping"] == (
        SHIPPING,
        "kgm-brand/missing-parcel-full-refund",
    )


def test_kgm_brand_every_clause_is_encoded_out_of_scope_or_tested() -> None:
    assert coverage_problems("kgm-brand", sys.modules[__name__]) == []
