"""The returns read model: one row per return, its state, terms and refund, plus every decline
with its reason code and clause (for `orderlog status` and the decline reasons report)."""

from __future__ import annotations

from typing import Any

from lifecycle import events as ev
from lifecycle.machines import RETURN_MACHINE

from .framework import Batch, Envelope, Projection, Table
from .orders import next_state_word, trigger_of

_CREATING = frozenset({"ReturnAuthorized", "ReturnHeldForReview", "ReturnDeclined"})

RETURNS = Table(
    "returns",
    {
        "order_id": str,
        "return_id": str,
        "state": str,
        "reason": str,
        "method": str,
        "resolution": str,
        "package": int,
        "requested_at": str,
        "received_at": str,
        "refund_amount": int,
        "refund_due_by": str,
        "refund_issued_at": str,
        "last_event_at": str,
    },
    pk=("order_id", "return_id"),
    not_null=frozenset({"state", "requested_at"}),
)
DECLINES = Table(
    "declines",
    {
        "order_id": str,
        "return_id": str,
        "code": str,
        "clause": str,
        "message": str,
        "note": str,
        "declined_at": str,
        "position": int,
    },
    pk=("position",),
    not_null=frozenset({"order_id", "return_id", "code", "declined_at"}),
)


class ReturnsProjection(Projection):
    """`returns`: every return of every order; `declines`: why requests were refused."""

    name = "returns"
    handles = frozenset(
        cls.__name__ for cls in ev.ORDER_EVENTS if issubclass(cls, ev.ReturnEvent)
    ) | {"RefundDecided", "RefundIssued"}
    schema = (RETURNS, DECLINES)

    def fold(self, rows: Batch, envelope: Envelope) -> None:
        data = envelope.data
        return_id = data.get("return_id")
        if return_id is None:
            return  # an order-level refund: not a return's
        kind = envelope.type
        at = rows.time_of(envelope)
        returns = rows["returns"]
        order_id = data["order_id"]
        row = None
        if kind in _CREATING and data.get("request") is not None:
            row = _requested(data, at)
        else:
            row = returns.get(order_id, return_id)
        if row is None:
            raise ValueError(f"{kind} at {envelope.position}: no return {return_id} of {order_id}")
        trigger = trigger_of(kind, data)
        row["state"] = next_state_word(RETURN_MACHINE, row["state"], trigger, f"return {return_id}")
        row["last_event_at"] = at
        if kind == "ReturnReceived":
            row["received_at"] = at
        elif kind == "RefundDecided":
            row["refund_amount"] = data["amount"]
            row["refund_due_by"] = data.get("due_by")
        elif kind == "RefundIssued":
            row["refund_issued_at"] = at
        elif kind in ("ReturnInspected", "ReturnRejected") and data.get("terms"):
            row["resolution"] = data["terms"]["resolution"]  # a claimed fault not found
        elif kind == "ReturnSettledByRefund":
            row["resolution"] = "refund"
        returns.put(row)
        if kind == "ReturnDeclined":
            rows["declines"].put(_declined(data, at, envelope.position))


def _requested(data: dict[str, Any], at: str) -> dict[str, Any]:
    """A new return's row, as its first event (authorized, held or declined) gives it."""
    request, terms = data["request"], data.get("terms")
    return {
        "order_id": data["order_id"],
        "return_id": data["return_id"],
        "state": RETURN_MACHINE.initial.value,
        "reason": request["reason"],
        "method": request["method"],
        "resolution": terms["resolution"] if terms else request.get("resolution", "refund"),
        "package": terms["package"] if terms else None,
        "requested_at": at,
    }


def _declined(data: dict[str, Any], at: str, position: int) -> dict[str, Any]:
    return {
        "order_id": data["order_id"],
        "return_id": data["return_id"],
        "code": data["code"],
        "clause": data.get("clause"),
        "message": data.get("message"),
        "note": data.get("note"),
        "declined_at": at,
        "position": position,
    }
