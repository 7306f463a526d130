"""Why a refund is the amount it is: the arithmetic line by line, each amount with the policy
clause that produced it and that clause's words (`orderlog explain`).

It reads the order's stream and the policy it was placed under (from the registry, else from
the log), never through the order service: explaining writes nothing and decides nothing.
"""

from __future__ import annotations

from typing import Any

from eventstore import EventStore
from lifecycle import events as ev
from lifecycle.envelopes import order_events, order_stream
from lifecycle.money import format_money
from lifecycle.order import rebuild
from lifecycle.pinning import pinned_policy
from lifecycle.policy import Policy
from lifecycle.registry import PolicyRegistry
from lifecycle.vocabulary import AdjustmentKind

_K = AdjustmentKind
_ADJUSTMENT_WORDS = {
    _K.RESTOCKING_FEE: "restocking fee",
    _K.LABEL_FEE: "return label fee",
    _K.PICKUP_FEE: "pickup fee",
    _K.RETURN_SHIPPING_CREDIT: "paid toward return shipping",
    _K.RETURN_POSTAGE: "return postage paid back",
    _K.ORIGINAL_SHIPPING: "original shipping refunded",
    _K.ORIGINAL_SHIPPING_KEPT: "original shipping not refunded",
    _K.NOT_APPLIED: "an amount the policy does not state for this order, not applied",
    _K.FLOOR: "deductions stop at zero",
    _K.CAP: "capped at what is left of the payment",
}


def explain_order(
    store: EventStore, policies: PolicyRegistry, order_id: str
) -> dict[str, Any] | None:
    """Every refund decision of an order, explained; None if there is no such order. Raises
    `UnknownPolicy` if the order's policy version is neither in `policies` nor in the log."""
    events = order_events(store.read_stream(order_stream(order_id)))
    order = rebuild(events)
    if order is None:
        return None
    policy = pinned_policy(store, policies, order)
    lines = {line.line_id: line for line in order.placed.lines}
    refunds = [
        _explain(decision, policy, lines)
        for decision in events
        if isinstance(decision, ev.RefundDecided)
    ]
    return {
        "order_id": order_id,
        "policy": policy.name,
        "policy_version": policy.version,
        "currency": order.placed.currency,
        "paid_total": order.paid_total,
        "refunds": refunds,
    }


def _explain(
    decision: ev.RefundDecided, policy: Policy, lines: dict[str, ev.PlacedLine]
) -> dict[str, Any]:
    def money(amount: int) -> str:
        return format_money(amount, decision.currency)

    target = f"return {decision.return_id}" if decision.return_id else "the whole order"
    steps = []
    for line in decision.lines:
        placed = lines[line.line_id]
        steps.append(
            _step(
                policy,
                line.amount,
                line.clause,
                f"{line.quantity} x {placed.sku} (line {line.line_id}): {money(line.amount)}, "
                "the price paid for these units after the order's discount",
            )
        )
    for adjustment in decision.adjustments:
        words = _ADJUSTMENT_WORDS[adjustment.kind]
        sign = "plus" if adjustment.amount >= 0 else "minus"
        note = f" ({adjustment.note})" if adjustment.note else ""
        steps.append(
            _step(
                policy,
                adjustment.amount,
                adjustment.clause,
                f"{sign} {money(abs(adjustment.amount))}: {words}{note}",
            )
        )
    due = (
        f"Due by {decision.due_by} under {policy.refund.clause}: "
        f'"{policy.clause_text(policy.refund.clause)}"'
        if decision.due_by and policy.refund
        else "The policy sets no deadline for this refund."
    )
    return {
        "return_id": decision.return_id,
        "basis": decision.basis.value,
        "decided_at": decision.at.isoformat(),
        "amount": decision.amount,
        "goods_amount": decision.goods_amount,
        "reimbursed": decision.reimbursed,
        "due_by": decision.due_by.isoformat() if decision.due_by else None,
        "summary": f"Refund for {target} ({decision.basis.value}): {money(decision.amount)}"
        + (
            f": {money(decision.goods_amount)} for goods and shipping, and "
            f"{money(decision.reimbursed)} of return costs paid back, outside the cap."
            if decision.reimbursed
            else "."
        ),
        "steps": steps,
        "deadline": due,
    }


def _step(policy: Policy, amount: int, clause: str, sentence: str) -> dict[str, Any]:
    text = policy.clause_text(clause)
    words = f'{sentence}; {clause}: "{text}"' if text else f"{sentence}; {clause}"
    return {"amount": amount, "clause": clause, "clause_text": text, "sentence": words}
