"""The status of one order as `Orderlog.status()` returns it and `orderlog status` prints it: a
typed, frozen object whose `as_dict()` is SPEC.md's `status --json` shape."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar

import attrs

from eventstore.codec import format_time, parse_iso_time
from lifecycle.errors import UnknownOrder
from lifecycle.states import OrderStatus, ReturnState

from .listing import Filters, list_orders, list_returns, overdue_refunds

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class ReturnStatus:
    """One return of the order. `refund_amount` is None until a refund is decided (and stays
    None for declined and rejected returns, and for replacements that pay nothing back);
    `refund_due_by` is a day of the policy's time zone."""

    return_id: str
    status: ReturnState
    refund_amount: int | None
    refund_due_by: date | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "return_id": self.return_id,
            "status": self.status.value,
            "refund_amount": self.refund_amount,
            "refund_due_by": _day(self.refund_due_by),
        }


@attrs.frozen(kw_only=True)
class OverdueRefund:
    """A decided refund not issued by its due day: for a return, or (None) the whole order."""

    return_id: str | None
    amount: int
    due_by: date
    days_overdue: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "return_id": self.return_id,
            "amount": self.amount,
            "due_by": self.due_by.isoformat(),
            "days_overdue": self.days_overdue,
        }


@attrs.frozen(kw_only=True)
class StatusReport:
    """An order's status, money, windows and returns as of `as_of`. Amounts are integers in
    the minor unit of `currency`; `refund_pending` is decided but not yet issued.
    `reimbursed_total` is the part of `refunded_total` that repaid return costs (postage,
    a credit toward return shipping), outside the cap on goods and shipping."""

    order_id: str
    policy: str
    policy_version: str
    status: OrderStatus
    currency: str
    paid_total: int
    refunded_total: int
    reimbursed_total: int
    refund_pending: int
    placed_at: datetime
    cancellable_until: datetime | None
    returns_close_on: date | None
    returns: tuple[ReturnStatus, ...]
    overdue_refunds: tuple[OverdueRefund, ...]
    as_of: datetime

    def as_dict(self) -> dict[str, Any]:
        """The `status --json` object (SPEC.md's keys, then `overdue_refunds` and `as_of`)."""
        return {
            "order_id": self.order_id,
            "policy": self.policy,
            "policy_version": self.policy_version,
            "status": self.status.value,
            "currency": self.currency,
            "paid_total": self.paid_total,
            "refunded_total": self.refunded_total,
            "reimbursed_total": self.reimbursed_total,
            "refund_pending": self.refund_pending,
            "placed_at": format_time(self.placed_at),
            "cancellable_until": _time(self.cancellable_until),
            "returns_close_on": _day(self.returns_close_on),
            "returns": [item.as_dict() for item in self.returns],
            "overdue_refunds": [item.as_dict() for item in self.overdue_refunds],
            "as_of": format_time(self.as_of),
        }


def status_report(conn: sqlite3.Connection, order_id: str, as_of: datetime) -> StatusReport:
    """The status of one order from the read models in `conn`; raises `UnknownOrder`."""
    only = Filters(order_id=order_id)
    found = list_orders(conn, only, as_of)
    if not found:
        raise UnknownOrder(order_id)
    row = found[0]
    return StatusReport(
        order_id=row["order_id"],
        policy=row["policy"],
        policy_version=row["policy_version"],
        status=OrderStatus(row["status"]),
        currency=row["currency"],
        paid_total=row["paid_total"],
        refunded_total=row["refunded_total"],
        reimbursed_total=row["reimbursed_total"],
        refund_pending=row["refund_pending"],
        placed_at=parse_iso_time(row["placed_at"]),
        cancellable_until=_parsed(row["cancellable_until"], parse_iso_time),
        returns_close_on=_parsed(row["returns_close_on"], date.fromisoformat),
        returns=tuple(
            ReturnStatus(
                return_id=item["return_id"],
                status=ReturnState(item["status"]),
                refund_amount=item["refund_amount"],
                refund_due_by=_parsed(item["refund_due_by"], date.fromisoformat),
            )
            for item in list_returns(conn, only, as_of)
        ),
        overdue_refunds=tuple(
            OverdueRefund(
                return_id=item["return_id"],
                amount=item["amount"],
                due_by=date.fromisoformat(item["due_by"]),
                days_overdue=item["days_overdue"],
            )
            for item in overdue_refunds(conn, as_of, order_id)
        ),
        as_of=as_of,
    )


def _parsed(text: str | None, parse: Callable[[str], T]) -> T | None:
    return None if text is None else parse(text)


def _time(moment: datetime | None) -> str | None:
    return None if moment is None else format_time(moment)


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
