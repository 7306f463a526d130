"""Subscriptions (kiyomi): starting one places its first order, each renewal places the next,
and cancelling stops renewals only before the next one is due. Renewal orders are cancellable
until dispatch under kiyomi, where ordinary orders have five minutes."""

from __future__ import annotations

from datetime import timedelta
from importlib import resources
from typing import Any

import pytest

from lifecycle import IllegalTransition, OrderService, OrderState
from lifecycle.envelopes import from_recorded, subscription_stream
from lifecycle.events import (
    SubscriptionCancelled,
    SubscriptionEvent,
    SubscriptionRenewed,
    SubscriptionStarted,
)
from lifecycle.policy_files import parse_policy
from lifecycle.states import SubscriptionState
from lifecycle.subscriptions import Subscription, evolve_subscription, rebuild_subscription
from tests.support import T0, at
from tests.unit.builders import ServiceFactory, line, make_policy, order_command, place_order

KIYOMI = parse_policy(
    resources.files("lifecycle.policies").joinpath("kiyomi.toml").read_text("utf-8"),
    "kiyomi.toml",
)
EVERY = 30


def start(**changes: Any) -> dict[str, Any]:
    return {
        **place_order(
            line("serum", quantity=2, unit_price=2400),
            order_id="first",
            policy="kiyomi",
            discount=480,
            shipping_fee=0,
        ),
        "type": "start_subscription",
        "subscription_id": "s1",
        "every_days": EVERY,
        **changes,
    }


def renew(days: float, order_id: str = "second") -> dict[str, Any]:
    return order_command("renew_subscription", at(days), order_id=order_id, subscription_id="s1")


def cancel(days: float) -> dict[str, Any]:
    return {"type": "cancel_subscription", "at": at(days).isoformat(), "subscription_id": "s1"}


def subscribed(make_service: ServiceFactory) -> OrderService:
    service = make_service(KIYOMI)
    outcome = service.handle(start())
    # The first order under kiyomi's version also records the policy's text, first.
    assert outcome.events == ("PolicyRecorded", "SubscriptionStarted", "OrderPlaced"), outcome
    return service


def subscription_state(service: OrderService) -> Subscription:
    events = [from_recorded(r) for r in service.store.read_stream(subscription_stream("s1"))]
    subscription = rebuild_subscription(e for e in events if isinstance(e, SubscriptionEvent))
    assert subscription is not None
    return subscription


def test_starting_a_subscription_places_its_first_order(make_service: ServiceFactory) -> None:
    service = subscribed(make_service)
    first = service.load("first")
    assert first is not None
    assert first.placed.subscription_id == "s1"
    assert first.paid_total == 2 * 2400 - 480
    subscription = subscription_state(service)
    assert subscription.state is SubscriptionState.ACTIVE
    assert subscription.orders == ("first",)
    assert subscription.next_renewal_at == T0 + timedelta(days=EVERY)


def test_a_renewal_places_the_next_order_at_the_same_lines_and_prices(
    make_service: ServiceFactory,
) -> None:
    service = subscribed(make_service)
    outcome = service.handle(renew(EVERY))
    assert outcome.events == ("SubscriptionRenewed", "OrderPlaced")
    first, second = service.load("first"), service.load("second")
    assert first is not None
    assert second is not None
    assert second.placed.lines == first.placed.lines
    assert (second.placed.discount, second.paid_total) == (480, first.paid_total)
    assert second.placed.at == at(EVERY)
    subscription = subscription_state(service)
    assert subscription.orders == ("first", "second")
    assert subscription.next_renewal_at == T0 + timedelta(days=2 * EVERY)


def test_a_late_renewal_counts_the_next_one_from_when_it_happened(
    make_service: ServiceFactory,
) -> None:
    service = subscribed(make_service)
    service.handle(renew(EVERY + 5))
    assert subscription_state(service).next_renewal_at == at(EVERY + 5 + EVERY)


def test_a_renewal_order_is_cancellable_until_dispatch_under_kiyomi(
    make_service: ServiceFactory,
) -> None:
    service = subscribed(make_service)
    service.handle(renew(EVERY))
    renewal = service.load("second")
    assert renewal is not None
    assert renewal.placed.cancellable_until is None
    assert renewal.placed.cancellation_clause == "kiyomi/subscription-dispatch-final"
    # Three days later, far past kiyomi's five minutes, it is still cancellable.
    outcome = service.handle(order_command("cancel_order", at(EVERY + 3), order_id="second"))
    assert outcome.events == ("OrderCancelled", "RefundDecided")


def test_a_dispatched_renewal_order_cannot_be_cancelled(make_service: ServiceFactory) -> None:
    service = subscribed(make_service)
    service.handle(renew(EVERY))
    service.handle(order_command("dispatch_order", at(EVERY + 1), order_id="second"))
    outcome = service.handle(order_command("cancel_order", at(EVERY + 1), order_id="second"))
    assert outcome.error is not None
    assert outcome.error["code"] == "illegal_transition"


def test_an_ordinary_kiyomi_order_has_five_minutes_to_cancel(
    make_service: ServiceFactory,
) -> None:
    service = make_service(KIYOMI)
    service.handle(place_order(policy="kiyomi"))
    late = service.handle(order_command("cancel_order", at(0, minutes=6)))
    assert late.error is not None
    assert late.error["code"] == "cancellation_window_closed"
    in_time = service.handle(order_command("cancel_order", at(0, minutes=5)))
    assert in_time.ok


def test_cancelling_before_the_renewal_is_due_stops_renewals(
    make_service: ServiceFactory,
) -> None:
    service = subscribed(make_service)
    outcome = service.handle(cancel(EVERY - 1))
    assert outcome.events == ("SubscriptionCancelled",)
    subscription = subscription_state(service)
    assert subscription.state is SubscriptionState.CANCELLED
    renewal = service.handle(renew(EVERY))
    assert renewal.error is not None
    assert renewal.error["code"] == "illegal_transition"
    assert service.load("second") is None
    again = service.handle(cancel(EVERY - 1))
    assert again.error is not None
    assert again.error["code"] == "illegal_transition"


def test_cancelling_leaves_orders_already_placed_alone(make_service: ServiceFactory) -> None:
    service = subscribed(make_service)
    service.handle(cancel(1))
    first = service.load("first")
    assert first is not None
    assert first.state is OrderState.PLACED


def test_cancelling_once_the_renewal_is_due_is_refused(make_service: ServiceFactory) -> None:
    service = subscribed(make_service)
    before = service.store.head().position
    outcome = service.handle(cancel(EVERY))
    assert outcome.error is not None
    assert outcome.error["code"] == "cancellation_window_closed"
    assert "kiyomi/subscription-cancel-before-renewal" in outcome.error["message"]
    assert service.store.head().position == before
    assert service.handle(renew(EVERY)).ok


def test_a_shop_without_subscriptions_refuses_to_start_one(make_service: ServiceFactory) -> None:
    plain = make_policy()
    service = make_service(plain)
    outcome = service.handle(start(policy="shop"))
    assert outcome.error is not None
    assert outcome.error["code"] == "subscription_not_offered"
    assert service.store.head().position == 0


def test_renewing_or_cancelling_an_unknown_subscription_is_refused(
    make_service: ServiceFactory,
) -> None:
    service = make_service(KIYOMI)
    for command in (renew(EVERY), cancel(1)):
        outcome = service.handle(command)
        assert outcome.error is not None
        assert outcome.error["code"] == "unknown_subscription"


def test_starting_a_subscription_twice_is_refused(make_service: ServiceFactory) -> None:
    service = subscribed(make_service)
    outcome = service.handle(start(order_id="another"))
    assert outcome.error is not None
    assert outcome.error["code"] == "duplicate_subscription"


def test_a_renewal_may_not_reuse_an_order_id(make_service: ServiceFactory) -> None:
    service = subscribed(make_service)
    before = service.store.head().position
    outcome = service.handle(renew(EVERY, order_id="first"))
    assert outcome.error is not None
    assert outcome.error["code"] == "duplicate_order"
    assert service.store.head().position == before


@pytest.mark.parametrize("every_days", [0, 367])
def test_a_renewal_period_out_of_range_is_invalid(
    make_service: ServiceFactory, every_days: int
) -> None:
    outcome = make_service(KIYOMI).handle(start(every_days=every_days))
    assert outcome.error is not None
    assert outcome.error["code"] == "invalid_command"
    assert outcome.error["message"].startswith("every_days: ")


def test_renewing_before_the_renewal_date_is_refused(make_service: ServiceFactory) -> None:
    service = subscribed(make_service)
    before = service.store.head().position
    early = service.handle(renew(EVERY - 1))
    assert early.error is not None
    assert early.error["code"] == "renewal_not_due"
    assert service.store.head().position == before
    assert service.handle(renew(EVERY)).ok


def test_a_subscription_command_earlier_than_its_last_event_is_refused(
    make_service: ServiceFactory,
) -> None:
    service = subscribed(make_service)
    assert service.handle(renew(EVERY)).ok
    back_dated = service.handle(cancel(3))
    assert back_dated.error is not None
    assert back_dated.error["code"] == "invalid_command"
    assert "earlier than the subscription's last event" in back_dated.error["message"]


# -- the stream guards of a subscription's fold (shared with orders, lifecycle/streams.py) ------


def _started(make_service: ServiceFactory) -> tuple[Subscription, SubscriptionStarted]:
    service = subscribed(make_service)
    events = [from_recorded(r) for r in service.store.read_stream(subscription_stream("s1"))]
    first = events[0]
    assert isinstance(first, SubscriptionStarted)
    return subscription_state(service), first


def test_a_subscription_started_twice_is_refused(make_service: ServiceFactory) -> None:
    subscription, started = _started(make_service)
    with pytest.raises(IllegalTransition, match=r"^subscription s1 was started twice$") as raised:
        evolve_subscription(subscription, started)
    assert (raised.value.state, raised.value.trigger) == ("active", "start_subscription")


def test_an_event_before_the_subscription_started_is_refused() -> None:
    renewed = SubscriptionRenewed(
        subscription_id="s9", at=at(30), order_id="o2", next_renewal_at=at(60)
    )
    with pytest.raises(
        IllegalTransition, match=r"^SubscriptionRenewed for subscription s9, never started$"
    ) as raised:
        evolve_subscription(None, renewed)
    assert (raised.value.state, raised.value.trigger) == ("none", "renew_subscription")


def test_an_event_of_another_subscription_in_the_stream_is_refused(
    make_service: ServiceFactory,
) -> None:
    subscription, _ = _started(make_service)
    stray = SubscriptionCancelled(subscription_id="s2", at=at(1), clause="kiyomi/x")
    with pytest.raises(
        IllegalTransition, match=r"^SubscriptionCancelled of subscription s2 in the stream of s1$"
    ):
        evolve_subscription(subscription, stray)
