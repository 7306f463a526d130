"""The reimbursements read model: the part of each refund that repaid return costs.

A refund's `reimbursed` part (return postage paid back, a credit toward return shipping) sits
outside the order's cap on goods and shipping, so the status shows it apart
(`reimbursed_total` beside `refunded_total`) and an order is `refunded` only once its goods and
shipping are. Its own table, so a log written before it fills it on the next catch-up.
"""

from __future__ import annotations

import sqlite3

from lifecycle.upcasts import refund_decided_v1

from .framework import Batch, Envelope, Projection, Table

ORDER_LEVEL = ""
"""The `return_id` column of an order-level refund."""

REIMBURSEMENTS = Table(
    "reimbursements",
    {"order_id": str, "return_id": str, "reimbursed": int, "issued": int},
    pk=("order_id", "return_id"),
    not_null=frozenset({"reimbursed", "issued"}),
)

ISSUED_SUM = (
    "coalesce((SELECT sum(x.reimbursed) FROM reimbursements x "
    "WHERE x.order_id = {order} AND x.issued = 1), 0)"
)
"""SQL for the reimbursed part of an order's issued refunds; `{order}` is its order id."""


class ReimbursementsProjection(Projection):
    """`reimbursements`: one row per refund with a reimbursed part, and whether it was paid."""

    name = "reimbursements"
    handles = frozenset({"RefundDecided", "RefundIssued"})
    schema = (REIMBURSEMENTS,)

    def fold(self, rows: Batch, envelope: Envelope) -> None:
        data = envelope.data
        table = rows["reimbursements"]
        return_id = data.get("return_id") or ORDER_LEVEL
        if envelope.type == "RefundDecided":
            # A schema-1 refund (read from a store without upcasters) has no `reimbursed`.
            reimbursed = data.get("reimbursed")
            if reimbursed is None:
                reimbursed = refund_decided_v1(data)["reimbursed"]
            if reimbursed:
                table.put(
                    {
                        "order_id": data["order_id"],
                        "return_id": return_id,
                        "reimbursed": reimbursed,
                        "issued": 0,
                    }
                )
            else:
                # One decision per refund: its issue will find no row; saying so here spares
                # that lookup (an index search per refund, the most a replay made).
                table.absent(data["order_id"], return_id)
            return
        row = table.get(data["order_id"], return_id)
        if row is not None:  # RefundIssued
            row["issued"] = 1
            table.put(row)


def reimbursed_issued(conn: sqlite3.Connection, order_id: str) -> int:
    """The reimbursed part of an order's issued refunds."""
    row = conn.execute(f"SELECT {ISSUED_SUM.format(order='?')}", (order_id,)).fetchone()
    return int(row[0])
