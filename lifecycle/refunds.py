"""Refund arithmetic: the paid price of accepted units, minus deductions, plus reimbursements.

Refunds are computed, never typed in. Each unit is worth its share of the line's paid price
(discount spread over lines, then over units, by largest remainder), and units are refunded in
a fixed order, so several partial returns of one line add up to exactly what the line cost.
The goods and original shipping decided for an order never exceed what was paid for them;
reimbursed return costs (postage paid back, a credit toward return shipping) repay money the
customer paid a carrier, so they sit outside that cap, bounded only by their own rule.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from .events import Adjustment, RefundDecided, RefundLine
from .money import format_money, percent_of, unit_amounts
from .order import Order, ReturnCase
from .policy import Policy
from .vocabulary import REIMBURSEMENTS, AdjustmentKind, RefundBasis, ReturnMethod


def goods_lines(order: Order, units: Iterable[tuple[str, int, str]]) -> tuple[RefundLine, ...]:
    """Refund lines for (line id, units, clause), valuing each unit by the next unrefunded share.

    Raises `KeyError` for a line the order does not have (callers validate first)."""
    taken: dict[str, int] = {}
    lines = []
    for line_id, quantity, clause in units:
        line = order.line(line_id)
        if line is None:
            raise KeyError(line_id)
        start = order.units_refunded(line_id) + taken.get(line_id, 0)
        amount = sum(unit_amounts(line.paid, line.quantity)[start : start + quantity])
        taken[line_id] = taken.get(line_id, 0) + quantity
        lines.append(RefundLine(line_id=line_id, quantity=quantity, amount=amount, clause=clause))
    return tuple(lines)


def units_value(order: Order, units: Iterable[tuple[str, int]]) -> int:
    """What the given units of the order were paid, valued as a refund would value them."""
    return sum(line.amount for line in goods_lines(order, ((i, q, "") for i, q in units)))


def return_refund(
    order: Order,
    case: ReturnCase,
    accepted: Iterable[tuple[str, int, str]],
    policy: Policy,
    at: datetime,
    basis: RefundBasis = RefundBasis.RETURN,
) -> RefundDecided:
    """The refund for a return's accepted units under the return's terms."""
    lines = goods_lines(order, accepted)
    goods = sum(line.amount for line in lines)
    adjustments = [
        *_fee_adjustments(case, policy, goods, basis),
        *_shipping_adjustments(order, case, policy),
    ]
    start = policy.day_of(case.received_at or at)
    return _decision(order, case.return_id, basis, lines, adjustments, policy, at, start)


def replacement_refund(
    order: Order,
    case: ReturnCase,
    policy: Policy,
    at: datetime,
    difference: Adjustment | None = None,
) -> RefundDecided | None:
    """What a return settled by goods still pays back: the postage the customer paid or a
    credit toward it, where its shipping terms promise one, and a cheaper exchange's
    `difference` (None: nothing to pay)."""
    kinds = (AdjustmentKind.RETURN_POSTAGE, AdjustmentKind.RETURN_SHIPPING_CREDIT)
    adjustments = [
        adjustment
        for adjustment in (
            *_fee_adjustments(case, policy, 0, RefundBasis.REPLACEMENT),
            *_shipping_adjustments(order, case, policy),
        )
        if adjustment.kind in kinds and adjustment.amount > 0
    ]
    if difference is not None:
        adjustments.insert(0, difference)
    if not adjustments:
        return None
    start = policy.day_of(case.received_at or at)
    basis = RefundBasis.REPLACEMENT
    return _decision(order, case.return_id, basis, (), adjustments, policy, at, start)


def whole_order_refund(
    order: Order, policy: Policy, at: datetime, basis: RefundBasis, clause: str
) -> RefundDecided:
    """Everything paid for the order and not yet refunded (a cancellation, a lost parcel)."""
    remaining = [
        (line.line_id, line.quantity - order.units_refunded(line.line_id), clause)
        for line in order.placed.lines
        if line.quantity > order.units_refunded(line.line_id)
    ]
    lines = goods_lines(order, remaining)
    adjustments = []
    if order.placed.shipping_fee and not order.shipping_refunded():
        adjustments.append(
            Adjustment(
                kind=AdjustmentKind.ORIGINAL_SHIPPING,
                amount=order.placed.shipping_fee,
                clause=clause,
            )
        )
    return _decision(order, None, basis, lines, adjustments, policy, at, policy.day_of(at))


def _fee_adjustments(
    case: ReturnCase, policy: Policy, goods: int, basis: RefundBasis
) -> list[Adjustment]:
    """Restocking (only for goods that came back), label and pickup fees, and the shop's credit
    toward return shipping."""
    assert case.terms is not None, "a return with a refund has terms"
    terms, shipping = case.terms, case.terms.shipping
    adjustments = []
    fee = policy.restocking_fee
    if fee is not None and basis is RefundBasis.RETURN and fee.applies_to.matches(terms.fault):
        amount = percent_of(goods, fee.percent)
        adjustments.append(
            Adjustment(
                kind=AdjustmentKind.RESTOCKING_FEE,
                amount=-amount,
                clause=fee.clause,
                note=f"{fee.percent}% of the goods",
            )
        )
    if shipping.method is ReturnMethod.PREPAID_LABEL and shipping.label_fee:
        adjustments.append(
            Adjustment(
                kind=AdjustmentKind.LABEL_FEE, amount=-shipping.label_fee, clause=shipping.clause
            )
        )
    if shipping.method is ReturnMethod.PICKUP and shipping.pickup_fee:
        adjustments.append(
            Adjustment(
                kind=AdjustmentKind.PICKUP_FEE, amount=-shipping.pickup_fee, clause=shipping.clause
            )
        )
    if shipping.credit:
        adjustments.append(
            Adjustment(
                kind=AdjustmentKind.RETURN_SHIPPING_CREDIT,
                amount=shipping.credit,
                clause=shipping.clause,
            )
        )
    # A placeholder (or an amount in another currency) moved no money: say so, at zero.
    adjustments += [
        Adjustment(kind=AdjustmentKind.NOT_APPLIED, amount=0, clause=shipping.clause, note=note)
        for note in shipping.not_applied
    ]
    return adjustments


def _shipping_adjustments(order: Order, case: ReturnCase, policy: Policy) -> list[Adjustment]:
    """Return postage paid back, and the order's original shipping where the policy refunds it."""
    assert case.terms is not None, "a return with a refund has terms"
    shipping = case.terms.shipping
    adjustments = []
    # Only a customer who paid a carrier is paid back; the shop's label or pickup cost nothing.
    paid_postage = case.return_shipping_paid or 0
    if shipping.method is not ReturnMethod.OWN_CARRIER:
        paid_postage = 0
    if shipping.reimburse_postage and paid_postage:
        cap = shipping.reimburse_cap
        amount = paid_postage if cap is None else min(paid_postage, cap)
        currency = order.placed.currency
        note = f"postage paid {format_money(paid_postage, currency)}"
        if cap is not None:
            note += f", capped at {format_money(cap, currency)}"
        adjustments.append(
            Adjustment(
                kind=AdjustmentKind.RETURN_POSTAGE, amount=amount, clause=shipping.clause, note=note
            )
        )
    return adjustments + _original_shipping(order, case, policy)


def _original_shipping(order: Order, case: ReturnCase, policy: Policy) -> list[Adjustment]:
    """The order's shipping fee repaid where the policy refunds it for the return's reason (once
    per order), or a zero note citing the rule that keeps it when the rule asks for one."""
    fee = order.placed.shipping_fee
    if not fee or order.shipping_refunded():
        return []
    clause = policy.refunds_original_shipping(case.request.reason)
    if clause:
        return [Adjustment(kind=AdjustmentKind.ORIGINAL_SHIPPING, amount=fee, clause=clause)]
    rule = policy.original_shipping
    if rule is None or not rule.cite_when_kept:
        return []
    note = f"original shipping {format_money(fee, order.placed.currency)} is not refunded"
    return [
        Adjustment(
            kind=AdjustmentKind.ORIGINAL_SHIPPING_KEPT, amount=0, clause=rule.clause, note=note
        )
    ]


def _decision(
    order: Order,
    return_id: str | None,
    basis: RefundBasis,
    lines: tuple[RefundLine, ...],
    adjustments: list[Adjustment],
    policy: Policy,
    at: datetime,
    start: date,
) -> RefundDecided:
    """Floor the goods part at zero and cap it at what is left of the payment, add the
    reimbursements (outside the cap), date it, and list its clauses."""
    reimbursed = sum(a.amount for a in adjustments if a.kind in REIMBURSEMENTS)
    goods = sum(line.amount for line in lines)
    goods += sum(a.amount for a in adjustments if a.kind not in REIMBURSEMENTS)
    if goods < 0:
        adjustments.append(
            Adjustment(
                kind=AdjustmentKind.FLOOR, amount=-goods, clause="orderlog/refund-not-negative"
            )
        )
        goods = 0
    remaining = order.paid_total - order.decided_goods_total
    if goods > remaining:
        adjustments.append(
            Adjustment(
                kind=AdjustmentKind.CAP,
                amount=remaining - goods,
                clause="orderlog/refund-cap",
                note=f"only {remaining} of the payment for goods and shipping is left to refund",
            )
        )
        goods = remaining
    total = goods + reimbursed
    due_by = policy.refund_due_by(start)
    clauses = [line.clause for line in lines] + [a.clause for a in adjustments]
    if policy.refund is not None:
        clauses.append(policy.refund.clause)
    return RefundDecided(
        order_id=order.order_id,
        at=at,
        return_id=return_id,
        basis=basis,
        currency=order.placed.currency,
        amount=total,
        reimbursed=reimbursed,
        lines=lines,
        adjustments=tuple(adjustments),
        due_by=due_by,
        clauses=tuple(dict.fromkeys(clauses)),
    )
