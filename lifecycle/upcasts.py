"""Old event payloads brought up to the current schema on read: pure functions of the stored
data, registered by (event type, the schema version they read). Stored rows are never
rewritten; `envelopes.from_recorded` applies these before decoding.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from .vocabulary import REIMBURSEMENTS

Payload = dict[str, Any]

_REIMBURSEMENT_WORDS = frozenset(kind.value for kind in REIMBURSEMENTS)


def refund_decided_v1(data: Payload) -> Payload:
    """Schema 1 to 2: `reimbursed`, the part of `amount` that repaid return costs.

    Schema 1 capped the whole refund, reimbursements included, at what was left of the
    payment, so its reimbursements are counted as paid first, up to the amount."""
    adjustments = data.get("adjustments") or ()
    if not isinstance(adjustments, list | tuple) or not isinstance(data.get("amount"), int):
        return data  # not a refund decision at all: decoding the event says what is wrong
    repaid = sum(
        a.get("amount", 0)
        for a in adjustments
        if isinstance(a, dict) and a.get("kind") in _REIMBURSEMENT_WORDS
    )
    return {**data, "reimbursed": max(0, min(repaid, data["amount"]))}


UPCASTS: Mapping[tuple[str, int], Callable[[Payload], Payload]] = {
    ("RefundDecided", 1): refund_decided_v1,
}
"""Each upcaster by (event type, schema version it reads); it returns the next version's data."""


def upcast(event_type: str, schema_version: int, data: Payload) -> Payload:
    """The data of an event recorded at `schema_version`, in the current schema."""
    upcaster = UPCASTS.get((event_type, schema_version))
    while upcaster is not None:
        data = upcaster(data)
        schema_version += 1
        upcaster = UPCASTS.get((event_type, schema_version))
    return data
