"""Deciding return commands: the policy's answer to a request (windows, conditions, exclusions,
bundles, exchanges, replacements, missing-item claims, manual review), then receipt, inspection
and settlement. Given events, when command, then events or error."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from lifecycle import Order, OrderState, Policy, ReturnState
from lifecycle import events as ev
from lifecycle.errors import (
    IllegalTransition,
    InvalidCommand,
    QuantityExceedsReturnable,
    UnknownReturn,
)
from lifecycle.vocabulary import Condition, Fault, RefundBasis, Resolution
from tests.support import at
from tests.unit.builders import (
    DELIVERED_AT,
    applied,
    delivered,
    history,
    inspect_return,
    line,
    make_policy,
    only,
    order_command,
    place_order,
    receive_return,
    request_return,
    return_case,
    sole,
    types,
    when,
)

PLAIN = make_policy()


def declined(events: list[ev.OrderEvent]) -> ev.ReturnDeclined:
    assert types(events) == ["ReturnDeclined"]
    decline = events[0]
    assert isinstance(decline, ev.ReturnDeclined)
    return decline


# -- requests the policy accepts ------------------------------------------------------------------


def test_an_accepted_request_is_authorized_with_its_terms() -> None:
    order = delivered(PLAIN, line("l1", quantity=2))
    events = when(order, request_return(at(3), {"l1": 2}), PLAIN)
    authorized = only(events, ev.ReturnAuthorized)
    assert types(events) == ["ReturnAuthorized"]
    assert [(r.line_id, r.quantity) for r in authorized.request.lines] == [("l1", 2)]
    assert authorized.terms.package == 1
    assert authorized.terms.fault is Fault.CUSTOMER
    assert authorized.terms.resolution is Resolution.REFUND
    after = applied(order, events)
    assert after.state is OrderState.RECEIVED
    case = return_case(after)
    assert case.state is ReturnState.AUTHORIZED


def test_a_return_cannot_be_requested_before_the_order_is_received() -> None:
    order = history(PLAIN, place_order(), order_command("dispatch_order", at(1)))
    with pytest.raises(IllegalTransition) as raised:
        when(order, request_return(at(2)), PLAIN)
    assert raised.value.state == "dispatched"


def test_requesting_the_same_return_id_again_is_illegal() -> None:
    order = delivered(PLAIN, line("l1", quantity=2))
    order = applied(order, when(order, request_return(at(3)), PLAIN))
    with pytest.raises(IllegalTransition):
        when(order, request_return(at(4)), PLAIN)


def test_a_return_of_a_line_the_order_does_not_have_is_invalid_naming_the_line() -> None:
    order = delivered(PLAIN)
    with pytest.raises(InvalidCommand) as raised:
        when(order, request_return(at(3), {"l1": 1, "nope": 1}), PLAIN)
    assert raised.value.field == "lines[1].line_id"


def test_returning_more_units_than_were_bought_is_refused() -> None:
    order = delivered(PLAIN, line("l1", quantity=2))
    with pytest.raises(QuantityExceedsReturnable) as raised:
        when(order, request_return(at(3), {"l1": 3}), PLAIN)
    assert raised.value.code == "quantity_exceeds_returnable"
    assert "2 of 2 unit(s) left to return; 3 asked" in str(raised.value)


def test_units_already_in_a_return_cannot_be_returned_again() -> None:
    order = delivered(PLAIN, line("l1", quantity=3))
    order = applied(order, when(order, request_return(at(3), {"l1": 2}), PLAIN))
    with pytest.raises(QuantityExceedsReturnable, match="1 of 3 unit"):
        when(order, request_return(at(4), {"l1": 2}, return_id="r2"), PLAIN)
    assert types(when(order, request_return(at(4), {"l1": 1}, return_id="r2"), PLAIN)) == [
        "ReturnAuthorized"
    ]


def test_units_of_a_declined_return_may_be_asked_for_again() -> None:
    policy = make_policy('[exchange]\noffered = false\nclause = "shop/no-exchanges"')
    order = delivered(policy, line("l1", quantity=1))
    exchange = request_return(at(3), resolution="exchange", exchange_sku="L1-RED")
    order = applied(order, when(order, exchange, policy))
    assert types(when(order, request_return(at(3), return_id="r2"), policy)) == ["ReturnAuthorized"]


# -- return windows -------------------------------------------------------------------------------

FROM_DELIVERY = make_policy(
    '[return_window]\ndays = 30\ncounted_from = "delivery"\nclause = "shop/30-days"'
)
FROM_PURCHASE = make_policy(
    '[return_window]\ndays = 14\ncounted_from = "purchase"\nclause = "shop/14-days"'
)


def test_a_return_on_the_last_day_of_the_window_is_accepted() -> None:
    order = delivered(FROM_DELIVERY)
    last_day = DELIVERED_AT + timedelta(days=30, hours=14)  # late on the 30th day after
    assert types(when(order, request_return(last_day), FROM_DELIVERY)) == ["ReturnAuthorized"]


def test_a_return_after_the_window_is_declined_and_recorded() -> None:
    order = delivered(FROM_DELIVERY)
    decline = declined(
        when(order, request_return(DELIVERED_AT + timedelta(days=31)), FROM_DELIVERY)
    )
    assert decline.code == "return_window_closed"
    assert decline.clause == "shop/30-days"
    # Delivered Wednesday 4 March: 30 days from delivery ended on 3 April.
    assert decline.message == (
        "return window closed: 30 days from delivery on 2026-03-04 ended 2026-04-03"
    )
    assert decline.request is not None
    after = applied(order, [decline])
    case = return_case(after)
    assert (case.state, case.decline_code) == (ReturnState.DECLINED, "return_window_closed")


def test_a_window_from_purchase_counts_from_the_order_day_however_late_delivery_was() -> None:
    order = history(
        FROM_PURCHASE,
        place_order(),
        order_command("dispatch_order", at(1)),
        order_command("confirm_delivery", at(10)),
    )
    # Placed Monday 2 March: 14 days from purchase end on 16 March.
    assert types(when(order, request_return(at(14)), FROM_PURCHASE)) == ["ReturnAuthorized"]
    decline = declined(when(order, request_return(at(15)), FROM_PURCHASE))
    assert decline.code == "return_window_closed"
    assert "14 days from purchase on 2026-03-02 ended 2026-03-16" in decline.message


def test_without_a_window_returns_are_accepted_at_any_time() -> None:
    order = delivered(PLAIN)
    assert types(when(order, request_return(at(400)), PLAIN)) == ["ReturnAuthorized"]


CONDITIONS = make_policy(
    """
    [return_window]
    days = 30
    counted_from = "delivery"
    clause = "shop/30-days"

    [conditions]
    accepted = ["unopened"]
    clause = "shop/unopened-only"

    [[conditions.exceptions]]
    reasons = ["defective", "damaged"]
    accepted = ["unopened", "opened", "used", "defective", "damaged"]
    clause = "shop/faulty-any-state"

    [conditions.exceptions.window]
    days = 365
    counted_from = "delivery"
    clause = "shop/faulty-one-year"
    """
)


def test_an_exception_for_a_reason_has_its_own_window() -> None:
    order = delivered(CONDITIONS)
    late = DELIVERED_AT + timedelta(days=100)
    assert declined(when(order, request_return(late), CONDITIONS)).code == "return_window_closed"
    events = when(order, request_return(late, reason="defective"), CONDITIONS)
    assert types(events) == ["ReturnAuthorized"]
    assert "shop/faulty-one-year" in only(events, ev.ReturnAuthorized).terms.clauses


def test_the_exceptions_window_closes_too() -> None:
    order = delivered(CONDITIONS)
    decline = declined(when(order, request_return(at(2 + 366), reason="defective"), CONDITIONS))
    assert (decline.code, decline.clause) == ("return_window_closed", "shop/faulty-one-year")


# -- conditions at inspection ---------------------------------------------------------------------


def inspected(
    policy: Policy,
    order: Order,
    request: dict[str, Any],
    found: list[tuple[str, int, str]],
) -> tuple[Order, list[ev.OrderEvent]]:
    """The events of inspecting `found` after `request` was authorized and received."""
    order = applied(order, when(order, request, policy))
    order = applied(order, when(order, receive_return(at(8)), policy))
    return order, when(order, inspect_return(at(9), found), policy)


def test_units_in_an_accepted_condition_are_refunded() -> None:
    order = delivered(CONDITIONS, line("l1", quantity=2, unit_price=1500))
    _, events = inspected(
        CONDITIONS, order, request_return(at(3), {"l1": 2}), [("l1", 2, "unopened")]
    )
    assert types(events) == ["ReturnInspected", "RefundDecided"]
    result = only(events, ev.ReturnInspected).lines[0]
    assert (result.accepted, result.clause) == (True, "shop/unopened-only")
    assert only(events, ev.RefundDecided).amount == 2 * 1500


def test_units_in_a_condition_the_policy_refuses_reject_the_return() -> None:
    order = delivered(CONDITIONS, line("l1", quantity=2))
    after, events = inspected(
        CONDITIONS, order, request_return(at(3), {"l1": 2}), [("l1", 2, "opened")]
    )
    assert types(events) == ["ReturnRejected"]
    rejected = only(events, ev.ReturnRejected)
    assert [(r.condition, r.accepted, r.clause) for r in rejected.lines] == [
        (Condition.OPENED, False, "shop/unopened-only")
    ]
    case = return_case(applied(after, events))
    assert case.state is ReturnState.REJECTED


def test_a_partly_accepted_return_refunds_only_the_accepted_units() -> None:
    order = delivered(CONDITIONS, line("l1", quantity=2, unit_price=1500))
    _, events = inspected(
        CONDITIONS,
        order,
        request_return(at(3), {"l1": 2}),
        [("l1", 1, "unopened"), ("l1", 1, "used")],
    )
    assert types(events) == ["ReturnInspected", "RefundDecided"]
    refund = only(events, ev.RefundDecided)
    assert [(r.line_id, r.quantity, r.amount) for r in refund.lines] == [("l1", 1, 1500)]
    assert refund.amount == 1500


def test_a_reasons_exception_accepts_other_conditions() -> None:
    order = delivered(CONDITIONS, line("l1", unit_price=1500))
    _, events = inspected(
        CONDITIONS, order, request_return(at(3), reason="defective"), [("l1", 1, "defective")]
    )
    result = only(events, ev.ReturnInspected).lines[0]
    assert (result.accepted, result.clause) == (True, "shop/faulty-any-state")


def test_a_claimed_defect_found_used_is_judged_by_the_standard_conditions() -> None:
    # Ruling (issue 11.4): the exception is for the fault; a unit without it is the customer's
    # choice, and the standard "unopened" rule rejects a used one.
    order = delivered(CONDITIONS, line("l1", unit_price=1500))
    _, events = inspected(
        CONDITIONS, order, request_return(at(3), reason="defective"), [("l1", 1, "used")]
    )
    rejected = only(events, ev.ReturnRejected)
    assert [(r.accepted, r.clause) for r in rejected.lines] == [(False, "shop/unopened-only")]
    assert rejected.terms is not None
    assert rejected.terms.fault is Fault.CUSTOMER
    assert "no unit was found defective" in (rejected.note or "")


def test_units_missing_from_the_parcel_are_not_refunded() -> None:
    order = delivered(PLAIN, line("l1", quantity=3, unit_price=1000))
    _, events = inspected(PLAIN, order, request_return(at(3), {"l1": 3}), [("l1", 1, "used")])
    assert only(events, ev.RefundDecided).amount == 1000


def test_inspecting_a_line_not_in_the_return_is_invalid_naming_the_line() -> None:
    order = delivered(PLAIN, line("l1"), line("l2"))
    order = applied(order, when(order, request_return(at(3), {"l1": 1}), PLAIN))
    order = applied(order, when(order, receive_return(at(4)), PLAIN))
    with pytest.raises(InvalidCommand) as raised:
        when(order, inspect_return(at(5), [("l1", 1, "unopened"), ("l2", 1, "unopened")]), PLAIN)
    assert raised.value.field == "lines[1].line_id"


def test_inspecting_more_units_than_were_returned_is_refused() -> None:
    order = delivered(PLAIN, line("l1", quantity=3))
    order = applied(order, when(order, request_return(at(3), {"l1": 2}), PLAIN))
    order = applied(order, when(order, receive_return(at(4)), PLAIN))
    found = [("l1", 2, "unopened"), ("l1", 1, "used")]
    with pytest.raises(QuantityExceedsReturnable):
        when(order, inspect_return(at(5), found), PLAIN)


def test_a_return_must_arrive_before_it_is_inspected() -> None:
    order = delivered(PLAIN)
    order = applied(order, when(order, request_return(at(3)), PLAIN))
    with pytest.raises(IllegalTransition) as raised:
        when(order, inspect_return(at(4)), PLAIN)
    assert (raised.value.state, raised.value.trigger) == ("authorized", "accept_inspection")


@pytest.mark.parametrize(
    "command",
    [
        receive_return(at(4)),
        inspect_return(at(4)),
        order_command("review_return", at(4), return_id="r1", decision="approve"),
        order_command("issue_refund", at(4), return_id="r1"),
        order_command("ship_replacement", at(4), return_id="r1"),
    ],
    ids=lambda c: c["type"],
)
def test_a_command_for_a_return_never_requested_is_unknown_return(
    command: dict[str, Any],
) -> None:
    with pytest.raises(UnknownReturn) as raised:
        when(delivered(PLAIN), command, PLAIN)
    assert raised.value.code == "unknown_return"
    assert raised.value.return_id == "r1"


def test_receiving_a_return_records_the_postage_the_customer_paid() -> None:
    order = delivered(PLAIN)
    order = applied(order, when(order, request_return(at(3)), PLAIN))
    [received] = when(order, receive_return(at(5), return_shipping_paid=650), PLAIN)
    assert isinstance(received, ev.ReturnReceived)
    assert received.return_shipping_paid == 650
    case = return_case(applied(order, [received]))
    assert (case.state, case.received_at) == (ReturnState.RECEIVED, at(5))


# -- items that cannot be returned ----------------------------------------------------------------

EXCLUSIONS = make_policy(
    """
    [[non_returnable]]
    categories = ["Intimates", "socks"]
    clause = "shop/hygiene"

    [[non_returnable]]
    final_sale = true
    free_gift = true
    clause = "shop/sale-and-gifts"
    """
)


@pytest.mark.parametrize("category", ["intimates", "INTIMATES", "Socks"])
def test_a_non_returnable_category_is_declined_whatever_its_case(category: str) -> None:
    order = delivered(EXCLUSIONS, line("l1", category=category))
    decline = declined(when(order, request_return(at(3)), EXCLUSIONS))
    assert (decline.code, decline.clause) == ("not_returnable", "shop/hygiene")
    assert "line l1 (L1) cannot be returned" in decline.message


def test_other_categories_are_returnable() -> None:
    order = delivered(EXCLUSIONS, line("l1", category="bodysuits"))
    assert types(when(order, request_return(at(3)), EXCLUSIONS)) == ["ReturnAuthorized"]


@pytest.mark.parametrize("flag", ["final_sale", "free_gift"])
def test_final_sale_and_free_gift_items_are_not_returnable(flag: str) -> None:
    flags: dict[str, Any] = {flag: True}
    order = delivered(EXCLUSIONS, line("l1", **flags))
    decline = declined(when(order, request_return(at(3)), EXCLUSIONS))
    assert (decline.code, decline.clause) == ("not_returnable", "shop/sale-and-gifts")


def test_a_policy_silent_on_final_sale_lets_final_sale_items_come_back() -> None:
    order = delivered(PLAIN, line("l1", final_sale=True, free_gift=True))
    assert types(when(order, request_return(at(3)), PLAIN)) == ["ReturnAuthorized"]


def test_a_non_returnable_line_is_declined_on_its_own_beside_returnable_ones() -> None:
    # Ruling (issue 11.2): a request is decided line by line.
    order = delivered(EXCLUSIONS, line("l1"), line("l2", category="socks"))
    events = when(order, request_return(at(3), {"l1": 1, "l2": 1}), EXCLUSIONS)
    authorized = only(events, ev.ReturnAuthorized)
    assert [line.line_id for line in authorized.request.lines] == ["l1"]
    [refused] = authorized.declined_lines
    assert (refused.line_id, refused.code) == ("l2", "not_returnable")
    assert "line l2" in refused.message


def test_a_request_of_only_non_returnable_lines_is_declined_as_a_whole() -> None:
    order = delivered(EXCLUSIONS, line("l1", category="socks"), line("l2", category="socks"))
    decline = declined(when(order, request_return(at(3), {"l1": 1, "l2": 1}), EXCLUSIONS))
    assert decline.code == "not_returnable"
    assert "line l1" in decline.message


# -- bundles --------------------------------------------------------------------------------------

BUNDLES = make_policy(
    """
    [bundles]
    whole_only = true
    clause = "shop/packages-whole"

    [conditions]
    accepted = ["unopened"]
    clause = "shop/unopened-only"
    """
)
BUNDLE_LINES = (
    line("a", unit_price=1000, bundle="2-for-1"),
    line("b", unit_price=0, bundle="2-for-1"),
    line("c", unit_price=700),
)


def test_part_of_a_bundle_is_declined() -> None:
    order = delivered(BUNDLES, *BUNDLE_LINES)
    decline = declined(when(order, request_return(at(3), {"a": 1}), BUNDLES))
    assert (decline.code, decline.clause) == ("partial_bundle", "shop/packages-whole")
    assert "package 2-for-1 must be returned whole" in decline.message


def test_part_of_a_multi_unit_bundle_line_is_declined() -> None:
    order = delivered(BUNDLES, line("a", quantity=2, bundle="pair"), line("c"))
    decline = declined(when(order, request_return(at(3), {"a": 1}), BUNDLES))
    assert decline.code == "partial_bundle"


def test_a_whole_bundle_may_be_returned_with_other_lines() -> None:
    order = delivered(BUNDLES, *BUNDLE_LINES)
    events = when(order, request_return(at(3), {"a": 1, "b": 1, "c": 1}), BUNDLES)
    assert types(events) == ["ReturnAuthorized"]


def test_lines_outside_bundles_may_be_returned_alone() -> None:
    order = delivered(BUNDLES, *BUNDLE_LINES)
    assert types(when(order, request_return(at(3), {"c": 1}), BUNDLES)) == ["ReturnAuthorized"]


def test_a_policy_without_the_bundle_rule_takes_part_of_a_bundle() -> None:
    order = delivered(PLAIN, *BUNDLE_LINES)
    assert types(when(order, request_return(at(3), {"a": 1}), PLAIN)) == ["ReturnAuthorized"]
    loose = make_policy('[bundles]\nwhole_only = false\nclause = "shop/loose"')
    order = delivered(loose, *BUNDLE_LINES)
    assert types(when(order, request_return(at(3), {"a": 1}), loose)) == ["ReturnAuthorized"]


def test_a_bundle_with_one_unit_refused_at_inspection_is_rejected_whole() -> None:
    order = delivered(BUNDLES, *BUNDLE_LINES)
    request = request_return(at(3), {"a": 1, "b": 1, "c": 1})
    _, events = inspected(
        BUNDLES, order, request, [("a", 1, "unopened"), ("b", 1, "used"), ("c", 1, "unopened")]
    )
    inspection = only(events, ev.ReturnInspected)
    assert [(r.line_id, r.accepted, r.clause) for r in inspection.lines] == [
        ("a", False, "shop/packages-whole"),
        ("b", False, "shop/packages-whole"),
        ("c", True, "shop/unopened-only"),
    ]
    # Only the loose line is refunded.
    assert only(events, ev.RefundDecided).amount == 700


def test_a_bundle_with_a_unit_missing_from_the_parcel_is_rejected_whole() -> None:
    order = delivered(BUNDLES, *BUNDLE_LINES)
    request = request_return(at(3), {"a": 1, "b": 1})
    _, events = inspected(BUNDLES, order, request, [("a", 1, "unopened")])
    assert types(events) == ["ReturnRejected"]
    assert only(events, ev.ReturnRejected).lines[0].clause == "shop/packages-whole"


# -- exchanges and replacements -------------------------------------------------------------------

EXCHANGES = make_policy('[exchange]\noffered = true\nclause = "shop/exchanges"')
NO_EXCHANGES = make_policy('[exchange]\noffered = false\nclause = "shop/no-exchanges"')
EXCHANGE: dict[str, Any] = {"resolution": "exchange", "exchange_sku": "L1-RED"}


def test_an_exchange_is_authorized_where_offered_and_settled_by_shipping_the_new_item() -> None:
    order = delivered(EXCHANGES)
    authorized = only(
        when(order, request_return(at(3), **EXCHANGE), EXCHANGES), ev.ReturnAuthorized
    )
    assert authorized.terms.resolution is Resolution.EXCHANGE
    assert "shop/exchanges" in authorized.terms.clauses
    order, events = inspected(
        EXCHANGES, order, request_return(at(3), **EXCHANGE), [("l1", 1, "unopened")]
    )
    assert types(events) == ["ReturnInspected"]  # no refund: the customer gets another item
    order = applied(order, events)
    [shipped] = when(order, order_command("ship_replacement", at(10), return_id="r1"), EXCHANGES)
    assert isinstance(shipped, ev.ReplacementShipped)
    assert shipped.skus == ("L1-RED",)
    case = return_case(applied(order, [shipped]))
    assert case.state is ReturnState.REPLACEMENT_SENT


def test_an_exchange_where_the_policy_offers_none_is_declined() -> None:
    decline = declined(
        when(delivered(NO_EXCHANGES), request_return(at(3), **EXCHANGE), NO_EXCHANGES)
    )
    assert (decline.code, decline.clause) == ("exchange_not_offered", "shop/no-exchanges")


def test_an_exchange_under_a_policy_silent_on_exchanges_is_declined() -> None:
    decline = declined(when(delivered(PLAIN), request_return(at(3), **EXCHANGE), PLAIN))
    assert (decline.code, decline.clause) == (
        "exchange_not_offered",
        "orderlog/exchange-not-in-policy",
    )


REPLACEMENTS = make_policy(
    """
    [replacement]
    reasons = ["damaged", "defective"]
    clause = "shop/faulty-replaced"

    [fault]
    merchant_reasons = ["damaged", "defective"]
    clause = "shop/our-fault"
    """
)


@pytest.mark.parametrize("reason", ["damaged", "defective"])
def test_damaged_or_defective_goods_are_replaced_instead_of_refunded(reason: str) -> None:
    order = delivered(REPLACEMENTS, line("l1", sku="TIGHTS-M"))
    authorized = only(
        when(order, request_return(at(3), reason=reason), REPLACEMENTS), ev.ReturnAuthorized
    )
    assert authorized.terms.resolution is Resolution.REPLACEMENT
    assert authorized.terms.fault is Fault.MERCHANT
    order, events = inspected(
        REPLACEMENTS, order, request_return(at(3), reason=reason), [("l1", 1, "damaged")]
    )
    assert types(events) == ["ReturnInspected"]
    order = applied(order, events)
    with pytest.raises(IllegalTransition):
        when(order, order_command("issue_refund", at(10), return_id="r1"), REPLACEMENTS)
    shipped = sole(
        when(
            order,
            order_command("ship_replacement", at(10), return_id="r1", tracking_number="T2"),
            REPLACEMENTS,
        ),
        ev.ReplacementShipped,
    )
    assert (shipped.skus, shipped.tracking_number) == (("TIGHTS-M",), "T2")


def test_other_reasons_are_refunded_under_a_replacement_policy() -> None:
    order = delivered(REPLACEMENTS)
    authorized = only(when(order, request_return(at(3)), REPLACEMENTS), ev.ReturnAuthorized)
    assert authorized.terms.resolution is Resolution.REFUND


def test_a_refunded_return_ships_no_replacement() -> None:
    order, events = inspected(PLAIN, delivered(PLAIN), request_return(at(3)), [("l1", 1, "used")])
    order = applied(order, events)
    with pytest.raises(IllegalTransition, match="settled by a refund"):
        when(order, order_command("ship_replacement", at(10), return_id="r1"), PLAIN)


def test_a_return_refund_is_issued_once() -> None:
    order, events = inspected(PLAIN, delivered(PLAIN), request_return(at(3)), [("l1", 1, "used")])
    order = applied(order, events)
    issued = sole(
        when(order, order_command("issue_refund", at(10), return_id="r1"), PLAIN), ev.RefundIssued
    )
    assert (issued.return_id, issued.amount) == ("r1", 1000)
    order = applied(order, [issued])
    case = return_case(order)
    assert (case.state, case.refund_issued) == (ReturnState.REFUNDED, True)
    assert order.refunded_total == 1000
    with pytest.raises(IllegalTransition):
        when(order, order_command("issue_refund", at(11), return_id="r1"), PLAIN)


def test_a_received_order_has_no_order_level_refund_to_issue() -> None:
    order, events = inspected(PLAIN, delivered(PLAIN), request_return(at(3)), [("l1", 1, "used")])
    with pytest.raises(IllegalTransition, match="a return's needs its id"):
        when(applied(order, events), order_command("issue_refund", at(10)), PLAIN)


# -- missing items --------------------------------------------------------------------------------

MISSING = make_policy(
    """
    [missing_item]
    unboxing_video = true
    within_hours = 48
    clause = "shop/missing-with-video"
    """
)
VIDEO = {"evidence": {"unboxing_video": True}}


def claim(moment: datetime, **extra: Any) -> dict[str, Any]:
    return request_return(moment, reason="missing_item", **extra)


def test_a_missing_item_claim_without_the_required_video_is_declined() -> None:
    order = delivered(MISSING)
    decline = declined(when(order, claim(at(3)), MISSING))
    assert (decline.code, decline.clause) == ("evidence_required", "shop/missing-with-video")
    decline = declined(when(order, claim(at(3), evidence={"unboxing_video": False}), MISSING))
    assert decline.code == "evidence_required"


def test_a_missing_item_claim_after_its_window_is_declined() -> None:
    order = delivered(MISSING)
    decline = declined(when(order, claim(DELIVERED_AT + timedelta(hours=49), **VIDEO), MISSING))
    assert (decline.code, decline.clause) == ("claim_window_closed", "shop/missing-with-video")
    assert "within 48 hours" in decline.message


def test_a_claim_at_the_end_of_its_window_is_accepted() -> None:
    order = delivered(MISSING)
    events = when(order, claim(DELIVERED_AT + timedelta(hours=48), **VIDEO), MISSING)
    assert types(events)[0] == "ReturnAuthorized"


def test_an_accepted_claim_is_settled_at_once_without_anything_sent_back() -> None:
    order = delivered(MISSING, line("l1", quantity=3, unit_price=1000), discount=300)
    events = when(order, claim(at(3), lines={"l1": 1}, **VIDEO), MISSING)
    assert types(events) == ["ReturnAuthorized", "ClaimAccepted", "RefundDecided"]
    assert only(events, ev.ClaimAccepted).clause == "shop/missing-with-video"
    refund = only(events, ev.RefundDecided)
    assert refund.basis is RefundBasis.CLAIM
    # The line paid 3000 - 300 = 2700 for 3 units: one unit is 900.
    assert refund.amount == (3 * 1000 - 300) // 3
    after = applied(order, events)
    case = return_case(after)
    assert case.state is ReturnState.INSPECTED
    with pytest.raises(IllegalTransition):
        when(after, receive_return(at(4)), MISSING)
    issued = sole(
        when(after, order_command("issue_refund", at(4), return_id="r1"), MISSING), ev.RefundIssued
    )
    assert issued.amount == refund.amount


def test_a_claim_under_a_policy_without_a_missing_item_rule_goes_to_a_person() -> None:
    order = delivered(PLAIN)
    events = when(order, claim(at(30)), PLAIN)
    assert types(events) == ["ReturnHeldForReview"]
    assert only(events, ev.ReturnHeldForReview).triggers == ("orderlog/claim-review",)
    approve = order_command("review_return", at(31), return_id="r1", decision="approve")
    settled = when(applied(order, events), approve, PLAIN)
    assert types(settled) == ["ReturnApproved", "ClaimAccepted", "RefundDecided"]
    assert only(settled, ev.ClaimAccepted).clause == "orderlog/claim-review"


def test_a_claim_asking_for_an_exchange_is_sent_again_not_refunded() -> None:
    offered = make_policy(
        """
        [exchange]
        offered = true
        clause = "shop/exchanges"

        [missing_item]
        clause = "shop/missing"
        """
    )
    order = delivered(offered)
    events = when(order, claim(at(3), resolution="exchange", exchange_sku="L1-RED"), offered)
    assert types(events) == ["ReturnAuthorized", "ClaimAccepted"]
    after = applied(order, events)
    with pytest.raises(IllegalTransition, match="replacement, not a refund"):
        when(after, order_command("issue_refund", at(4), return_id="r1"), offered)
    shipped = sole(
        when(after, order_command("ship_replacement", at(4), return_id="r1"), offered),
        ev.ReplacementShipped,
    )
    assert shipped.skus == ("L1-RED",)


def test_a_claim_is_not_charged_a_restocking_fee_nor_held_to_package_or_exclusion_rules() -> None:
    strict = make_policy(
        """
        [restocking_fee]
        percent = 15
        clause = "shop/restock"

        [bundles]
        whole_only = true
        clause = "shop/whole"

        [[non_returnable]]
        categories = ["socks"]
        clause = "shop/no-socks"

        [missing_item]
        clause = "shop/missing"
        """
    )
    order = delivered(
        strict,
        line("l1", unit_price=2000, bundle="1+1"),
        line("l2", unit_price=2000, bundle="1+1"),
        line("l3", unit_price=900, category="socks"),
    )
    events = when(order, claim(at(3), lines={"l1": 1, "l3": 1}), strict)
    refund = only(events, ev.RefundDecided)
    assert refund.amount == 2000 + 900  # nothing restocked: nothing came back
    assert refund.adjustments == ()


# -- manual review --------------------------------------------------------------------------------

REVIEW = make_policy(
    """
    [[review]]
    when = "billing_country_differs"
    clause = "shop/review-billing"

    [[review]]
    when = "return_value_over"
    amount = 5000
    clause = "shop/review-value"

    [[review]]
    when = "return_share_over"
    percent = 50
    clause = "shop/review-share"
    """
)


def held(events: list[ev.OrderEvent]) -> ev.ReturnHeldForReview:
    assert types(events) == ["ReturnHeldForReview"]
    event = events[0]
    assert isinstance(event, ev.ReturnHeldForReview)
    return event


def test_a_billing_country_other_than_the_shipping_country_holds_the_return() -> None:
    order = delivered(
        REVIEW,
        line("l1"),
        line("l2"),
        line("l3"),
        shipping_address={"country": "FR"},
        billing_address={"country": "DE"},
    )
    hold = held(when(order, request_return(at(3)), REVIEW))
    assert hold.triggers == ("shop/review-billing",)
    assert "billing country DE differs from shipping country FR" in hold.message
    case = return_case(applied(order, [hold]))
    assert case.state is ReturnState.AWAITING_REVIEW


def test_the_same_billing_country_or_none_holds_nothing() -> None:
    lines = (line("l1"), line("l2"), line("l3"))
    same = delivered(REVIEW, *lines, billing_address={"country": "DE"})
    assert types(when(same, request_return(at(3)), REVIEW)) == ["ReturnAuthorized"]
    assert types(when(delivered(REVIEW, *lines), request_return(at(3)), REVIEW)) == [
        "ReturnAuthorized"
    ]


def test_a_return_worth_more_than_the_amount_is_held_and_exactly_the_amount_is_not() -> None:
    # Four lines, so one line is never over half of what was paid.
    lines = (
        line("l1", unit_price=5000),
        line("l2", unit_price=5001),
        line("l3", unit_price=9000),
        line("l4", unit_price=9000),
    )
    order = delivered(REVIEW, *lines)
    assert types(when(order, request_return(at(3), {"l1": 1}), REVIEW)) == ["ReturnAuthorized"]
    hold = held(when(order, request_return(at(3), {"l2": 1}), REVIEW))
    assert hold.triggers == ("shop/review-value",)
    assert "return value EUR 50.01 is over EUR 50.00" in hold.message


def test_a_return_over_a_share_of_what_was_paid_is_held() -> None:
    # Paid 1000 + 1000 + 1000 + shipping 1000 = 4000: half is 2000; 3 lines are 3000.
    order = delivered(REVIEW, line("l1"), line("l2"), line("l3"), shipping_fee=1000)
    assert types(when(order, request_return(at(3), {"l1": 1, "l2": 1}), REVIEW)) == [
        "ReturnAuthorized"
    ]
    hold = held(when(order, request_return(at(3), {"l1": 1, "l2": 1, "l3": 1}), REVIEW))
    assert hold.triggers == ("shop/review-share",)


def test_every_tripped_trigger_is_listed() -> None:
    order = delivered(REVIEW, line("l1", unit_price=6000), billing_address={"country": "FR"})
    hold = held(when(order, request_return(at(3)), REVIEW))
    assert hold.triggers == ("shop/review-billing", "shop/review-value", "shop/review-share")


def held_order() -> Order:
    order = delivered(
        REVIEW,
        line("l1", unit_price=6000),
        line("l2", unit_price=6000),
        line("l3", unit_price=6000),
    )
    return applied(order, when(order, request_return(at(3)), REVIEW))


def test_a_reviewer_approving_authorizes_the_return_on_the_terms_held() -> None:
    order = held_order()
    command = order_command("review_return", at(4), return_id="r1", decision="approve", note="ok")
    [approved] = when(order, command, REVIEW)
    assert isinstance(approved, ev.ReturnApproved)
    assert approved.note == "ok"
    after = applied(order, [approved])
    case = return_case(after)
    assert case.state is ReturnState.AUTHORIZED
    assert case.terms == return_case(order).terms
    assert types(when(after, receive_return(at(5)), REVIEW)) == ["ReturnReceived"]


def test_a_reviewer_declining_records_review_declined() -> None:
    order = held_order()
    command = order_command(
        "review_return", at(4), return_id="r1", decision="decline", note="abuse"
    )
    decline = declined(when(order, command, REVIEW))
    assert (decline.code, decline.clause) == ("review_declined", "orderlog/review-declined")
    assert decline.message == "declined on review: abuse"
    assert decline.request is None


def test_a_return_not_held_cannot_be_reviewed() -> None:
    order = delivered(PLAIN)
    order = applied(order, when(order, request_return(at(3)), PLAIN))
    for decision in ("approve", "decline"):
        command = order_command("review_return", at(4), return_id="r1", decision=decision)
        with pytest.raises(IllegalTransition):
            when(order, command, PLAIN)


def test_a_held_return_cannot_be_received_before_review() -> None:
    with pytest.raises(IllegalTransition):
        when(held_order(), receive_return(at(4)), REVIEW)


def test_an_approved_missing_item_claim_is_settled_on_approval() -> None:
    order = delivered(REVIEW, line("l1", unit_price=6000), line("l2"), line("l3"))
    order = applied(order, when(order, claim(at(3)), REVIEW))
    assert return_case(order).state is ReturnState.AWAITING_REVIEW
    command = order_command("review_return", at(4), return_id="r1", decision="approve")
    events = when(order, command, REVIEW)
    assert types(events) == ["ReturnApproved", "ClaimAccepted", "RefundDecided"]
    assert only(events, ev.RefundDecided).amount == 6000
