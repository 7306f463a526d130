"""Hypothesis strategies for property tests against orderlog's machines, for fulfilment teams.

`valid_commands(policy)` draws time-ordered command sequences in SPEC.md's JSON wire form;
`invalid_commands()` draws malformed commands, each paired with the field `InvalidCommand` must
name; the single-value strategies compose into your own. Needs hypothesis (the `test` extra):
nothing else in `lifecycle` imports this module, so `import lifecycle` never does.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta, timezone
from functools import partial
from typing import Any, NamedTuple

import attrs
from hypothesis import strategies as st

from . import subscriptions as subs
from .commands import CancelSubscription, RenewSubscription, RequestReturn, StartSubscription
from .commands import Command as OrderCommand
from .decide import decide
from .errors import DomainError, DuplicateOrder
from .events import OrderEvent, SubscriptionEvent
from .order import Order, ReturnCase, evolve
from .policy import EU, Policy
from .returns import Refusal, terms
from .states import OrderState, ReturnState, SubscriptionState
from .vocabulary import Condition, Resolution, ReturnMethod, ReturnReason
from .wire import COMMAND_TYPES, parse_command

__all__ = [
    "DEFAULT_START",
    "PROBLEMS",
    "JSONCommand",
    "Malformed",
    "countries",
    "currencies",
    "inspect_return_commands",
    "invalid_commands",
    "money",
    "order_lines",
    "payment_methods",
    "place_order_commands",
    "request_return_commands",
    "start_subscription_commands",
    "utc_times",
    "valid_commands",
    "well_formed_commands",
    "wire_times",
]

JSONCommand = dict[str, Any]
"""A command in SPEC.md's JSON wire form, as `OrderService.handle` and `parse_command` take it."""

DEFAULT_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""Where drawn timelines begin unless told otherwise: a Monday morning, UTC."""

CATEGORIES = ("bodysuits", "tights", "socks", "jewelry", "intimates", "dresses", "tops")
PAYMENT_METHODS = ("visa", "mastercard", "amex", "paypal")
CURRENCIES = ("EUR", "USD", "GBP")
COUNTRIES = ("US", "GB", "CA", "AU", "JP", "CH", "NO", "FR", "DE", "NL", "IT", "ES")

_ANY_SHOP = Policy(name="any-shop", title="Any shop", clauses={})
"""A policy that says nothing: the vocabulary of commands drawn without a shop in mind."""


# -- single values ------------------------------------------------------------------------------


def _aware(start: datetime) -> datetime:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start must be timezone-aware (UTC), not {start.isoformat()}")
    return start.astimezone(UTC)


def utc_times(
    start: datetime = DEFAULT_START, *, within: timedelta = timedelta(days=365)
) -> st.SearchStrategy[datetime]:
    """Aware UTC times from `start` to `start + within` (shrinking towards `start`).

    Derived from `start`, never from the clock, so a failing example replays exactly."""
    first = _aware(start)
    span = int(within / timedelta(microseconds=1))
    return st.integers(0, span).map(lambda us: first + timedelta(microseconds=us))


_OFFSETS = (0, 0, 60, 120, -300, 330, 540, -600)
"""Minutes east of UTC that `wire_times` writes a moment in (UTC most often)."""


@st.composite
def wire_times(draw: st.DrawFn, moment: datetime) -> str:
    """The ISO-8601 text of `moment` with a UTC offset: `Z`, `+00:00` or another zone's offset.

    Every form names the same instant, which is all orderlog may read from it."""
    minutes = draw(st.sampled_from(_OFFSETS))
    local = _aware(moment).astimezone(timezone(timedelta(minutes=minutes)))
    text = local.isoformat()
    if minutes == 0 and draw(st.booleans()):
        text = text.removesuffix("+00:00") + "Z"
    return text


def money(*, max_value: int = 100_000) -> st.SearchStrategy[int]:
    """Amounts in minor units (cents): non-negative integers, never floats."""
    return st.integers(0, max_value)


def _rarely(one_in: int) -> st.SearchStrategy[bool]:
    """True about once in `one_in` draws; shrinks to False."""
    return st.integers(0, one_in - 1).map(lambda n: n == one_in - 1)


def currencies(policy: Policy) -> st.SearchStrategy[str]:
    """A currency the policy takes (any of a few common ones when it names none)."""
    accepted = policy.currencies.accepted if policy.currencies else CURRENCIES
    return st.sampled_from(accepted)


def payment_methods(policy: Policy) -> st.SearchStrategy[str]:
    """A payment method the policy accepts (any of SPEC.md's words when it names none)."""
    accepted = policy.payment_methods.accepted if policy.payment_methods else PAYMENT_METHODS
    return st.sampled_from(accepted)


def countries(policy: Policy) -> st.SearchStrategy[str]:
    """A destination country: common ones, every country the policy's rules name, EU members.

    Some may have no shipping rate in the policy; `place_order_commands` then states the fee."""
    lists = [rule.countries for rule in policy.shipping_fees]
    lists += [rule.countries for rule in policy.return_shipping]
    named = {country for countries in lists for country in countries if len(country) == 2}
    return st.sampled_from(sorted({*COUNTRIES, *named})) | st.sampled_from(sorted(EU))


def _categories(policy: Policy) -> st.SearchStrategy[str | None]:
    """A line's category: mostly none or SPEC.md's words, sometimes one the policy excludes
    from returns; in any letter case, as policies match them case-insensitively."""
    excluded = sorted({word for rule in policy.non_returnable for word in rule.categories})
    others = sorted({*CATEGORIES} - {word.casefold() for word in excluded})
    words = st.sampled_from(others)
    if excluded:
        words = _rarely(3).flatmap(lambda odd: st.sampled_from(excluded) if odd else words)
    cased = words.flatmap(lambda w: st.sampled_from([w, w.upper(), w.title()]))
    return st.one_of(st.none(), cased)


@st.composite
def _order_line(draw: st.DrawFn, policy: Policy, line_id: str) -> JSONCommand:
    """One order line; final-sale, free-gift and bundled lines turn up now and then."""
    line: JSONCommand = {
        "line_id": line_id,
        "sku": draw(st.sampled_from(["SKU-1", "SKU-2", "SKU-3", "GIFT", "PACK-A"])),
        "quantity": draw(st.integers(1, 4)),
        "unit_price": draw(money(max_value=20_000)),
    }
    category = draw(_categories(policy))
    if category is not None:
        line["category"] = category
    if draw(_rarely(8)):
        line["final_sale"] = True
    if draw(_rarely(10)):
        line["free_gift"] = True
    if draw(_rarely(3)):
        line["bundle"] = draw(st.sampled_from(["pack-1", "pack-2"]))
    return line


@st.composite
def order_lines(draw: st.DrawFn, policy: Policy, *, max_lines: int = 4) -> list[JSONCommand]:
    """The `lines` of a place_order: 1 to `max_lines` lines with ids L1, L2..."""
    count = draw(st.integers(1, max_lines))
    return [draw(_order_line(policy, f"L{n}")) for n in range(1, count + 1)]


@st.composite
def _address(draw: st.DrawFn, country: str) -> JSONCommand:
    address: JSONCommand = {"country": country}
    if draw(st.booleans()):
        address.update(name="A. Customer", line1="1 Main Street", city="Springfield")
    return address


@st.composite
def place_order_commands(
    draw: st.DrawFn,
    policy: Policy,
    *,
    order_id: str | None = None,
    at: datetime | None = None,
) -> JSONCommand:
    """A place_order the policy accepts: its currencies and payment methods, and a shipping
    fee wherever the policy has no rate for the destination (sometimes also where it has one)."""
    when = at if at is not None else draw(utc_times())
    goal = draw(countries(policy))
    lines = draw(order_lines(policy))
    command: JSONCommand = {
        "type": "place_order",
        "order_id": order_id or f"order-{draw(st.integers(1, 999))}",
        "at": draw(wire_times(when)),
        "policy": policy.name,
        "currency": draw(currencies(policy)),
        "customer": {"id": f"customer-{draw(st.integers(1, 99))}", "country": goal},
        "lines": lines,
        "payment_method": draw(payment_methods(policy)),
    }
    if draw(st.booleans()):
        command["customer"]["email"] = "someone@example.com"
    if draw(_rarely(3)):
        command["customer"]["country"] = draw(countries(policy))
        command["shipping_address"] = draw(_address(goal))
    if draw(_rarely(4)):
        command["billing_address"] = draw(_address(draw(countries(policy))))
    goods = sum(line["quantity"] * line["unit_price"] for line in lines)
    if goods and draw(_rarely(3)):
        command["discount"] = draw(st.integers(0, goods))
    if policy.shipping_fee_rule(goal) is None or draw(_rarely(4)):
        command["shipping_fee"] = draw(money(max_value=2_000))
    return command


@st.composite
def start_subscription_commands(
    draw: st.DrawFn,
    policy: Policy,
    *,
    subscription_id: str,
    order_id: str | None = None,
    at: datetime | None = None,
) -> JSONCommand:
    """A start_subscription (a place_order that renews every few weeks) for `policy`."""
    command = draw(place_order_commands(policy, order_id=order_id, at=at))
    command.update(
        type="start_subscription",
        subscription_id=subscription_id,
        every_days=draw(st.integers(7, 60)),
    )
    return command


def _returnable(order: Order) -> dict[str, int]:
    """Units of each line not yet in a (not declined) return."""
    return {
        line.line_id: line.quantity - order.units_in_returns(line.line_id)
        for line in order.placed.lines
        if line.quantity > order.units_in_returns(line.line_id)
    }


@st.composite
def _return_lines(draw: st.DrawFn, order: Order, policy: Policy) -> list[JSONCommand]:
    """Units still returnable, mostly of lines the policy does not exclude; half the time any
    bundle touched is completed, as policies that take packages back whole require."""
    left = _returnable(order) or {line.line_id: 1 for line in order.placed.lines}
    allowed = [
        line.line_id
        for line in order.placed.lines
        if line.line_id in left
        and policy.excluded_by(line.category, line.final_sale, line.free_gift) is None
    ]
    pool = sorted(left) if not allowed or draw(_rarely(5)) else allowed
    chosen = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
    wanted = {line_id: draw(st.integers(1, left[line_id])) for line_id in chosen}
    if draw(st.booleans()):
        bundles = {line.bundle for line in order.placed.lines if line.line_id in wanted}
        for line in order.placed.lines:
            if line.bundle is not None and line.bundle in bundles and line.line_id in left:
                wanted[line.line_id] = left[line.line_id]
    return [{"line_id": line_id, "quantity": n} for line_id, n in wanted.items()]


def _offered(order: Order, policy: Policy, request: JSONCommand, method: ReturnMethod) -> bool:
    """Whether the policy's return-shipping terms allow `method` for this request, asked of
    `returns.terms` itself so that every power of the policy model is honoured."""
    command = parse_command({**request, "method": method.value})
    assert isinstance(command, RequestReturn)
    return not isinstance(terms(order, command, policy), Refusal)


@st.composite
def _return_method(
    draw: st.DrawFn, order: Order, policy: Policy, request: JSONCommand
) -> ReturnMethod:
    """Mostly a method the policy offers for this return; now and then any method."""
    methods = list(ReturnMethod)
    offered = [m for m in methods if _offered(order, policy, request, m)]
    if not offered or draw(_rarely(6)):
        return draw(st.sampled_from(methods))
    return draw(st.sampled_from(offered))


@st.composite
def request_return_commands(
    draw: st.DrawFn, order: Order, policy: Policy, *, return_id: str, at: datetime
) -> JSONCommand:
    """A request_return for units of `order` still returnable, with a method the policy offers
    (mostly), an exchange now and then, and an unboxing video with most missing-item claims.

    For an order with nothing left to return it still asks for a unit of each line (refused:
    `quantity_exceeds_returnable`)."""
    reason = draw(st.sampled_from(list(ReturnReason)))
    command: JSONCommand = {
        "type": "request_return",
        "order_id": order.order_id,
        "at": draw(wire_times(at)),
        "return_id": return_id,
        "lines": draw(_return_lines(order, policy)),
        "reason": reason.value,
    }
    exchanges = policy.exchange is not None and policy.exchange.offered
    if draw(_rarely(6 if exchanges else 20)):
        command.update(resolution="exchange", exchange_sku="SKU-EXCHANGE")
    if reason is ReturnReason.MISSING_ITEM or draw(_rarely(8)):
        command["evidence"] = {"unboxing_video": not draw(_rarely(5))}
    command["method"] = draw(_return_method(order, policy, command)).value
    return command


def _conditions(case: ReturnCase, policy: Policy) -> st.SearchStrategy[Condition]:
    """Mostly a condition the policy accepts for the return's reason; sometimes any."""
    accepted, _ = policy.accepted_conditions(case.request.reason)
    anything = st.sampled_from(list(Condition))
    if not accepted:
        return anything
    good = st.sampled_from(sorted(accepted, key=lambda c: c.value))
    return _rarely(4).flatmap(lambda wild: anything if wild else good)


@st.composite
def _inspected(
    draw: st.DrawFn, case: ReturnCase, policy: Policy, line_id: str
) -> list[JSONCommand]:
    """What the warehouse found of one returned line: all or some units, in one or two lots."""
    asked = case.requested_units(line_id)
    found = draw(st.just(asked) | st.integers(1, asked))
    lots = [found]
    if found > 1 and draw(_rarely(4)):
        first = draw(st.integers(1, found - 1))
        lots = [first, found - first]
    return [
        {"line_id": line_id, "quantity": n, "condition": draw(_conditions(case, policy)).value}
        for n in lots
    ]


@st.composite
def inspect_return_commands(
    draw: st.DrawFn, order: Order, case: ReturnCase, policy: Policy, *, at: datetime
) -> JSONCommand:
    """An inspect_return for a received return: mostly every line, mostly acceptable conditions."""
    line_ids = [line.line_id for line in case.request.lines]
    if len(line_ids) > 1 and draw(_rarely(5)):
        line_ids = draw(st.lists(st.sampled_from(line_ids), min_size=1, unique=True))
    return {
        "type": "inspect_return",
        "order_id": order.order_id,
        "at": draw(wire_times(at)),
        "return_id": case.return_id,
        "lines": [found for i in line_ids for found in draw(_inspected(case, policy, i))],
    }


# -- sequences ----------------------------------------------------------------------------------

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
    return draw(_LONG_GAPS if draw(_rarely(25)) else _SHORT_GAPS)


_ACTORS = st.sampled_from([None, None, "warehouse", "support", "carrier-feed", "customer"])


@attrs.define
class _Timeline:
    """A sequence being drawn, with every order and subscription as the pure core folds them."""

    policy: Policy
    now: datetime
    prefix: str
    max_orders: int
    max_returns: int
    keep_refused: bool
    orders: dict[str, Order] = attrs.Factory(dict)
    subscriptions: dict[str, subs.Subscription] = attrs.Factory(dict)
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
    at = datetime.fromisoformat(command["at"])
    fields = {k: v for k, v in command.items() if k not in ("type", "at")}
    return tl.stamp(draw, command["type"], at, **fields)


def _renew(draw: st.DrawFn, tl: _Timeline, subscription: subs.Subscription) -> JSONCommand:
    """Renew once the renewal is due (a renewal is refused before its date)."""
    tl.now = max(tl.now, subscription.next_renewal_at)
    return tl.stamp(
        draw,
        "renew_subscription",
        tl.later(draw),
        order_id=tl.new_order_id(),
        subscription_id=subscription.subscription_id,
    )


def _cancel_subscription(draw: st.DrawFn, tl: _Timeline, sub: subs.Subscription) -> JSONCommand:
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


def _review(draw: st.DrawFn, tl: _Timeline, order: Order, case: ReturnCase) -> JSONCommand:
    decision = "decline" if draw(_rarely(4)) else "approve"
    note = draw(st.sampled_from([None, "checked the photos", "repeat returner"]))
    return tl.stamp(
        draw,
        "review_return",
        tl.later(draw),
        order_id=order.order_id,
        return_id=case.return_id,
        decision=decision,
        note=note,
    )


def _receive(draw: st.DrawFn, tl: _Timeline, order: Order, case: ReturnCase) -> JSONCommand:
    postage = draw(st.none() | money(max_value=1_500))
    return tl.stamp(
        draw,
        "receive_return",
        tl.later(draw),
        order_id=order.order_id,
        return_id=case.return_id,
        return_shipping_paid=postage,
    )


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
    return tl.stamp(
        draw, "ship_replacement", tl.later(draw), order_id=order.order_id, return_id=case.return_id
    )


def _stray(draw: st.DrawFn, tl: _Timeline) -> JSONCommand:
    """Any well-formed command for an order of the timeline (or an unknown one): mostly refused."""
    order_ids = sorted(tl.orders) or ["order-unknown"]
    at = tl.later(draw)
    strategy = well_formed_commands(tl.policy, order_ids=order_ids, start=at, within=timedelta(0))
    return _with_id(tl, draw, draw(strategy))


def _return_actions(tl: _Timeline, order: Order, case: ReturnCase) -> list[Action]:
    """What can happen next to one return."""
    state = case.state
    if state is ReturnState.AWAITING_REVIEW:
        return [partial(_review, tl=tl, order=order, case=case)]
    if state is ReturnState.AUTHORIZED:
        return [partial(_receive, tl=tl, order=order, case=case)]
    if state is ReturnState.RECEIVED:
        return [partial(_inspect, tl=tl, order=order, case=case)]
    if state is not ReturnState.INSPECTED:
        return []
    actions: list[Action] = []
    if case.refund is not None and not case.refund_issued:
        actions.append(partial(_refund, tl=tl, order=order, return_id=case.return_id))
    if case.terms is not None and case.terms.resolution is not Resolution.REFUND:
        actions.append(partial(_replace, tl=tl, order=order, case=case))
    return actions


def _order_actions(tl: _Timeline, order: Order) -> list[Action]:
    """What can happen next to one order and its returns; listed more than once, more likely
    (most parcels are dispatched and delivered, a few are cancelled or lost)."""
    state = order.state
    if state is OrderState.PLACED:
        dispatch: Action = partial(_simple, tl=tl, order=order, kind="dispatch_order")
        actions = 3 * [dispatch]
        until = order.placed.cancellable_until
        if until is None or tl.now < until:
            actions.append(partial(_cancel, tl=tl, order=order))
        return actions
    if state is OrderState.DISPATCHED:
        deliver: Action = partial(_simple, tl=tl, order=order, kind="confirm_delivery")
        return [*4 * [deliver], partial(_simple, tl=tl, order=order, kind="report_lost")]
    if state in (OrderState.CANCELLED, OrderState.LOST):
        unpaid = order.order_refund is not None and not order.order_refund_issued
        return [partial(_refund, tl=tl, order=order, return_id=None)] if unpaid else []
    if state is not OrderState.RECEIVED:
        return []
    actions = [a for case in order.returns for a in 2 * _return_actions(tl, order, case)]
    if _returnable(order) and len(order.returns) < tl.max_returns:
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
        if sub.state is SubscriptionState.ACTIVE:
            if tl.placed < tl.max_orders:
                actions.append(partial(_renew, tl=tl, subscription=sub))
            if tl.now < sub.next_renewal_at - timedelta(microseconds=1):
                actions.append(partial(_cancel_subscription, tl=tl, sub=sub))
    if tl.keep_refused:
        actions.append(partial(_stray, tl=tl))
    return actions


def _fold(tl: _Timeline, events: Sequence[OrderEvent | SubscriptionEvent]) -> None:
    for event in events:
        if isinstance(event, SubscriptionEvent):
            current = tl.subscriptions.get(event.subscription_id)
            tl.subscriptions[event.subscription_id] = subs.evolve_subscription(current, event)
        else:
            tl.orders[event.order_id] = evolve(tl.orders.get(event.order_id), event)


def _decide(tl: _Timeline, data: JSONCommand) -> list[OrderEvent | SubscriptionEvent]:
    """The events the service would record for `data`; raises `DomainError` if it refuses."""
    command = parse_command(data)
    if isinstance(command, CancelSubscription):
        current = tl.subscriptions.get(command.subscription_id)
        return [subs.cancel_subscription(current, command, tl.policy)]
    step: SubscriptionEvent
    if isinstance(command, StartSubscription):
        step, placed = subs.start(tl.subscriptions.get(command.subscription_id), command, tl.policy)
    elif isinstance(command, RenewSubscription):
        current = tl.subscriptions.get(command.subscription_id)
        step, placed = subs.renew(current, command, tl.policy)
    else:
        assert isinstance(command, OrderCommand), "every other command is about one order"
        return list(decide(tl.orders.get(command.order_id), command, tl.policy))
    if placed.order_id in tl.orders:
        raise DuplicateOrder(placed.order_id)
    return [step, placed]


def _step(tl: _Timeline, data: JSONCommand) -> None:
    """Keep `data` if the pure core accepts it (or refusals are wanted), and fold its events."""
    try:
        _fold(tl, _decide(tl, data))
    except DomainError:
        if not tl.keep_refused:
            return
    tl.commands.append(data)
    tl.now = max(tl.now, datetime.fromisoformat(data["at"]).astimezone(UTC))


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
    tl = _Timeline(policy, start, prefix, orders, returns, refusals)
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
    first = _aware(start)
    return _sequences(policy, first, orders, steps, returns, prefix, refusals)


# -- any single well-formed command -------------------------------------------------------------

_TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).filter(str.strip)
"""Free text as callers type it: any Unicode that UTF-8 can carry, not blank."""


@st.composite
def _loose_lines(draw: st.DrawFn, condition: bool) -> list[JSONCommand]:
    """Return or inspection lines naming lines L1..L4 (which an order may not have)."""
    ids = draw(st.lists(st.sampled_from(["L1", "L2", "L3", "L4"]), min_size=1, unique=True))
    lines = [{"line_id": i, "quantity": draw(st.integers(1, 5))} for i in ids]
    if condition:
        for line in lines:
            line["condition"] = draw(st.sampled_from(list(Condition))).value
    return lines


@st.composite
def _loose_request(draw: st.DrawFn) -> JSONCommand:
    fields: JSONCommand = {
        "lines": draw(_loose_lines(False)),
        "reason": draw(st.sampled_from(list(ReturnReason))).value,
        "method": draw(st.sampled_from(list(ReturnMethod))).value,
    }
    if draw(st.booleans()):
        fields.update(resolution="exchange", exchange_sku=draw(_TEXT))
    elif draw(st.booleans()):
        fields["resolution"] = "refund"
    if draw(st.booleans()):
        fields["evidence"] = {"unboxing_video": draw(st.booleans())}
    return fields


_RETURN_IDS = st.sampled_from(["r1", "r2", "r3"]) | _TEXT

_LOOSE_FIELDS: dict[str, st.SearchStrategy[JSONCommand]] = {
    "cancel_order": st.fixed_dictionaries({}, optional={"reason": _TEXT}),
    "dispatch_order": st.fixed_dictionaries(
        {}, optional={"carrier": _TEXT, "tracking_number": _TEXT}
    ),
    "confirm_delivery": st.just({}),
    "report_lost": st.just({}),
    "request_return": _loose_request(),
    "review_return": st.fixed_dictionaries(
        {"decision": st.sampled_from(["approve", "decline"])}, optional={"note": _TEXT}
    ),
    "receive_return": st.fixed_dictionaries({}, optional={"return_shipping_paid": money()}),
    "inspect_return": st.fixed_dictionaries({"lines": _loose_lines(True)}),
    "issue_refund": st.fixed_dictionaries(
        {}, optional={"return_id": _RETURN_IDS, "payment_reference": _TEXT}
    ),
    "ship_replacement": st.fixed_dictionaries({}, optional={"tracking_number": _TEXT}),
}
"""The type-specific fields of commands about an existing order, drawn without an order."""

_NEEDS_RETURN = ("request_return", "review_return", "receive_return", "inspect_return")


@st.composite
def _loose_command(
    draw: st.DrawFn, kind: str, order_ids: st.SearchStrategy[str], at: datetime
) -> JSONCommand:
    command: JSONCommand = {"type": kind, "order_id": draw(order_ids), "at": draw(wire_times(at))}
    if kind in (*_NEEDS_RETURN, "ship_replacement"):
        command["return_id"] = draw(_RETURN_IDS)
    command.update(draw(_LOOSE_FIELDS[kind]))
    return command


@st.composite
def _subscription_command(
    draw: st.DrawFn, kind: str, policy: Policy, order_ids: st.SearchStrategy[str], at: datetime
) -> JSONCommand:
    subscription_id = draw(st.sampled_from(["subscription-1", "subscription-2"]) | _TEXT)
    if kind == "start_subscription":
        return draw(
            start_subscription_commands(
                policy, subscription_id=subscription_id, order_id=draw(order_ids), at=at
            )
        )
    command: JSONCommand = {"type": kind, "subscription_id": subscription_id}
    command["at"] = draw(wire_times(at))
    if kind == "renew_subscription":
        command["order_id"] = draw(order_ids)
    elif draw(st.booleans()):
        command["reason"] = draw(_TEXT)
    return command


@st.composite
def well_formed_commands(
    draw: st.DrawFn,
    policy: Policy | None = None,
    *,
    types: Sequence[str] = tuple(COMMAND_TYPES),
    order_ids: Sequence[str] | None = None,
    start: datetime = DEFAULT_START,
    within: timedelta = timedelta(days=365),
) -> JSONCommand:
    """One well-formed command of one of `types` (default: any), fields drawn freely (free text
    in any script), times from `start` to `start + within`.

    `parse_command` accepts every one; sent on its own, the service refuses most (an unknown
    order, a step the order is not at). Meant for round-trip tests and as raw material."""
    shop = policy or _ANY_SHOP
    ids = st.sampled_from(list(order_ids)) if order_ids else _TEXT
    kind = draw(st.sampled_from(list(types)))
    at = draw(utc_times(start, within=within))
    if kind == "place_order":
        command = draw(place_order_commands(shop, order_id=draw(ids), at=at))
    elif kind in _LOOSE_FIELDS:
        command = draw(_loose_command(kind, ids, at))
    else:
        command = draw(_subscription_command(kind, shop, ids, at))
    for key in ("command_id", "actor"):
        if draw(_rarely(3)):
            command[key] = draw(_TEXT)
    return command


# -- malformed commands -------------------------------------------------------------------------


class Malformed(NamedTuple):
    """A deliberately malformed command, the field path `InvalidCommand.field` must name
    (`lines[0].quantity`, `customer.country`), and what is wrong with it, in words."""

    command: JSONCommand
    field: str
    problem: str


_REMOVE = object()
"""A bad value meaning: leave the field out."""

_PLACING = ("place_order", "start_subscription")
_WITH_LINES = (*_PLACING, "request_return", "inspect_return")
_AMOUNTS = ("unit_price", "discount", "shipping_fee", "return_shipping_paid")
_WORDS = ("reason", "method", "resolution", "condition", "decision")


@attrs.frozen
class _Breaker:
    """One way to break a command: the types it applies to, the paths it can break in a command
    of those types (never none), and the bad values for a path."""

    types: tuple[str, ...]
    where: Callable[[JSONCommand], list[str]]
    bad: st.SearchStrategy[Any]


def _paths(command: JSONCommand, pick: Callable[[str, Any], bool]) -> list[str]:
    """Paths (`lines[0].unit_price`) of the values in a command that `pick(key, value)` picks."""
    found: list[str] = []

    def walk(value: Any, path: str, key: str) -> None:
        if isinstance(value, dict):
            for name, item in value.items():
                walk(item, f"{path}.{name}" if path else name, name)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, f"{path}[{index}]", key)
        elif pick(key, value):
            found.append(path)

    walk(command, "", "")
    return found


def _is_word(command: JSONCommand, key: str) -> bool:
    """Whether `key` holds one of a fixed set of words (a cancellation's reason is free text)."""
    return key in _WORDS and not (key == "reason" and command["type"].startswith("cancel_"))


def _amounts(command: JSONCommand) -> list[str]:
    found = _paths(command, lambda key, value: key in _AMOUNTS and type(value) is int)
    return found or ["return_shipping_paid"]  # a receive_return: add the optional amount


def _numbers(command: JSONCommand) -> list[str]:
    found = _paths(command, lambda key, value: type(value) is int)
    return found or ["return_shipping_paid"]


def _quantities(command: JSONCommand) -> list[str]:
    return _paths(command, lambda key, _: key == "quantity")


def _texts(command: JSONCommand) -> list[str]:
    """Free-text and id fields (not `type`, `at` or fixed words)."""
    return _paths(
        command,
        lambda key, value: (
            isinstance(value, str) and key not in ("type", "at") and not _is_word(command, key)
        ),
    )


def _ids(command: JSONCommand) -> list[str]:
    return _paths(command, lambda key, value: key.endswith("_id") and isinstance(value, str))


def _words(command: JSONCommand) -> list[str]:
    return _paths(command, lambda key, value: _is_word(command, key) and isinstance(value, str))


def _required(command: JSONCommand) -> list[str]:
    """The top-level fields the command's class cannot do without (and `type`)."""
    cls = COMMAND_TYPES[command["type"]]
    needed = [f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING]
    return ["type", *(name for name in needed if name in command)]


def _goods(command: JSONCommand) -> int:
    return sum(line["quantity"] * line["unit_price"] for line in command["lines"])


def _unknown_fields(command: JSONCommand) -> list[str]:
    """Names no command has, at the top and inside its nested objects."""
    found = ["colour", "refund_amount", "orderId", "Type"]
    if "customer" in command:
        found.append("customer.vip")
    if "lines" in command:
        found.append("lines[0].colour")
    return found


def _exchange_sku(command: JSONCommand) -> list[str]:
    return ["exchange_sku"]


_ALL = tuple(COMMAND_TYPES)
_BREAKERS: dict[str, _Breaker] = {
    "naive time": _Breaker(_ALL, lambda c: ["at"], st.just("see _bad_value")),
    "not a time": _Breaker(
        _ALL, lambda c: ["at"], st.sampled_from(["yesterday", "2026-13-45T00:00:00Z", 1767225600])
    ),
    "float amount": _Breaker(
        (*_PLACING, "receive_return"), _amounts, st.sampled_from([12.5, 10.0, 0.0, 1999.99])
    ),
    "negative amount": _Breaker((*_PLACING, "receive_return"), _amounts, st.integers(-(10**6), -1)),
    "zero quantity": _Breaker(_WITH_LINES, _quantities, st.just(0)),
    "boolean quantity": _Breaker(_WITH_LINES, _quantities, st.booleans()),
    "number as text": _Breaker((*_WITH_LINES, "receive_return"), _numbers, st.just("12")),
    "empty lines": _Breaker(_WITH_LINES, lambda c: ["lines"], st.just([])),
    "lines not a list": _Breaker(_WITH_LINES, lambda c: ["lines"], st.sampled_from(["L1", 3])),
    "repeated line": _Breaker(
        (*_PLACING, "request_return"), lambda c: ["lines"], st.just("repeat")
    ),
    "text of the wrong JSON type": _Breaker(_ALL, _texts, st.sampled_from([7, ["x"], True])),
    "overlong text": _Breaker(_ALL, _texts, st.integers(501, 5_000).map(lambda n: "x" * n)),
    "blank id": _Breaker(_ALL, _ids, st.sampled_from(["", "   ", "\t\n"])),
    "unknown word": _Breaker(
        ("request_return", "review_return", "inspect_return"),
        _words,
        st.sampled_from(["bored", "REFUND", "refund please", ""]),
    ),
    "malformed country": _Breaker(
        _PLACING,
        lambda c: _paths(c, lambda key, _: key == "country"),
        st.sampled_from(["fr", "France", "F"]),
    ),
    "discount over goods": _Breaker(_PLACING, lambda c: ["discount"], st.integers(1, 1_000)),
    "exchange_sku mismatch": _Breaker(("request_return",), _exchange_sku, st.just(None)),
    "unknown command type": _Breaker(
        _ALL, lambda c: ["type"], st.sampled_from(["teleport_order", "Place_Order", "", 3])
    ),
    "missing field": _Breaker(_ALL, _required, st.just(_REMOVE)),
    "unknown field": _Breaker(_ALL, _unknown_fields, st.sampled_from([1, "x", None])),
}
"""Every way `invalid_commands` breaks a command, by the name it reports in `problem`."""

PROBLEMS = tuple(_BREAKERS)
"""The `problem` names `invalid_commands` can report, to choose from or filter on."""


def _bad_value(problem: str, command: JSONCommand, drawn: Any) -> Any:
    """Bad values that depend on the command: a naive copy of its time, a repeated line..."""
    if problem == "naive time":
        return datetime.fromisoformat(command["at"]).astimezone(UTC).replace(tzinfo=None)
    if problem == "repeated line":
        return [*command["lines"], command["lines"][0]]
    if problem == "discount over goods":
        return _goods(command) + drawn
    if problem == "exchange_sku mismatch":
        return _REMOVE if "exchange_sku" in command else "SKU-OTHER"
    return drawn


def _set(command: JSONCommand, path: str, value: Any) -> None:
    """Set (or, for `_REMOVE`, delete) the value at a `lines[0].quantity`-style path."""
    parts = path.replace("[", ".[").split(".")
    keys: list[Any] = [int(p[1:-1]) if p.startswith("[") else p for p in parts]
    target: Any = command
    for key in keys[:-1]:
        target = target[key]
    if value is _REMOVE:
        del target[keys[-1]]
    elif isinstance(value, datetime):
        target[keys[-1]] = value.isoformat()
    else:
        target[keys[-1]] = value


@st.composite
def _broken(draw: st.DrawFn, problem: str, policy: Policy | None, start: datetime) -> Malformed:
    breaker = _BREAKERS[problem]
    command = copy.deepcopy(draw(well_formed_commands(policy, types=breaker.types, start=start)))
    path = draw(st.sampled_from(breaker.where(command)))
    _set(command, path, _bad_value(problem, command, draw(breaker.bad)))
    return Malformed(command, path, problem)


def invalid_commands(
    policy: Policy | None = None,
    *,
    problems: Sequence[str] = PROBLEMS,
    start: datetime = DEFAULT_START,
) -> st.SearchStrategy[Malformed]:
    """Deliberately malformed commands, each with the field `InvalidCommand` must name.

    Each is a well-formed command (see `well_formed_commands`) with one thing broken: a naive
    time, a float, negative or text amount, a zero quantity, empty lines, an unknown field or
    type, a value of the wrong JSON type, an overlong or blank text, a missing field... (the
    names are in `PROBLEMS`; pass `problems` to draw only some). `parse_command` and
    `OrderService.handle` must refuse every one with `invalid_command`, writing nothing.
    Raises `ValueError` for an unknown problem name.
    """
    unknown = sorted(set(problems) - set(PROBLEMS))
    if unknown or not problems:
        raise ValueError(f"problems must be some of: {', '.join(PROBLEMS)} (not {unknown})")
    first = _aware(start)
    return st.sampled_from(list(problems)).flatmap(lambda p: _broken(p, policy, first))
