"""The log as JSON Lines and back: one event per line, oldest first, every column included.

`data` and `metadata` are written as JSON objects (readable); reading them back re-encodes them
canonically, which gives the stored text again, so exported hashes verify on import. A keyed
event's `mac` is written too (an unkeyed one has no `mac` key, as before the keyed chain).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from .codec import canonical_json
from .errors import InvalidAppend
from .rows import StoredRow
from .store import EventStore

_FIELDS = StoredRow._fields
_CHAINED = frozenset(_FIELDS) - {"mac"}


def export_lines(store: EventStore, from_position: int = 1) -> Iterator[str]:
    """Every event from `from_position` on as one JSON line, in position order."""
    for row in store.read_rows(from_position):
        record: dict[str, Any] = row._asdict()
        record["data"] = json.loads(row.data)
        record["metadata"] = json.loads(row.metadata)
        if row.mac is None:
            del record["mac"]
        yield json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def rows_from_lines(lines: Iterable[str]) -> Iterator[StoredRow]:
    """Parse exported lines back into rows; raises `InvalidAppend` naming the bad line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError as error:
            raise InvalidAppend(f"line {number} is not JSON ({error})") from None
        if not isinstance(record, dict) or set(record) - {"mac"} != _CHAINED:
            raise InvalidAppend(f"line {number} is not an exported event: expected {_FIELDS}")
        if not all(isinstance(record[key], dict) for key in ("data", "metadata")):
            raise InvalidAppend(f"line {number}: data and metadata must be JSON objects")
        record["data"] = canonical_json(record["data"])
        record["metadata"] = canonical_json(record["metadata"])
        yield StoredRow(**record)
