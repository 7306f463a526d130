"""Hypothesis strategies for single well-formed commands drawn freely, and for malformed ones.

`well_formed_commands` draws any command `parse_command` accepts (free text in any script), the
raw material of round-trip tests; `invalid_commands` breaks one thing in such a command and says
which field `InvalidCommand` must name.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import attrs
from hypothesis import strategies as st

from eventstore.codec import parse_iso_time

from ..money import MAX_LINE_VALUE
from ..policy import Policy
from ..vocabulary import Condition, ReturnMethod, ReturnReason
from ..wire import COMMAND_TYPES
from .values import (
    DEFAULT_START,
    JSONCommand,
    aware,
    money,
    place_order_commands,
    rarely,
    start_subscription_commands,
    utc_times,
    wire_times,
)

_TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=30).filter(str.strip)
"""Free text as callers type it: any Unicode that UTF-8 can carry, not blank."""

_PRINTABLE = st.characters(codec="utf-8", exclude_categories=["Cc"])
_ID = st.text(_PRINTABLE, min_size=1, max_size=30).filter(str.strip)
"""An id as callers may choose it: any printable Unicode (no control characters), not blank."""

_ANY_SHOP = Policy(name="any-shop", title="Any shop", clauses={})
"""A policy that says nothing: the vocabulary of commands drawn without a shop in mind."""


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
        fields.update(resolution="exchange", exchange_sku=draw(_ID))
    elif draw(st.booleans()):
        fields["resolution"] = "refund"
    if draw(st.booleans()):
        fields["evidence"] = {"unboxing_video": draw(st.booleans())}
    return fields


_RETURN_IDS = st.sampled_from(["r1", "r2", "r3"]) | _ID

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
    "settle_by_refund": st.fixed_dictionaries({"actor": _TEXT}, optional={"note": _TEXT}),
}
"""The type-specific fields of commands about an existing order, drawn without an order."""

_NEEDS_RETURN = ("request_return", "review_return", "receive_return", "inspect_return")


@st.composite
def _loose_command(
    draw: st.DrawFn, kind: str, order_ids: st.SearchStrategy[str], at: datetime
) -> JSONCommand:
    command: JSONCommand = {"type": kind, "order_id": draw(order_ids), "at": draw(wire_times(at))}
    if kind in (*_NEEDS_RETURN, "ship_replacement", "settle_by_refund"):
        command["return_id"] = draw(_RETURN_IDS)
    command.update(draw(_LOOSE_FIELDS[kind]))
    return command


@st.composite
def _subscription_command(
    draw: st.DrawFn, kind: str, policy: Policy, order_ids: st.SearchStrategy[str], at: datetime
) -> JSONCommand:
    subscription_id = draw(st.sampled_from(["subscription-1", "subscription-2"]) | _ID)
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
    ids = st.sampled_from(list(order_ids)) if order_ids else _ID
    kind = draw(st.sampled_from(list(types)))
    at = draw(utc_times(start, within=within))
    if kind == "place_order":
        command = draw(place_order_commands(shop, order_id=draw(ids), at=at))
    elif kind in _LOOSE_FIELDS:
        command = draw(_loose_command(kind, ids, at))
    else:
        command = draw(_subscription_command(kind, shop, ids, at))
    for key, values in (("command_id", _ID), ("actor", _TEXT)):
        if draw(rarely(3)):
            command[key] = draw(values)
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


def _identifiers(command: JSONCommand) -> list[str]:
    """Every id a command carries: of the order, return, lines, subscription, command, SKUs
    and customer."""
    return _paths(
        command,
        lambda key, value: (
            (key.endswith("_id") or key in ("id", "sku", "exchange_sku")) and isinstance(value, str)
        ),
    )


def _priced_lines(command: JSONCommand) -> list[str]:
    return [f"lines[{index}].unit_price" for index in range(len(command["lines"]))]


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
    "control character in id": _Breaker(
        _ALL, _identifiers, st.sampled_from(["o\x001", "r-\x1f", "a\x7fb", "sku\x85", "\x9bid"])
    ),
    "line worth too much": _Breaker(_PLACING, _priced_lines, st.integers(1, 10**6)),
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


def _bad_value(problem: str, command: JSONCommand, path: str, drawn: Any) -> Any:
    """Bad values that depend on the command: a naive copy of its time, a repeated line..."""
    if problem == "naive time":
        return parse_iso_time(command["at"]).replace(tzinfo=None)
    if problem == "repeated line":
        return [*command["lines"], command["lines"][0]]
    if problem == "discount over goods":
        return _goods(command) + drawn
    if problem == "line worth too much":
        line = command["lines"][int(path.split("]")[0].removeprefix("lines["))]
        return MAX_LINE_VALUE // line["quantity"] + drawn
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
    _set(command, path, _bad_value(problem, command, path, draw(breaker.bad)))
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
    first = aware(start)
    return st.sampled_from(list(problems)).flatmap(lambda p: _broken(p, policy, first))
