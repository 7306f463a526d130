"""The reimbursements read model: the part of each refund that repaid return costs.

A refund's `reimbursed` part (return postage paid back, a credit toward return shipping) sits
outside the order's cap on goods and shipping, so the status shows it apart
(`reimbursed_total` beside `refunded_total`) and an order is `refunded` only once its goods and
shipping are. Its own table, so a log written before it fills it on the next catch-up.
"""

from __future__ import annotations

import sqlite3

import sqlite_utils

from eventstore import RecordedEvent
from lifecycle import events as ev

from .framework import Projection

ORDER_LEVEL = ""
"""The `return_id` column of an order-level refund."""

ISSUED_SUM = (
    "coalesce((SELECT sum(x.reimbursed) FROM reimbursements x "
    "WHERE x.order_id = {order} AND x.issued = 1), 0)"
)
"""SQL for the reimbursed part of an order's issued refunds; `{order}` is its order id."""


class ReimbursementsProjection(Projection):
    """`reimbursements`: one row per refund with a reimbursed part, and whether it was paid."""

    name = "reimbursements"
    handles = frozenset({"RefundDecided", "RefundIssued"})
    tables = ("reimbursements",)

    def create(self, db: sqlite_utils.Database) -> None:
        db.table("reimbursements").create(
            {"order_id": str, "return_id": str, "reimbursed": int, "issued": int},
            pk=("order_id", "return_id"),
            not_null={"reimbursed", "issued"},
            if_not_exists=True,
        )

    def apply(self, conn: sqlite3.Connection, envelope: RecordedEvent, event: ev.Event) -> None:
        if isinstance(event, ev.RefundDecided) and event.reimbursed:
            conn.execute(
                "INSERT INTO reimbursements (order_id, return_id, reimbursed, issued) "
                "VALUES (?, ?, ?, 0)",
                (event.order_id, event.return_id or ORDER_LEVEL, event.reimbursed),
            )
        elif isinstance(event, ev.RefundIssued):
            conn.execute(
                "UPDATE reimbursements SET issued = 1 WHERE order_id = ? AND return_id = ?",
                (event.order_id, event.return_id or ORDER_LEVEL),
            )


def reimbursed_issued(conn: sqlite3.Connection, order_id: str) -> int:
    """The reimbursed part of an order's issued refunds."""
    row = conn.execute(f"SELECT {ISSUED_SUM.format(order='?')}", (order_id,)).fetchone()
    return int(row[0])
