"""Deciding order commands: placing (currencies, payment methods, shipping fees, discounts),
cancelling, dispatching, delivering and losing an order. Given events, when command, then
events or error, through the pure `decide`."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from lifecycle import OrderState, decide
from lifecycle import events as ev
from lifecycle.errors import (
    CancellationWindowClosed,
    DuplicateOrder,
    IllegalTransition,
    InvalidCommand,
    UnknownOrder,
    UnsupportedCurrency,
    UnsupportedPaymentMethod,
)
from lifecycle.money import MAX_ORDER_TOTAL
from lifecycle.order import evolve
from lifecycle.vocabulary import RefundBasis
from tests.support import T0, at
from tests.unit.builders import (
    as_command,
    delivered,
    history,
    line,
    make_policy,
    only,
    order_command,
    place_order,
    sole,
    types,
    when,
)

PLAIN = make_policy()

# -- placing -------------------------------------------------------------------------------------


def test_placing_an_order_records_what_was_paid_and_pins_the_policy_version() -> None:
    command = place_order(
        line("l1", quantity=2, unit_price=1000), line("l2", unit_price=500), shipping_fee=495
    )
    placed = sole(when(None, command, PLAIN), ev.OrderPlaced)
    assert isinstance(placed, ev.OrderPlaced)
    assert (placed.policy, placed.policy_version) == ("shop", PLAIN.version)
    assert [line.paid for line in placed.lines] == [2 * 1000, 500]
    assert placed.shipping_fee == 495
    assert placed.paid_total == 2 * 1000 + 500 + 495
    assert placed.at == T0


def test_a_placed_order_is_in_the_placed_state() -> None:
    order = history(PLAIN, place_order())
    assert order.state is OrderState.PLACED
    assert order.version == 1


def test_a_discount_is_spread_over_the_lines_in_proportion_to_their_value() -> None:
    # Goods 3000 and 1000: a 400 discount is 3/4 and 1/4 of it.
    command = place_order(
        line("l1", quantity=3, unit_price=1000), line("l2", unit_price=1000), discount=400
    )
    placed = sole(when(None, command, PLAIN), ev.OrderPlaced)
    assert [line.paid for line in placed.lines] == [3000 - 300, 1000 - 100]
    assert placed.paid_total == 4000 - 400


def test_the_rounding_remainder_of_a_discount_goes_to_the_earlier_line() -> None:
    # 100 over three equal lines is 33.33 each: the first line takes the extra cent.
    command = place_order(line("a"), line("b"), line("c"), discount=100)
    placed = sole(when(None, command, PLAIN), ev.OrderPlaced)
    assert [line.paid for line in placed.lines] == [1000 - 34, 1000 - 33, 1000 - 33]
    assert sum(line.paid for line in placed.lines) == 3 * 1000 - 100


def test_a_discount_of_all_the_goods_leaves_only_shipping_to_pay() -> None:
    placed = sole(
        when(None, place_order(line(unit_price=1000), discount=1000, shipping_fee=300), PLAIN),
        ev.OrderPlaced,
    )
    assert [line.paid for line in placed.lines] == [0]
    assert placed.paid_total == 300


CURRENCIES = make_policy(
    '[currencies]\naccepted = ["EUR", "USD"]\nclause = "shop/currencies"\n'
    '[payment_methods]\naccepted = ["visa", "paypal"]\nclause = "shop/payments"'
)


def test_an_accepted_currency_and_payment_method_are_taken() -> None:
    placed = sole(
        when(None, place_order(currency="USD", payment_method="paypal"), CURRENCIES), ev.OrderPlaced
    )
    assert (placed.currency, placed.payment_method) == ("USD", "paypal")


def test_a_currency_the_policy_does_not_take_is_refused() -> None:
    with pytest.raises(UnsupportedCurrency) as raised:
        when(None, place_order(currency="GBP"), CURRENCIES)
    assert raised.value.code == "unsupported_currency"
    assert "EUR, USD, not GBP" in str(raised.value)
    assert "shop/currencies" in str(raised.value)


def test_a_payment_method_the_policy_does_not_accept_is_refused() -> None:
    with pytest.raises(UnsupportedPaymentMethod) as raised:
        when(None, place_order(payment_method="amex"), CURRENCIES)
    assert raised.value.code == "unsupported_payment_method"
    assert "visa, paypal, not amex" in str(raised.value)


def test_a_policy_silent_on_currencies_and_payment_takes_any() -> None:
    placed = sole(
        when(None, place_order(currency="JPY", payment_method="amex"), PLAIN), ev.OrderPlaced
    )
    assert placed.currency == "JPY"


SHIPPING = make_policy(
    """
    [[shipping_fees]]
    countries = ["DE"]
    flat = 495
    free_over = 5000
    clause = "shop/germany"

    [[shipping_fees]]
    countries = ["EU"]
    flat = 995
    clause = "shop/europe"
    """
)


def test_without_a_shipping_fee_the_policys_flat_fee_applies() -> None:
    placed = sole(
        when(None, place_order(line(unit_price=2000), shipping_fee=None), SHIPPING), ev.OrderPlaced
    )
    assert (placed.shipping_fee, placed.shipping_clause) == (495, "shop/germany")
    assert placed.paid_total == 2000 + 495


def test_shipping_is_not_free_at_exactly_the_threshold() -> None:
    placed = sole(
        when(None, place_order(line(unit_price=5000), shipping_fee=None), SHIPPING), ev.OrderPlaced
    )
    assert placed.shipping_fee == 495


def test_shipping_is_free_strictly_over_the_threshold() -> None:
    placed = sole(
        when(None, place_order(line(unit_price=5001), shipping_fee=None), SHIPPING), ev.OrderPlaced
    )
    assert placed.shipping_fee == 0
    assert placed.paid_total == 5001


def test_a_fee_the_policy_computes_may_not_take_the_order_over_the_maximum_total() -> None:
    goods = line(unit_price=MAX_ORDER_TOTAL)
    with pytest.raises(InvalidCommand) as raised:
        when(None, place_order(goods, country="FR", shipping_fee=None), SHIPPING)
    assert raised.value.field == "shipping_fee"
    assert "shipping (995)" in str(raised.value)
    free = place_order(goods, shipping_fee=None)  # free over 5000 in Germany
    assert sole(when(None, free, SHIPPING), ev.OrderPlaced).paid_total == MAX_ORDER_TOTAL


def test_the_free_shipping_threshold_is_measured_after_the_discount() -> None:
    # 6000 of goods less a 1000 discount is 5000: not over the threshold.
    command = place_order(line(unit_price=6000), discount=1000, shipping_fee=None)
    placed = sole(when(None, command, SHIPPING), ev.OrderPlaced)
    assert placed.shipping_fee == 495


def test_the_eu_region_word_covers_eu_countries() -> None:
    placed = sole(
        when(None, place_order(country="FR", shipping_fee=None), SHIPPING), ev.OrderPlaced
    )
    assert (placed.shipping_fee, placed.shipping_clause) == (995, "shop/europe")


def test_the_shipping_address_country_decides_the_fee_over_the_customers() -> None:
    command = place_order(country="US", shipping_fee=None, shipping_address={"country": "DE"})
    placed = sole(when(None, command, SHIPPING), ev.OrderPlaced)
    assert placed.shipping_clause == "shop/germany"


def test_no_shipping_rule_for_the_destination_is_an_invalid_command_on_shipping_fee() -> None:
    with pytest.raises(InvalidCommand) as raised:
        when(None, place_order(country="US", shipping_fee=None), SHIPPING)
    assert raised.value.field == "shipping_fee"
    assert "no shipping rate for US" in str(raised.value)


def test_a_policy_without_shipping_rules_needs_the_fee_given() -> None:
    with pytest.raises(InvalidCommand) as raised:
        when(None, place_order(shipping_fee=None), PLAIN)
    assert raised.value.field == "shipping_fee"


def test_a_shipping_fee_given_by_the_caller_overrides_the_rules() -> None:
    placed = sole(when(None, place_order(shipping_fee=100), SHIPPING), ev.OrderPlaced)
    assert (placed.shipping_fee, placed.shipping_clause) == (100, None)


def test_a_wildcard_rule_covers_every_country() -> None:
    policy = make_policy('[[shipping_fees]]\ncountries = ["*"]\nflat = 1500\nclause = "shop/world"')
    placed = sole(when(None, place_order(country="JP", shipping_fee=None), policy), ev.OrderPlaced)
    assert placed.shipping_fee == 1500


def test_placing_an_order_id_twice_is_a_duplicate_order() -> None:
    order = history(PLAIN, place_order())
    with pytest.raises(DuplicateOrder) as raised:
        when(order, place_order(at=at(1)), PLAIN)
    assert raised.value.code == "duplicate_order"


# -- unknown orders and time order ---------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["cancel_order", "dispatch_order", "confirm_delivery", "report_lost", "issue_refund"]
)
def test_a_command_for_an_order_never_placed_is_unknown_order(kind: str) -> None:
    with pytest.raises(UnknownOrder) as raised:
        when(None, order_command(kind, at(1)), PLAIN)
    assert raised.value.code == "unknown_order"
    assert raised.value.order_id == "o1"


def test_a_command_earlier_than_the_orders_last_event_is_invalid_on_at() -> None:
    order = history(PLAIN, place_order(), order_command("dispatch_order", at(2)))
    with pytest.raises(InvalidCommand) as raised:
        when(order, order_command("confirm_delivery", at(1)), PLAIN)
    assert raised.value.field == "at"
    assert "earlier than the order's last event" in str(raised.value)
    # Times in messages read as the tool prints them, not as ISO-8601 text.
    assert "2026-03-03 09:00 UTC is earlier than" in str(raised.value)
    assert "(2026-03-04 09:00 UTC)" in str(raised.value)


def test_a_command_at_the_same_moment_as_the_last_event_is_accepted() -> None:
    order = history(PLAIN, place_order(), order_command("dispatch_order", at(2)))
    assert types(when(order, order_command("confirm_delivery", at(2)), PLAIN)) == ["OrderDelivered"]


# -- cancelling ----------------------------------------------------------------------------------

FIVE_MINUTES = make_policy('[cancellation]\nwindow_minutes = 5\nclause = "shop/five-minutes"')


def test_the_cancellation_deadline_is_recorded_when_the_order_is_placed() -> None:
    placed = sole(when(None, place_order(), FIVE_MINUTES), ev.OrderPlaced)
    assert placed.cancellable_until == T0 + timedelta(minutes=5)
    assert placed.cancellation_clause == "shop/five-minutes"


def test_cancelling_within_the_window_refunds_everything_paid() -> None:
    order = history(
        FIVE_MINUTES,
        place_order(line("l1", quantity=2, unit_price=1000), discount=100, shipping_fee=495),
    )
    events = when(
        order, order_command("cancel_order", at(0, minutes=4), reason="oops"), FIVE_MINUTES
    )
    assert types(events) == ["OrderCancelled", "RefundDecided"]
    cancelled, refund = events
    assert isinstance(cancelled, ev.OrderCancelled)
    assert isinstance(refund, ev.RefundDecided)
    assert cancelled.reason == "oops"
    assert cancelled.clause == "shop/five-minutes"
    assert refund.basis is RefundBasis.CANCELLATION
    assert refund.return_id is None
    assert refund.amount == 2 * 1000 - 100 + 495 == order.paid_total
    assert [(r.line_id, r.quantity, r.amount) for r in refund.lines] == [("l1", 2, 1900)]
    assert [(a.kind.value, a.amount) for a in refund.adjustments] == [("original_shipping", 495)]
    assert "orderlog/cancellation-refund" in refund.clauses


def test_cancelling_at_the_last_moment_of_the_window_is_allowed() -> None:
    order = history(FIVE_MINUTES, place_order())
    events = when(order, order_command("cancel_order", at(0, minutes=5)), FIVE_MINUTES)
    assert types(events)[0] == "OrderCancelled"


def test_cancelling_after_the_window_is_refused() -> None:
    order = history(FIVE_MINUTES, place_order())
    with pytest.raises(CancellationWindowClosed) as raised:
        when(order, order_command("cancel_order", at(0, minutes=6)), FIVE_MINUTES)
    assert raised.value.code == "cancellation_window_closed"
    assert "closed at 2026-03-02 09:05 UTC" in str(raised.value)  # a time as people read it
    assert "shop/five-minutes" in str(raised.value)


def test_without_a_window_an_order_can_be_cancelled_until_dispatch() -> None:
    order = history(PLAIN, place_order())
    assert order.placed.cancellable_until is None
    assert order.placed.cancellation_clause == "orderlog/cancel-before-dispatch"
    events = when(order, order_command("cancel_order", at(20)), PLAIN)
    assert types(events) == ["OrderCancelled", "RefundDecided"]


def test_a_cancellation_rule_without_minutes_also_lasts_until_dispatch() -> None:
    policy = make_policy('[cancellation]\nclause = "shop/until-dispatch"')
    order = history(policy, place_order())
    assert types(when(order, order_command("cancel_order", at(3)), policy))[0] == "OrderCancelled"


def test_a_dispatched_order_cannot_be_cancelled() -> None:
    order = history(PLAIN, place_order(), order_command("dispatch_order", at(1)))
    with pytest.raises(IllegalTransition) as raised:
        when(order, order_command("cancel_order", at(1)), PLAIN)
    assert (raised.value.code, raised.value.state) == ("illegal_transition", "dispatched")


def test_cancelling_an_order_that_cost_nothing_decides_no_refund() -> None:
    order = history(PLAIN, place_order(line(unit_price=0), shipping_fee=0))
    assert types(when(order, order_command("cancel_order", at(1)), PLAIN)) == ["OrderCancelled"]


def test_the_cancellation_refund_is_issued_once_and_refunds_the_order() -> None:
    order = history(PLAIN, place_order(shipping_fee=495), order_command("cancel_order", at(1)))
    issued = sole(
        when(order, order_command("issue_refund", at(2), payment_reference="P1"), PLAIN),
        ev.RefundIssued,
    )
    assert isinstance(issued, ev.RefundIssued)
    assert (issued.amount, issued.return_id, issued.payment_reference) == (1000 + 495, None, "P1")
    refunded = evolve(order, issued)
    assert refunded.state is OrderState.REFUNDED
    assert refunded.refunded_total == refunded.paid_total
    with pytest.raises(IllegalTransition):
        when(refunded, order_command("issue_refund", at(3)), PLAIN)


def test_a_placed_order_has_no_refund_to_issue() -> None:
    order = history(PLAIN, place_order())
    with pytest.raises(IllegalTransition):
        when(order, order_command("issue_refund", at(1)), PLAIN)


# -- dispatch and delivery -----------------------------------------------------------------------


def test_dispatching_records_the_carrier_and_tracking_number() -> None:
    order = history(PLAIN, place_order())
    command = order_command("dispatch_order", at(1), carrier="DHL", tracking_number="JD1")
    dispatched = sole(when(order, command, PLAIN), ev.OrderDispatched)
    assert isinstance(dispatched, ev.OrderDispatched)
    assert (dispatched.carrier, dispatched.tracking_number) == ("DHL", "JD1")
    assert evolve(order, dispatched).state is OrderState.DISPATCHED


def test_dispatching_twice_is_illegal() -> None:
    order = history(PLAIN, place_order(), order_command("dispatch_order", at(1)))
    with pytest.raises(IllegalTransition):
        when(order, order_command("dispatch_order", at(2)), PLAIN)


def test_delivery_before_dispatch_is_illegal() -> None:
    order = history(PLAIN, place_order())
    with pytest.raises(IllegalTransition) as raised:
        when(order, order_command("confirm_delivery", at(1)), PLAIN)
    assert raised.value.trigger == "confirm_delivery"


def test_delivery_counts_the_return_window_from_the_delivery_day() -> None:
    policy = make_policy('[return_window]\ndays = 30\ncounted_from = "delivery"\nclause = "shop/w"')
    order = history(policy, place_order(), order_command("dispatch_order", at(1)))
    delivered = sole(
        when(order, order_command("confirm_delivery", at(3)), policy), ev.OrderDelivered
    )
    # Delivered Thursday 5 March 2026: returns close 30 days later, on 4 April.
    assert delivered.returns_close_on == date(2026, 3, 5) + timedelta(days=30)
    assert evolve(order, delivered).state is OrderState.RECEIVED


def test_a_window_counted_from_purchase_closes_relative_to_the_order_day() -> None:
    policy = make_policy('[return_window]\ndays = 14\ncounted_from = "purchase"\nclause = "shop/w"')
    order = history(policy, place_order(), order_command("dispatch_order", at(1)))
    delivered = sole(
        when(order, order_command("confirm_delivery", at(5)), policy), ev.OrderDelivered
    )
    assert delivered.returns_close_on == T0.date() + timedelta(days=14)


def test_without_a_return_window_delivery_sets_no_closing_day() -> None:
    order = history(PLAIN, place_order(), order_command("dispatch_order", at(1)))
    delivered = sole(
        when(order, order_command("confirm_delivery", at(2)), PLAIN), ev.OrderDelivered
    )
    assert delivered.returns_close_on is None


# -- lost parcels ---------------------------------------------------------------------------------

LOST_REFUNDED = make_policy('[lost_parcel]\nrefund = true\nclause = "shop/lost-refunded"')


def test_a_lost_parcel_is_refunded_in_full_where_the_policy_says_so() -> None:
    order = history(
        LOST_REFUNDED,
        place_order(line("l1", quantity=2, unit_price=1500), discount=500, shipping_fee=495),
        order_command("dispatch_order", at(1)),
    )
    events = when(order, order_command("report_lost", at(5)), LOST_REFUNDED)
    assert types(events) == ["ParcelLost", "RefundDecided"]
    refund = only(events, ev.RefundDecided)
    assert refund.basis is RefundBasis.LOST_PARCEL
    assert refund.amount == 2 * 1500 - 500 + 495 == order.paid_total
    assert "shop/lost-refunded" in refund.clauses
    lost = order
    for event in events:
        lost = evolve(lost, event)
    assert lost.state is OrderState.LOST
    assert lost.refund_pending == order.paid_total


def test_a_lost_parcel_is_not_refunded_by_a_policy_silent_on_it() -> None:
    order = history(PLAIN, place_order(), order_command("dispatch_order", at(1)))
    events = when(order, order_command("report_lost", at(5)), PLAIN)
    assert types(events) == ["ParcelLost"]
    lost = evolve(order, events[0])
    with pytest.raises(IllegalTransition):
        when(lost, order_command("issue_refund", at(6)), PLAIN)


def test_a_policy_may_say_lost_parcels_are_not_refunded() -> None:
    policy = make_policy('[lost_parcel]\nrefund = false\nclause = "shop/carrier-claims"')
    order = history(policy, place_order(), order_command("dispatch_order", at(1)))
    assert types(when(order, order_command("report_lost", at(5)), policy)) == ["ParcelLost"]


def test_a_parcel_not_yet_dispatched_cannot_be_lost() -> None:
    order = history(LOST_REFUNDED, place_order())
    with pytest.raises(IllegalTransition):
        when(order, order_command("report_lost", at(1)), LOST_REFUNDED)


def test_a_delivered_parcel_cannot_be_reported_lost() -> None:
    order = history(
        LOST_REFUNDED,
        place_order(),
        order_command("dispatch_order", at(1)),
        order_command("confirm_delivery", at(2)),
    )
    with pytest.raises(IllegalTransition):
        when(order, order_command("report_lost", at(3)), LOST_REFUNDED)


def test_decide_is_pure_the_same_inputs_give_the_same_events() -> None:
    order = history(FIVE_MINUTES, place_order(shipping_fee=495))
    command = as_command(order_command("cancel_order", at(0, minutes=1)))
    assert decide(order, command, FIVE_MINUTES) == decide(order, command, FIVE_MINUTES)


def test_an_order_closes_only_when_its_longest_return_window_has_passed() -> None:
    policy = make_policy(
        """
        [return_window]
        days = 14
        clause = "shop/two-weeks"

        [conditions]
        accepted = ["unopened"]
        clause = "shop/unopened"

        [[conditions.exceptions]]
        reasons = ["defective"]
        accepted = ["defective"]
        window = { days = 90, counted_from = "delivery", clause = "shop/defects-90-days" }
        clause = "shop/defects"
        """
    )
    order = delivered(policy)
    assert order.delivered_at is not None
    assert order.returns_close_on == order.delivered_at.date() + timedelta(days=90)
