"""The refunds read model: every refund decision, when it was issued, and what is due when.

`refunds_report` answers "how much was decided and paid, per policy, currency and day, what is
still pending and what is overdue against each policy's deadline, as of a given time"; it reads
each refund's policy from the orders read model.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from eventstore.codec import format_time
from lifecycle.deadlines import utc_day

from .framework import Batch, Envelope, Projection, Table, fetch_dicts

ORDER_LEVEL = ""
"""The `return_id` column of an order-level refund (a cancellation or a lost parcel)."""


REFUNDS = Table(
    "refunds",
    {
        "order_id": str,
        "return_id": str,
        "currency": str,
        "basis": str,
        "amount": int,
        "decided_at": str,
        "due_by": str,
        "issued_at": str,
        "issued_amount": int,
        "payment_reference": str,
        "clauses": str,
    },
    pk=("order_id", "return_id"),
    not_null=frozenset({"amount", "decided_at", "currency"}),
)


class RefundsProjection(Projection):
    """`refunds`: one row per refund decision, with its breakdown and its payment."""

    name = "refunds"
    handles = frozenset({"RefundDecided", "RefundIssued"})
    schema = (REFUNDS,)

    def fold(self, rows: Batch, envelope: Envelope) -> None:
        data = envelope.data
        refunds = rows["refunds"]
        return_id = data.get("return_id") or ORDER_LEVEL
        at = rows.time_of(envelope)
        if envelope.type == "RefundDecided":
            refunds.put(
                {
                    "order_id": data["order_id"],
                    "return_id": return_id,
                    "currency": data["currency"],
                    "basis": data["basis"],
                    "amount": data["amount"],
                    "decided_at": at,
                    "due_by": data.get("due_by"),
                    "clauses": json.dumps(list(data.get("clauses", ()))),
                }
            )
            return
        row = refunds.get(data["order_id"], return_id)
        if row is not None:  # RefundIssued
            row["issued_at"] = at
            row["issued_amount"] = data["amount"]
            row["payment_reference"] = data.get("payment_reference")
            refunds.put(row)


def refunds_report(conn: sqlite3.Connection, as_of: datetime) -> dict[str, Any]:
    """Totals per policy, currency and day; pending refunds; overdue ones, as of `as_of`.

    A refund counts only if it was decided by `as_of`; it is issued only if paid by then."""
    moment = format_time(as_of)
    today = utc_day(as_of).isoformat()
    # The policy of a refund is its order's: the orders read model has it.
    totals = fetch_dicts(
        conn,
        "SELECT o.policy, r.currency, substr(r.decided_at, 1, 10) AS day, count(*) AS refunds, "
        "sum(r.amount) AS decided, "
        "sum(CASE WHEN r.issued_at <= :moment THEN r.issued_amount ELSE 0 END) AS issued "
        "FROM refunds r JOIN orders o USING (order_id) WHERE r.decided_at <= :moment "
        "GROUP BY o.policy, r.currency, day ORDER BY day, o.policy, r.currency",
        {"moment": moment},
    )
    pending = fetch_dicts(
        conn,
        "SELECT r.order_id, r.return_id, o.policy, r.currency, r.amount, r.decided_at, r.due_by, "
        "(r.due_by IS NOT NULL AND r.due_by < :today) AS overdue "
        "FROM refunds r JOIN orders o USING (order_id) "
        "WHERE r.decided_at <= :moment AND (r.issued_at IS NULL OR r.issued_at > :moment) "
        "ORDER BY r.due_by IS NULL, r.due_by, r.order_id, r.return_id",
        {"moment": moment, "today": today},
    )
    for row in pending:
        row["overdue"] = bool(row["overdue"])
        row["return_id"] = row["return_id"] or None
    return {
        "as_of": moment,
        "totals": totals,
        "pending": [row for row in pending if not row["overdue"]],
        "overdue": [row for row in pending if row["overdue"]],
    }
