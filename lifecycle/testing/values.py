"""Hypothesis strategies for single values: times, money, countries, order lines, and the
commands that place an order or take one of its returns a step further.

Every strategy here draws something the policy it is given accepts (mostly: a few draw what it
refuses, and say so); times come from the arguments, never from the clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from ..commands import RequestReturn
from ..order import Order, ReturnCase
from ..policy import EU, Policy
from ..returns import Refusal, terms
from ..vocabulary import Condition, ReturnMethod, ReturnReason
from ..wire import parse_command

JSONCommand = dict[str, Any]
"""A command in SPEC.md's JSON wire form, as `OrderService.handle` and `parse_command` take it."""

DEFAULT_START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""Where drawn timelines begin unless told otherwise: a Monday morning, UTC."""

CATEGORIES = ("bodysuits", "tights", "socks", "jewelry", "intimates", "dresses", "tops")
PAYMENT_METHODS = ("visa", "mastercard", "amex", "paypal")
CURRENCIES = ("EUR", "USD", "GBP")
COUNTRIES = ("US", "GB", "CA", "AU", "JP", "CH", "NO", "FR", "DE", "NL", "IT", "ES")


def aware(start: datetime) -> datetime:
    """`start` in UTC; raises `ValueError` for a naive time (strategies are made from it)."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError(f"start must be timezone-aware (UTC), not {start.isoformat()}")
    return start.astimezone(UTC)


def utc_times(
    start: datetime = DEFAULT_START, *, within: timedelta = timedelta(days=365)
) -> st.SearchStrategy[datetime]:
    """Aware UTC times from `start` to `start + within` (shrinking towards `start`).

    Derived from `start`, never from the clock, so a failing example replays exactly."""
    first = aware(start)
    span = int(within / timedelta(microseconds=1))
    return st.integers(0, span).map(lambda us: first + timedelta(microseconds=us))


_OFFSETS = (0, 0, 60, 120, -300, 330, 540, -600)
"""Minutes east of UTC that `wire_times` writes a moment in (UTC most often)."""


@st.composite
def wire_times(draw: st.DrawFn, moment: datetime) -> str:
    """The ISO-8601 text of `moment` with a UTC offset: `Z`, `+00:00` or another zone's offset.

    Every form names the same instant, which is all orderlog may read from it."""
    minutes = draw(st.sampled_from(_OFFSETS))
    local = aware(moment).astimezone(timezone(timedelta(minutes=minutes)))
    text = local.isoformat()
    if minutes == 0 and draw(st.booleans()):
        text = text.removesuffix("+00:00") + "Z"
    return text


def money(*, max_value: int = 100_000) -> st.SearchStrategy[int]:
    """Amounts in minor units (cents): non-negative integers, never floats."""
    return st.integers(0, max_value)


def rarely(one_in: int) -> st.SearchStrategy[bool]:
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
        words = rarely(3).flatmap(lambda odd: st.sampled_from(excluded) if odd else words)
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
    if draw(rarely(8)):
        line["final_sale"] = True
    if draw(rarely(10)):
        line["free_gift"] = True
    if draw(rarely(3)):
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
    if draw(rarely(3)):
        command["customer"]["country"] = draw(countries(policy))
        command["shipping_address"] = draw(_address(goal))
    if draw(rarely(4)):
        command["billing_address"] = draw(_address(draw(countries(policy))))
    goods = sum(line["quantity"] * line["unit_price"] for line in lines)
    if goods and draw(rarely(3)):
        command["discount"] = draw(st.integers(0, goods))
    if policy.shipping_fee_rule(goal, command["currency"]) is None or draw(rarely(4)):
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


def returnable(order: Order) -> dict[str, int]:
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
    left = returnable(order) or {line.line_id: 1 for line in order.placed.lines}
    allowed = [
        line.line_id
        for line in order.placed.lines
        if line.line_id in left
        and policy.excluded_by(line.category, line.final_sale, line.free_gift) is None
    ]
    pool = sorted(left) if not allowed or draw(rarely(5)) else allowed
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
    if not offered or draw(rarely(6)):
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
    if draw(rarely(6 if exchanges else 20)):
        command.update(resolution="exchange", exchange_sku="SKU-EXCHANGE")
    if reason is ReturnReason.MISSING_ITEM or draw(rarely(8)):
        command["evidence"] = {"unboxing_video": not draw(rarely(5))}
    command["method"] = draw(_return_method(order, policy, command)).value
    return command


def _conditions(case: ReturnCase, policy: Policy) -> st.SearchStrategy[Condition]:
    """Mostly a condition the policy accepts for the return's reason; sometimes any."""
    accepted, _ = policy.accepted_conditions(case.request.reason)
    anything = st.sampled_from(list(Condition))
    if not accepted:
        return anything
    good = st.sampled_from(sorted(accepted, key=lambda c: c.value))
    return rarely(4).flatmap(lambda wild: anything if wild else good)


@st.composite
def _inspected(
    draw: st.DrawFn, case: ReturnCase, policy: Policy, line_id: str
) -> list[JSONCommand]:
    """What the warehouse found of one returned line: all or some units, in one or two lots."""
    asked = case.requested_units(line_id)
    found = draw(st.just(asked) | st.integers(1, asked))
    lots = [found]
    if found > 1 and draw(rarely(4)):
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
    if len(line_ids) > 1 and draw(rarely(5)):
        line_ids = draw(st.lists(st.sampled_from(line_ids), min_size=1, unique=True))
    return {
        "type": "inspect_return",
        "order_id": order.order_id,
        "at": draw(wire_times(at)),
        "return_id": case.return_id,
        "lines": [found for i in line_ids for found in draw(_inspected(case, policy, i))],
    }
