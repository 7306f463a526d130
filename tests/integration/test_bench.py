"""`orderlog bench` runs end to end and reports the documented keys (a functional test: the
figures themselves are a benchmark's, never asserted)."""

from __future__ import annotations

import json
from typing import Any

from projections.bench import COMMANDS_PER_ORDER, POLICIES, workload
from tests.pg import DSN, needs_postgres

PATH_KEYS = {
    "count",
    "unit",
    "seconds",
    "per_second",
    "floor_per_second",
    "vs_floor",
    "cpu_seconds",
    "vs_floor_cpu",
}


def test_bench_json_reports_every_path_beside_its_floor(orderlog: Any) -> None:
    run = orderlog("bench", "--orders", "20", "--skip-10x", "--json")
    assert run.code == 0, run.err
    result = json.loads(run.out)
    assert set(result) == {"machine", "sizes"}
    [size] = result["sizes"]
    assert size["orders"] == 20
    assert size["commands"] == 20 * COMMANDS_PER_ORDER
    assert size["outcomes"] == {"accepted": size["commands"], "declined": 0, "refused": 0}
    paths = ("write_api", "write_apply", "write_batch", "write_apply_group", "import", "replay")
    for key in (*paths, "verify"):
        assert set(size[key]) >= PATH_KEYS, key
        assert size[key]["per_second"] > 0
        assert size[key]["floor_per_second"] > 0
    assert size["import"]["count"] == size["replay"]["count"] == size["events"]
    assert size["replay"]["peak_rss_mb"] > 0
    assert size["verify"]["peak_rss_mb"] > 0
    assert set(size["status"]) == {"lookups", "p50_ms", "p99_ms"}
    assert size["status"]["p50_ms"] <= size["status"]["p99_ms"]


def test_the_workload_spans_every_shipped_policy() -> None:
    placed = [c["policy"] for c in workload(8) if c["type"] == "place_order"]
    assert sorted(set(placed)) == sorted(POLICIES)
    assert len(placed) == 8


@needs_postgres
def test_bench_postgres_compares_writer_processes(orderlog: Any) -> None:
    from projections import bench_postgres

    result = bench_postgres.run(DSN, 8)
    assert result["commands"] == 8 * COMMANDS_PER_ORDER
    for backend in ("sqlite", "postgres"):
        assert set(result[backend]) == {"1", "4"}
        assert all(rate > 0 for rate in result[backend].values())
    assert result["postgres_floor"] > 0
    assert "PostgreSQL floor" in bench_postgres.table(result)
    run = orderlog("bench", "--postgres", "shop.db")
    assert run.code == 2
    assert "postgresql:// DSN" in run.err
