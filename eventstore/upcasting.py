"""Upcasters: functions that bring an old event payload up to the current schema on read.

Stored rows are never rewritten; an event recorded at schema version 1 is read through the
upcaster registered for (type, 1), then (type, 2), ... until no upcaster is registered.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]


class Upcasters:
    """A registry of upcasters keyed by (event type, the schema version they read)."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, int], Upcaster] = {}

    def register(self, event_type: str, from_version: int, upcaster: Upcaster) -> None:
        """Register `upcaster` to turn `event_type` data from `from_version` into the next."""
        key = (event_type, from_version)
        if key in self._by_key:
            raise ValueError(f"an upcaster for {event_type} v{from_version} is already registered")
        self._by_key[key] = upcaster

    def __bool__(self) -> bool:
        return bool(self._by_key)

    def upcast(self, event_type: str, schema_version: int, data: Payload) -> tuple[int, Payload]:
        """Apply every upcaster in turn; returns the final schema version and data."""
        upcaster = self._by_key.get((event_type, schema_version))
        while upcaster is not None:
            data = upcaster(data)
            schema_version += 1
            upcaster = self._by_key.get((event_type, schema_version))
        return schema_version, data
