"""Subscriptions: a stream of their own whose renewals each place a normal order.

This module folds a subscription's stream (as `order.py` folds an order's); the decisions that
start, renew and cancel one are in `decide_subscriptions.py`. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import attrs

from . import events as ev
from .machines import SUBSCRIPTION_MACHINE
from .states import SubscriptionState
from .streams import SUBSCRIPTIONS, check_next_event


@attrs.frozen(kw_only=True)
class Subscription:
    """A subscription rebuilt from its stream."""

    subscription_id: str
    state: SubscriptionState
    policy: str
    every_days: int
    template: dict[str, Any]
    orders: tuple[str, ...]
    next_renewal_at: datetime
    last_at: datetime
    version: int = 1


def rebuild_subscription(events: Iterable[ev.SubscriptionEvent]) -> Subscription | None:
    """Fold a subscription stream (None when empty)."""
    subscription: Subscription | None = None
    for event in events:
        subscription = evolve_subscription(subscription, event)
    return subscription


def evolve_subscription(
    subscription: Subscription | None, event: ev.SubscriptionEvent
) -> Subscription:
    """The subscription after one more event; raises `IllegalTransition` for a forbidden one."""
    starting = isinstance(event, ev.SubscriptionStarted)
    current = (
        None if subscription is None else (subscription.subscription_id, subscription.state.value)
    )
    check_next_event(
        SUBSCRIPTIONS, current, event.subscription_id, event, event.trigger, starts=starting
    )
    if isinstance(event, ev.SubscriptionStarted):
        return Subscription(
            subscription_id=event.subscription_id,
            state=SUBSCRIPTION_MACHINE.initial,
            policy=event.policy,
            every_days=event.every_days,
            template=event.template,
            orders=(event.first_order_id,),
            next_renewal_at=event.next_renewal_at,
            last_at=event.at,
        )
    assert subscription is not None, "checked above: only a start begins a subscription"
    state = SUBSCRIPTION_MACHINE.next_state(
        subscription.state, event.trigger, f"subscription {subscription.subscription_id}"
    )
    subscription = attrs.evolve(
        subscription, state=state, version=subscription.version + 1, last_at=event.at
    )
    if isinstance(event, ev.SubscriptionRenewed):
        subscription = attrs.evolve(
            subscription,
            orders=(*subscription.orders, event.order_id),
            next_renewal_at=event.next_renewal_at,
        )
    return subscription
