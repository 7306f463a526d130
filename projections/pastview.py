"""One order as it was at a past moment (`status`, `history`, `explain --as-of`): its own events
up to that moment, folded by the very same read models into a fresh database in memory. Nothing
is patched: a field shows what the events said by then, or nothing.

An order's commands are applied in time order (`lifecycle.streams.check_in_time_order`), so the
events that happened by a moment are a prefix of its stream: the stream as it stood then.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Sequence
from datetime import datetime

from eventstore import EventStore, RecordedEvent
from eventstore.codec import format_time, human_time
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


def unchanged_since(conn: sqlite3.Connection, order_id: str, as_of: datetime) -> bool:
    """Whether current read models in `conn` already are the order as of `as_of`: nothing has
    happened to it since (an order's rows are folded from its own events alone)."""
    row = conn.execute("SELECT last_event_at FROM orders WHERE order_id = ?", (order_id,))
    last = row.fetchone()
    return last is not None and last[0] is not None and last[0] <= format_time(as_of)


def order_as_of(
    store: EventStore, projections: Sequence[Projection], order_id: str, as_of: datetime
) -> sqlite3.Connection:
    """A read-model database in memory holding only this order, folded from its events up to
    `as_of`; the caller closes it. Raises like `events_by`."""
    then = events_by(store, order_id, as_of)
    conn = sqlite3.connect(":memory:", isolation_level=None)
    try:
        conn.executescript(_schema(tuple(projections)))
        with immediate_transaction(conn):
            apply_events(conn, projections, then)
    except BaseException:
        conn.close()
        raise
    return conn


@functools.cache
def _schema(projections: tuple[Projection, ...]) -> str:
    """The statements that create the read models' tables, made once (creating them through
    sqlite-utils takes longer than folding an order's events)."""
    template = sqlite3.connect(":memory:", isolation_level=None)
    try:
        ensure_schema(template, projections)
        found = template.execute("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL")
        return ";\n".join(row[0] for row in found) + ";"
    finally:
        template.close()
