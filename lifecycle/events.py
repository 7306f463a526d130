"""Events: the facts the order domain records, one frozen class per fact, named in the past tense.

An event carries the business facts and the time they happened; its position, stream version and
recorded time live in the store's envelope. Each order event names the machine trigger it fires,
which is how replay checks that a stream is a legal path (see `order.py`).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

import attrs

from .machines import Trigger
from .vocabulary import (
    AdjustmentKind,
    Condition,
    Fault,
    RefundBasis,
    Resolution,
    ReturnMethod,
    ReturnReason,
)

# -- values carried by events ------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class CustomerDetails:
    """The customer as recorded at placement."""

    id: str
    country: str
    email: str | None = None


@attrs.frozen(kw_only=True)
class AddressDetails:
    """An address as recorded at placement."""

    country: str
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None


@attrs.frozen(kw_only=True)
class PlacedLine:
    """An order line as placed: the goods, and `paid`, the line's share after the discount."""

    line_id: str
    sku: str
    quantity: int
    unit_price: int
    paid: int
    category: str | None = None
    final_sale: bool = False
    free_gift: bool = False
    bundle: str | None = None


@attrs.frozen(kw_only=True)
class RequestedLine:
    """Units of one order line in a return."""

    line_id: str
    quantity: int


@attrs.frozen(kw_only=True)
class DeclinedLine:
    """Units of one line the policy declined in a request it otherwise accepted, and why."""

    line_id: str
    quantity: int
    code: str
    message: str
    clause: str


@attrs.frozen(kw_only=True)
class ReturnRequest:
    """What the customer asked for, as the decision that answered it records it."""

    lines: tuple[RequestedLine, ...]
    reason: ReturnReason
    method: ReturnMethod
    resolution: Resolution = Resolution.REFUND
    exchange_sku: str | None = None
    exchange_unit_price: int | None = None
    unboxing_video: bool = False
    photo: bool = False


@attrs.frozen(kw_only=True)
class ShippingTerms:
    """Who pays for the way back, and what that does to the refund.

    `not_applied` says which of the rule's amounts were left out (a placeholder the seed does
    not state, or an amount in another currency than the order's): each is a sentence, the
    amount is 0 here (a cap: none), and the return waited for a person."""

    method: ReturnMethod
    label_fee: int = 0
    pickup_fee: int = 0
    credit: int = 0
    reimburse_postage: bool = False
    reimburse_cap: int | None = None
    clause: str
    not_applied: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class ReturnTerms:
    """The policy's answer to an accepted request: which package this is, whose fault, how it
    will be settled and shipped, and the clauses behind each."""

    package: int
    fault: Fault
    resolution: Resolution
    shipping: ShippingTerms
    clauses: tuple[str, ...]
    returnless: bool = False
    """Settled without a parcel back (the policy's `[[returnless]]` rule for the reason)."""


@attrs.frozen(kw_only=True)
class InspectionResult:
    """Units of one line as found by the warehouse, and whether the policy accepts them."""

    line_id: str
    quantity: int
    condition: Condition
    accepted: bool
    clause: str


@attrs.frozen(kw_only=True)
class RefundLine:
    """The paid price of refunded units of one line, and the clause that accepted them."""

    line_id: str
    quantity: int
    amount: int
    clause: str


@attrs.frozen(kw_only=True)
class Adjustment:
    """A deduction (negative) or reimbursement (positive) on top of the goods, with its clause."""

    kind: AdjustmentKind
    amount: int
    clause: str
    note: str = ""


# -- events ------------------------------------------------------------------------------------


@attrs.frozen(kw_only=True)
class Event:
    """Base of every event: when it happened."""

    SCHEMA_VERSION: ClassVar[int] = 1

    at: datetime


@attrs.frozen(kw_only=True)
class OrderEvent(Event):
    """An event in an order's stream; `trigger` is the machine transition it records."""

    TRIGGER: ClassVar[Trigger]

    order_id: str

    @property
    def trigger(self) -> Trigger:
        return self.TRIGGER


@attrs.frozen(kw_only=True)
class ReturnEvent(OrderEvent):
    """An event of one return of an order."""

    return_id: str


@attrs.frozen(kw_only=True)
class OrderPlaced(OrderEvent):
    """An order was placed under a shop's policy, pinned at the version then in force."""

    TRIGGER = Trigger.PLACE_ORDER

    policy: str
    policy_version: str
    currency: str
    customer: CustomerDetails
    lines: tuple[PlacedLine, ...]
    payment_method: str
    shipping_fee: int
    shipping_clause: str | None = None
    discount: int = 0
    paid_total: int
    cancellable_until: datetime | None = None
    cancellation_clause: str
    subscription_id: str | None = None
    shipping_address: AddressDetails | None = None
    billing_address: AddressDetails | None = None


@attrs.frozen(kw_only=True)
class OrderCancelled(OrderEvent):
    """The order was cancelled before dispatch."""

    TRIGGER = Trigger.CANCEL_ORDER

    reason: str | None = None
    clause: str


@attrs.frozen(kw_only=True)
class OrderDispatched(OrderEvent):
    """The order was handed to a carrier."""

    TRIGGER = Trigger.DISPATCH_ORDER

    carrier: str | None = None
    tracking_number: str | None = None


@attrs.frozen(kw_only=True)
class OrderDelivered(OrderEvent):
    """The parcel reached the customer; returns may be requested until `returns_close_on`."""

    TRIGGER = Trigger.CONFIRM_DELIVERY

    returns_close_on: date | None = None


@attrs.frozen(kw_only=True)
class ParcelLost(OrderEvent):
    """The carrier or the customer reported that the parcel never arrived."""

    TRIGGER = Trigger.REPORT_LOST


@attrs.frozen(kw_only=True)
class RefundDecided(OrderEvent):
    """The policy set a refund: line by line, with deductions, reimbursements and clauses.

    `amount` is the total paid back. `reimbursed` is the part of it that repays return costs
    the customer paid a carrier (return postage, a credit toward return shipping); the rest
    repays goods and original shipping, which never exceeds what was paid for them.
    `return_id` is None for an order-level refund (a cancellation or a lost parcel).
    Schema 2 added `reimbursed` (`upcasts.py` reads schema 1)."""

    SCHEMA_VERSION = 2
    TRIGGER = Trigger.DECIDE_REFUND

    return_id: str | None = None
    basis: RefundBasis
    currency: str
    amount: int
    reimbursed: int = 0
    lines: tuple[RefundLine, ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    due_by: date | None = None
    clauses: tuple[str, ...] = ()

    @property
    def trigger(self) -> Trigger:
        return Trigger.DECIDE_REFUND if self.return_id is not None else Trigger.DECIDE_ORDER_REFUND

    @property
    def goods_amount(self) -> int:
        """The part of the refund that repays goods and original shipping (under the cap)."""
        return self.amount - self.reimbursed


@attrs.frozen(kw_only=True)
class RefundIssued(OrderEvent):
    """A decided refund was paid out."""

    TRIGGER = Trigger.ISSUE_REFUND

    return_id: str | None = None
    amount: int
    payment_reference: str | None = None

    @property
    def trigger(self) -> Trigger:
        return Trigger.ISSUE_REFUND if self.return_id is not None else Trigger.ISSUE_ORDER_REFUND


@attrs.frozen(kw_only=True)
class ReturnAuthorized(ReturnEvent):
    """The policy accepted a return request, with its terms.

    A request is decided line by line: `request` holds the lines accepted, `declined_lines` the
    ones the policy declined (a free gift, a final-sale item), each with its code and clause."""

    TRIGGER = Trigger.AUTHORIZE

    request: ReturnRequest
    terms: ReturnTerms
    declined_lines: tuple[DeclinedLine, ...] = ()


@attrs.frozen(kw_only=True)
class ReturnHeldForReview(ReturnEvent):
    """A return request tripped a review trigger and waits for a person's decision."""

    TRIGGER = Trigger.HOLD_FOR_REVIEW

    request: ReturnRequest
    terms: ReturnTerms
    triggers: tuple[str, ...]
    message: str
    declined_lines: tuple[DeclinedLine, ...] = ()


@attrs.frozen(kw_only=True)
class ReturnApproved(ReturnEvent):
    """A reviewer approved a held return on the terms proposed when it was held."""

    TRIGGER = Trigger.APPROVE

    note: str | None = None


@attrs.frozen(kw_only=True)
class ReturnDeclined(ReturnEvent):
    """The policy (or a reviewer) refused a return request; `code` says why.

    `request` is what was asked when the request itself was declined; None after a review."""

    TRIGGER = Trigger.DECLINE

    code: str
    message: str
    clause: str
    note: str | None = None
    request: ReturnRequest | None = None


@attrs.frozen(kw_only=True)
class ReturnReceived(ReturnEvent):
    """The returned parcel arrived at the warehouse."""

    TRIGGER = Trigger.RECEIVE_RETURN

    return_shipping_paid: int | None = None


@attrs.frozen(kw_only=True)
class ReturnInspected(ReturnEvent):
    """The warehouse inspected the parcel and the policy accepted some or all of it.

    `terms` are the return's revised terms when the inspection changed them (a claimed damage
    or defect not found: the customer's choice after all), with `note` saying why; else None."""

    TRIGGER = Trigger.ACCEPT_INSPECTION

    lines: tuple[InspectionResult, ...]
    terms: ReturnTerms | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class ReturnRejected(ReturnEvent):
    """The warehouse inspected the parcel and the policy accepted none of it (`terms` and
    `note` as for `ReturnInspected`)."""

    TRIGGER = Trigger.REJECT_INSPECTION

    lines: tuple[InspectionResult, ...]
    terms: ReturnTerms | None = None
    note: str | None = None


@attrs.frozen(kw_only=True)
class ClaimAccepted(ReturnEvent):
    """A claim for units that never arrived was accepted without anything to send back."""

    TRIGGER = Trigger.ACCEPT_CLAIM

    clause: str


@attrs.frozen(kw_only=True)
class ReplacementShipped(ReturnEvent):
    """The replacement or exchange item was sent.

    An exchange for a dearer item records `amount_due`, what the customer owes for the
    difference, under `due_clause` (recorded, not collected: payments are outside orderlog); a
    cheaper one is refunded its difference by the `RefundDecided` that follows."""

    TRIGGER = Trigger.SHIP_REPLACEMENT

    skus: tuple[str, ...]
    tracking_number: str | None = None
    amount_due: int = 0
    due_clause: str | None = None


@attrs.frozen(kw_only=True)
class ReturnSettledByRefund(ReturnEvent):
    """Support settled an inspected return by refund instead of by goods; `actor` decided it."""

    TRIGGER = Trigger.SETTLE_BY_REFUND

    actor: str
    note: str | None = None


@attrs.frozen(kw_only=True)
class SubscriptionEvent(Event):
    """An event in a subscription's stream."""

    TRIGGER: ClassVar[Trigger]

    subscription_id: str

    @property
    def trigger(self) -> Trigger:
        return self.TRIGGER


@attrs.frozen(kw_only=True)
class SubscriptionStarted(SubscriptionEvent):
    """A customer subscribed: what each renewal orders, how often, and the first order's id."""

    TRIGGER = Trigger.START_SUBSCRIPTION

    policy: str
    every_days: int
    template: dict[str, Any]
    first_order_id: str
    next_renewal_at: datetime


@attrs.frozen(kw_only=True)
class SubscriptionRenewed(SubscriptionEvent):
    """A subscription placed its next order."""

    TRIGGER = Trigger.RENEW_SUBSCRIPTION

    order_id: str
    next_renewal_at: datetime


@attrs.frozen(kw_only=True)
class SubscriptionCancelled(SubscriptionEvent):
    """A subscription was cancelled before its next renewal; no further orders."""

    TRIGGER = Trigger.CANCEL_SUBSCRIPTION

    reason: str | None = None
    clause: str


@attrs.frozen(kw_only=True)
class PolicyRecorded(Event):
    """A policy version was put in the log, so its orders can be replayed under it for ever."""

    name: str
    version: str
    source: str
    text: str


ORDER_EVENTS: tuple[type[OrderEvent], ...] = (
    OrderPlaced,
    OrderCancelled,
    OrderDispatched,
    OrderDelivered,
    ParcelLost,
    RefundDecided,
    RefundIssued,
    ReturnAuthorized,
    ReturnHeldForReview,
    ReturnApproved,
    ReturnDeclined,
    ReturnReceived,
    ReturnInspected,
    ReturnRejected,
    ClaimAccepted,
    ReplacementShipped,
    ReturnSettledByRefund,
)

SUBSCRIPTION_EVENTS: tuple[type[SubscriptionEvent], ...] = (
    SubscriptionStarted,
    SubscriptionRenewed,
    SubscriptionCancelled,
)

EVENT_TYPES: dict[str, type[Event]] = {
    cls.__name__: cls for cls in (*ORDER_EVENTS, *SUBSCRIPTION_EVENTS, PolicyRecorded)
}
"""Every event class by its stored type name."""
