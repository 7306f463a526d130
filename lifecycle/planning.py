"""What a command writes, decided from what it read: the one dispatch of commands to decisions.

`OrderService` reads the streams a command names, plans, and appends; the strategies of
`lifecycle.testing` keep every stream in memory and plan the same way, so the two cannot drift
apart. Pure: the reading (and the policy version pinned on an order) is the caller's.
"""

from __future__ import annotations

from typing import Protocol

import attrs

from . import decide_subscriptions as subs
from .commands import (
    BaseCommand,
    CancelSubscription,
    Command,
    PlaceOrder,
    RenewSubscription,
    StartSubscription,
)
from .decide import decide
from .errors import DuplicateOrder, UnknownOrder, UnknownSubscription
from .events import Event
from .order import Order
from .policy import Policy
from .streams import order_stream, subscription_stream
from .subscriptions import Subscription


class Policies(Protocol):
    """Where plans find the policy in force for a new order (a `PolicyRegistry` is one)."""

    def current(self, name: str) -> Policy: ...


@attrs.frozen(kw_only=True)
class Loaded:
    """What a command's plan reads: the order and the subscription it names, as folded from
    their streams, with the versions the writes expect. `order_policy` is the policy version
    the order was placed under (for a command about an existing order)."""

    order: Order | None = None
    order_version: int = 0
    order_policy: Policy | None = None
    subscription: Subscription | None = None
    subscription_version: int = 0


@attrs.frozen
class Write:
    """Events for one stream, and the stream version they were decided against."""

    stream: str
    events: tuple[Event, ...]
    expected: int


def plan(command: BaseCommand, loaded: Loaded, policies: Policies) -> list[Write]:
    """The writes `command` leads to; raises a `DomainError` subclass if it is refused."""
    if isinstance(command, StartSubscription | RenewSubscription | CancelSubscription):
        return _plan_subscription(command, loaded, policies)
    assert isinstance(command, Command), f"unhandled command {type(command).__name__}"
    order = loaded.order
    if order is not None:
        assert loaded.order_policy is not None, "the caller loads the order's own policy"
        policy = loaded.order_policy
    elif isinstance(command, PlaceOrder):
        policy = policies.current(command.policy)
    else:
        raise UnknownOrder(command.order_id)
    events = tuple(decide(order, command, policy))
    return [Write(order_stream(command.order_id), events, loaded.order_version)]


def _plan_subscription(
    command: StartSubscription | RenewSubscription | CancelSubscription,
    loaded: Loaded,
    policies: Policies,
) -> list[Write]:
    stream = subscription_stream(command.subscription_id)
    subscription = loaded.subscription
    step: Event
    if isinstance(command, StartSubscription):
        step, placed = subs.start(subscription, command, policies.current(command.policy))
    elif subscription is None:
        raise UnknownSubscription(command.subscription_id)
    elif isinstance(command, CancelSubscription):
        policy = policies.current(subscription.policy)
        cancelled = subs.cancel_subscription(subscription, command, policy)
        return [Write(stream, (cancelled,), loaded.subscription_version)]
    else:
        step, placed = subs.renew(subscription, command, policies.current(subscription.policy))
    if loaded.order_version:
        raise DuplicateOrder(placed.order_id)
    return [
        Write(stream, (step,), loaded.subscription_version),
        Write(order_stream(placed.order_id), (placed,), 0),
    ]
