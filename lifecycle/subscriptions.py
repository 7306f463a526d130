"""Subscriptions: a stream of their own whose renewals each place a normal order.

Starting and renewing write two streams in one transaction (the subscription's event and the
new order's `OrderPlaced`); the new order then lives the ordinary order lifecycle. Pure, like
`decide.py`: the service does the reading and writing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import attrs

from . import events as ev
from .commands import CancelSubscription, PlaceOrder, RenewSubscription, StartSubscription
from .decide import place
from .errors import (
    CancellationWindowClosed,
    DuplicateSubscription,
    IllegalTransition,
    InvalidCommand,
    RenewalNotDue,
    SubscriptionNotOffered,
    UnknownSubscription,
)
from .machines import SUBSCRIPTION_MACHINE
from .policy import Policy, SubscriptionRule
from .states import SubscriptionState
from .wire import command_to_dict, parse_command

_PER_ORDER = ("type", "order_id", "at", "command_id", "actor", "subscription_id", "every_days")


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
    if isinstance(event, ev.SubscriptionStarted):
        if subscription is not None:
            raise IllegalTransition(
                f"subscription {event.subscription_id} was started twice",
                state=subscription.state.value,
                trigger=event.trigger,
            )
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
    if subscription is None:
        raise IllegalTransition(
            f"{type(event).__name__} for subscription {event.subscription_id}, never started",
            state="none",
            trigger=event.trigger,
        )
    if event.subscription_id != subscription.subscription_id:
        raise IllegalTransition(
            f"{type(event).__name__} of subscription {event.subscription_id} in the stream of "
            f"{subscription.subscription_id}",
            state=subscription.state.value,
            trigger=event.trigger,
        )
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


def start(
    existing: Subscription | None, command: StartSubscription, policy: Policy
) -> tuple[ev.SubscriptionStarted, ev.OrderPlaced]:
    """Subscribe and place the first order (which checks currency, payment and shipping)."""
    _offered(policy)
    if existing is not None:
        raise DuplicateSubscription(command.subscription_id)
    first = place(command, policy, command.subscription_id)
    template = {k: v for k, v in command_to_dict(command).items() if k not in _PER_ORDER}
    started = ev.SubscriptionStarted(
        subscription_id=command.subscription_id,
        at=command.at,
        policy=policy.name,
        every_days=command.every_days,
        template=template,
        first_order_id=command.order_id,
        next_renewal_at=command.at + timedelta(days=command.every_days),
    )
    return started, first


def renew(
    subscription: Subscription | None, command: RenewSubscription, policy: Policy
) -> tuple[ev.SubscriptionRenewed, ev.OrderPlaced]:
    """Place the next order from the template, under the policy version in force now."""
    _offered(policy)
    subscription = _existing(subscription, command)
    SUBSCRIPTION_MACHINE.next_state(
        subscription.state,
        "renew_subscription",
        f"subscription {subscription.subscription_id}",
        "renew the subscription",
    )
    if command.at < subscription.next_renewal_at:
        raise RenewalNotDue(
            f"subscription {subscription.subscription_id} renews on "
            f"{subscription.next_renewal_at.isoformat()}, not before"
        )
    order = parse_command(
        {
            **subscription.template,
            "type": "place_order",
            "order_id": command.order_id,
            "at": command.at.isoformat(),
        }
    )
    assert isinstance(order, PlaceOrder)
    placed = place(order, policy, subscription.subscription_id)
    renewed = ev.SubscriptionRenewed(
        subscription_id=subscription.subscription_id,
        at=command.at,
        order_id=command.order_id,
        # A late renewal moves the schedule on: never two shipments closer than the period.
        next_renewal_at=command.at + timedelta(days=subscription.every_days),
    )
    return renewed, placed


def cancel_subscription(
    subscription: Subscription | None, command: CancelSubscription, policy: Policy
) -> ev.SubscriptionCancelled:
    """Cancel before the next renewal is due; once it is due, that renewal goes ahead."""
    rule = _offered(policy)
    subscription = _existing(subscription, command)
    SUBSCRIPTION_MACHINE.next_state(
        subscription.state,
        "cancel_subscription",
        f"subscription {subscription.subscription_id}",
        "cancel the subscription",
    )
    if command.at >= subscription.next_renewal_at:
        raise CancellationWindowClosed(
            f"the renewal due {subscription.next_renewal_at.isoformat()} has come; cancel it as an "
            f"order if it is not dispatched ({rule.cancel_clause}: "
            f"{policy.clause_text(rule.cancel_clause)})"
        )
    return ev.SubscriptionCancelled(
        subscription_id=subscription.subscription_id,
        at=command.at,
        reason=command.reason,
        clause=rule.cancel_clause,
    )


def _offered(policy: Policy) -> SubscriptionRule:
    if policy.subscriptions is None:
        raise SubscriptionNotOffered(f"{policy.title} does not offer subscriptions")
    return policy.subscriptions


def _existing(
    subscription: Subscription | None, command: RenewSubscription | CancelSubscription
) -> Subscription:
    """The subscription a command acts on, if the command does not go back in time."""
    if subscription is None:
        raise UnknownSubscription(command.subscription_id)
    if command.at < subscription.last_at:
        raise InvalidCommand(
            f"{command.at.isoformat()} is earlier than the subscription's last event "
            f"({subscription.last_at.isoformat()}); commands are applied in time order",
            field="at",
        )
    return subscription
