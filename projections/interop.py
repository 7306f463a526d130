"""Slices of the log for export, and imports that skip what the log already holds.

An export is the log as JSON Lines (`eventstore.transfer`); here it can be cut to one order,
a starting position or a starting time. Importing an export again is a no-op: rows the log
holds already, at the same position with the same content and hash, are passed over; a row
that differs from the log's own at its position is refused.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import datetime

from eventstore import EventStore, InvalidAppend, StoredRow
from eventstore.codec import format_time
from eventstore.transfer import export_lines
from lifecycle.envelopes import order_stream
from lifecycle.errors import UnknownOrder


def export_lines_matching(
    store: EventStore,
    *,
    order_id: str | None = None,
    from_position: int = 1,
    since: datetime | None = None,
) -> Iterator[str]:
    """The exported lines from `from_position` on, of one order only (`order_id`) and of
    events that happened at or after `since`, when given. Raises `UnknownOrder` for an order
    the log has never seen (a mistyped id), rather than print nothing."""
    stream = None
    if order_id is not None:
        stream = order_stream(order_id)
        if not store.stream_version(stream):
            raise UnknownOrder(order_id)
    lines = export_lines(store, from_position)
    if stream is None and since is None:
        yield from lines
        return
    moment = None if since is None else format_time(since)
    for line in lines:
        record = json.loads(line)
        if stream is not None and record["stream_id"] != stream:
            continue
        if moment is not None and record["occurred_at"] < moment:
            continue
        yield line


class NewRows:
    """Passes on the rows of an export that the log does not hold yet, counting the ones it
    holds already (`skipped`); raises `InvalidAppend` for a row that contradicts the log.

    Run it inside the import's transaction (as `import_rows` does, pulling rows lazily), so the
    log it compares with cannot move meanwhile."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.skipped = 0

    def __call__(self, rows: Iterable[StoredRow]) -> Iterator[StoredRow]:
        head: int | None = None
        held: Iterator[StoredRow] = iter(())
        last: StoredRow | None = None
        for row in rows:
            if head is None:
                head = self.store.head().position
            position = row.position
            if type(position) is not int or not 1 <= position <= head:
                yield row  # new, or malformed: `import_rows` checks it
                continue
            if last is None or last.position > position:
                held, last = self.store.read_rows(position, to_position=head), None
            while last is None or last.position < position:
                last = next(held)  # the log holds every position up to its head
            if last[:-1] != row[:-1]:  # the content; the MAC is checked by `import_rows`
                raise InvalidAppend(
                    f"row {position} ({row.type} in {row.stream_id}) differs from the event "
                    "the log holds at that position: the export is from another log or was "
                    "altered; nothing was imported"
                )
            self.skipped += 1
