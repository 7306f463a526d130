"""Small helpers shared by the test tiers."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
"""A Monday morning, UTC: the start of most test timelines."""


def at(days: float = 0, *, hours: float = 0, minutes: float = 0) -> datetime:
    """A moment relative to `T0`."""
    return T0 + timedelta(days=days, hours=hours, minutes=minutes)


def stress_scale() -> int:
    """How much bigger than the CI budget slow stress tests run (env ORDERLOG_STRESS_SCALE)."""
    return max(1, int(os.environ.get("ORDERLOG_STRESS_SCALE", "1")))
