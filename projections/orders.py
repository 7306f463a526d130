"""The order status read model: one row per order, with its money and its windows.

The status a person sees is derived at read time (`lifecycle.status.derive_status`) from the
stored machine state, the open returns and the money, as of a given time (for `closed`).
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from typing import Any

import sqlite_utils

from eventstore import RecordedEvent
from eventstore.codec import format_time
from lifecycle import events as ev
from lifecycle.machines import ORDER_MACHINE
from lifecycle.states import OPEN_RETURN_STATES, OrderState
from lifecycle.status import derive_status

from .framework import Projection, fetch_dicts
from .reimbursements import reimbursed_issued

_OPEN = tuple(sorted(state.value for state in OPEN_RETURN_STATES))


class OrdersProjection(Projection):
    """`orders`: state, policy version, money and key times of every order."""

    name = "orders"
    handles = frozenset(cls.__name__ for cls in ev.ORDER_EVENTS)
    tables = ("orders",)

    def create(self, db: sqlite_utils.Database) -> None:
        db.table("orders").create(
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
            pk="order_id",
            not_null={"policy", "state", "paid_total", "decided_total", "refunded_total"},
            if_not_exists=True,
        )

    def apply(self, conn: sqlite3.Connection, envelope: RecordedEvent, event: ev.Event) -> None:
        assert isinstance(event, ev.OrderEvent)
        if isinstance(event, ev.OrderPlaced):
            _insert(conn, event, envelope.position)
            return
        row = conn.execute(
            "SELECT state FROM orders WHERE order_id = ?", (event.order_id,)
        ).fetchone()
        state = ORDER_MACHINE.next_state(OrderState(row[0]), event.trigger, event.order_id)
        changes: dict[str, Any] = {
            "state": state.value,
            "last_event_at": format_time(event.at),
            "last_position": envelope.position,
        }
        changes.update(_changes(event))
        assignments = ", ".join(
            f"{column} = {column} + :{column}" if column in _ADDED else f"{column} = :{column}"
            for column in changes
        )
        conn.execute(
            f"UPDATE orders SET {assignments} WHERE order_id = :order_id",
            {**changes, "order_id": event.order_id},
        )


_ADDED = frozenset({"decided_total", "refunded_total"})


def _insert(conn: sqlite3.Connection, event: ev.OrderPlaced, position: int) -> None:
    conn.execute(
        "INSERT INTO orders (order_id, policy, policy_version, currency, customer_id, "
        "subscription_id, state, paid_total, decided_total, refunded_total, placed_at, "
        "cancellable_until, last_event_at, last_position) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ?)",
        (
            event.order_id,
            event.policy,
            event.policy_version,
            event.currency,
            event.customer.id,
            event.subscription_id,
            ORDER_MACHINE.initial.value,
            event.paid_total,
            format_time(event.at),
            format_time(event.cancellable_until) if event.cancellable_until else None,
            format_time(event.at),
            position,
        ),
    )


def _changes(event: ev.OrderEvent) -> dict[str, Any]:
    """The columns an event sets (or, for money, adds to)."""
    if isinstance(event, ev.OrderDispatched):
        return {"dispatched_at": format_time(event.at)}
    if isinstance(event, ev.OrderDelivered):
        closes = event.returns_close_on.isoformat() if event.returns_close_on else None
        return {"delivered_at": format_time(event.at), "returns_close_on": closes}
    if isinstance(event, ev.RefundDecided):
        return {"decided_total": event.amount}
    if isinstance(event, ev.RefundIssued):
        return {"refunded_total": event.amount}
    return {}


def order_row(conn: sqlite3.Connection, order_id: str) -> dict[str, Any] | None:
    """The stored row of one order, or None."""
    rows = fetch_dicts(conn, "SELECT * FROM orders WHERE order_id = ?", (order_id,))
    return rows[0] if rows else None


def open_returns(conn: sqlite3.Connection, order_id: str) -> int:
    placeholders = ", ".join("?" for _ in _OPEN)
    row = conn.execute(
        f"SELECT count(*) FROM returns WHERE order_id = ? AND state IN ({placeholders})",
        (order_id, *_OPEN),
    ).fetchone()
    return int(row[0])


def status_of(conn: sqlite3.Connection, row: dict[str, Any], as_of: datetime | None) -> str:
    """The SPEC status word of a stored order row, as of a time."""
    closes = row["returns_close_on"]
    return derive_status(
        OrderState(row["state"]),
        open_returns=open_returns(conn, row["order_id"]),
        paid_total=row["paid_total"],
        refunded_total=row["refunded_total"],
        returns_close_on=date.fromisoformat(closes) if closes else None,
        as_of=as_of,
        reimbursed_total=reimbursed_issued(conn, row["order_id"]),
    ).value
