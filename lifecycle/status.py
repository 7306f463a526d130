"""The order status a person sees, derived from the machine state, the returns and the money.

Read models call `derive_status` with their stored columns; the domain calls `order_status`.
"""

from __future__ import annotations

from datetime import date, datetime

from .deadlines import utc_day
from .order import Order
from .states import OrderState, OrderStatus

_AS_IS = {
    OrderState.PLACED: OrderStatus.PLACED,
    OrderState.CANCELLED: OrderStatus.CANCELLED,
    OrderState.DISPATCHED: OrderStatus.DISPATCHED,
    OrderState.LOST: OrderStatus.LOST,
    OrderState.REFUNDED: OrderStatus.REFUNDED,
}


def derive_status(
    state: OrderState,
    *,
    open_returns: int,
    paid_total: int,
    refunded_total: int,
    returns_close_on: date | None,
    as_of: datetime | None = None,
    reimbursed_total: int = 0,
) -> OrderStatus:
    """A received order is `return_in_progress` while any return is open, then `refunded` or
    `partially_refunded` by the money, then `closed` once its return window has passed.

    `refunded` means the goods and shipping were paid back in full: `reimbursed_total`, the
    part of `refunded_total` that repaid return costs, does not count toward it."""
    if state is not OrderState.RECEIVED:
        return _AS_IS[state]
    if open_returns:
        return OrderStatus.RETURN_IN_PROGRESS
    if refunded_total and refunded_total - reimbursed_total >= paid_total:
        return OrderStatus.REFUNDED
    if refunded_total:
        return OrderStatus.PARTIALLY_REFUNDED
    if as_of is not None and not returns_window_open(returns_close_on, as_of):
        return OrderStatus.CLOSED
    return OrderStatus.RECEIVED


def returns_window_open(returns_close_on: date | None, as_of: datetime) -> bool:
    """Whether returns may still be asked for at `as_of`: the window's last day (a UTC day)
    is included, and no last day means no window."""
    return returns_close_on is None or utc_day(as_of) <= returns_close_on


def order_status(order: Order, as_of: datetime | None = None) -> OrderStatus:
    """The status of a rebuilt order (as of a time, for `closed`)."""
    return derive_status(
        order.state,
        open_returns=sum(1 for case in order.returns if case.is_open),
        paid_total=order.paid_total,
        refunded_total=order.refunded_total,
        returns_close_on=order.returns_close_on,
        as_of=as_of,
        reimbursed_total=order.reimbursed_issued,
    )
