"""One order as it was at a past moment (`status`, `history`, `explain --as-of`): its own events
up to that moment, folded by the very same read models into a fresh database in memory. Nothing
is patched: a field shows what the events said by then, or nothing.

An order's commands are applied in time order (`lifecycle.streams.check_in_time_order`), so the
events that happened by a moment are a prefix of its stream: the stream as it stood then.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

from eventstore import EventStore, RecordedEvent
from eventstore.codec import human_time
from eventstore.sqlite import immediate_transaction
from lifecycle.envelopes import order_stream
from lifecycle.errors import UnknownOrder

from .framework import Projection, apply_events, ensure_schema


def not_placed_yet(order_id: str, as_of: datetime, placed_at: datetime) -> UnknownOrder:
    """The `UnknownOrder` of an order asked about as of a time before it was placed."""
    return UnknownOrder(
        order_id,
        f"order {order_id!r} was not placed yet at {human_time(as_of)} (it was placed "
        f"{human_time(placed_at)})",
    )


def events_by(store: EventStore, order_id: str, as_of: datetime | None) -> list[RecordedEvent]:
    """The order's events that happened by `as_of` (all of them without it), oldest first.
    Raises `UnknownOrder` for no such order, or one placed after `as_of`."""
    stream = store.read_stream(order_stream(order_id))
    if not stream:
        raise UnknownOrder(order_id)
    if as_of is None:
        return stream
    then = [envelope for envelope in stream if envelope.occurred_at <= as_of]
    if not then:
        raise not_placed_yet(order_id, as_of, stream[0].occurred_at)
    return then


def order_as_of(
    store: EventStore, projections: Sequence[Projection], order_id: str, as_of: datetime
) -> sqlite3.Connection:
    """A read-model database in memory holding only this order, folded from its events up to
    `as_of`; the caller closes it. Raises like `events_by`."""
    then = events_by(store, order_id, as_of)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        ensure_schema(conn, projections)
        with immediate_transaction(conn):
            apply_events(conn, projections, then)
    except BaseException:
        conn.close()
        raise
    return conn
