"""Why a refund is the amount it is: the arithmetic line by line, each amount with the policy
clause that produced it and that clause's words (`orderlog explain`).

It reads the order's stream and the policy it was placed under (from the registry, else from
the log), never through the order service: explaining writes nothing and decides nothing.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eventstore import EventStore
from lifecycle import events as ev
from lifecycle.envelopes import load_order
from lifecycle.errors import UnknownOrder
from lifecycle.money import format_money
from lifecycle.pinning import pinned_policy
from lifecycle.policy import Policy
from lifecycle.registry import PolicyRegistry
from lifecycle.vocabulary import AdjustmentKind

from .pastview import events_by

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
    _K.EXCHANGE_DIFFERENCE: "the cheaper exchange item's difference refunded",
    _K.FLOOR: "deductions stop at zero",
    _K.CAP: "capped at what is left of the payment",
}


def explain_order(
    store: EventStore, policies: PolicyRegistry, order_id: str, as_of: datetime | None = None
) -> dict[str, Any]:
    """Every refund decision of an order (made by `as_of`, default: every one), explained.
    Raises `UnknownOrder` (for no such order, or one placed after `as_of`), and
    `UnknownPolicy` if its policy version is neither in `policies` nor in the log."""
    events, order = load_order(events_by(store, order_id, as_of))
    if order is None:
        raise UnknownOrder(order_id)
    policy = pinned_policy(store, policies, order)
    lines = {line.line_id: line for line in order.placed.lines}
    postage: dict[str | None, int | None] = {
        e.return_id: e.return_shipping_paid for e in events if isinstance(e, ev.ReturnReceived)
    }
    refunds = [
        _explain(decision, policy, lines, order.placed.shipping_fee, postage)
        for decision in events
        if isinstance(decision, ev.RefundDecided)
    ]
    return {
        "order_id": order_id,
        "policy": policy.name,
        "policy_version": policy.version,
        "currency": order.placed.currency,
        "paid_total": order.paid_total,
        "discount": _discount(order.placed),
        "refunds": refunds,
        "settlements": _settlements(events, policy, lines, order.placed.currency),
    }


def _discount(placed: ev.OrderPlaced) -> dict[str, Any]:
    """How the order's discount was spread over its lines (by value, largest remainder)."""

    def money(amount: int) -> str:
        return format_money(amount, placed.currency)

    shares: list[dict[str, Any]] = [
        {
            "line_id": line.line_id,
            "sku": line.sku,
            "value": line.quantity * line.unit_price,
            "discount": line.quantity * line.unit_price - line.paid,
            "paid": line.paid,
        }
        for line in placed.lines
    ]
    if not placed.discount:
        sentence = "The order had no discount: each line was paid at its price."
    else:
        spread = "; ".join(
            f"line {line.line_id} ({line.sku}) {money(line.quantity * line.unit_price)} less "
            f"{money(line.quantity * line.unit_price - line.paid)} = {money(line.paid)}"
            for line in placed.lines
        )
        sentence = (
            f"The order's discount of {money(placed.discount)} was spread over its lines in "
            f"proportion to their value: {spread}."
        )
    return {"total": placed.discount, "lines": shares, "sentence": sentence}


def _settlements(
    events: list[ev.OrderEvent], policy: Policy, lines: dict[str, ev.PlacedLine], currency: str
) -> list[dict[str, Any]]:
    """Every decision that settled (or shaped) a return other than by its refund's arithmetic:
    declines, inspections (a rejection, terms revised), replacements and exchanges."""
    found: list[dict[str, Any]] = []
    resolutions: dict[str, ev.ReturnTerms] = {}
    for event in events:
        if isinstance(event, ev.ReturnAuthorized | ev.ReturnHeldForReview):
            resolutions[event.return_id] = event.terms
            for line in event.declined_lines:
                sku = lines[line.line_id].sku
                found.append(
                    _settlement(
                        policy,
                        event,
                        "line_declined",
                        line.clause,
                        f"Return {event.return_id}: {line.quantity} x {sku} (line "
                        f"{line.line_id}) declined ({line.code}), the other lines accepted",
                    )
                )
        if isinstance(event, ev.ReturnDeclined):
            found.append(
                _settlement(
                    policy,
                    event,
                    "declined",
                    event.clause,
                    f"Return {event.return_id} declined ({event.code}): {event.message}",
                )
            )
        elif isinstance(event, ev.ReturnInspected | ev.ReturnRejected):
            if event.terms is not None:
                resolutions[event.return_id] = event.terms
            found += _inspection(policy, event, lines)
        elif isinstance(event, ev.ReturnSettledByRefund):
            note = f" ({event.note})" if event.note else ""
            found.append(
                _settlement(
                    policy,
                    event,
                    "settled_by_refund",
                    "orderlog/settled-by-refund",
                    f"Return {event.return_id} settled by refund instead of goods, decided by "
                    f"{event.actor}{note}",
                )
            )
        elif isinstance(event, ev.ReplacementShipped):
            terms = resolutions.get(event.return_id)
            kind = terms.resolution.value if terms else "replacement"
            clause = _resolution_clause(policy, terms)
            skus = ", ".join(event.skus)
            due = ""
            if event.amount_due:
                due = (
                    f"; the exchange item costs {format_money(event.amount_due, currency)} more "
                    "than was paid: due from the customer (recorded, not collected)"
                )
            found.append(
                _settlement(
                    policy,
                    event,
                    kind,
                    event.due_clause or clause,
                    f"Return {event.return_id} settled by {kind}: {skus} shipped instead of "
                    f"a refund{due}",
                )
            )
    return found


def _inspection(
    policy: Policy, event: ev.ReturnInspected | ev.ReturnRejected, lines: dict[str, ev.PlacedLine]
) -> list[dict[str, Any]]:
    found = []
    if event.note and event.terms is not None:
        found.append(
            _settlement(
                policy,
                event,
                "fault_not_found",
                "orderlog/fault-not-found",
                f"Return {event.return_id}: {event.note.split(' (')[0]}",
            )
        )
    for result in event.lines:
        if result.accepted:
            continue
        sku = lines[result.line_id].sku
        found.append(
            _settlement(
                policy,
                event,
                "rejected",
                result.clause,
                f"Return {event.return_id}: {result.quantity} x {sku} (line {result.line_id}) "
                f"found {result.condition.value}, not accepted",
            )
        )
    return found


def _resolution_clause(policy: Policy, terms: ev.ReturnTerms | None) -> str:
    """The clause that settled a return by goods: the replacement or exchange rule."""
    if terms is not None:
        for clause in terms.clauses:
            if policy.replacement is not None and clause == policy.replacement.clause:
                return clause
            if policy.exchange is not None and clause == policy.exchange.clause:
                return clause
    return "orderlog/replacement-shipped"


def _settlement(
    policy: Policy, event: ev.OrderEvent, kind: str, clause: str, sentence: str
) -> dict[str, Any]:
    step = _step(policy, 0, clause, sentence)
    return {
        "return_id": getattr(event, "return_id", None),
        "kind": kind,
        "amount_due": getattr(event, "amount_due", 0),
        "at": event.at.isoformat(),
        "clause": clause,
        "clause_text": step["clause_text"],
        "sentence": step["sentence"],
    }


def _explain(
    decision: ev.RefundDecided,
    policy: Policy,
    lines: dict[str, ev.PlacedLine],
    placed_shipping: int,
    postage: dict[str | None, int | None],
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
        said = _note(adjustment, decision, placed_shipping, postage.get(decision.return_id))
        note = f" ({said})" if said else ""
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


def _note(
    adjustment: ev.Adjustment,
    decision: ev.RefundDecided,
    placed_shipping: int,
    paid_postage: int | None,
) -> str:
    """An adjustment's note for people: its amounts as money (the stored note has cents)."""

    def money(amount: int) -> str:
        return format_money(amount, decision.currency)

    kind = adjustment.kind
    if kind is _K.RETURN_POSTAGE and paid_postage is not None:
        capped = paid_postage > adjustment.amount
        cap = f", capped at {money(adjustment.amount)}" if capped else ""
        return f"postage paid {money(paid_postage)}{cap}"
    if kind is _K.CAP:
        return f"only {money(decision.amount)} of the payment was left to refund"
    if kind is _K.ORIGINAL_SHIPPING_KEPT:
        return f"original shipping {money(placed_shipping)} is not refunded"
    return adjustment.note


def _step(policy: Policy, amount: int, clause: str, sentence: str) -> dict[str, Any]:
    text = policy.clause_text(clause)
    words = f'{sentence}; {clause}: "{text}"' if text else f"{sentence}; {clause}"
    return {"amount": amount, "clause": clause, "clause_text": text, "sentence": words}
