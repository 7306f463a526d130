"""Issue 11's return rulings on the shipped policies, through the service: faults beat
exclusions (ruling 3) and a claimed fault is re-checked at inspection (ruling 4).

Each test is named after the ruling and the clause it exercises."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support import at

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
