"""The fixed words of commands and events: return reasons, methods, resolutions, conditions.

Values are the wire words of SPEC.md; policies refer to them by the same words.
"""

from __future__ import annotations

import enum


class ReturnReason(enum.Enum):
    """Why the customer sends something back."""

    CHANGED_MIND = "changed_mind"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"
    WRONG_ITEM = "wrong_item"
    NOT_AS_DESCRIBED = "not_as_described"
    ALLERGIC_REACTION = "allergic_reaction"
    MISSING_ITEM = "missing_item"
    OTHER = "other"


class ReturnMethod(enum.Enum):
    """How the goods travel back: the shop's label, the customer's own carrier, or a pickup."""

    PREPAID_LABEL = "prepaid_label"
    OWN_CARRIER = "own_carrier"
    PICKUP = "pickup"


class Resolution(enum.Enum):
    """What settles a return. Customers ask for `refund` or `exchange`; a policy may settle
    damaged or defective goods with a `replacement` instead."""

    REFUND = "refund"
    EXCHANGE = "exchange"
    REPLACEMENT = "replacement"


class Condition(enum.Enum):
    """The state of a returned unit as the warehouse found it."""

    UNOPENED = "unopened"
    OPENED = "opened"
    USED = "used"
    DAMAGED = "damaged"
    DEFECTIVE = "defective"


class ReviewDecision(enum.Enum):
    """A reviewer's answer to a return held for manual review."""

    APPROVE = "approve"
    DECLINE = "decline"


class Fault(enum.Enum):
    """Who is responsible for a return, as the policy reads its reason."""

    MERCHANT = "merchant"
    CUSTOMER = "customer"


class RefundBasis(enum.Enum):
    """What a refund decision settles."""

    RETURN = "return"
    CLAIM = "claim"
    CANCELLATION = "cancellation"
    LOST_PARCEL = "lost_parcel"
    REPLACEMENT = "replacement"


class AdjustmentKind(enum.Enum):
    """What an amount on top of a refund's goods is: a deduction, a reimbursement, or the
    floor and cap that keep a refund between zero and what is left of the payment."""

    RESTOCKING_FEE = "restocking_fee"
    LABEL_FEE = "label_fee"
    PICKUP_FEE = "pickup_fee"
    RETURN_SHIPPING_CREDIT = "return_shipping_credit"
    RETURN_POSTAGE = "return_postage"
    ORIGINAL_SHIPPING = "original_shipping"
    ORIGINAL_SHIPPING_KEPT = "original_shipping_kept"
    NOT_APPLIED = "not_applied"
    EXCHANGE_DIFFERENCE = "exchange_difference"
    FLOOR = "floor"
    CAP = "cap"


REIMBURSEMENTS = frozenset({AdjustmentKind.RETURN_POSTAGE, AdjustmentKind.RETURN_SHIPPING_CREDIT})
"""Adjustments that repay return costs (money the customer paid a carrier, or the shop's flat
amount toward it): outside the order's cap, bounded only by their own rule."""
