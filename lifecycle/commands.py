"""Commands: what fulfilment code asks the order service to do, one frozen class per type.

Each class names its wire `type` (SPEC.md's command table). Every field is checked when the
command is built, so a malformed command never reaches a decision: `InvalidCommand` names the
field instead.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import attrs

from .errors import InvalidCommand
from .machines import ORDER_LEVEL, Trigger, command_trigger
from .money import MAX_LINE_VALUE, MAX_ORDER_TOTAL
from .validation import (
    COUNTRY,
    CURRENCY,
    MAX_QUANTITY,
    MAX_TEXT,
    WORD,
    choice,
    flag,
    identifier,
    integer,
    items,
    moment,
    money,
    nested,
    optional_identifier,
    optional_money,
    optional_text,
    text,
)
from .vocabulary import Condition, Resolution, ReturnMethod, ReturnReason, ReviewDecision


@attrs.frozen(kw_only=True)
class Customer:
    """Who ordered: an id, the ISO 3166 alpha-2 country, and optionally an email."""

    id: str = identifier()
    country: str = text(2, COUNTRY)
    email: str | None = optional_text(254, r"[^@\s]+@[^@\s]+")


@attrs.frozen(kw_only=True)
class Address:
    """A postal address; orderlog reads only its country (review triggers, shipping rules)."""

    country: str = text(2, COUNTRY)
    name: str | None = optional_text(200)
    line1: str | None = optional_text(200)
    line2: str | None = optional_text(200)
    city: str | None = optional_text(200)
    region: str | None = optional_text(200)
    postal_code: str | None = optional_text(20)


@attrs.frozen(kw_only=True)
class OrderLine:
    """One line of an order: a SKU, how many, at what unit price, and what kind of item."""

    line_id: str = identifier()
    sku: str = identifier()
    quantity: int = integer(1, MAX_QUANTITY)
    unit_price: int = money()
    category: str | None = optional_text(100)
    final_sale: bool = flag()
    free_gift: bool = flag()
    bundle: str | None = optional_text(100)

    def __attrs_post_init__(self) -> None:
        value = self.quantity * self.unit_price
        if value > MAX_LINE_VALUE:
            raise InvalidCommand(
                f"{self.quantity} x {self.unit_price} is {value}; a line may be worth at most "
                f"{MAX_LINE_VALUE}",
                field="unit_price",
            )


@attrs.frozen(kw_only=True)
class ReturnLine:
    """Units of one order line that the customer sends back."""

    line_id: str = identifier()
    quantity: int = integer(1, MAX_QUANTITY)


@attrs.frozen(kw_only=True)
class InspectedLine:
    """Units of one returned line and the condition the warehouse found them in."""

    line_id: str = identifier()
    quantity: int = integer(1, MAX_QUANTITY)
    condition: Condition = choice(Condition)


@attrs.frozen(kw_only=True)
class Evidence:
    """What the customer supplied with a claim."""

    unboxing_video: bool = flag()
    photo: bool = flag()


@attrs.frozen(kw_only=True)
class BaseCommand:
    """Fields every command has: when (aware, kept in UTC), idempotency key, and actor."""

    TYPE: ClassVar[str] = ""

    at: datetime = moment()
    command_id: str | None = optional_identifier()
    actor: str | None = optional_text(100)

    @property
    def trigger(self) -> Trigger:
        """The machine trigger this command fires (see `machines.COMMAND_TRIGGERS`)."""
        return command_trigger(self.TYPE, self._variant())

    def _variant(self) -> str | None:
        return None


@attrs.frozen(kw_only=True)
class Command(BaseCommand):
    """A command about one order."""

    order_id: str = identifier()


@attrs.frozen(kw_only=True)
class PlaceOrder(Command):
    """Place an order under a shop's policy. With no `shipping_fee`, the policy computes it."""

    TYPE = "place_order"

    policy: str = text(100, WORD)
    currency: str = text(3, CURRENCY)
    customer: Customer = nested(Customer)
    lines: tuple[OrderLine, ...] = items(OrderLine, key="line_id")
    payment_method: str = text(40, WORD)
    shipping_fee: int | None = optional_money()
    discount: int = money(default=0)
    shipping_address: Address | None = nested(Address, optional=True)
    billing_address: Address | None = nested(Address, optional=True)

    def __attrs_post_init__(self) -> None:
        goods = self.goods()
        if self.discount > goods:
            raise InvalidCommand(
                f"discount {self.discount} is more than the goods total {goods}", field="discount"
            )
        if self.shipping_fee is None:
            check_order_total(goods, 0, "lines")
        else:
            check_order_total(goods, self.shipping_fee, "shipping_fee")

    def goods(self) -> int:
        """What the lines are worth before the discount."""
        return sum(line.quantity * line.unit_price for line in self.lines)


def check_order_total(goods: int, shipping_fee: int, field: str) -> None:
    """Refuse an order whose goods and shipping fee come to more than `MAX_ORDER_TOTAL`, with
    `InvalidCommand` naming `field`. Checked when a placement is built, and again once the
    policy has computed a shipping fee the command left out."""
    total = goods + shipping_fee
    if total > MAX_ORDER_TOTAL:
        raise InvalidCommand(
            f"the goods ({goods}) and shipping ({shipping_fee}) come to {total}; an order may "
            f"total at most {MAX_ORDER_TOTAL}",
            field=field,
        )


@attrs.frozen(kw_only=True)
class CancelOrder(Command):
    """Cancel an order that has not been dispatched, within the policy's window."""

    TYPE = "cancel_order"

    reason: str | None = optional_text(MAX_TEXT)


@attrs.frozen(kw_only=True)
class DispatchOrder(Command):
    """Hand the order to a carrier."""

    TYPE = "dispatch_order"

    carrier: str | None = optional_text(100)
    tracking_number: str | None = optional_text(100)


@attrs.frozen(kw_only=True)
class ConfirmDelivery(Command):
    """Record that the parcel reached the customer."""

    TYPE = "confirm_delivery"


@attrs.frozen(kw_only=True)
class ReportLost(Command):
    """Record that the carrier or the customer says the parcel never arrived."""

    TYPE = "report_lost"


@attrs.frozen(kw_only=True)
class RequestReturn(Command):
    """Ask to send units back (or, for `missing_item`, claim units that never came)."""

    TYPE = "request_return"

    return_id: str = identifier()
    lines: tuple[ReturnLine, ...] = items(ReturnLine, key="line_id")
    reason: ReturnReason = choice(ReturnReason)
    method: ReturnMethod = choice(ReturnMethod)
    resolution: Resolution = choice(Resolution, Resolution.REFUND)
    exchange_sku: str | None = optional_identifier()
    exchange_unit_price: int | None = optional_money()
    evidence: Evidence | None = nested(Evidence, optional=True)

    def __attrs_post_init__(self) -> None:
        if self.resolution is Resolution.REPLACEMENT:
            raise InvalidCommand(
                "customers ask for refund or exchange; replacement is the policy's to offer",
                field="resolution",
            )
        if (self.resolution is Resolution.EXCHANGE) != (self.exchange_sku is not None):
            raise InvalidCommand(
                "an exchange names the exchange_sku, and only an exchange does",
                field="exchange_sku",
            )
        if self.exchange_unit_price is not None and self.resolution is not Resolution.EXCHANGE:
            raise InvalidCommand(
                "only an exchange has an exchange_unit_price", field="exchange_unit_price"
            )


@attrs.frozen(kw_only=True)
class ReviewReturn(Command):
    """A person's decision on a return held for manual review."""

    TYPE = "review_return"

    return_id: str = identifier()
    decision: ReviewDecision = choice(ReviewDecision)
    note: str | None = optional_text(MAX_TEXT)

    def _variant(self) -> str | None:
        return self.decision.value


@attrs.frozen(kw_only=True)
class ReceiveReturn(Command):
    """The returned parcel arrived at the warehouse (with the postage the customer paid)."""

    TYPE = "receive_return"

    return_id: str = identifier()
    return_shipping_paid: int | None = optional_money()


@attrs.frozen(kw_only=True)
class InspectReturn(Command):
    """The warehouse's finding for each returned line; the refund follows from the policy."""

    TYPE = "inspect_return"

    return_id: str = identifier()
    lines: tuple[InspectedLine, ...] = items(InspectedLine)


@attrs.frozen(kw_only=True)
class IssueRefund(Command):
    """Pay out a decided refund: a return's, or (no `return_id`) the order's own."""

    TYPE = "issue_refund"

    return_id: str | None = optional_identifier()
    payment_reference: str | None = optional_text(100)

    def _variant(self) -> str | None:
        return ORDER_LEVEL if self.return_id is None else None


@attrs.frozen(kw_only=True)
class ShipReplacement(Command):
    """Send the replacement (or exchange) item for an inspected return."""

    TYPE = "ship_replacement"

    return_id: str = identifier()
    tracking_number: str | None = optional_text(100)


@attrs.frozen(kw_only=True)
class SettleByRefund(Command):
    """Support settles an inspected return by refund instead of the replacement or exchange the
    policy chose (nothing to send, or the customer asks for money). Needs the `actor`."""

    TYPE = "settle_by_refund"

    return_id: str = identifier()
    note: str | None = optional_text(MAX_TEXT)

    def __attrs_post_init__(self) -> None:
        if self.actor is None:
            raise InvalidCommand(
                "settle_by_refund is a person's decision: name them in actor", field="actor"
            )


@attrs.frozen(kw_only=True)
class StartSubscription(PlaceOrder):
    """Start a subscription: place its first order now and renew it every `every_days` days,
    at the same lines and prices (the discount included)."""

    TYPE = "start_subscription"

    subscription_id: str = identifier()
    every_days: int = integer(1, 366)


@attrs.frozen(kw_only=True)
class RenewSubscription(Command):
    """Place the next order of a subscription (`order_id` is the new order's id)."""

    TYPE = "renew_subscription"

    subscription_id: str = identifier()


@attrs.frozen(kw_only=True)
class CancelSubscription(BaseCommand):
    """Stop a subscription before its next renewal (orders already placed are not touched)."""

    TYPE = "cancel_subscription"

    subscription_id: str = identifier()
    reason: str | None = optional_text(MAX_TEXT)


SUBSCRIPTION_COMMANDS: tuple[type[BaseCommand], ...] = (
    StartSubscription,
    RenewSubscription,
    CancelSubscription,
)

ORDER_COMMANDS: tuple[type[Command], ...] = (
    PlaceOrder,
    CancelOrder,
    DispatchOrder,
    ConfirmDelivery,
    ReportLost,
    RequestReturn,
    ReviewReturn,
    ReceiveReturn,
    InspectReturn,
    IssueRefund,
    ShipReplacement,
    SettleByRefund,
)
