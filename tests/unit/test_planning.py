"""`plan(command, loaded, policies) -> writes`: the one dispatch of commands to decisions, which
the service and the strategies' simulator share. Pure: the streams come in as folded state."""

from __future__ import annotations

from typing import Any

import pytest

from lifecycle import (
    DuplicateOrder,
    PolicyRegistry,
    UnknownOrder,
    UnknownPolicy,
    parse_command,
)
from lifecycle import events as ev
from lifecycle.errors import UnknownSubscription
from lifecycle.planning import Loaded, Write, plan
from lifecycle.subscriptions import rebuild_subscription
from tests.support import at
from tests.unit.builders import applied, line, make_policy, order_command, place_order

SHOP = make_policy(
    '[subscriptions]\nclause = "shop/subscribe"\ncancel_clause = "shop/cancel"', name="shop"
)
POLICIES = PolicyRegistry([SHOP])


def start(**changes: Any) -> dict[str, Any]:
    return {
        **place_order(line("l1"), order_id="o1"),
        "type": "start_subscription",
        "subscription_id": "s1",
        "every_days": 30,
        **changes,
    }


def planned(data: dict[str, Any], loaded: Loaded | None = None) -> list[Write]:
    return plan(parse_command(data), loaded or Loaded(), POLICIES)


def order_events(*writes: Write) -> list[ev.OrderEvent]:
    return [e for write in writes for e in write.events if isinstance(e, ev.OrderEvent)]


def test_a_new_order_is_one_write_to_its_own_stream_from_version_zero() -> None:
    [write] = planned(place_order())
    assert (write.stream, write.expected) == ("order-o1", 0)
    assert [type(e) for e in write.events] == [ev.OrderPlaced]
    placed = write.events[0]
    assert isinstance(placed, ev.OrderPlaced)
    assert placed.policy_version == SHOP.version


def test_a_step_on_an_order_expects_the_version_it_read() -> None:
    [placing] = planned(place_order())
    order = applied(None, order_events(placing))
    loaded = Loaded(order=order, order_version=order.version, order_policy=SHOP)
    [write] = planned(order_command("dispatch_order", at(1)), loaded)
    assert (write.stream, write.expected) == ("order-o1", 1)
    assert [type(e) for e in write.events] == [ev.OrderDispatched]


def test_an_existing_order_is_decided_under_the_policy_loaded_with_it() -> None:
    """Not the registry's current version: the one the order was placed under."""
    [placing] = planned(place_order())
    placed = order_events(placing)
    [dispatching] = planned(
        order_command("dispatch_order", at(1)),
        Loaded(order=applied(None, placed), order_version=1, order_policy=SHOP),
    )
    order = applied(None, order_events(placing, dispatching))
    pinned = make_policy(
        '[return_window]\ndays = 30\ncounted_from = "delivery"\nclause = "shop/thirty"'
    )
    deliver = order_command("confirm_delivery", at(2))
    [under_pinned] = planned(deliver, Loaded(order=order, order_version=2, order_policy=pinned))
    [under_current] = planned(deliver, Loaded(order=order, order_version=2, order_policy=SHOP))
    delivered = under_pinned.events[0]
    assert isinstance(delivered, ev.OrderDelivered)
    assert delivered.returns_close_on == at(32).date()
    assert under_current.events[0] != delivered


def test_a_command_for_an_order_never_placed_is_unknown_order() -> None:
    with pytest.raises(UnknownOrder):
        planned(order_command("dispatch_order", at(1)))


def test_a_new_order_under_an_unknown_policy_is_refused() -> None:
    with pytest.raises(UnknownPolicy):
        planned(place_order(policy="nowhere"))


def test_starting_a_subscription_writes_its_stream_and_the_first_order() -> None:
    subscription, order = planned(start())
    assert (subscription.stream, subscription.expected) == ("subscription-s1", 0)
    assert [type(e) for e in subscription.events] == [ev.SubscriptionStarted]
    assert (order.stream, order.expected) == ("order-o1", 0)
    assert [type(e) for e in order.events] == [ev.OrderPlaced]


def test_a_subscription_may_not_place_an_order_id_already_used() -> None:
    with pytest.raises(DuplicateOrder):
        planned(start(), Loaded(order_version=3))


def test_renewing_or_cancelling_an_unknown_subscription_is_refused() -> None:
    renew = order_command("renew_subscription", at(31), order_id="o2", subscription_id="s1")
    with pytest.raises(UnknownSubscription):
        planned(renew)


def test_cancelling_a_subscription_is_one_write_expecting_its_version() -> None:
    [started, _] = planned(start())
    subscription = rebuild_subscription(
        e for e in started.events if isinstance(e, ev.SubscriptionEvent)
    )
    loaded = Loaded(subscription=subscription, subscription_version=1)
    cancel = {"type": "cancel_subscription", "at": at(2).isoformat(), "subscription_id": "s1"}
    [write] = planned(cancel, loaded)
    assert (write.stream, write.expected) == ("subscription-s1", 1)
    assert [type(e) for e in write.events] == [ev.SubscriptionCancelled]
