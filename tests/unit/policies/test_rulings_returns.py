"""Issue 11's return rulings on the shipped policies, through the service: faults beat
exclusions (ruling 3) and a claimed fault is re-checked at inspection (ruling 4).

Each test is named after the ruling and the clause it exercises."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lifecycle.events import ReturnDeclined
from tests.support import at
from tests.unit.builders import delivered, make_policy, request_return, when
from tests.unit.builders import line as builder_line

from .shop import Shop, adjustments, line, only_event

DRESS = 2599
TIGHTS = 900
LIPSTICK = 1800
SERUM = 3200
SHIPPING = 499
LABEL_FEE = 699
POSTAGE = 650
"""What the customer paid a carrier to send goods back."""


@pytest.fixture
def allegra() -> Iterator[Shop]:
    shop = Shop("allegra-k")
    yield shop
    shop.close()


@pytest.fixture
def kos() -> Iterator[Shop]:
    shop = Shop("kos-allure")
    yield shop
    shop.close()


@pytest.fixture
def kiyomi() -> Iterator[Shop]:
    shop = Shop("kiyomi")
    yield shop
    shop.close()


# -- ruling 3: faults beat exclusions -----------------------------------------------------------


def test_faults_beat_exclusions_allegra_k_non_returnable_categories_damaged_tights_come_back(
    allegra: Shop,
) -> None:
    allegra.delivered(line("l1", TIGHTS, category="tights"), shipping_fee=SHIPPING)

    assert allegra.request("r1", {"l1": 1}, reason="damaged", method="prepaid_label").ok
    # Tights out of their packet are "opened"; damaged ones are what was claimed.
    assert allegra.send_back("r1", [("l1", 1, "damaged")]).ok

    refund = allegra.refund("r1")
    assert refund.amount == TIGHTS
    assert [r.clause for r in refund.lines] == ["allegra-k/quality-or-allegra-k-responsibility"]


def test_faults_beat_exclusions_allegra_k_marked_items_and_free_gifts_a_wrong_final_sale_item(
    allegra: Shop,
) -> None:
    allegra.delivered(
        line("l1", DRESS, final_sale=True),
        line("l2", 0, free_gift=True),
        line("l3", DRESS),  # kept, so the postage paid back stays under the order's total
        shipping_fee=SHIPPING,
    )

    outcome = allegra.request("r1", {"l1": 1, "l2": 1}, reason="wrong_item", method="own_carrier")

    assert outcome.events == ("ReturnAuthorized",)
    assert allegra.send_back("r1", [("l1", 1, "opened"), ("l2", 1, "opened")], postage=800).ok
    refund = allegra.refund("r1")
    assert refund.amount == DRESS + 800
    assert adjustments(refund)["return_postage"] == (800, "allegra-k/us-quality-free")


def test_faults_beat_exclusions_allegra_k_non_returnable_categories_still_govern_change_of_mind(
    allegra: Shop,
) -> None:
    allegra.delivered(line("l1", TIGHTS, category="tights"), shipping_fee=SHIPPING)

    outcome = allegra.request("r1", {"l1": 1}, method="prepaid_label")

    assert outcome.events == ("ReturnDeclined",)
    assert only_event(outcome, "ReturnDeclined").data["clause"] == (
        "allegra-k/non-returnable-categories"
    )


def test_faults_beat_exclusions_kos_allure_orderlog_faulty_goods_taken_back_with_postage(
    kos: Shop,
) -> None:
    kos.delivered(line("l1", LIPSTICK, 2))  # one kept: the postage stays under the order total

    assert kos.request("r1", {"l1": 1}, reason="damaged").ok
    assert kos.send_back("r1", [("l1", 1, "damaged")], postage=POSTAGE).ok

    refund = kos.refund("r1")
    assert refund.amount == LIPSTICK + POSTAGE
    assert [r.clause for r in refund.lines] == ["orderlog/faulty-goods-taken-back"]
    assert adjustments(refund)["return_postage"] == (POSTAGE, "orderlog/faulty-goods-taken-back")
    assert kos.terms("r1").fault.value == "merchant"


def test_faults_beat_exclusions_kos_allure_unopened_original_packaging_does_not_reject_a_wrong_item(
    kos: Shop,
) -> None:
    kos.delivered(line("l1", LIPSTICK))

    assert kos.request("r1", {"l1": 1}, reason="wrong_item").ok
    outcome = kos.send_back("r1", [("l1", 1, "opened")])

    assert outcome.events == ("ReturnInspected", "RefundDecided")
    assert kos.refund("r1").amount == LIPSTICK


def test_faults_beat_exclusions_kos_allure_unopened_original_packaging_for_change_of_mind(
    kos: Shop,
) -> None:
    kos.delivered(line("l1", LIPSTICK))

    assert kos.request("r1", {"l1": 1}).ok
    outcome = kos.send_back("r1", [("l1", 1, "opened")])

    assert outcome.events == ("ReturnRejected",)


def test_faults_beat_exclusions_kiyomi_orderlog_faulty_goods_taken_back_refunds_a_wrong_item(
    kiyomi: Shop,
) -> None:
    kiyomi.delivered(line("l1", SERUM), shipping_fee=SHIPPING)

    assert kiyomi.request("r1", {"l1": 1}, reason="wrong_item", method="prepaid_label").ok
    assert kiyomi.send_back("r1", [("l1", 1, "opened")]).ok

    terms = kiyomi.terms("r1")
    assert (terms.fault.value, terms.resolution.value) == ("merchant", "refund")
    assert "orderlog/faulty-goods-taken-back" in terms.clauses
    assert kiyomi.refund("r1").amount == SERUM


def test_faults_beat_exclusions_kiyomi_damaged_or_defective_replaced_when_found_used_and_damaged(
    kiyomi: Shop,
) -> None:
    kiyomi.delivered(line("l1", SERUM), shipping_fee=SHIPPING)

    assert kiyomi.request("r1", {"l1": 1}, reason="defective", method="prepaid_label").ok
    outcome = kiyomi.send_back("r1", [("l1", 1, "defective")])

    assert outcome.events == ("ReturnInspected",)
    assert kiyomi.case("r1").inspection[0].clause == "kiyomi/damaged-or-defective-replaced"


# -- ruling 4: the fault is re-checked at inspection ----------------------------------------------


def test_fault_rechecked_allegra_k_us_later_returns_paid_when_no_damage_is_found(
    allegra: Shop,
) -> None:
    allegra.delivered(line("l1", DRESS, 2), shipping_fee=SHIPPING)
    assert allegra.request("r1", {"l1": 1}).ok
    assert allegra.send_back("r1", [("l1", 1, "unopened")]).ok

    assert allegra.request("r2", {"l1": 1}, reason="damaged", method="prepaid_label", when=at(11))
    outcome = allegra.send_back(
        "r2", [("l1", 1, "unopened")], received=at(14), inspected=at(14, hours=1)
    )

    assert outcome.events == ("ReturnInspected", "RefundDecided")
    inspected = only_event(outcome, "ReturnInspected").data
    assert inspected["terms"]["fault"] == "customer"
    assert "claimed damaged, but no unit was found damaged" in inspected["note"]
    refund = allegra.refund("r2")
    assert refund.amount == DRESS - LABEL_FEE  # the $6.99 the damage would have waived
    assert adjustments(refund)["label_fee"] == (-LABEL_FEE, "allegra-k/us-later-returns-paid")
    assert [r.clause for r in refund.lines] == ["allegra-k/new-condition-with-tags"]


def test_fault_rechecked_allegra_k_us_quality_free_postage_not_paid_back_without_the_defect(
    allegra: Shop,
) -> None:
    allegra.delivered(line("l1", DRESS), shipping_fee=SHIPPING)

    assert allegra.request("r1", {"l1": 1}, reason="defective", method="own_carrier").ok
    assert allegra.send_back("r1", [("l1", 1, "opened")], postage=POSTAGE).ok

    refund = allegra.refund("r1")
    assert refund.amount == DRESS
    assert "return_postage" not in adjustments(refund)
    assert allegra.case("r1").terms is not None
    assert allegra.terms("r1").fault.value == "customer"


def test_fault_rechecked_allegra_k_non_returnable_categories_reject_undamaged_tights(
    allegra: Shop,
) -> None:
    allegra.delivered(line("l1", TIGHTS, category="tights"), shipping_fee=SHIPPING)

    assert allegra.request("r1", {"l1": 1}, reason="damaged", method="prepaid_label").ok
    outcome = allegra.send_back("r1", [("l1", 1, "opened")])

    assert outcome.events == ("ReturnRejected",)
    [result] = allegra.case("r1").inspection
    assert (result.accepted, result.clause) == (False, "allegra-k/non-returnable-categories")


def test_fault_rechecked_kiyomi_damaged_or_defective_replaced_no_replacement_without_damage(
    kiyomi: Shop,
) -> None:
    kiyomi.delivered(line("l1", SERUM), shipping_fee=SHIPPING)

    assert kiyomi.request("r1", {"l1": 1}, reason="damaged", method="prepaid_label").ok
    outcome = kiyomi.send_back("r1", [("l1", 1, "unopened")])

    # Unopened and undamaged: a change-of-mind return the standard rule refunds, not replaces.
    assert outcome.events == ("ReturnInspected", "RefundDecided")
    terms = kiyomi.terms("r1")
    assert (terms.fault.value, terms.resolution.value) == ("customer", "refund")
    assert terms.shipping.clause == "orderlog/fault-not-found"
    assert [r.clause for r in kiyomi.refund("r1").lines] == ["kiyomi/unused-unopened-undamaged"]


def test_fault_rechecked_kiyomi_unused_unopened_undamaged_rejects_an_opened_undamaged_serum(
    kiyomi: Shop,
) -> None:
    kiyomi.delivered(line("l1", SERUM), shipping_fee=SHIPPING)

    assert kiyomi.request("r1", {"l1": 1}, reason="damaged", method="prepaid_label").ok
    outcome = kiyomi.send_back("r1", [("l1", 1, "opened")])

    assert outcome.events == ("ReturnRejected",)
    assert kiyomi.case("r1").inspection[0].clause == "kiyomi/unused-unopened-undamaged"
    ship = kiyomi.handle("ship_replacement", "o1", at(12), return_id="r1")
    assert not ship.ok


# -- ruling 2: a request is decided line by line ------------------------------------------------


def test_per_line_allegra_k_marked_items_and_free_gifts_and_categories_declined_dress_accepted(
    allegra: Shop,
) -> None:
    allegra.delivered(
        line("l1", DRESS),
        line("l2", 0, free_gift=True),
        line("l3", TIGHTS, category="socks"),
        shipping_fee=SHIPPING,
    )

    outcome = allegra.request("r1", {"l1": 1, "l2": 1, "l3": 1}, method="prepaid_label")

    assert outcome.ok
    assert outcome.events == ("ReturnAuthorized",)
    data = only_event(outcome, "ReturnAuthorized").data
    assert [line["line_id"] for line in data["request"]["lines"]] == ["l1"]
    assert [(d["line_id"], d["code"], d["clause"]) for d in data["declined_lines"]] == [
        ("l2", "not_returnable", "allegra-k/marked-items-and-free-gifts"),
        ("l3", "not_returnable", "allegra-k/non-returnable-categories"),
    ]
    assert allegra.send_back("r1", [("l1", 1, "unopened")]).ok
    assert allegra.refund("r1").amount == DRESS


def test_per_line_allegra_k_marked_items_and_free_gifts_only_excluded_lines_decline_the_request(
    allegra: Shop,
) -> None:
    allegra.delivered(
        line("l1", DRESS, final_sale=True), line("l2", 0, free_gift=True), shipping_fee=SHIPPING
    )

    outcome = allegra.request("r1", {"l1": 1, "l2": 1}, method="prepaid_label")

    assert outcome.events == ("ReturnDeclined",)
    assert only_event(outcome, "ReturnDeclined").data["clause"] == (
        "allegra-k/marked-items-and-free-gifts"
    )


def test_per_line_kiyomi_package_offers_whole_declines_half_a_package_beside_a_serum(
    kiyomi: Shop,
) -> None:
    kiyomi.delivered(
        line("b1", SERUM, bundle="1+1"),
        line("b2", SERUM, bundle="1+1"),
        line("l3", SERUM),
        shipping_fee=SHIPPING,
    )

    outcome = kiyomi.request("r1", {"b1": 1, "l3": 1})

    data = only_event(outcome, "ReturnAuthorized").data
    assert [line["line_id"] for line in data["request"]["lines"]] == ["l3"]
    assert [(d["line_id"], d["code"], d["clause"]) for d in data["declined_lines"]] == [
        ("b1", "partial_bundle", "kiyomi/package-offers-whole")
    ]
    # The declined line stays returnable: the whole package can still come back.
    assert kiyomi.request("r2", {"b1": 1, "b2": 1}, when=at(8)).ok


# -- ruling 5: a replacement can carry money and fall back to a refund ---------------------------


def test_refund_fallback_kiyomi_damaged_or_defective_replaced_settled_by_refund_by_support(
    kiyomi: Shop,
) -> None:
    kiyomi.delivered(line("l1", SERUM, 2), shipping_fee=SHIPPING)
    assert kiyomi.request("r1", {"l1": 1}, reason="damaged", method="own_carrier").ok
    assert kiyomi.send_back("r1", [("l1", 1, "damaged")], postage=POSTAGE).ok

    outcome = kiyomi.handle(
        "settle_by_refund", "o1", at(11), return_id="r1", actor="support-ana", note="no stock"
    )

    assert outcome.events == ("ReturnSettledByRefund", "RefundDecided")
    refund = kiyomi.refund("r1")
    assert refund.amount == SERUM + POSTAGE
    assert [r.clause for r in refund.lines] == ["kiyomi/damaged-or-defective-replaced"]
    assert adjustments(refund)["return_postage"] == (
        POSTAGE,
        "kiyomi/replacement-no-additional-cost",
    )
    assert not kiyomi.handle("ship_replacement", "o1", at(12), return_id="r1").ok
    assert kiyomi.handle("issue_refund", "o1", at(12), return_id="r1").ok
    assert kiyomi.case("r1").state.value == "refunded"


def test_refund_fallback_kiyomi_damaged_or_defective_replaced_needs_a_person(kiyomi: Shop) -> None:
    kiyomi.delivered(line("l1", SERUM), shipping_fee=SHIPPING)
    assert kiyomi.request("r1", {"l1": 1}, reason="damaged", method="prepaid_label").ok
    assert kiyomi.send_back("r1", [("l1", 1, "damaged")]).ok

    outcome = kiyomi.handle("settle_by_refund", "o1", at(11), return_id="r1")

    assert outcome.error is not None
    assert (outcome.error["code"], outcome.events) == ("invalid_command", ())
    assert "actor" in outcome.error["message"]


def test_refund_fallback_kiyomi_unused_unopened_undamaged_a_refund_is_not_settled_twice(
    kiyomi: Shop,
) -> None:
    kiyomi.delivered(line("l1", SERUM), shipping_fee=SHIPPING)
    assert kiyomi.request("r1", {"l1": 1}).ok
    assert kiyomi.send_back("r1", [("l1", 1, "unopened")]).ok

    outcome = kiyomi.handle("settle_by_refund", "o1", at(11), return_id="r1", actor="support-ana")

    assert outcome.error is not None
    assert outcome.error["code"] == "illegal_transition"


# -- ruling 6: exchanges with a price difference -----------------------------------------------


def exchange(kos: Shop, price: int | None) -> None:
    """Lipstick l1 (of two) exchanged for a balm at `price`, found unopened."""
    kos.delivered(line("l1", LIPSTICK, 2))
    asked = kos.request(
        "r1", {"l1": 1}, resolution="exchange", exchange_sku="BALM", exchange_unit_price=price
    )
    assert asked.ok
    assert kos.send_back("r1", [("l1", 1, "unopened")]).events == ("ReturnInspected",)


def test_exchange_difference_kos_allure_exchange_for_another_product_refunds_a_cheaper_one(
    kos: Shop,
) -> None:
    exchange(kos, 1200)

    shipped = kos.handle("ship_replacement", "o1", at(11), return_id="r1")

    assert shipped.events == ("ReplacementShipped", "RefundDecided")
    refund = kos.refund("r1")
    assert (refund.amount, refund.basis.value, refund.lines) == (LIPSTICK - 1200, "replacement", ())
    assert adjustments(refund)["exchange_difference"] == (
        LIPSTICK - 1200,
        "kos-allure/exchange-for-another-product",
    )


def test_exchange_difference_kos_allure_exchange_for_another_product_records_a_dearer_ones_due(
    kos: Shop,
) -> None:
    exchange(kos, 2500)

    shipped = kos.handle("ship_replacement", "o1", at(11), return_id="r1")

    assert shipped.events == ("ReplacementShipped",)
    data = only_event(shipped, "ReplacementShipped").data
    assert (data["amount_due"], data["due_clause"]) == (
        2500 - LIPSTICK,
        "kos-allure/exchange-for-another-product",
    )
    assert kos.case("r1").refund is None


@pytest.mark.parametrize("price", [LIPSTICK, None])
def test_exchange_difference_kos_allure_exchange_for_another_product_same_price_is_simple(
    kos: Shop, price: int | None
) -> None:
    exchange(kos, price)

    shipped = kos.handle("ship_replacement", "o1", at(11), return_id="r1")

    assert shipped.events == ("ReplacementShipped",)
    assert only_event(shipped, "ReplacementShipped").data["amount_due"] == 0


def test_exchange_difference_only_an_exchange_names_an_exchange_unit_price(kos: Shop) -> None:
    kos.delivered(line("l1", LIPSTICK))

    outcome = kos.request("r1", {"l1": 1}, exchange_unit_price=1200)

    assert outcome.error is not None
    assert (outcome.error["code"], outcome.events) == ("invalid_command", ())


# -- ruling 9: returnless refunds ---------------------------------------------------------------


def test_returnless_kos_allure_allergic_reaction_within_14_days_no_parcel_is_asked(
    kos: Shop,
) -> None:
    kos.delivered(line("l1", LIPSTICK, 2))

    held = kos.request("r1", {"l1": 1}, reason="allergic_reaction")

    assert held.events == ("ReturnHeldForReview",)
    assert only_event(held, "ReturnHeldForReview").data["triggers"] == [
        "kos-allure/allergic-reaction-within-14-days"
    ]
    # Nothing is to come back: the warehouse cannot receive a parcel for it.
    assert not kos.handle("receive_return", "o1", at(8), return_id="r1").ok
    approved = kos.handle(
        "review_return", "o1", at(8), return_id="r1", decision="approve", actor="support-ana"
    )
    assert approved.events == ("ReturnApproved", "ClaimAccepted", "RefundDecided")
    assert kos.refund("r1").basis.value == "claim"
    assert kos.refund("r1").amount == LIPSTICK
    # A returnless settlement is no return package.
    assert kos.order().packages() == 0


def test_returnless_kos_allure_allergic_reaction_within_14_days_a_person_may_decline(
    kos: Shop,
) -> None:
    kos.delivered(line("l1", LIPSTICK))
    assert kos.request("r1", {"l1": 1}, reason="allergic_reaction").events == (
        "ReturnHeldForReview",
    )

    declined = kos.handle("review_return", "o1", at(8), return_id="r1", decision="decline")

    assert declined.events == ("ReturnDeclined",)
    assert kos.case("r1").refund is None


PHOTO = make_policy(
    """
    [[returnless]]
    reasons = ["damaged"]
    approval = false
    photo_evidence = true
    clause = "shop/photo-of-the-damage"
    """
)


def test_returnless_photo_evidence_settles_a_damage_claim_at_once() -> None:
    order = delivered(PHOTO, builder_line("l1", unit_price=1500))
    events = when(order, request_return(at(3), reason="damaged", evidence={"photo": True}), PHOTO)

    assert [type(e).__name__ for e in events] == [
        "ReturnAuthorized",
        "ClaimAccepted",
        "RefundDecided",
    ]
    assert events[-1].amount == 1500  # type: ignore[attr-defined]


def test_returnless_photo_evidence_is_required() -> None:
    order = delivered(PHOTO, builder_line("l1", unit_price=1500))
    events = when(order, request_return(at(3), reason="damaged"), PHOTO)

    [decline] = events
    assert isinstance(decline, ReturnDeclined)
    assert (decline.code, decline.clause) == ("evidence_required", "shop/photo-of-the-damage")


def test_refund_fallback_kos_allure_allergic_reaction_within_14_days_exchange_without_a_parcel(
    kos: Shop,
) -> None:
    kos.delivered(line("l1", LIPSTICK, 2))
    asked = kos.request(
        "r1", {"l1": 1}, reason="allergic_reaction", resolution="exchange", exchange_sku="BALM"
    )
    assert asked.events == ("ReturnHeldForReview",)
    assert kos.handle("review_return", "o1", at(8), return_id="r1", decision="approve").ok

    outcome = kos.handle("settle_by_refund", "o1", at(9), return_id="r1", actor="support-ana")

    assert outcome.events == ("ReturnSettledByRefund", "RefundDecided")
    refund = kos.refund("r1")
    assert (refund.amount, refund.basis.value) == (LIPSTICK, "claim")
    assert [r.clause for r in refund.lines] == ["kos-allure/allergic-reaction-within-14-days"]


def test_faults_beat_exclusions_kiyomi_package_offers_whole_one_damaged_serum_is_replaced(
    kiyomi: Shop,
) -> None:
    kiyomi.delivered(
        line("b1", SERUM, bundle="1+1"), line("b2", SERUM, bundle="1+1"), shipping_fee=SHIPPING
    )

    assert kiyomi.request("r1", {"b1": 1}, reason="damaged", method="prepaid_label").ok
    assert kiyomi.send_back("r1", [("b1", 1, "damaged")]).events == ("ReturnInspected",)

    assert kiyomi.handle("ship_replacement", "o1", at(11), return_id="r1").ok
    assert kiyomi.case("r1").state.value == "replacement_sent"


def test_faults_beat_exclusions_kiyomi_package_offers_whole_still_governs_change_of_mind(
    kiyomi: Shop,
) -> None:
    kiyomi.delivered(
        line("b1", SERUM, bundle="1+1"), line("b2", SERUM, bundle="1+1"), shipping_fee=SHIPPING
    )

    outcome = kiyomi.request("r1", {"b1": 1})

    assert outcome.events == ("ReturnDeclined",)
    assert only_event(outcome, "ReturnDeclined").data["code"] == "partial_bundle"
