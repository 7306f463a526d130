"""An order's history in words: every event with who, when and why (`orderlog history`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from eventstore import EventStore
from eventstore.codec import format_time
from lifecycle import events as ev
from lifecycle.envelopes import from_recorded
from lifecycle.money import format_money

from .pastview import events_by


def order_history(
    store: EventStore, order_id: str, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """One entry per event of the order that happened by `as_of` (default: every one):
    position, times, type, actor, command, a sentence and the event's data as stored (upcast
    to the current schema). Raises `UnknownOrder` (also for an order placed after `as_of`)."""
    recorded = events_by(store, order_id, as_of)
    currency = ""
    entries = []
    for envelope in recorded:
        event = from_recorded(envelope)
        if isinstance(event, ev.OrderPlaced):
            currency = event.currency
        entries.append(
            {
                "position": envelope.position,
                "at": format_time(envelope.occurred_at),
                "recorded_at": format_time(envelope.recorded_at),
                "event": envelope.type,
                "actor": envelope.metadata.get("actor"),
                "command": envelope.metadata.get("command"),
                "command_id": envelope.metadata.get("command_id"),
                "what": describe(event, currency),
                "data": envelope.data,
            }
        )
    return entries


def describe(event: ev.Event, currency: str) -> str:
    """A sentence a support person can read out."""
    describer = _DESCRIBERS.get(type(event))
    return describer(event, lambda amount: format_money(amount, currency)) if describer else ""


Money = Callable[[int], str]


def _placed(e: ev.OrderPlaced, money: Money) -> str:
    units = sum(line.quantity for line in e.lines)
    return (
        f"placed under {e.policy} (version {e.policy_version}): {units} unit(s) in "
        f"{len(e.lines)} line(s), paid {money(e.paid_total)} with {e.payment_method} "
        f"(shipping {money(e.shipping_fee)}, discount {money(e.discount)})"
    )


def _cancelled(e: ev.OrderCancelled, money: Money) -> str:
    reason = f" ({e.reason})" if e.reason else ""
    return f"cancelled{reason} under {e.clause}"


def _dispatched(e: ev.OrderDispatched, money: Money) -> str:
    via = " ".join(part for part in (e.carrier, e.tracking_number) if part)
    return f"dispatched{' via ' + via if via else ''}"


def _delivered(e: ev.OrderDelivered, money: Money) -> str:
    until = f"; returns accepted until {e.returns_close_on}" if e.returns_close_on else ""
    return f"delivered to the customer{until}"


def _lost(e: ev.ParcelLost, money: Money) -> str:
    return "reported lost: the parcel never arrived"


def _refund_decided(e: ev.RefundDecided, money: Money) -> str:
    target = f"return {e.return_id}" if e.return_id else f"the order ({e.basis.value})"
    due = f", due by {e.due_by}" if e.due_by else ""
    return f"refund of {money(e.amount)} decided for {target}{due} ({', '.join(e.clauses)})"


def _refund_issued(e: ev.RefundIssued, money: Money) -> str:
    target = f"return {e.return_id}" if e.return_id else "the order"
    ref = f" (payment {e.payment_reference})" if e.payment_reference else ""
    return f"refund of {money(e.amount)} issued for {target}{ref}"


def _request(request: ev.ReturnRequest) -> str:
    lines = ", ".join(f"{line.quantity} x {line.line_id}" for line in request.lines)
    return f"{lines} ({request.reason.value}, {request.method.value})"


def _authorized(e: ev.ReturnAuthorized, money: Money) -> str:
    terms = e.terms
    return (
        f"return {e.return_id} authorized: {_request(e.request)}; package {terms.package}, "
        f"{terms.fault.value} fault, settled by {terms.resolution.value} "
        f"({', '.join(terms.clauses)}){_declined_lines(e.declined_lines)}"
    )


def _declined_lines(lines: tuple[ev.DeclinedLine, ...]) -> str:
    declined = "; ".join(
        f"{line.quantity} x {line.line_id} declined [{line.code}] ({line.clause})" for line in lines
    )
    return f"; {declined}" if declined else ""


def _held(e: ev.ReturnHeldForReview, money: Money) -> str:
    declined = _declined_lines(e.declined_lines)
    return f"return {e.return_id} held for review: {e.message} ({', '.join(e.triggers)}){declined}"


def _approved(e: ev.ReturnApproved, money: Money) -> str:
    return f"return {e.return_id} approved on review" + (f": {e.note}" if e.note else "")


def _declined(e: ev.ReturnDeclined, money: Money) -> str:
    return f"return {e.return_id} declined [{e.code}]: {e.message} ({e.clause})"


def _received(e: ev.ReturnReceived, money: Money) -> str:
    paid = e.return_shipping_paid
    postage = f"; the customer paid {money(paid)} postage" if paid else ""
    return f"return {e.return_id} arrived at the warehouse{postage}"


def _inspection(e: ev.ReturnInspected | ev.ReturnRejected, money: Money) -> str:
    found = "; ".join(
        f"{r.quantity} x {r.line_id} {r.condition.value}: "
        f"{'accepted' if r.accepted else 'refused'} ({r.clause})"
        for r in e.lines
    )
    verdict = "accepted" if isinstance(e, ev.ReturnInspected) else "rejected"
    note = f"; {e.note}" if e.note else ""
    return f"return {e.return_id} inspected and {verdict}: {found}{note}"


def _claim(e: ev.ClaimAccepted, money: Money) -> str:
    return f"missing-item claim {e.return_id} accepted without a parcel back ({e.clause})"


def _replacement(e: ev.ReplacementShipped, money: Money) -> str:
    tracking = f" ({e.tracking_number})" if e.tracking_number else ""
    due = f"; {money(e.amount_due)} due from the customer ({e.due_clause})" if e.amount_due else ""
    return f"replacement for return {e.return_id} shipped: {', '.join(e.skus)}{tracking}{due}"


def _settled_by_refund(e: ev.ReturnSettledByRefund, money: Money) -> str:
    note = f": {e.note}" if e.note else ""
    return f"return {e.return_id} settled by refund instead of goods, by {e.actor}{note}"


# Each describer takes the event type it is registered for.
_DESCRIBERS: dict[type[ev.Event], Callable[[Any, Money], str]] = {
    ev.OrderPlaced: _placed,
    ev.OrderCancelled: _cancelled,
    ev.OrderDispatched: _dispatched,
    ev.OrderDelivered: _delivered,
    ev.ParcelLost: _lost,
    ev.RefundDecided: _refund_decided,
    ev.RefundIssued: _refund_issued,
    ev.ReturnAuthorized: _authorized,
    ev.ReturnHeldForReview: _held,
    ev.ReturnApproved: _approved,
    ev.ReturnDeclined: _declined,
    ev.ReturnReceived: _received,
    ev.ReturnInspected: _inspection,
    ev.ReturnRejected: _inspection,
    ev.ClaimAccepted: _claim,
    ev.ReplacementShipped: _replacement,
    ev.ReturnSettledByRefund: _settled_by_refund,
}
