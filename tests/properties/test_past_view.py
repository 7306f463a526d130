"""The past view (`status`, `history`, `explain`, `refunds --as-of T`) equals the present view of
a log that stopped at T, for every T at and between the workload's events."""

from __future__ import annotations

import itertools
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from lifecycle.errors import UnknownOrder
from projections.app import Orderlog
from projections.listing import Filters, list_orders
from projections.status import status_report
from tests.properties.test_replay import REGISTRY, workloads


def moments(times: list[datetime]) -> list[datetime]:
    """Every event time, and the midpoint between each two in a row."""
    distinct = sorted(set(times))
    between = [a + (b - a) / 2 for a, b in itertools.pairwise(distinct)]
    return sorted([*distinct, *between])


def _history(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # Recording times are the wall clock of each log's own writes.
    return [{k: v for k, v in entry.items() if k != "recorded_at"} for entry in entries]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workloads())
def test_every_past_view_equals_a_log_that_stopped_then(commands: list[dict[str, Any]]) -> None:
    times = [datetime.fromisoformat(c["at"]) for c in commands]
    placed = {c["order_id"] for c in commands if c["type"] == "place_order"}
    with tempfile.TemporaryDirectory() as folder:
        full = Orderlog(Path(folder) / "full.db", policies=REGISTRY)
        stopped = Orderlog(Path(folder) / "stopped.db", policies=REGISTRY)
        try:
            for command in commands:
                full.handle(command)
            done = 0
            for cut in moments(times):
                while done < len(commands) and times[done] <= cut:
                    stopped.handle(commands[done])
                    done += 1
                _same_past(full, stopped, cut, placed)
        finally:
            full.close()
            stopped.close()


def _same_past(full: Orderlog, stopped: Orderlog, cut: datetime, placed: set[str]) -> None:
    live = stopped.read_models()  # the stopped log's own inline read models
    known = {row["order_id"] for row in list_orders(live, Filters(), cut)}
    for order_id in sorted(placed):
        if order_id not in known:
            if full.store.read_stream(f"order-{order_id}"):
                with pytest.raises(UnknownOrder, match="not placed yet"):
                    full.status(order_id, cut)
            continue
        then = full.status(order_id, cut)
        assert then == status_report(live, order_id, cut), (order_id, cut)
        assert _history(full.history(order_id, cut)) == _history(stopped.history(order_id))
        assert full.explain(order_id, cut) == stopped.explain(order_id)
    assert full.refunds(cut) == stopped.refunds(cut)
