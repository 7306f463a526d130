"""The states of an order and of a return, and the order status that SPEC.md's output reports.

`OrderState` and `ReturnState` are the states of the two machines in `machines.py`. The status a
person sees (`OrderStatus`) is derived from them and the money: see `status.py`.
"""

from __future__ import annotations

import enum


class OrderState(enum.Enum):
    """Where an order is in its own lifecycle (returns have their own machine)."""

    PLACED = "placed"
    CANCELLED = "cancelled"
    DISPATCHED = "dispatched"
    RECEIVED = "received"
    LOST = "lost"
    REFUNDED = "refunded"


class ReturnState(enum.Enum):
    """Where one return of an order is. `requested` is the entry state: the policy decides at
    once, so a recorded return has always moved on to authorized, declined or awaiting_review."""

    REQUESTED = "requested"
    AUTHORIZED = "authorized"
    DECLINED = "declined"
    AWAITING_REVIEW = "awaiting_review"
    RECEIVED = "received"
    INSPECTED = "inspected"
    REJECTED = "rejected"
    REFUNDED = "refunded"
    REPLACEMENT_SENT = "replacement_sent"


class SubscriptionState(enum.Enum):
    """Whether a subscription still renews."""

    ACTIVE = "active"
    CANCELLED = "cancelled"


class OrderStatus(enum.Enum):
    """The order's overall status as SPEC.md's `status` output reports it."""

    PLACED = "placed"
    CANCELLED = "cancelled"
    DISPATCHED = "dispatched"
    RECEIVED = "received"
    RETURN_IN_PROGRESS = "return_in_progress"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    LOST = "lost"
    CLOSED = "closed"


OPEN_RETURN_STATES = frozenset(
    {
        ReturnState.REQUESTED,
        ReturnState.AUTHORIZED,
        ReturnState.AWAITING_REVIEW,
        ReturnState.RECEIVED,
        ReturnState.INSPECTED,
    }
)
"""Returns in these states still need someone to act (receive, inspect, refund, ship)."""
