"""Domain events in and out of the store's envelopes (and, from `streams.py`, the names of the
streams they go in).

The one place that knows both `lifecycle.events` and `eventstore.records`; the domain modules
themselves never see the store.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

import cattrs

from eventstore import NewEvent, RecordedEvent
from eventstore.errors import CorruptLog

from .errors import IllegalTransition
from .events import Event, OrderEvent
from .order import Order, evolve
from .streams import order_stream, policy_stream, subscription_stream
from .structuring import first_problem
from .upcasts import upcast
from .wire import event_from_dict, event_to_dict

__all__ = [
    "decode_recorded",
    "from_recorded",
    "load_order",
    "order_events",
    "order_stream",
    "policy_stream",
    "subscription_stream",
    "to_new_event",
]


def to_new_event(event: Event, metadata: dict[str, Any]) -> NewEvent:
    """Wrap a domain event for `EventStore.append`."""
    return NewEvent(
        type=type(event).__name__,
        data=event_to_dict(event),
        occurred_at=event.at,
        schema_version=event.SCHEMA_VERSION,
        metadata=metadata,
    )


class Stored(Protocol):
    """What an event read back from the log carries: a `RecordedEvent`, or a read model's
    `Fact` (the same position, stored type, schema version, data and time)."""

    @property
    def position(self) -> int: ...
    @property
    def type(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def occurred_at(self) -> datetime: ...


UNREADABLE = (TypeError, ValueError, KeyError, RecursionError, cattrs.BaseValidationError)
"""What decoding a stored event raises when its data is not what its type and schema say."""


def decode_recorded(recorded: Stored) -> Event:
    """The domain event inside a recorded envelope, read through the upcasters if it was
    recorded under an older schema. Raises what decoding raises (`KeyError` for an unknown
    type, `UNREADABLE`): for `verify`, which names the problem itself."""
    data = upcast(recorded.type, recorded.schema_version, dict(recorded.data))
    return event_from_dict(recorded.type, data, recorded.occurred_at)


def from_recorded(recorded: Stored) -> Event:
    """The domain event inside a recorded envelope, for reading: the one place readers decode
    events. Raises `CorruptLog` (naming the position) for one that does not decode."""
    try:
        return decode_recorded(recorded)
    except UNREADABLE as error:
        raise CorruptLog.at(recorded.position, recorded.type, _why(error)) from None


def order_events(recorded: Sequence[RecordedEvent]) -> list[OrderEvent]:
    """The domain events of an order stream, in order; raises `CorruptLog` for one that does
    not decode or is no order event."""
    events = [from_recorded(r) for r in recorded]
    for event, envelope in zip(events, recorded, strict=True):
        if not isinstance(event, OrderEvent):
            raise CorruptLog.at(envelope.position, envelope.type, "it is no order event")
    return events  # type: ignore[return-value]  # checked just above


def load_order(recorded: Sequence[RecordedEvent]) -> tuple[list[OrderEvent], Order | None]:
    """An order stream's events and the order they fold into (None for an empty stream).
    Raises `CorruptLog` for an event that does not decode or that the order's machine forbids:
    orderlog never writes one, so the log was altered."""
    events = order_events(recorded)
    order: Order | None = None
    for event, envelope in zip(events, recorded, strict=True):
        try:
            order = evolve(order, event)
        except IllegalTransition as error:
            raise CorruptLog.at(envelope.position, envelope.type, error.message) from None
    return events, order


def _why(error: BaseException) -> str:
    if isinstance(error, cattrs.BaseValidationError):
        path, message = first_problem(error)
        return f"{path.removeprefix('$.')}: {message}"
    if isinstance(error, KeyError):
        return f"unknown event type {error}"
    return f"{type(error).__name__}: {error}"
