"""The decisions of subscriptions: start one, renew it, cancel it.

Starting and renewing write two streams in one transaction (the subscription's event and the
new order's `OrderPlaced`); the new order then lives the ordinary order lifecycle. Pure, like
`decide.py`: `planning.py` dispatches to these, the service does the reading and writing.
"""

from __future__ import annotations

from datetime import timedelta

from eventstore.codec import human_time

from . import events as ev
from .commands import CancelSubscription, PlaceOrder, RenewSubscription, StartSubscription
from .decide import place
from .errors import (
    CancellationWindowClosed,
    DuplicateSubscription,
    RenewalNotDue,
    SubscriptionNotOffered,
    UnknownSubscription,
)
from .machines import SUBSCRIPTION_MACHINE
from .policy import Policy, SubscriptionRule
from .streams import SUBSCRIPTIONS, check_in_time_order
from .subscriptions import Subscription
from .wire import command_to_dict, parse_command

_PER_ORDER = ("type", "order_id", "at", "command_id", "actor", "subscription_id", "every_days")


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
        command.trigger,
        f"subscription {subscription.subscription_id}",
        "renew the subscription",
    )
    if command.at < subscription.next_renewal_at:
        raise RenewalNotDue(
            f"subscription {subscription.subscription_id} renews on "
            f"{human_time(subscription.next_renewal_at)}, not before"
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
    placed = place(order, policy, subscription.subscription_id, renewal=True)
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
        command.trigger,
        f"subscription {subscription.subscription_id}",
        "cancel the subscription",
    )
    if command.at >= subscription.next_renewal_at:
        raise CancellationWindowClosed(
            f"the renewal due {human_time(subscription.next_renewal_at)} has come; cancel it "
            f"as an order if it is not dispatched ({rule.cancel_clause}: "
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
    check_in_time_order(command.at, subscription.last_at, SUBSCRIPTIONS.noun)
    return subscription
