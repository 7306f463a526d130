"""Finding orders, returns and declines in the read models (`orderlog orders`, `returns`,
`declines`), with each one's overdue refund in days.

Small read-only queries over the read models' tables; rows come back as JSON-able dicts whose
keys are the columns of `--json` and `--csv`. The order status word is derived here from the
stored state exactly as `lifecycle.status` rules; nothing is decided.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import attrs

from eventstore.codec import format_time
from lifecycle.deadlines import utc_day
from lifecycle.states import OPEN_RETURN_STATES, OrderState, ReturnState
from lifecycle.status import derive_status

from .framework import fetch_dicts
from .reimbursements import ISSUED_SUM

# State words are the enums' own values, so they can be written into the SQL as they are.
_OPEN = ", ".join(f"'{state.value}'" for state in sorted(OPEN_RETURN_STATES, key=str))
_IS_REVIEW = f"r.state = '{ReturnState.AWAITING_REVIEW.value}'"


@attrs.frozen(kw_only=True)
class Filters:
    """What to list: every filter given must hold (values within one filter are alternatives).

    `statuses` are order status words for orders and return status words for returns; `since`
    and `until` bound the placing, request or decline time, both included."""

    order_id: str | None = None
    statuses: tuple[str, ...] = ()
    policies: tuple[str, ...] = ()
    customers: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    overdue: bool = False
    awaiting_review: bool = False
    codes: tuple[str, ...] = ()
    clauses: tuple[str, ...] = ()


class _Where:
    """SQL conditions and their parameters, built up filter by filter."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def equals(self, column: str, value: str | None) -> None:
        if value is not None:
            self.add(f"{column} = ?", value)

    def among(self, column: str, values: Sequence[str]) -> None:
        if values:
            self.add(f"{column} IN ({', '.join('?' for _ in values)})", *values)

    def between(self, column: str, since: datetime | None, until: datetime | None) -> None:
        if since is not None:
            self.add(f"{column} >= ?", format_time(since))
        if until is not None:
            self.add(f"{column} <= ?", format_time(until))

    def add(self, condition: str, *params: Any) -> None:
        self.parts.append(condition)
        self.params.extend(params)

    def sql(self) -> str:
        return f" WHERE {' AND '.join(self.parts)}" if self.parts else ""


def _common(where: _Where, filters: Filters, when: str) -> None:
    where.equals("o.order_id", filters.order_id)
    where.among("o.policy", filters.policies)
    where.among("o.customer_id", filters.customers)
    where.between(when, filters.since, filters.until)


def list_orders(
    conn: sqlite3.Connection, filters: Filters, as_of: datetime
) -> list[dict[str, Any]]:
    """Orders matching `filters`, oldest first, with their status as of `as_of`."""
    where = _Where()
    _common(where, filters, "o.placed_at")
    if filters.awaiting_review:
        where.add(
            f"EXISTS (SELECT 1 FROM returns r WHERE r.order_id = o.order_id AND {_IS_REVIEW})"
        )
    rows = fetch_dicts(
        conn, _ORDERS + where.sql() + " ORDER BY o.placed_at, o.order_id", where.params
    )
    late = _days_late_by_order(overdue_refunds(conn, as_of, filters.order_id))
    found = []
    for row in rows:
        row["status"] = _status(row, as_of)
        row["days_overdue"] = late.get(row["order_id"])
        if filters.statuses and row["status"] not in filters.statuses:
            continue
        if filters.overdue and row["days_overdue"] is None:
            continue
        found.append({key: row[key] for key in ORDER_COLUMNS})
    return found


_ORDERS = (
    "SELECT o.*, o.decided_total - o.refunded_total AS refund_pending, "
    f"{ISSUED_SUM.format(order='o.order_id')} AS reimbursed_total, "
    "(SELECT count(*) FROM returns r WHERE r.order_id = o.order_id) AS returns, "
    f"(SELECT count(*) FROM returns r WHERE r.order_id = o.order_id AND {_IS_REVIEW}) "
    "AS awaiting_review, "
    f"(SELECT count(*) FROM returns r WHERE r.order_id = o.order_id AND r.state IN ({_OPEN})) "
    "AS open_returns "
    "FROM orders o"
)

ORDER_COLUMNS = (
    "order_id",
    "placed_at",
    "policy",
    "policy_version",
    "customer_id",
    "status",
    "currency",
    "paid_total",
    "refunded_total",
    "reimbursed_total",
    "refund_pending",
    "returns",
    "awaiting_review",
    "days_overdue",
    "cancellable_until",
    "returns_close_on",
)
"""The keys of an order row (`orderlog orders --json`), and the columns of its CSV."""


def _status(row: dict[str, Any], as_of: datetime) -> str:
    closes = row["returns_close_on"]
    return derive_status(
        OrderState(row["state"]),
        open_returns=row["open_returns"],
        paid_total=row["paid_total"],
        refunded_total=row["refunded_total"],
        returns_close_on=date.fromisoformat(closes) if closes else None,
        as_of=as_of,
        reimbursed_total=row["reimbursed_total"],
    ).value


def list_returns(
    conn: sqlite3.Connection, filters: Filters, as_of: datetime
) -> list[dict[str, Any]]:
    """Returns matching `filters`, in the order they were requested."""
    where = _Where()
    _common(where, filters, "r.requested_at")
    where.among("r.state", filters.statuses)
    if filters.awaiting_review:
        where.add(_IS_REVIEW)
    rows = fetch_dicts(
        conn,
        "SELECT r.order_id, r.return_id, r.requested_at, o.policy, o.customer_id, "
        "r.state AS status, r.reason, r.method, r.resolution, o.currency, r.refund_amount, "
        "r.refund_due_by, r.refund_issued_at FROM returns r JOIN orders o USING (order_id)"
        + where.sql()
        + " ORDER BY r.requested_at, r.order_id, r.return_id",
        where.params,
    )
    late = {
        (refund["order_id"], refund["return_id"]): refund["days_overdue"]
        for refund in overdue_refunds(conn, as_of, filters.order_id)
    }
    found = []
    for row in rows:
        row["days_overdue"] = late.get((row["order_id"], row["return_id"]))
        if not filters.overdue or row["days_overdue"] is not None:
            found.append(row)
    return found


def list_declines(conn: sqlite3.Connection, filters: Filters) -> list[dict[str, Any]]:
    """Declined return requests matching `filters`, in the order they were recorded."""
    where = _Where()
    _common(where, filters, "d.declined_at")
    where.among("d.code", filters.codes)
    where.among("d.clause", filters.clauses)
    return fetch_dicts(
        conn,
        "SELECT d.order_id, d.return_id, d.line_id, d.declined_at, o.policy, o.customer_id, "
        "d.code, d.clause, d.message FROM (" + _EVERY_DECLINE + ") d JOIN orders o "
        "USING (order_id)" + where.sql() + " ORDER BY d.position, d.line_id",
        where.params,
    )


_EVERY_DECLINE = (
    "SELECT order_id, return_id, NULL AS line_id, declined_at, code, clause, message, position "
    "FROM declines UNION ALL SELECT order_id, return_id, line_id, declined_at, code, clause, "
    "message, position FROM declined_lines"
)
"""Requests declined as a whole (no `line_id`) and lines declined inside accepted ones."""


def overdue_refunds(
    conn: sqlite3.Connection, as_of: datetime, order_id: str | None = None
) -> list[dict[str, Any]]:
    """Refunds decided by `as_of`, not issued by then, and past their due day (UTC), with the
    number of days they are late; `return_id` is None for an order-level refund."""
    moment = format_time(as_of)
    where = _Where()
    where.add("decided_at <= ?", moment)
    where.add("(issued_at IS NULL OR issued_at > ?)", moment)
    where.add("due_by < ?", utc_day(as_of).isoformat())
    where.equals("order_id", order_id)
    rows = fetch_dicts(
        conn,
        "SELECT order_id, return_id, currency, amount, due_by FROM refunds"
        + where.sql()
        + " ORDER BY due_by, order_id, return_id",
        where.params,
    )
    for row in rows:
        row["return_id"] = row["return_id"] or None
        row["days_overdue"] = days_late(row["due_by"], as_of)
    return rows


def days_late(due_by: str, as_of: datetime) -> int:
    """Whole UTC days between a due day and `as_of` (1 on the day after the due day)."""
    return (utc_day(as_of) - date.fromisoformat(due_by)).days


def _days_late_by_order(refunds: list[dict[str, Any]]) -> dict[str, int]:
    late: dict[str, int] = {}
    for refund in refunds:
        late[refund["order_id"]] = max(late.get(refund["order_id"], 0), refund["days_overdue"])
    return late


def with_totals(report: dict[str, Any], as_of: datetime) -> dict[str, Any]:
    """A refunds report (`refunds_report`) with each overdue refund's days late, and grand
    totals per currency: refunds decided, money decided, issued, pending and overdue."""
    for row in report["overdue"]:
        row["days_overdue"] = days_late(row["due_by"], as_of)
    totals: dict[str, dict[str, Any]] = {}

    def total(currency: str) -> dict[str, Any]:
        empty = {"refunds": 0, "decided": 0, "issued": 0, "pending": 0, "overdue": 0}
        return totals.setdefault(currency, {"currency": currency, **empty})

    for row in report["totals"]:
        money = total(row["currency"])
        for key in ("refunds", "decided", "issued"):
            money[key] += row[key]
    for key in ("pending", "overdue"):
        for row in report[key]:
            total(row["currency"])[key] += row["amount"]
    return {**report, "currencies": [totals[currency] for currency in sorted(totals)]}


RETURN_COLUMNS = (
    "order_id",
    "return_id",
    "requested_at",
    "policy",
    "customer_id",
    "status",
    "reason",
    "method",
    "resolution",
    "currency",
    "refund_amount",
    "refund_due_by",
    "refund_issued_at",
    "days_overdue",
)
"""The keys of a return row (`orderlog returns --json`), and the columns of its CSV."""

DECLINE_COLUMNS = (
    "order_id",
    "return_id",
    "line_id",
    "declined_at",
    "policy",
    "customer_id",
    "code",
    "clause",
    "message",
)
"""The keys of a decline row (`orderlog declines --json`), and the columns of its CSV."""
