"""The returns read model: one row per return, its state, terms and refund, plus every decline
with its reason code and clause (for `orderlog status` and the decline reasons report)."""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlite_utils

from eventstore import RecordedEvent
from eventstore.codec import format_time
from lifecycle import events as ev
from lifecycle.machines import RETURN_MACHINE
from lifecycle.states import ReturnState

from .framework import Projection, fetch_dicts

_CREATING = (ev.ReturnAuthorized, ev.ReturnHeldForReview, ev.ReturnDeclined)


class ReturnsProjection(Projection):
    """`returns`: every return of every order; `declines`: why requests were refused."""

    name = "returns"
    handles = frozenset(
        cls.__name__ for cls in ev.ORDER_EVENTS if issubclass(cls, ev.ReturnEvent)
    ) | {"RefundDecided", "RefundIssued"}
    tables = ("returns", "declines")

    def create(self, db: sqlite_utils.Database) -> None:
        db.table("returns").create(
            {
                "order_id": str,
                "return_id": str,
                "state": str,
                "reason": str,
                "method": str,
                "resolution": str,
                "package": int,
                "requested_at": str,
                "received_at": str,
                "refund_amount": int,
                "refund_due_by": str,
                "refund_issued_at": str,
                "last_event_at": str,
            },
            pk=("order_id", "return_id"),
            not_null={"state", "requested_at"},
            if_not_exists=True,
        )
        db.table("declines").create(
            {
                "order_id": str,
                "return_id": str,
                "code": str,
                "clause": str,
                "message": str,
                "note": str,
                "declined_at": str,
                "position": int,
            },
            pk="position",
            not_null={"order_id", "return_id", "code", "declined_at"},
            if_not_exists=True,
        )

    def apply(self, conn: sqlite3.Connection, envelope: RecordedEvent, event: ev.Event) -> None:
        return_id = getattr(event, "return_id", None)
        if return_id is None:
            return  # an order-level refund: not a return's
        assert isinstance(event, ev.OrderEvent)
        if isinstance(event, _CREATING) and event.request is not None:
            _insert(conn, event)
        state = _state(conn, event.order_id, return_id)
        nxt = RETURN_MACHINE.next_state(state, event.trigger, f"return {return_id}")
        changes: dict[str, Any] = {"state": nxt.value, "last_event_at": format_time(event.at)}
        changes.update(_changes(event))
        assignments = ", ".join(f"{column} = :{column}" for column in changes)
        conn.execute(
            f"UPDATE returns SET {assignments} WHERE order_id = :order_id AND "
            "return_id = :return_id",
            {**changes, "order_id": event.order_id, "return_id": return_id},
        )
        if isinstance(event, ev.ReturnDeclined):
            _decline(conn, envelope.position, event)


def _insert(
    conn: sqlite3.Connection,
    event: ev.ReturnAuthorized | ev.ReturnHeldForReview | ev.ReturnDeclined,
) -> None:
    assert event.request is not None
    terms = getattr(event, "terms", None)
    conn.execute(
        "INSERT INTO returns (order_id, return_id, state, reason, method, resolution, package, "
        "requested_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.order_id,
            event.return_id,
            RETURN_MACHINE.initial.value,
            event.request.reason.value,
            event.request.method.value,
            (terms.resolution if terms else event.request.resolution).value,
            terms.package if terms else None,
            format_time(event.at),
        ),
    )


def _state(conn: sqlite3.Connection, order_id: str, return_id: str) -> ReturnState:
    row = conn.execute(
        "SELECT state FROM returns WHERE order_id = ? AND return_id = ?", (order_id, return_id)
    ).fetchone()
    return ReturnState(row[0])


def _changes(event: ev.OrderEvent) -> dict[str, Any]:
    if isinstance(event, ev.ReturnReceived):
        return {"received_at": format_time(event.at)}
    if isinstance(event, ev.RefundDecided):
        due = event.due_by.isoformat() if event.due_by else None
        return {"refund_amount": event.amount, "refund_due_by": due}
    if isinstance(event, ev.RefundIssued):
        return {"refund_issued_at": format_time(event.at)}
    return {}


def _decline(conn: sqlite3.Connection, position: int, event: ev.ReturnDeclined) -> None:
    conn.execute(
        "INSERT INTO declines (order_id, return_id, code, clause, message, note, declined_at, "
        "position) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.order_id,
            event.return_id,
            event.code,
            event.clause,
            event.message,
            event.note,
            format_time(event.at),
            position,
        ),
    )


def returns_of(conn: sqlite3.Connection, order_id: str) -> list[dict[str, Any]]:
    """The returns of one order in the order they were requested."""
    return fetch_dicts(
        conn,
        "SELECT return_id, state, refund_amount, refund_due_by FROM returns "
        "WHERE order_id = ? ORDER BY requested_at, return_id",
        (order_id,),
    )
