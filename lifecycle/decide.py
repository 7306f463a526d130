"""The decision core: `decide(order, command, policy) -> events`, pure and deterministic.

It checks the command against the machines and the policy and returns the events to record.
Refusals are typed errors (nothing is written); a well-formed return request the policy refuses
is a `ReturnDeclined` event instead, so the history keeps it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs

from eventstore.codec import human_time

from . import events as ev
from . import returns
from .commands import (
    CancelOrder,
    Command,
    ConfirmDelivery,
    DispatchOrder,
    InspectReturn,
    IssueRefund,
    PlaceOrder,
    ReceiveReturn,
    ReportLost,
    RequestReturn,
    ReviewReturn,
    SettleByRefund,
    ShipReplacement,
    check_order_total,
)
from .errors import (
    CancellationWindowClosed,
    DuplicateOrder,
    IllegalTransition,
    InvalidCommand,
    QuantityExceedsReturnable,
    UnknownOrder,
    UnknownReturn,
    UnsupportedCurrency,
    UnsupportedPaymentMethod,
)
from .events import Adjustment
from .inspection import fault_found, judge
from .machines import ORDER_MACHINE, RETURN_MACHINE, Trigger
from .money import allocate
from .order import Order, ReturnCase, evolve, settlement_problem
from .policy import Policy
from .refunds import replacement_refund, return_refund, units_value, whole_order_refund
from .streams import ORDERS, check_in_time_order
from .vocabulary import (
    AdjustmentKind,
    Fault,
    RefundBasis,
    Resolution,
    ReturnReason,
    ReviewDecision,
)


def decide(order: Order | None, command: Command, policy: Policy) -> list[ev.OrderEvent]:
    """The events `command` leads to; raises a `DomainError` subclass if it is refused."""
    if isinstance(command, PlaceOrder):
        if order is not None:
            raise DuplicateOrder(command.order_id)
        return [place(command, policy)]
    if order is None:
        raise UnknownOrder(command.order_id)
    check_in_time_order(command.at, order.last_at, ORDERS.noun)
    handler = _HANDLERS.get(type(command))
    if handler is None:
        raise InvalidCommand(f"{command.TYPE} is not an order command", field="type")
    return handler(order, command, policy)


# -- placing and moving the order -------------------------------------------------------------


def place(
    command: PlaceOrder,
    policy: Policy,
    subscription_id: str | None = None,
    renewal: bool = False,
) -> ev.OrderPlaced:
    """Check the currency, payment and shipping fee, spread the discount, pin the policy.

    A subscription's `renewal` order may follow its own cancellation rule; the checkout order
    that starts a subscription follows the shop's usual one."""
    if policy.currencies is not None and command.currency not in policy.currencies.accepted:
        raise UnsupportedCurrency(
            f"{policy.title} takes {', '.join(policy.currencies.accepted)}, not "
            f"{command.currency} ({policy.currencies.clause})"
        )
    methods = policy.payment_methods
    if methods is not None and command.payment_method not in methods.accepted:
        raise UnsupportedPaymentMethod(
            f"{policy.title} accepts {', '.join(methods.accepted)}, not "
            f"{command.payment_method} ({methods.clause})"
        )
    values = [line.quantity * line.unit_price for line in command.lines]
    shares = allocate(command.discount, values)
    goods = sum(values) - command.discount
    shipping_fee, shipping_clause = _shipping_fee(command, policy, goods)
    if command.shipping_fee is None:
        check_order_total(sum(values), shipping_fee, "shipping_fee")
    return ev.OrderPlaced(
        order_id=command.order_id,
        at=command.at,
        policy=policy.name,
        policy_version=policy.version,
        currency=command.currency,
        customer=ev.CustomerDetails(**attrs.asdict(command.customer)),
        lines=tuple(
            ev.PlacedLine(**attrs.asdict(line), paid=value - share)
            for line, value, share in zip(command.lines, values, shares, strict=True)
        ),
        payment_method=command.payment_method,
        shipping_fee=shipping_fee,
        shipping_clause=shipping_clause,
        discount=command.discount,
        paid_total=goods + shipping_fee,
        cancellable_until=policy.cancellable_until(command.at, renewal),
        cancellation_clause=policy.cancellation_clause(renewal),
        subscription_id=subscription_id,
        shipping_address=_address(command.shipping_address),
        billing_address=_address(command.billing_address),
    )


def _shipping_fee(command: PlaceOrder, policy: Policy, goods: int) -> tuple[int, str | None]:
    if command.shipping_fee is not None:
        return command.shipping_fee, None
    country = command.shipping_address.country if command.shipping_address else None
    country = country or command.customer.country
    rule = policy.shipping_fee_rule(country, command.currency)
    if rule is None:
        raise InvalidCommand(
            f"{policy.title}'s policy has no shipping rate for {country} in {command.currency}; "
            "give shipping_fee",
            field="shipping_fee",
        )
    return rule.fee(goods), rule.clause


def _address(address: Any) -> ev.AddressDetails | None:
    return None if address is None else ev.AddressDetails(**attrs.asdict(address))


def cancel(order: Order, command: CancelOrder, policy: Policy) -> list[ev.OrderEvent]:
    """Cancel inside the window; everything paid is refunded."""
    _order_step(order, command.trigger, "cancel the order")
    until = order.placed.cancellable_until
    clause = order.placed.cancellation_clause
    if until is not None and command.at > until:
        raise CancellationWindowClosed(
            f"cancellation window closed at {human_time(until)} ({clause}: "
            f"{policy.clause_text(clause)})"
        )
    cancelled = ev.OrderCancelled(
        order_id=order.order_id, at=command.at, reason=command.reason, clause=clause
    )
    if order.paid_total == 0:
        return [cancelled]
    refund = whole_order_refund(
        order, policy, command.at, RefundBasis.CANCELLATION, "orderlog/cancellation-refund"
    )
    return [cancelled, refund]


def dispatch(order: Order, command: DispatchOrder, policy: Policy) -> list[ev.OrderEvent]:
    _order_step(order, command.trigger, "dispatch the order")
    return [
        ev.OrderDispatched(
            order_id=order.order_id,
            at=command.at,
            carrier=command.carrier,
            tracking_number=command.tracking_number,
        )
    ]


def confirm_delivery(order: Order, command: ConfirmDelivery, policy: Policy) -> list[ev.OrderEvent]:
    """Delivery starts the return windows; the order records the last day of the longest."""
    _order_step(order, command.trigger, "confirm delivery")
    closes = policy.last_return_day(order.placed.at, command.at)
    return [ev.OrderDelivered(order_id=order.order_id, at=command.at, returns_close_on=closes)]


def report_lost(order: Order, command: ReportLost, policy: Policy) -> list[ev.OrderEvent]:
    """A lost parcel is refunded in full where the policy says so."""
    _order_step(order, command.trigger, "report the parcel lost")
    lost = ev.ParcelLost(order_id=order.order_id, at=command.at)
    rule = policy.lost_parcel
    if rule is None or not rule.refund or order.paid_total == 0:
        return [lost]
    refund = whole_order_refund(order, policy, command.at, RefundBasis.LOST_PARCEL, rule.clause)
    return [lost, refund]


# -- returns ------------------------------------------------------------------------------------


def request_return(order: Order, command: RequestReturn, policy: Policy) -> list[ev.OrderEvent]:
    """Decline, hold for review, or authorize (a missing-item claim is settled at once)."""
    _order_step(order, command.trigger, "request a return")
    existing = order.find_return(command.return_id)
    if existing is not None:
        _return_step(order, existing, command.trigger, "request this return again")
    returns.check_request_lines(order, command)
    asked = returns.request_of(command)
    refused = returns.line_refusals(order, command, policy)
    declined_lines = tuple(
        ev.DeclinedLine(
            line_id=line.line_id,
            quantity=line.quantity,
            code=why.code,
            message=why.message,
            clause=why.clause,
        )
        for line, why in refused
    )
    if len(refused) < len(command.lines):
        # Decided line by line: the lines the policy declines go, the others are decided.
        gone = {line.line_id for line, _ in refused}
        kept = tuple(line for line in command.lines if line.line_id not in gone)
        command = attrs.evolve(command, lines=kept)
    else:
        declined_lines = ()
    request = returns.request_of(command)
    answer = returns.refusal(order, command, policy) or returns.terms(order, command, policy)
    if isinstance(answer, returns.Refusal):
        return [
            ev.ReturnDeclined(
                order_id=order.order_id,
                return_id=command.return_id,
                at=command.at,
                code=answer.code,
                message=answer.message,
                clause=answer.clause,
                request=asked,
            )
        ]
    tripped = returns.review_triggers(order, command, policy, answer)
    if tripped:
        held = ev.ReturnHeldForReview(
            order_id=order.order_id,
            return_id=command.return_id,
            at=command.at,
            request=request,
            terms=answer,
            triggers=tuple(c for c, _ in tripped),
            message="; ".join(why for _, why in tripped),
            declined_lines=declined_lines,
        )
        return [held]
    authorized = ev.ReturnAuthorized(
        order_id=order.order_id,
        return_id=command.return_id,
        at=command.at,
        request=request,
        terms=answer,
        declined_lines=declined_lines,
    )
    return [authorized, *_settle_claim(evolve(order, authorized), command, policy)]


def review_return(order: Order, command: ReviewReturn, policy: Policy) -> list[ev.OrderEvent]:
    """A reviewer approves (on the terms proposed when held) or declines."""
    if command.decision is ReviewDecision.DECLINE:
        _return(order, command.return_id, command.trigger, "decline this return")
        message = "declined on review" + (f": {command.note}" if command.note else "")
        return [
            ev.ReturnDeclined(
                order_id=order.order_id,
                return_id=command.return_id,
                at=command.at,
                code="review_declined",
                message=message,
                clause="orderlog/review-declined",
                note=command.note,
            )
        ]
    _return(order, command.return_id, command.trigger, "approve this return")
    approved = ev.ReturnApproved(
        order_id=order.order_id, return_id=command.return_id, at=command.at, note=command.note
    )
    return [approved, *_settle_claim(evolve(order, approved), command, policy)]


def _settle_claim(
    order: Order, command: RequestReturn | ReviewReturn, policy: Policy
) -> list[ev.OrderEvent]:
    """An authorized missing-item claim, or a reason the policy settles without a parcel back,
    has nothing to send back: accept it and refund now."""
    case = order.find_return(command.return_id)
    assert case is not None, "called after the authorization"
    returnless = policy.returnless_rule(case.request.reason)
    if case.request.reason is ReturnReason.MISSING_ITEM:
        clause = returns.claim_clause(policy)
    elif returnless is not None and case.terms is not None and case.terms.returnless:
        clause = returnless.clause
    else:
        return []
    accepted = ev.ClaimAccepted(
        order_id=order.order_id, at=command.at, return_id=case.return_id, clause=clause
    )
    if not case.settled_by_refund:
        return [accepted]  # the missing item is sent again: `ship_replacement` follows
    units = [(line.line_id, line.quantity, clause) for line in case.request.lines]
    refund = return_refund(order, case, units, policy, command.at, RefundBasis.CLAIM)
    return [accepted, refund]


def receive_return(order: Order, command: ReceiveReturn, policy: Policy) -> list[ev.OrderEvent]:
    case = _return(order, command.return_id, command.trigger, "receive this return")
    return [
        ev.ReturnReceived(
            order_id=order.order_id,
            at=command.at,
            return_id=case.return_id,
            return_shipping_paid=command.return_shipping_paid,
        )
    ]


def inspect_return(order: Order, command: InspectReturn, policy: Policy) -> list[ev.OrderEvent]:
    """Judge each line against the policy; a refund follows for accepted units.

    A claimed damage or defect the warehouse does not find is settled as the customer's choice:
    the inspection records the revised terms, and the refund follows them."""
    case = _return(order, command.return_id, command.trigger, "inspect this return")
    _check_inspected_units(case, command)
    revised = None
    assert case.terms is not None, "only an accepted return is received"
    if case.terms.fault is Fault.MERCHANT and not fault_found(case, command.lines):
        revised = returns.terms_without_fault(order, case, policy)
    judged = case if revised is None else attrs.evolve(case, terms=revised)
    results = judge(order, judged, command.lines, policy)
    note = None if revised is None else _fault_not_found_note(case, policy)
    kind = ev.ReturnInspected if any(r.accepted for r in results) else ev.ReturnRejected
    inspected = kind(
        order_id=order.order_id,
        return_id=command.return_id,
        at=command.at,
        lines=results,
        terms=revised,
        note=note,
    )
    if isinstance(inspected, ev.ReturnRejected):
        return [inspected]
    after = evolve(order, inspected)
    settled = after.find_return(command.return_id)
    assert settled is not None, "the return was just inspected"
    if not settled.settled_by_refund:
        return [inspected]  # a replacement or exchange: `ship_replacement` follows
    units = [(r.line_id, r.quantity, r.clause) for r in results if r.accepted]
    return [inspected, return_refund(after, settled, units, policy, command.at)]


def _fault_not_found_note(case: ReturnCase, policy: Policy) -> str:
    reason = case.request.reason.value
    return (
        f"claimed {reason}, but no unit was found {reason}: settled as the customer's choice "
        f"({policy.clause_text('orderlog/fault-not-found')})"
    )


def _check_inspected_units(case: ReturnCase, command: InspectReturn) -> None:
    found: dict[str, int] = {}
    for index, line in enumerate(command.lines):
        if case.requested_units(line.line_id) == 0:
            raise InvalidCommand(
                f"return {case.return_id} has no line {line.line_id!r}",
                field=f"lines[{index}].line_id",
            )
        found[line.line_id] = found.get(line.line_id, 0) + line.quantity
    for line_id, quantity in found.items():
        if quantity > case.requested_units(line_id):
            raise QuantityExceedsReturnable(
                f"return {case.return_id} holds {case.requested_units(line_id)} unit(s) of line "
                f"{line_id}; {quantity} inspected"
            )


def issue_refund(order: Order, command: IssueRefund, policy: Policy) -> list[ev.OrderEvent]:
    """Pay out a decided refund, a return's or the order's own."""
    if command.return_id is not None:
        case = _return(order, command.return_id, command.trigger, "issue this return's refund")
        _check_settlement(case, command.trigger)
        assert case.refund is not None, "a return settled by refund has its refund decided"
        return [_issued(order, command, case.refund)]
    _order_step(order, command.trigger, "issue an order-level refund (a return's needs its id)")
    if order.order_refund is None:
        raise IllegalTransition(
            f"order {order.order_id} has no refund to issue: nothing was paid for it",
            state=order.state.value,
            trigger=command.trigger,
        )
    return [_issued(order, command, order.order_refund)]


def _issued(order: Order, command: IssueRefund, decision: ev.RefundDecided) -> ev.RefundIssued:
    return ev.RefundIssued(
        order_id=order.order_id,
        at=command.at,
        return_id=decision.return_id,
        amount=decision.amount,
        payment_reference=command.payment_reference,
    )


def ship_replacement(order: Order, command: ShipReplacement, policy: Policy) -> list[ev.OrderEvent]:
    case = _return(order, command.return_id, command.trigger, "ship a replacement")
    _check_settlement(case, command.trigger)
    accepted = [r.line_id for r in case.inspection if r.accepted]
    skus = (
        (case.request.exchange_sku,)
        if case.request.exchange_sku
        else tuple(line.sku for line in order.placed.lines if line.line_id in accepted)
    )
    difference = _exchange_difference(order, case, policy)
    due = max(difference, 0)
    shipped = ev.ReplacementShipped(
        order_id=order.order_id,
        at=command.at,
        return_id=case.return_id,
        skus=skus,
        tracking_number=command.tracking_number,
        amount_due=due,
        due_clause=_exchange_clause(policy) if due else None,
    )
    after = evolve(order, shipped)
    settled = after.find_return(case.return_id)
    assert settled is not None, "the replacement was just shipped"
    cheaper = None
    if difference < 0:
        note = "the exchange item costs less than was paid for the units returned"
        cheaper = Adjustment(
            kind=AdjustmentKind.EXCHANGE_DIFFERENCE,
            amount=-difference,
            clause=_exchange_clause(policy),
            note=note,
        )
    money = replacement_refund(after, settled, policy, command.at, cheaper)
    return [shipped] if money is None else [shipped, money]


def _exchange_difference(order: Order, case: ReturnCase, policy: Policy) -> int:
    """What the exchange item costs more (positive) or less (negative) than was paid for the
    units accepted; 0 for a replacement or an exchange at an unstated price."""
    price = case.request.exchange_unit_price
    if case.request.resolution is not Resolution.EXCHANGE or price is None:
        return 0
    accepted = [(r.line_id, r.quantity) for r in case.inspection if r.accepted]
    if not case.inspection:  # settled without a parcel back: every unit asked
        accepted = [(line.line_id, line.quantity) for line in case.request.lines]
    units = sum(quantity for _, quantity in accepted)
    return price * units - units_value(order, accepted)


def _exchange_clause(policy: Policy) -> str:
    return policy.exchange.clause if policy.exchange else "orderlog/exchange-not-in-policy"


def settle_by_refund(order: Order, command: SettleByRefund, policy: Policy) -> list[ev.OrderEvent]:
    """Support settles a return the policy would settle by goods with a refund instead: the
    accepted units' paid price under the return's terms (postage paid back included)."""
    case = _return(order, command.return_id, command.trigger, "settle this return by refund")
    _check_settlement(case, command.trigger)
    assert command.actor is not None, "the command requires its actor"
    settled = ev.ReturnSettledByRefund(
        order_id=order.order_id,
        return_id=case.return_id,
        at=command.at,
        actor=command.actor,
        note=command.note,
    )
    after = evolve(order, settled)
    now = after.find_return(case.return_id)
    assert now is not None, "the return was just settled"
    units = [(r.line_id, r.quantity, r.clause) for r in now.inspection if r.accepted]
    basis = RefundBasis.RETURN
    if not now.inspection:  # accepted without a parcel back: every unit asked, as a claim
        rule = policy.returnless_rule(now.request.reason)
        clause = rule.clause if rule is not None else returns.claim_clause(policy)
        units = [(line.line_id, line.quantity, clause) for line in now.request.lines]
        basis = RefundBasis.CLAIM
    return [settled, return_refund(after, now, units, policy, command.at, basis)]


# -- helpers ------------------------------------------------------------------------------------


def _check_settlement(case: ReturnCase, trigger: Trigger) -> None:
    problem = settlement_problem(case, trigger)
    if problem is not None:
        raise IllegalTransition(
            f"return {case.return_id} is {problem}", state=case.state.value, trigger=trigger
        )


def _order_step(order: Order, trigger: str, action: str) -> None:
    ORDER_MACHINE.next_state(order.state, trigger, f"order {order.order_id}", action)


def _return(order: Order, return_id: str, trigger: str, action: str) -> ReturnCase:
    """The return a command acts on, once both machines allow `trigger`."""
    _order_step(order, trigger, action)
    case = order.find_return(return_id)
    if case is None:
        raise UnknownReturn(order.order_id, return_id)
    _return_step(order, case, trigger, action)
    return case


def _return_step(order: Order, case: ReturnCase, trigger: str, action: str) -> None:
    subject = f"return {case.return_id} of order {order.order_id}"
    RETURN_MACHINE.next_state(case.state, trigger, subject, action)


_HANDLERS: dict[type[Command], Callable[[Order, Any, Policy], list[ev.OrderEvent]]] = {
    CancelOrder: cancel,
    DispatchOrder: dispatch,
    ConfirmDelivery: confirm_delivery,
    ReportLost: report_lost,
    RequestReturn: request_return,
    ReviewReturn: review_return,
    ReceiveReturn: receive_return,
    InspectReturn: inspect_return,
    IssueRefund: issue_refund,
    ShipReplacement: ship_replacement,
    SettleByRefund: settle_by_refund,
}
