"""Domain events in and out of the store's envelopes (and, from `streams.py`, the names of the
streams they go in).

The one place that knows both `lifecycle.events` and `eventstore.records`; the domain modules
themselves never see the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from eventstore import NewEvent, RecordedEvent

from .events import Event, OrderEvent
from .streams import order_stream, policy_stream, subscription_stream
from .upcasts import upcast
from .wire import event_from_dict, event_to_dict

__all__ = [
    "from_recorded",
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
    `Fact` (the same stored type, schema version, data and time)."""

    @property
    def type(self) -> str: ...
    @property
    def schema_version(self) -> int: ...
    @property
    def data(self) -> Mapping[str, Any]: ...
    @property
    def occurred_at(self) -> datetime: ...


def from_recorded(recorded: Stored) -> Event:
    """The domain event inside a recorded envelope, read through the upcasters if it was
    recorded under an older schema; raises `KeyError` for an unknown type."""
    data = upcast(recorded.type, recorded.schema_version, dict(recorded.data))
    return event_from_dict(recorded.type, data, recorded.occurred_at)


def order_events(recorded: list[RecordedEvent]) -> list[OrderEvent]:
    """The domain events of an order stream, in order; raises `TypeError` for a stray event."""
    events = [from_recorded(r) for r in recorded]
    for event, envelope in zip(events, recorded, strict=True):
        if not isinstance(event, OrderEvent):
            raise TypeError(f"{envelope.type} at position {envelope.position} is no order event")
    return events  # type: ignore[return-value]  # checked just above
