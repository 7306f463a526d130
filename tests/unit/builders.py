"""Builders for the unit tier: commands in their wire form, small TOML policies, and histories
folded through the pure `decide`/`evolve` core.

Commands are written as the JSON dicts of SPEC.md (what fulfilment code sends) and turned into
objects with `parse_command`, so every unit test also exercises the one door for input.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from lifecycle import (
    Command,
    Order,
    OrderService,
    Policy,
    ReturnCase,
    decide,
    evolve,
    parse_command,
)
from lifecycle.events import OrderEvent
from lifecycle.policy_files import parse_policy
from tests.support import T0

ORDER_ID = "o1"
RETURN_ID = "r1"

ServiceFactory = Callable[..., OrderService]
"""The `make_service` fixture: policies in, an `OrderService` over a fresh in-memory log out."""

E = TypeVar("E", bound=OrderEvent)


# -- policies -----------------------------------------------------------------------------------


def make_policy(body: str = "", *, name: str = "shop", title: str = "Test shop") -> Policy:
    """A policy from a TOML body; every `name/...` clause id the body mentions is defined.

    Clause texts are stubs: the tests are about what the rules do, not what the clauses say."""
    clause_ids = sorted(set(re.findall(rf'"({re.escape(name)}/[a-z0-9-]+)"', body)))
    clauses = "\n".join(f'"{clause}" = "Test clause {clause}."' for clause in clause_ids)
    text = f'name = "{name}"\ntitle = "{title}"\n\n{body}\n\n[clauses]\n{clauses}\n'
    return parse_policy(text, f"{name}.toml")


# -- commands (wire form) -----------------------------------------------------------------------


def iso(moment: datetime) -> str:
    return moment.isoformat()


def line(
    line_id: str = "l1",
    *,
    quantity: int = 1,
    unit_price: int = 1000,
    sku: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An order line; `sku` defaults to the line id in capitals."""
    return {
        "line_id": line_id,
        "sku": sku or line_id.upper(),
        "quantity": quantity,
        "unit_price": unit_price,
        **extra,
    }


def place_order(
    *lines: dict[str, Any],
    order_id: str = ORDER_ID,
    at: datetime = T0,
    policy: str = "shop",
    currency: str = "EUR",
    country: str = "DE",
    payment_method: str = "visa",
    shipping_fee: int | None = 0,
    **extra: Any,
) -> dict[str, Any]:
    """A `place_order` command; one 10.00 line unless lines are given. `shipping_fee=None`
    leaves the fee out, so the policy's shipping rules compute it."""
    data: dict[str, Any] = {
        "type": "place_order",
        "order_id": order_id,
        "at": iso(at),
        "policy": policy,
        "currency": currency,
        "customer": {"id": "c1", "country": country},
        "lines": list(lines) or [line()],
        "payment_method": payment_method,
        **extra,
    }
    if shipping_fee is not None:
        data["shipping_fee"] = shipping_fee
    return data


def order_command(
    kind: str, at: datetime, *, order_id: str = ORDER_ID, **fields: Any
) -> dict[str, Any]:
    """Any command about one order, by its wire type."""
    return {"type": kind, "order_id": order_id, "at": iso(at), **fields}


def request_return(
    at: datetime,
    lines: Mapping[str, int] | None = None,
    *,
    return_id: str = RETURN_ID,
    reason: str = "changed_mind",
    method: str = "own_carrier",
    **extra: Any,
) -> dict[str, Any]:
    """A return request; `lines` maps line ids to units (one unit of l1 by default)."""
    wanted = lines or {"l1": 1}
    return order_command(
        "request_return",
        at,
        return_id=return_id,
        lines=[{"line_id": line_id, "quantity": units} for line_id, units in wanted.items()],
        reason=reason,
        method=method,
        **extra,
    )


def inspect_return(
    at: datetime,
    lines: Sequence[tuple[str, int, str]] = (("l1", 1, "unopened"),),
    *,
    return_id: str = RETURN_ID,
) -> dict[str, Any]:
    """The warehouse's finding: (line id, units, condition) per inspected line."""
    return order_command(
        "inspect_return",
        at,
        return_id=return_id,
        lines=[
            {"line_id": line_id, "quantity": units, "condition": condition}
            for line_id, units, condition in lines
        ],
    )


def receive_return(at: datetime, *, return_id: str = RETURN_ID, **extra: Any) -> dict[str, Any]:
    return order_command("receive_return", at, return_id=return_id, **extra)


def as_command(data: Mapping[str, Any]) -> Command:
    """The command object of a wire dict (order commands only)."""
    command = parse_command(data)
    assert isinstance(command, Command)
    return command


# -- histories through the pure core -------------------------------------------------------------


def history(policy: Policy, *commands: Mapping[str, Any]) -> Order:
    """The order after deciding each command in turn and folding its events.

    A refused command raises, so a test's "given" steps cannot silently go wrong."""
    order: Order | None = None
    for data in commands:
        for event in decide(order, as_command(data), policy):
            order = evolve(order, event)
    assert order is not None, "a history starts with place_order"
    return order


def when(order: Order | None, data: Mapping[str, Any], policy: Policy) -> list[OrderEvent]:
    """The events one more command leads to (raises its error if refused)."""
    return decide(order, as_command(data), policy)


def only(events: Sequence[OrderEvent], kind: type[E]) -> E:
    """The single event of a type among `events`."""
    found = [event for event in events if isinstance(event, kind)]
    assert len(found) == 1, f"expected one {kind.__name__}, got {events}"
    return found[0]


def sole(events: Sequence[OrderEvent], kind: type[E]) -> E:
    """The one event `events` holds, which must be of type `kind`."""
    assert len(events) == 1, f"expected one {kind.__name__}, got {events}"
    [event] = events
    assert isinstance(event, kind), f"expected a {kind.__name__}, got {event!r}"
    return event


def types(events: Sequence[object]) -> list[str]:
    return [type(event).__name__ for event in events]


def applied(order: Order | None, events: Sequence[OrderEvent]) -> Order:
    """The order after folding `events`."""
    for event in events:
        order = evolve(order, event)
    assert order is not None
    return order


DISPATCHED_AT = T0 + timedelta(days=1)
DELIVERED_AT = T0 + timedelta(days=2)


def delivered(policy: Policy, *lines: dict[str, Any], **placing: Any) -> Order:
    """An order placed at T0 under `policy`, dispatched a day later and delivered on day 2
    (Wednesday 4 March 2026)."""
    return history(
        policy,
        place_order(*lines, policy=policy.name, **placing),
        order_command("dispatch_order", DISPATCHED_AT),
        order_command("confirm_delivery", DELIVERED_AT),
    )


def return_case(order: Order, return_id: str = RETURN_ID) -> ReturnCase:
    """The order's return with this id (which must exist)."""
    case = order.find_return(return_id)
    assert case is not None, f"order {order.order_id} has no return {return_id}"
    return case


def settle(
    policy: Policy,
    order: Order,
    request: Mapping[str, Any],
    found: Sequence[tuple[str, int, str]] | None = None,
    **receipt: Any,
) -> tuple[Order, list[OrderEvent]]:
    """Request, receive and inspect one return; the order before the inspection's events, and
    those events. `found` defaults to every requested unit, unopened."""
    return_id = request["return_id"]
    moment = datetime.fromisoformat(request["at"])
    order = applied(order, decide(order, as_command(request), policy))
    received = receive_return(moment + timedelta(days=1), return_id=return_id, **receipt)
    order = applied(order, decide(order, as_command(received), policy))
    if found is None:
        found = [(line["line_id"], line["quantity"], "unopened") for line in request["lines"]]
    inspection = inspect_return(moment + timedelta(days=2), found, return_id=return_id)
    return order, decide(order, as_command(inspection), policy)
