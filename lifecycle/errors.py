"""Typed refusals of the order domain, each with the stable code SPEC.md lists.

An error means nothing was written. A return request the policy refuses is not an error: it is a
recorded `ReturnDeclined` event (see `decide.py`), and its codes are listed at the bottom.
"""

from __future__ import annotations

from eventstore.errors import ConcurrencyConflict, OrderlogError

__all__ = [
    "DECLINE_CODES",
    "CancellationWindowClosed",
    "ConcurrencyConflict",
    "DomainError",
    "DuplicateOrder",
    "DuplicateSubscription",
    "IllegalTransition",
    "InvalidCommand",
    "InvalidPolicy",
    "OrderlogError",
    "QuantityExceedsReturnable",
    "RenewalNotDue",
    "SubscriptionNotOffered",
    "UnknownOrder",
    "UnknownPolicy",
    "UnknownReturn",
    "UnknownSubscription",
    "UnsupportedCurrency",
    "UnsupportedPaymentMethod",
]


class DomainError(OrderlogError):
    """A command the domain refuses; nothing is written."""

    code = "domain_error"


class InvalidCommand(DomainError, ValueError):
    """A malformed command: the `field` it names is missing, of the wrong type or out of range."""

    code = "invalid_command"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field
        self.detail = message


class UnknownOrder(DomainError, LookupError):
    """No order with this id has been placed."""

    code = "unknown_order"

    def __init__(self, order_id: str, message: str | None = None) -> None:
        super().__init__(message or f"no order {order_id!r} has been placed")
        self.order_id = order_id


class DuplicateOrder(DomainError):
    """An order with this id exists already."""

    code = "duplicate_order"

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id!r} was placed already; order ids are used once")
        self.order_id = order_id


class UnknownReturn(DomainError, LookupError):
    """The order has no return with this id."""

    code = "unknown_return"

    def __init__(self, order_id: str, return_id: str) -> None:
        super().__init__(f"order {order_id!r} has no return {return_id!r}")
        self.order_id = order_id
        self.return_id = return_id


class IllegalTransition(DomainError):
    """The command cannot happen in the order's (or return's) current state."""

    code = "illegal_transition"

    def __init__(self, message: str, *, state: str, trigger: str) -> None:
        super().__init__(message)
        self.state = state
        self.trigger = trigger


class CancellationWindowClosed(DomainError):
    """The policy's cancellation window has passed."""

    code = "cancellation_window_closed"


class QuantityExceedsReturnable(DomainError, ValueError):
    """More units asked for (returned, inspected) than the order has left to return."""

    code = "quantity_exceeds_returnable"


class UnsupportedCurrency(DomainError, ValueError):
    """The shop's policy does not take this currency."""

    code = "unsupported_currency"


class UnsupportedPaymentMethod(DomainError, ValueError):
    """The shop's policy does not accept this payment method."""

    code = "unsupported_payment_method"


class UnknownSubscription(DomainError, LookupError):
    """No subscription with this id has been started."""

    code = "unknown_subscription"

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"no subscription {subscription_id!r} has been started")
        self.subscription_id = subscription_id


class DuplicateSubscription(DomainError):
    """A subscription with this id exists already."""

    code = "duplicate_subscription"

    def __init__(self, subscription_id: str) -> None:
        super().__init__(f"subscription {subscription_id!r} was started already")
        self.subscription_id = subscription_id


class SubscriptionNotOffered(DomainError):
    """The shop's policy has no subscriptions."""

    code = "subscription_not_offered"


class RenewalNotDue(DomainError):
    """A subscription renewal asked for before its renewal date."""

    code = "renewal_not_due"


class UnknownPolicy(DomainError, LookupError):
    """No policy by this name (or at this version) is known."""

    code = "unknown_policy"


class InvalidPolicy(OrderlogError, ValueError):
    """A policy file that cannot be loaded; the message names the file and the field."""

    code = "invalid_policy"

    def __init__(self, source: str, field: str, message: str) -> None:
        super().__init__(f"{source}: {field}: {message}")
        self.source = source
        self.field = field


DECLINE_CODES = frozenset(
    {
        "return_window_closed",
        "not_returnable",
        "partial_bundle",
        "evidence_required",
        "claim_window_closed",
        "exchange_not_offered",
        "method_not_offered",
        "review_declined",
    }
)
"""Codes a `ReturnDeclined` event may carry: the policy's refusals, recorded in the history."""
