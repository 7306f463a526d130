"""The order status read model: one row per order, with its money and its windows.

The status a person sees is derived at read time (`lifecycle.status.derive_status`) from the
stored machine state, the open returns and the money, as of a given time (for `closed`).
"""

from __future__ import annotations

from typing import Any

from eventstore.codec import format_time, parse_iso_time
from lifecycle import events as ev
from lifecycle.machines import ORDER_MACHINE, CompiledMachine, Trigger

from .framework import Batch, Envelope, Projection, Table

ORDERS = Table(
    "orders",
    {
        "order_id": str,
        "policy": str,
        "policy_version": str,
        "currency": str,
        "customer_id": str,
        "subscription_id": str,
        "state": str,
        "paid_total": int,
        "decided_total": int,
        "refunded_total": int,
        "placed_at": str,
        "cancellable_until": str,
        "dispatched_at": str,
        "delivered_at": str,
        "returns_close_on": str,
        "last_event_at": str,
        "last_position": int,
    },
    pk=("order_id",),
    not_null=frozenset({"policy", "state", "paid_total", "decided_total", "refunded_total"}),
)


class OrdersProjection(Projection):
    """`orders`: state, policy version, money and key times of every order."""

    name = "orders"
    handles = frozenset(cls.__name__ for cls in ev.ORDER_EVENTS)
    schema = (ORDERS,)

    def fold(self, rows: Batch, envelope: Envelope) -> None:
        data = envelope.data
        at = rows.time_of(envelope)
        orders = rows["orders"]
        if envelope.type == "OrderPlaced":
            orders.put(_placed(data, at, envelope.position))
            return
        row = orders.get(data["order_id"])
        if row is None:
            raise ValueError(f"{envelope.type} at {envelope.position}: no order {data['order_id']}")
        trigger = trigger_of(envelope.type, data)
        row["state"] = next_state_word(ORDER_MACHINE, row["state"], trigger, data["order_id"])
        row["last_event_at"] = at
        row["last_position"] = envelope.position
        kind = envelope.type
        if kind == "OrderDispatched":
            row["dispatched_at"] = at
        elif kind == "OrderDelivered":
            row["delivered_at"] = at
            row["returns_close_on"] = data.get("returns_close_on")
        elif kind == "RefundDecided":
            row["decided_total"] += data["amount"]
        elif kind == "RefundIssued":
            row["refunded_total"] += data["amount"]
        orders.put(row)


def _placed(data: dict[str, Any], at: str, position: int) -> dict[str, Any]:
    until = data.get("cancellable_until")
    return {
        "order_id": data["order_id"],
        "policy": data["policy"],
        "policy_version": data.get("policy_version"),
        "currency": data["currency"],
        "customer_id": data["customer"]["id"],
        "subscription_id": data.get("subscription_id"),
        "state": ORDER_MACHINE.initial.value,
        "paid_total": data["paid_total"],
        "decided_total": 0,
        "refunded_total": 0,
        "placed_at": at,
        "cancellable_until": format_time(parse_iso_time(until)) if until else None,
        "last_event_at": at,
        "last_position": position,
    }


def trigger_of(event_type: str, data: dict[str, Any]) -> str:
    """The machine trigger a stored order event fires (as its event class says)."""
    if event_type == "RefundDecided":
        return _DECIDE[bool(data.get("return_id"))]
    if event_type == "RefundIssued":
        return _ISSUE[bool(data.get("return_id"))]
    return _TRIGGERS[event_type]


_TRIGGERS: dict[str, str] = {
    cls.__name__: str(cls.TRIGGER) for cls in ev.ORDER_EVENTS if hasattr(cls, "TRIGGER")
}
_DECIDE = (str(Trigger.DECIDE_ORDER_REFUND), str(Trigger.DECIDE_REFUND))
_ISSUE = (str(Trigger.ISSUE_ORDER_REFUND), str(Trigger.ISSUE_REFUND))


def next_state_word(machine: CompiledMachine[Any], state: str, trigger: str, subject: str) -> str:
    """The state (as stored text) a trigger leads to, by the machine's own table; raises
    `IllegalTransition` as the machine does for a step it does not allow."""
    table = _WORDS.get(machine.name)
    if table is None:
        table = _WORDS[machine.name] = {
            (source.value, str(trigger)): dest.value
            for (source, trigger), dest in machine.table.items()
        }
    found = table.get((state, trigger))
    if found is None:
        return str(machine.next_state(machine.states(state), trigger, subject).value)
    return found


_WORDS: dict[str, dict[tuple[str, str], str]] = {}
