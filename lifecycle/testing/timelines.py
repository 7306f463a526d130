"""Hypothesis strategies for whole timelines: time-ordered command sequences for one shop.

The simulator behind `valid_commands` keeps every order and subscription in memory and asks
the same pure planning function as `OrderService` what each command would write; what may come
next is read from the machines' allowed triggers. So a drawn story is one the service accepts,
by construction rather than by a second copy of its rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import attrs
from hypothesis import strategies as st

from eventstore.codec import parse_iso_time

from ..commands import BaseCommand
from ..errors import DomainError
from ..events import Event, OrderEvent, SubscriptionEvent
from ..machines import (
    COMMAND_TRIGGERS,
    ORDER_MACHINE,
    RETURN_MACHINE,
    SUBSCRIPTION_MACHINE,
    Trigger,
)
from ..order import Order, ReturnCase, evolve, settlement_problem
from ..planning import Loaded, plan
from ..policy import Policy
from ..registry import PolicyRegistry
from ..subscriptions import Subscription, evolve_subscription
from ..wire import parse_command
from .malformed import well_formed_commands
from .values import (
    DEFAULT_START,
    JSONCommand,
    aware,
    inspect_return_commands,
    money,
    place_order_commands,
    rarely,
    request_return_commands,
    returnable,
    start_subscription_commands,
    wire_times,
)

Action = Callable[[st.DrawFn], JSONCommand]
"""Draws the next command of a timeline (its time included)."""


def _seconds(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda n: timedelta(seconds=n))


_MINUTE, _HOUR, _DAY = 60, 3600, 86400
_SHORT_GAPS = st.one_of(
    _seconds(1, 4 * _MINUTE),
    _seconds(5 * _MINUTE, 12 * _HOUR),
    _seconds(1 * _HOUR, 3 * _DAY),
    _seconds(5 * _MINUTE, 12 * _HOUR),
    _seconds(1 * _DAY, 4 * _DAY),
)
_LONG_GAPS = _seconds(5 * _DAY, 40 * _DAY)


@st.composite
def _gap(draw: st.DrawFn) -> timedelta:
    """Time between two commands: seconds (inside cancellation windows) to days, and once in a
    while weeks (past some return windows)."""
    return draw(_LONG_GAPS if draw(rarely(25)) else _SHORT_GAPS)


_ACTORS = st.sampled_from([None, None, "warehouse", "support", "carrier-feed", "customer"])


@attrs.define
class _Timeline:
    """A sequence being drawn, with every order and subscription as the pure core folds them
    (the streams the service would read, kept in memory)."""

    policy: Policy
    policies: PolicyRegistry
    now: datetime
    prefix: str
    max_orders: int
    max_returns: int
    keep_refused: bool
    orders: dict[str, Order] = attrs.Factory(dict)
    subscriptions: dict[str, Subscription] = attrs.Factory(dict)
    placed: int = 0
    issued: int = 0
    commands: list[JSONCommand] = attrs.Factory(list)

    def new_order_id(self) -> str:
        self.placed += 1
        return f"{self.prefix}order-{self.placed}"

    def later(self, draw: st.DrawFn, until: datetime | None = None) -> datetime:
        """A moment after the last command; before `until` (a window's end) when given."""
        if until is None:
            return self.now + draw(_gap())
        room = max(1, int((until - self.now) / timedelta(microseconds=1)))
        return self.now + timedelta(microseconds=draw(st.integers(1, room)))

    def stamp(self, draw: st.DrawFn, kind: str, at: datetime, **fields: Any) -> JSONCommand:
        """A command of `kind` at `at` with the next command id (fields that are None left out)."""
        self.issued += 1
        command: JSONCommand = {"type": kind, "at": draw(wire_times(at))}
        command.update({key: value for key, value in fields.items() if value is not None})
        command["command_id"] = f"{self.prefix}cmd-{self.issued}"
        actor = draw(_ACTORS)
        if actor is not None:
            command["actor"] = actor
        return command


def _place(draw: st.DrawFn, tl: _Timeline) -> JSONCommand:
    order_id = tl.new_order_id()
    command = draw(place_order_commands(tl.policy, order_id=order_id, at=tl.later(draw)))
    return _with_id(tl, draw, command)


def _start_subscription(draw: st.DrawFn, tl: _Timeline) -> JSONCommand:
    order_id = tl.new_order_id()
    subscription_id = f"{tl.prefix}subscription-{len(tl.subscriptions) + 1}"
    strategy = start_subscription_commands(
        tl.policy, subscription_id=subscription_id, order_id=order_id, at=tl.later(draw)
    )
    return _with_id(tl, draw, draw(strategy))


def _with_id(tl: _Timeline, draw: st.DrawFn, command: JSONCommand) -> JSONCommand:
    """A drawn command with the timeline's next command id and (sometimes) an actor."""
    at = parse_iso_time(command["at"])
    fields = {k: v for k, v in command.items() if k not in ("type", "at")}
    return tl.stamp(draw, command["type"], at, **fields)


def _renew(draw: st.DrawFn, tl: _Timeline, subscription: Subscription) -> JSONCommand:
    """Renew once the renewal is due (a renewal is refused before its date)."""
    tl.now = max(tl.now, subscription.next_renewal_at)
    return tl.stamp(
        draw,
        "renew_subscription",
        tl.later(draw),
        order_id=tl.new_order_id(),
        subscription_id=subscription.subscription_id,
    )


def _cancel_subscription(draw: st.DrawFn, tl: _Timeline, sub: Subscription) -> JSONCommand:
    at = tl.later(draw, until=sub.next_renewal_at - timedelta(microseconds=1))
    return tl.stamp(draw, "cancel_subscription", at, subscription_id=sub.subscription_id)


def _simple(draw: st.DrawFn, tl: _Timeline, order: Order, kind: str) -> JSONCommand:
    """Dispatch, deliver or report lost, with the optional fields drawn now and then."""
    extra: JSONCommand = {}
    if kind == "dispatch_order" and draw(st.booleans()):
        extra = {"carrier": "DHL", "tracking_number": f"TRK{draw(st.integers(1, 10**6))}"}
    return tl.stamp(draw, kind, tl.later(draw), order_id=order.order_id, **extra)


def _cancel(draw: st.DrawFn, tl: _Timeline, order: Order) -> JSONCommand:
    at = tl.later(draw, until=order.placed.cancellable_until)
    reason = draw(st.sampled_from([None, "changed my mind", "ordered twice"]))
    return tl.stamp(draw, "cancel_order", at, order_id=order.order_id, reason=reason)


def _request(draw: st.DrawFn, tl: _Timeline, order: Order) -> JSONCommand:
    return_id = f"r{len(order.returns) + 1}"
    strategy = request_return_commands(order, tl.policy, return_id=return_id, at=tl.later(draw))
    return _with_id(tl, draw, draw(strategy))


def _on_return(
    draw: st.DrawFn, tl: _Timeline, order: Order, case: ReturnCase, kind: str, **fields: Any
) -> JSONCommand:
    """A command of `kind` for one return, a while after the last command."""
    return tl.stamp(
        draw, kind, tl.later(draw), order_id=order.order_id, return_id=case.return_id, **fields
    )


def _review(draw: st.DrawFn, tl: _Timeline, order: Order, case: ReturnCase) -> JSONCommand:
    decision = "decline" if draw(rarely(4)) else "approve"
    note = draw(st.sampled_from([None, "checked the photos", "repeat returner"]))
    return _on_return(draw, tl, order, case, "review_return", decision=decision, note=note)


def _receive(draw: st.DrawFn, tl: _Timeline, order: Order, case: ReturnCase) -> JSONCommand:
    postage = draw(st.none() | money(max_value=1_500))
    return _on_return(draw, tl, order, case, "receive_return", return_shipping_paid=postage)


def _inspect(draw: st.DrawFn, tl: _Timeline, order: Order, case: ReturnCase) -> JSONCommand:
    command = draw(inspect_return_commands(order, case, tl.policy, at=tl.later(draw)))
    return _with_id(tl, draw, command)


def _refund(draw: st.DrawFn, tl: _Timeline, order: Order, return_id: str | None) -> JSONCommand:
    reference = draw(st.none() | st.integers(1, 10**6).map(lambda n: f"PAY-{n}"))
    return tl.stamp(
        draw,
        "issue_refund",
        tl.later(draw),
        order_id=order.order_id,
        return_id=return_id,
        payment_reference=reference,
    )


def _replace(draw: st.DrawFn, tl: _Timeline, order: Order, case: ReturnCase) -> JSONCommand:
    return _on_return(draw, tl, order, case, "ship_replacement")


def _settle(draw: st.DrawFn, tl: _Timeline, order: Order, case: ReturnCase) -> JSONCommand:
    note = draw(st.sampled_from([None, "out of stock", "customer asked for money"]))
    return _on_return(draw, tl, order, case, "settle_by_refund", actor="support-1", note=note)


def _stray(draw: st.DrawFn, tl: _Timeline) -> JSONCommand:
    """Any well-formed command for an order of the timeline (or an unknown one): mostly refused."""
    order_ids = sorted(tl.orders) or ["order-unknown"]
    at = tl.later(draw)
    strategy = well_formed_commands(tl.policy, order_ids=order_ids, start=at, within=timedelta(0))
    return _with_id(tl, draw, draw(strategy))


def _order_step(tl: _Timeline, order: Order, trigger: Trigger) -> Action | None:
    """The command that fires `trigger` on the order, unless more than the machine rules it
    out now: a closed cancellation window, an order-level refund with nothing to pay."""
    if trigger is Trigger.CANCEL_ORDER:
        until = order.placed.cancellable_until
        return partial(_cancel, tl=tl, order=order) if until is None or tl.now < until else None
    if trigger is Trigger.ISSUE_ORDER_REFUND:
        unpaid = order.order_refund is not None
        return partial(_refund, tl=tl, order=order, return_id=None) if unpaid else None
    return partial(_simple, tl=tl, order=order, kind=_COMMAND_OF[trigger])


def _return_step(tl: _Timeline, order: Order, case: ReturnCase, trigger: Trigger) -> Action:
    if trigger is Trigger.ISSUE_REFUND:
        return partial(_refund, tl=tl, order=order, return_id=case.return_id)
    return partial(_RETURN_STEPS[trigger], tl=tl, order=order, case=case)


_COMMAND_OF = {trigger: kind for (kind, _), trigger in COMMAND_TRIGGERS.items()}
"""The command type that fires each trigger a command fires."""

_ORDER_WEIGHTS = (
    (Trigger.DISPATCH_ORDER, 3),
    (Trigger.CANCEL_ORDER, 1),
    (Trigger.CONFIRM_DELIVERY, 4),
    (Trigger.REPORT_LOST, 1),
    (Trigger.ISSUE_ORDER_REFUND, 1),
)
"""The order's own steps, in the order examples shrink towards, each listed `weight` times
when the machine allows it: most parcels are dispatched and delivered, a few are cancelled
or lost."""

_RETURN_STEPS: dict[Trigger, Callable[..., JSONCommand]] = {
    Trigger.APPROVE: _review,  # a review approves, or declines
    Trigger.RECEIVE_RETURN: _receive,
    Trigger.ACCEPT_INSPECTION: _inspect,  # the policy may accept nothing: a rejection
    Trigger.ISSUE_REFUND: _refund,
    Trigger.SHIP_REPLACEMENT: _replace,
    Trigger.SETTLE_BY_REFUND: _settle,
}
"""The commands that move a return on, by the trigger they fire."""


def _return_actions(tl: _Timeline, order: Order, case: ReturnCase) -> list[Action]:
    """What can happen next to one return: the steps its machine allows and its settlement
    (by refund or by sending goods) does not rule out."""
    return [
        _return_step(tl, order, case, trigger)
        for trigger in RETURN_MACHINE.allowed(case.state)
        if trigger in _RETURN_STEPS and settlement_problem(case, trigger) is None
    ]


def _order_actions(tl: _Timeline, order: Order) -> list[Action]:
    """What can happen next to one order and its returns, as the order machine allows."""
    allowed = ORDER_MACHINE.allowed(order.state)
    actions: list[Action] = []
    for trigger, weight in _ORDER_WEIGHTS:
        action = _order_step(tl, order, trigger) if trigger in allowed else None
        actions += weight * [action] if action is not None else []
    if Trigger.AUTHORIZE not in allowed:  # the return steps all need the order received
        return actions
    actions += [a for case in order.returns for a in 2 * _return_actions(tl, order, case)]
    if returnable(order) and len(order.returns) < tl.max_returns:
        request: Action = partial(_request, tl=tl, order=order)
        actions += 2 * [request]
    return actions


def _actions(tl: _Timeline) -> list[Action]:
    """Every command the timeline could draw next, in a fixed order (so examples shrink)."""
    actions: list[Action] = []
    if tl.placed < tl.max_orders:
        actions.append(partial(_place, tl=tl))
        if tl.policy.subscriptions is not None:
            actions.append(partial(_start_subscription, tl=tl))
    for order in tl.orders.values():
        actions += _order_actions(tl, order)
    for sub in tl.subscriptions.values():
        allowed = SUBSCRIPTION_MACHINE.allowed(sub.state)
        if Trigger.RENEW_SUBSCRIPTION in allowed and tl.placed < tl.max_orders:
            actions.append(partial(_renew, tl=tl, subscription=sub))
        due = sub.next_renewal_at - timedelta(microseconds=1)
        if Trigger.CANCEL_SUBSCRIPTION in allowed and tl.now < due:
            actions.append(partial(_cancel_subscription, tl=tl, sub=sub))
    if tl.keep_refused:
        actions.append(partial(_stray, tl=tl))
    return actions


def _loaded(tl: _Timeline, command: BaseCommand) -> Loaded:
    """What the service would read for `command`, from the timeline's folded streams."""
    order = tl.orders.get(getattr(command, "order_id", None) or "")
    subscription = tl.subscriptions.get(getattr(command, "subscription_id", None) or "")
    return Loaded(
        order=order,
        order_version=order.version if order is not None else 0,
        order_policy=tl.policy if order is not None else None,
        subscription=subscription,
        subscription_version=subscription.version if subscription is not None else 0,
    )


def _step(tl: _Timeline, data: JSONCommand) -> None:
    """Keep `data` if the service would accept it (or refusals are wanted), and fold what it
    would write: `plan` decides here exactly as it does in `OrderService`."""
    try:
        command = parse_command(data)
        writes = plan(command, _loaded(tl, command), tl.policies)
    except DomainError:
        if not tl.keep_refused:
            return
    else:
        for write in writes:
            _fold(tl, write.events)
    tl.commands.append(data)
    tl.now = max(tl.now, parse_iso_time(data["at"]))


def _fold(tl: _Timeline, events: Sequence[Event]) -> None:
    for event in events:
        if isinstance(event, SubscriptionEvent):
            current = tl.subscriptions.get(event.subscription_id)
            tl.subscriptions[event.subscription_id] = evolve_subscription(current, event)
        else:
            assert isinstance(event, OrderEvent), "plans write order and subscription events"
            tl.orders[event.order_id] = evolve(tl.orders.get(event.order_id), event)


@st.composite
def _sequences(
    draw: st.DrawFn,
    policy: Policy,
    start: datetime,
    orders: int,
    steps: int,
    returns: int,
    prefix: str,
    refusals: bool,
) -> list[JSONCommand]:
    tl = _Timeline(policy, PolicyRegistry([policy]), start, prefix, orders, returns, refusals)
    tl.now = start - timedelta(seconds=1)  # the first order is placed at `start` or just after
    _step(tl, _place(draw, tl))
    for _ in range(draw(st.integers(0, steps))):
        actions = _actions(tl)
        if not actions:
            break
        _step(tl, draw(st.sampled_from(actions))(draw))
    return tl.commands


def valid_commands(
    policy: Policy,
    *,
    orders: int = 3,
    steps: int = 40,
    returns: int = 3,
    start: datetime = DEFAULT_START,
    prefix: str = "",
    refusals: bool = False,
) -> st.SearchStrategy[list[JSONCommand]]:
    """Time-ordered command sequences in SPEC.md's wire form for one policy.

    A sequence places up to `orders` orders (some through subscriptions, if the policy has
    them), then up to `steps` more commands: cancels, dispatches, deliveries, lost parcels, up to
    `returns` returns per order with their reviews, receipts, inspections, refunds and
    replacements. Every command has a `command_id` (`{prefix}cmd-N`), ids are `{prefix}order-N`
    and `rN`, and times start at `start` and never go back.

    Applied in order to an `OrderService` whose registry holds `policy` (and a log without these
    ids), no command is refused with an error: each is accepted, or is a return request (or
    review) the policy declines with a recorded `ReturnDeclined`. Inspections may still be
    rejected (`ReturnRejected`) and refunds capped or zero: those are accepted outcomes. With
    `refusals=True`, well-formed commands the service refuses (illegal steps, unknown orders or
    returns, closed windows, excess quantities) are mixed in; they write nothing.
    """
    if orders < 1 or steps < 0 or returns < 0:
        raise ValueError("valid_commands needs orders >= 1, steps >= 0 and returns >= 0")
    first = aware(start)
    return _sequences(policy, first, orders, steps, returns, prefix, refusals)
