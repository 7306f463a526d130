"""Allegra K (seed 001): each clause of lifecycle/policies/allegra-k.toml, through the service."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.support import at

from .clauses import coverage_problems
from .shop import (
    DELIVERED,
    DISPATCHED,
    RECEIVED,
    Shop,
    adjustments,
    declined,
    line,
    only_event,
    refused,
)

DRESS = 2599
"""A dress's price in cents ($25.99)."""
TOP = 1899
"""A top's price in cents ($18.99)."""
SHIPPING = 499
"""What the customer paid for shipping (the seed names no rates, so the order states it)."""
LABEL_OR_CREDIT = 699
"""The seed's "$6.99": deducted for a later US label, paid toward a Canada/Japan return."""
REVIEW_OVER = 20000
"""The placeholder review threshold in allegra-k.toml ($200.00; the seed names no amount)."""


@pytest.fixture
def shop() -> Iterator[Shop]:
    shop = Shop("allegra-k")
    yield shop
    shop.close()


def dresses(shop: Shop, country: str = "US", **place: Any) -> None:
    """A delivered order of three dresses, so several return packages can be sent without the
    $6.99 credits reaching the order's total (refunds never exceed what was paid)."""
    shop.delivered(line("l1", DRESS, 3), country=country, shipping_fee=SHIPPING, **place)


def first_package_sent(shop: Shop) -> None:
    """The first return package of the order: one dress, refunded."""
    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")]).ok


LATER = {"when": at(11), "received": at(14), "inspected": at(14, hours=1)}
"""Times for a second package, after the first was inspected."""


def second_package(
    shop: Shop,
    *,
    reason: str = "changed_mind",
    method: str,
    postage: int | None = None,
    found: str = "unopened",
) -> None:
    """The second return package: the other dress, found `found`."""
    assert shop.request("r2", {"l1": 1}, reason=reason, method=method, when=LATER["when"]).ok
    assert shop.send_back(
        "r2",
        [("l1", 1, found)],
        postage=postage,
        received=LATER["received"],
        inspected=LATER["inspected"],
    ).ok


# -- orders -------------------------------------------------------------------------------------


def test_allegra_k_amounts_in_usd_refuses_other_currencies(shop: Shop) -> None:
    outcome = shop.place(line("l1", DRESS), country="JP", currency="JPY", shipping_fee=SHIPPING)

    assert refused(outcome) == "unsupported_currency"
    assert outcome.error is not None
    assert "allegra-k/amounts-in-usd" in outcome.error["message"]


# -- window, condition, exclusions --------------------------------------------------------------


def test_allegra_k_return_within_30_days_of_receipt_accepts_day_30(shop: Shop) -> None:
    dresses(shop)

    assert shop.request("r1", {"l1": 1}, when=DELIVERED + timedelta(days=30)).ok
    assert "allegra-k/return-within-30-days-of-receipt" in shop.terms("r1").clauses


def test_allegra_k_return_within_30_days_of_receipt_declines_day_31(shop: Shop) -> None:
    dresses(shop)

    outcome = shop.request("r1", {"l1": 1}, when=DELIVERED + timedelta(days=31))

    assert declined(outcome) == (
        "return_window_closed",
        "allegra-k/return-within-30-days-of-receipt",
    )


def test_allegra_k_new_condition_with_tags_refuses_worn_items(shop: Shop) -> None:
    dresses(shop)
    assert shop.request("r1", {"l1": 2}).ok

    assert shop.send_back("r1", [("l1", 1, "opened"), ("l1", 1, "used")]).ok

    refund = shop.refund("r1")
    assert refund.amount == DRESS  # the tried-on dress; the worn one is not refunded
    assert refund.lines[0].clause == "allegra-k/new-condition-with-tags"
    assert [(r.condition.value, r.accepted) for r in shop.case("r1").inspection] == [
        ("opened", True),
        ("used", False),
    ]


def test_allegra_k_quality_or_allegra_k_responsibility_accepts_defective_units(
    shop: Shop,
) -> None:
    dresses(shop)
    assert shop.request("r1", {"l1": 1}, reason="defective", method="prepaid_label").ok
    terms = shop.terms("r1")
    assert terms.fault.value == "merchant"
    assert "allegra-k/quality-or-allegra-k-responsibility" in terms.clauses

    assert shop.send_back("r1", [("l1", 1, "defective")]).ok

    refund = shop.refund("r1")
    assert refund.amount == DRESS
    assert refund.lines[0].clause == "allegra-k/quality-or-allegra-k-responsibility"


def test_allegra_k_quality_or_allegra_k_responsibility_still_refuses_worn_items(
    shop: Shop,
) -> None:
    dresses(shop)
    assert shop.request("r1", {"l1": 1}, reason="wrong_item").ok

    assert shop.send_back("r1", [("l1", 1, "used")]).events == ("ReturnRejected",)


@pytest.mark.parametrize("category", ["bodysuits", "tights", "socks", "jewelry", "Intimates"])
def test_allegra_k_non_returnable_categories_are_declined(shop: Shop, category: str) -> None:
    shop.delivered(line("l1", TOP, category=category), shipping_fee=SHIPPING)

    outcome = shop.request("r1", {"l1": 1})

    assert declined(outcome) == ("not_returnable", "allegra-k/non-returnable-categories")


@pytest.mark.parametrize("mark", ["final_sale", "free_gift"])
def test_allegra_k_marked_items_and_free_gifts_are_declined(shop: Shop, mark: str) -> None:
    shop.delivered(line("l1", DRESS), line("l2", TOP, **{mark: True}), shipping_fee=SHIPPING)

    assert declined(shop.request("r1", {"l2": 1})) == (
        "not_returnable",
        "allegra-k/marked-items-and-free-gifts",
    )
    # Beside a returnable line, the marked one is declined on its own (issue 11, ruling 2).
    outcome = shop.request("r2", {"l1": 1, "l2": 1})
    assert outcome.ok
    assert [line.line_id for line in shop.case("r2").request.lines] == ["l1"]
    [kept] = only_event(outcome, "ReturnAuthorized").data["declined_lines"]
    assert (kept["line_id"], kept["clause"]) == ("l2", "allegra-k/marked-items-and-free-gifts")


def test_allegra_k_sets_whole_declines_part_of_a_set(shop: Shop) -> None:
    shop.delivered(
        line("top", TOP, bundle="set-1"), line("skirt", DRESS, bundle="set-1"), shipping_fee=0
    )

    outcome = shop.request("r1", {"top": 1})

    assert declined(outcome) == ("partial_bundle", "allegra-k/sets-whole")


def set_with_socks(shop: Shop) -> None:
    """A delivered set of a top and socks (a non-returnable category), and a dress."""
    shop.delivered(
        line("top", TOP, bundle="set-1"),
        line("socks", 0, category="socks", bundle="set-1"),
        line("dress", DRESS),
        shipping_fee=0,
    )


def test_allegra_k_sets_whole_a_set_with_socks_asked_whole_is_declined_for_the_socks(
    shop: Shop,
) -> None:
    # The socks cannot come back, so the set cannot come back whole: the customer is told so,
    # not that the socks were left out of the request.
    set_with_socks(shop)

    outcome = shop.request("r1", {"top": 1, "socks": 1})

    assert declined(outcome) == ("not_returnable", "allegra-k/non-returnable-categories")
    message = only_event(outcome, "ReturnDeclined").data["message"]
    assert "socks" in message
    assert "asked" not in message


def test_allegra_k_sets_whole_the_rest_of_a_set_with_socks_is_declined_for_the_socks(
    shop: Shop,
) -> None:
    set_with_socks(shop)

    outcome = shop.request("r1", {"top": 1})

    assert declined(outcome) == ("not_returnable", "allegra-k/non-returnable-categories")
    message = only_event(outcome, "ReturnDeclined").data["message"]
    assert "line socks (sku-socks) cannot be returned" in message


def test_allegra_k_sets_whole_a_set_with_socks_beside_a_dress_declines_the_set_line_by_line(
    shop: Shop,
) -> None:
    set_with_socks(shop)

    outcome = shop.request("r1", {"dress": 1, "top": 1, "socks": 1})

    data = only_event(outcome, "ReturnAuthorized").data
    assert [line["line_id"] for line in data["request"]["lines"]] == ["dress"]
    declined_lines = {d["line_id"]: d for d in data["declined_lines"]}
    assert {k: (d["code"], d["clause"]) for k, d in declined_lines.items()} == {
        "top": ("not_returnable", "allegra-k/non-returnable-categories"),
        "socks": ("not_returnable", "allegra-k/non-returnable-categories"),
    }
    assert "package set-1 comes back whole" in declined_lines["top"]["message"]
    assert "line socks (sku-socks) cannot be returned" in declined_lines["top"]["message"]


def test_allegra_k_sets_whole_refunds_a_whole_set_or_nothing(shop: Shop) -> None:
    shop.delivered(
        line("top", TOP, bundle="set-1"), line("skirt", DRESS, bundle="set-1"), shipping_fee=0
    )
    assert shop.request("r1", {"top": 1, "skirt": 1}).ok

    outcome = shop.send_back("r1", [("top", 1, "opened"), ("skirt", 1, "used")])

    assert outcome.events == ("ReturnRejected",)
    assert [(r.line_id, r.clause) for r in shop.case("r1").inspection] == [
        ("top", "allegra-k/sets-whole"),
        ("skirt", "allegra-k/sets-whole"),
    ]


def test_allegra_k_no_exchanges_declines_an_exchange(shop: Shop) -> None:
    dresses(shop)

    outcome = shop.request("r1", {"l1": 1}, resolution="exchange", exchange_sku="dress-m")

    assert declined(outcome) == ("exchange_not_offered", "allegra-k/no-exchanges")


def test_allegra_k_return_request_required_an_unrequested_parcel_is_refused(shop: Shop) -> None:
    dresses(shop)
    version = shop.order().version

    outcome = shop.handle("receive_return", "o1", RECEIVED, return_id="unannounced")

    assert refused(outcome) == "unknown_return"
    assert shop.order().version == version  # nothing was written


# -- return shipping ----------------------------------------------------------------------------


def test_allegra_k_us_first_return_free_with_the_prepaid_label(shop: Shop) -> None:
    dresses(shop)
    assert shop.request("r1", {"l1": 1}, method="prepaid_label").ok
    assert shop.terms("r1").shipping.clause == "allegra-k/us-first-return-free"

    assert shop.send_back("r1", [("l1", 1, "unopened")]).ok

    refund = shop.refund("r1")
    assert refund.amount == DRESS
    assert "label_fee" not in adjustments(refund)


def test_allegra_k_us_later_returns_paid_deducts_699_for_the_label(shop: Shop) -> None:
    dresses(shop)
    first_package_sent(shop)

    second_package(shop, method="prepaid_label")

    refund = shop.refund("r2")
    assert refund.amount == DRESS - LABEL_OR_CREDIT
    assert adjustments(refund)["label_fee"] == (-LABEL_OR_CREDIT, "allegra-k/us-later-returns-paid")
    assert "allegra-k/us-later-returns-paid" in refund.clauses


def test_allegra_k_us_later_returns_paid_by_the_customer_on_their_own(shop: Shop) -> None:
    dresses(shop)
    first_package_sent(shop)

    second_package(shop, method="own_carrier", postage=850)

    refund = shop.refund("r2")
    assert refund.amount == DRESS  # the postage the customer paid is theirs
    assert shop.terms("r2").shipping.clause == "allegra-k/us-later-returns-paid"


def test_allegra_k_us_quality_free_on_a_later_label(shop: Shop) -> None:
    dresses(shop)
    first_package_sent(shop)

    second_package(shop, reason="damaged", method="prepaid_label", found="damaged")

    refund = shop.refund("r2")
    assert refund.amount == DRESS  # no $6.99: the damage is Allegra K's responsibility
    assert shop.terms("r2").shipping.clause == "allegra-k/us-quality-free"


def test_allegra_k_us_quality_free_pays_back_postage(shop: Shop) -> None:
    dresses(shop)
    postage = 1150

    assert shop.request("r1", {"l1": 1}, reason="wrong_item", method="own_carrier").ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], postage=postage).ok

    refund = shop.refund("r1")
    assert refund.amount == DRESS + postage
    assert adjustments(refund)["return_postage"] == (postage, "allegra-k/us-quality-free")


def test_allegra_k_us_quality_free_pays_no_postage_back_on_the_shops_own_label(shop: Shop) -> None:
    dresses(shop)

    assert shop.request("r1", {"l1": 1}, reason="damaged", method="prepaid_label").ok
    # A warehouse that writes down a postage figure anyway does not make the customer owed it.
    assert shop.send_back("r1", [("l1", 1, "damaged")], postage=1200).ok

    refund = shop.refund("r1")
    assert refund.amount == DRESS
    assert "return_postage" not in adjustments(refund)


@pytest.mark.parametrize("country", ["CA", "JP"])
def test_allegra_k_ca_jp_first_return_699_paid_with_the_refund(shop: Shop, country: str) -> None:
    dresses(shop, country)

    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], postage=1300).ok

    refund = shop.refund("r1")
    assert refund.amount == DRESS + LABEL_OR_CREDIT  # $6.99 flat, whatever the postage was
    assert adjustments(refund)["return_shipping_credit"] == (
        LABEL_OR_CREDIT,
        "allegra-k/ca-jp-first-return-699",
    )


CHEAP_TOP = 400
"""A cheap item ($4.00), cheaper than the $6.99 credit."""


def test_allegra_k_ca_jp_first_return_699_paid_beside_the_price_of_a_cheap_free_shipping_order(
    shop: Shop,
) -> None:
    # Issue 11, ruling 1: the $6.99 repays the customer's postage; it sits outside the cap on
    # goods and shipping, so a $4.00 item with free shipping comes back as $4.00 + $6.99.
    shop.delivered(line("l1", CHEAP_TOP, 2), country="CA", shipping_fee=0)

    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], postage=900).ok

    refund = shop.refund("r1")
    assert (refund.amount, refund.reimbursed) == (CHEAP_TOP + LABEL_OR_CREDIT, LABEL_OR_CREDIT)
    assert "cap" not in adjustments(refund)


def test_allegra_k_ca_jp_later_returns_paid_full_price_after_a_reimbursed_first(
    shop: Shop,
) -> None:
    shop.delivered(line("l1", CHEAP_TOP, 2), country="CA", shipping_fee=0)
    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], postage=900).ok

    assert shop.request("r2", {"l1": 1}, when=LATER["when"]).ok
    sent = shop.send_back(
        "r2", [("l1", 1, "unopened")], received=LATER["received"], inspected=LATER["inspected"]
    )

    assert sent.ok
    refund = shop.refund("r2")
    assert (refund.amount, refund.reimbursed) == (CHEAP_TOP, 0)  # not cut by the first's $6.99
    order = shop.order()
    assert (order.decided_goods_total, order.reimbursed_total) == (2 * CHEAP_TOP, LABEL_OR_CREDIT)


def test_allegra_k_ca_jp_later_returns_paid_by_the_customer(shop: Shop) -> None:
    dresses(shop, "JP")
    first_package_sent(shop)

    second_package(shop, method="own_carrier", postage=1300)

    refund = shop.refund("r2")
    assert refund.amount == DRESS
    assert shop.terms("r2").shipping.clause == "allegra-k/ca-jp-later-returns-paid"


def test_allegra_k_ca_jp_quality_699_on_a_later_package(shop: Shop) -> None:
    dresses(shop, "CA")
    first_package_sent(shop)

    second_package(shop, reason="defective", method="own_carrier", postage=1300, found="defective")

    refund = shop.refund("r2")
    assert refund.amount == DRESS + LABEL_OR_CREDIT
    assert adjustments(refund)["return_shipping_credit"] == (
        LABEL_OR_CREDIT,
        "allegra-k/ca-jp-quality-699",
    )


def test_allegra_k_return_label_us_only_is_declined_in_canada(shop: Shop) -> None:
    dresses(shop, "CA")

    outcome = shop.request("r1", {"l1": 1}, method="prepaid_label")

    assert declined(outcome) == ("method_not_offered", "allegra-k/return-label-us-only")


def test_allegra_k_two_ways_to_return_no_pickup(shop: Shop) -> None:
    dresses(shop)

    outcome = shop.request("r1", {"l1": 1}, method="pickup")

    assert declined(outcome) == ("method_not_offered", "allegra-k/two-ways-to-return")


@pytest.mark.parametrize("country", ["DE", "FR"])
def test_allegra_k_eu_customer_pays_return_shipping(shop: Shop, country: str) -> None:
    dresses(shop, country)

    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], postage=900).ok

    assert shop.refund("r1").amount == DRESS
    assert shop.terms("r1").shipping.clause == "allegra-k/eu-customer-pays"


def test_allegra_k_other_fees_returned_postage_of_an_eu_quality_return(shop: Shop) -> None:
    dresses(shop, "DE")
    postage = 900

    assert shop.request("r1", {"l1": 1}, reason="not_as_described").ok
    assert shop.send_back("r1", [("l1", 1, "opened")], postage=postage).ok

    refund = shop.refund("r1")
    assert refund.amount == DRESS + postage
    assert adjustments(refund)["return_postage"] == (postage, "allegra-k/other-fees-returned")


@pytest.mark.parametrize("country", ["GB", "US"])
def test_allegra_k_return_on_your_own_the_customer_pays_postage(shop: Shop, country: str) -> None:
    # In the US too: the free first return is the prepaid label; shipping it yourself is paid.
    dresses(shop, country)

    assert shop.request("r1", {"l1": 1}).ok
    assert shop.send_back("r1", [("l1", 1, "unopened")], postage=900).ok

    assert shop.refund("r1").amount == DRESS
    assert shop.terms("r1").shipping.clause == "allegra-k/return-on-your-own"


# -- refunds ------------------------------------------------------------------------------------


def test_allegra_k_refund_within_7_days_of_the_return_arriving(shop: Shop) -> None:
    dresses(shop)
    first_package_sent(shop)

    refund = shop.refund("r1")
    assert refund.due_by == RECEIVED.date() + timedelta(days=7)
    assert "allegra-k/refund-within-7-days" in refund.clauses


def test_allegra_k_original_shipping_not_refunded_even_for_a_defect(shop: Shop) -> None:
    dresses(shop)

    assert shop.request("r1", {"l1": 3}, reason="defective", method="prepaid_label").ok
    assert shop.send_back("r1", [("l1", 3, "defective")]).ok

    refund = shop.refund("r1")
    assert refund.amount == 3 * DRESS  # everything but the shipping paid
    assert adjustments(refund)["original_shipping_kept"] == (
        0,
        "allegra-k/original-shipping-not-refunded",
    )
    assert "allegra-k/original-shipping-not-refunded" in refund.clauses


def test_allegra_k_lost_parcel_refunded_in_full_with_shipping(shop: Shop) -> None:
    assert shop.place(line("l1", DRESS, 2), shipping_fee=SHIPPING).ok
    assert shop.handle("dispatch_order", "o1", DISPATCHED).ok

    assert shop.handle("report_lost", "o1", at(9)).events == ("ParcelLost", "RefundDecided")

    refund = shop.order_refund()
    assert refund.amount == 2 * DRESS + SHIPPING
    assert [line.clause for line in refund.lines] == ["allegra-k/lost-parcel-refunded"]
    assert adjustments(refund)["original_shipping"] == (SHIPPING, "allegra-k/lost-parcel-refunded")


# -- manual review ------------------------------------------------------------------------------


def test_allegra_k_review_return_amount_over_the_threshold_waits_for_a_person(
    shop: Shop,
) -> None:
    units = REVIEW_OVER // DRESS + 1  # the fewest dresses worth more than the threshold
    shop.delivered(line("l1", DRESS, units), shipping_fee=SHIPPING)

    outcome = shop.request("r1", {"l1": units}, method="prepaid_label")

    assert outcome.events == ("ReturnHeldForReview",)
    assert outcome.recorded[0].data["triggers"] == ["allegra-k/review-return-amount"]
    assert shop.case("r1").state.value == "awaiting_review"


def test_allegra_k_review_return_amount_at_the_threshold_goes_ahead(shop: Shop) -> None:
    price = REVIEW_OVER // 8  # eight units worth exactly the threshold: not over it
    shop.delivered(line("l1", price, 8), shipping_fee=SHIPPING)

    assert shop.request("r1", {"l1": 8}, method="prepaid_label").events == ("ReturnAuthorized",)


def test_allegra_k_review_return_amount_declined_by_the_reviewer(shop: Shop) -> None:
    units = REVIEW_OVER // DRESS + 1
    shop.delivered(line("l1", DRESS, units), shipping_fee=SHIPPING)
    assert shop.request("r1", {"l1": units}, method="prepaid_label").events == (
        "ReturnHeldForReview",
    )

    outcome = shop.handle(
        "review_return", "o1", at(8), return_id="r1", decision="decline", note="no reply"
    )

    assert declined(outcome) == ("review_declined", "orderlog/review-declined")


def test_allegra_k_review_billing_shipping_countries_differ(shop: Shop) -> None:
    dresses(shop, billing_address={"country": "CA"}, shipping_address={"country": "US"})

    held = shop.request("r1", {"l1": 1}, method="prepaid_label")
    assert held.events == ("ReturnHeldForReview",)
    assert held.recorded[0].data["triggers"] == ["allegra-k/review-billing-shipping"]

    approved = shop.handle(
        "review_return", "o1", at(8), return_id="r1", decision="approve", actor="agent-7"
    )
    assert approved.events == ("ReturnApproved",)
    assert approved.recorded[0].metadata["actor"] == "agent-7"

    # Approved on the terms proposed when it was held: the free first US label.
    assert shop.send_back("r1", [("l1", 1, "unopened")]).ok
    assert shop.refund("r1").amount == DRESS
    assert shop.terms("r1").shipping.clause == "allegra-k/us-first-return-free"


def test_allegra_k_every_clause_is_encoded_out_of_scope_or_tested() -> None:
    assert coverage_problems("allegra-k", sys.modules[__name__]) == []


# -- what counts as a return package ---------------------------------------------------------


def test_allegra_k_us_first_return_free_after_a_missing_item_claim(shop: Shop) -> None:
    dresses(shop)
    assert shop.request("c1", {"l1": 1}, reason="missing_item").ok  # nothing is sent back

    assert shop.request("r1", {"l1": 1}, method="prepaid_label", when=at(8)).ok

    assert shop.terms("r1").shipping.clause == "allegra-k/us-first-return-free"


def test_allegra_k_us_first_return_free_after_a_return_declined_on_review(shop: Shop) -> None:
    dresses(shop, billing_address={"country": "CA"}, shipping_address={"country": "US"})
    assert shop.request("r1", {"l1": 1}, method="prepaid_label").events == ("ReturnHeldForReview",)
    declined_on_review = shop.handle(
        "review_return", "o1", at(8), return_id="r1", decision="decline"
    )
    assert declined_on_review.events == ("ReturnDeclined",)

    assert shop.request("r2", {"l1": 1}, method="prepaid_label", when=at(9)).ok

    assert shop.terms("r2").shipping.clause == "allegra-k/us-first-return-free"
