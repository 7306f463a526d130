"""`orderlog bench`: how fast each path is, beside the floor SQLite and the stdlib allow.

A benchmark, never a test: figures depend on the machine, so each path is measured beside a
floor (the least work that gives the same result with the stdlib alone) in the same run, and the
ratio is what to compare between runs and machines. The workload is fixed: orders under every
shipped policy, seven commands each (place, dispatch, deliver, request a return, which is
authorized, receive, inspect, refund).

    orderlog bench                      # default size, then 10x, table on stdout
    orderlog bench --orders 2000 --json
    orderlog bench --compare-eventsourcing   # with the `bench` extra installed

Peak memory of replay and verify is measured in child processes, one per path (VmHWM, or
ru_maxrss where /proc is missing).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

DEFAULT_ORDERS = 200
GROUP = 100
"""Commands per transaction on the group-commit paths (`handle_batch`, `apply --group-commit`)."""
GROWTH = 10
STATUS_LOOKUPS = 300
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

# -- the workload ----------------------------------------------------------------------------

_ORDERS: dict[str, dict[str, Any]] = {
    "kiyomi": {
        "lines": [
            {"line_id": "l1", "sku": "KIYOMI-SERUM", "quantity": 2, "unit_price": 2800},
            {"line_id": "l2", "sku": "MASK-A", "quantity": 1, "unit_price": 1200, "bundle": "1+1"},
            {"line_id": "l3", "sku": "MASK-B", "quantity": 1, "unit_price": 1200, "bundle": "1+1"},
        ],
        "shipping_fee": 500,
        "return": ("changed_mind", "own_carrier", "unopened"),
    },
    "kos-allure": {
        "lines": [
            {"line_id": "l1", "sku": "KOS-CREAM", "quantity": 1, "unit_price": 2400},
            {"line_id": "l2", "sku": "KOS-ESSENCE", "quantity": 1, "unit_price": 1800},
        ],
        # Not an allergic reaction: that is settled without a parcel, after a person's approval.
        "return": ("changed_mind", "own_carrier", "unopened"),
    },
    "allegra-k": {
        "lines": [
            {"line_id": "l1", "sku": "AK-DRESS", "quantity": 1, "unit_price": 3999},
            {"line_id": "l2", "sku": "AK-BLOUSE", "quantity": 2, "unit_price": 2599},
        ],
        "shipping_fee": 499,
        "return": ("changed_mind", "prepaid_label", "unopened"),
    },
    "kgm-brand": {
        "lines": [
            {"line_id": "l1", "sku": "KGM-JACKET", "quantity": 1, "unit_price": 5900},
            {"line_id": "l2", "sku": "KGM-TEE", "quantity": 2, "unit_price": 1500},
        ],
        "shipping_fee": 800,
        # Not a pickup: its fee is a placeholder, which holds the return for a person.
        "return": ("changed_mind", "own_carrier", "unopened"),
    },
}
POLICIES = tuple(_ORDERS)
COMMANDS_PER_ORDER = 7


def order_id(number: int) -> str:
    return f"B-{number:07d}"


def order_commands(number: int) -> list[dict[str, Any]]:
    """The seven commands of order `number`, oldest first: placed, dispatched, delivered, one
    line sent back (authorized by the policy), received, inspected and refunded."""
    policy = POLICIES[number % len(POLICIES)]
    shape = _ORDERS[policy]
    oid = order_id(number)
    placed = START + timedelta(seconds=number)

    def at(days: float) -> str:
        return (placed + timedelta(days=days)).isoformat()

    reason, method, condition = shape["return"]
    first = shape["lines"][0]["line_id"]
    return [
        {
            "type": "place_order",
            "order_id": oid,
            "at": at(0),
            "policy": policy,
            "currency": "USD",
            "customer": {"id": f"c-{number}", "country": "US"},
            "lines": shape["lines"],
            "payment_method": "visa",
            **({"shipping_fee": shape["shipping_fee"]} if "shipping_fee" in shape else {}),
        },
        {"type": "dispatch_order", "order_id": oid, "at": at(0.1), "carrier": "post"},
        {"type": "confirm_delivery", "order_id": oid, "at": at(3)},
        {
            "type": "request_return",
            "order_id": oid,
            "at": at(6),
            "return_id": "R1",
            "lines": [{"line_id": first, "quantity": 1}],
            "reason": reason,
            "method": method,
        },
        {
            "type": "receive_return",
            "order_id": oid,
            "at": at(10),
            "return_id": "R1",
            "return_shipping_paid": 850,
        },
        {
            "type": "inspect_return",
            "order_id": oid,
            "at": at(10.2),
            "return_id": "R1",
            "lines": [{"line_id": first, "quantity": 1, "condition": condition}],
        },
        {"type": "issue_refund", "order_id": oid, "at": at(14), "return_id": "R1"},
    ]


def workload(orders: int) -> Iterator[dict[str, Any]]:
    """Every command of `orders` orders, each order's in time order."""
    for number in range(orders):
        yield from order_commands(number)


# -- timing helpers --------------------------------------------------------------------------


Timing = tuple[float, float]
"""Seconds of wall time and of CPU time (user and system) spent on one path."""


class Stopwatch:
    """Wall and CPU time from its start: `elapsed()` gives both."""

    def __init__(self) -> None:
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def elapsed(self) -> Timing:
        return time.perf_counter() - self.wall, time.process_time() - self.cpu


def _timed(work: Callable[[], object]) -> Timing:
    watch = Stopwatch()
    work()
    return watch.elapsed()


def _best(*timings: Timing) -> Timing:
    """The fastest of repeated runs (wall and CPU each): the least disturbed by other load."""
    return min(t[0] for t in timings), min(t[1] for t in timings)


def _rate(count: int, seconds: float) -> float:
    return count / seconds if seconds > 0 else 0.0


def _path(count: int, timing: Timing, floor: Timing, unit: str) -> dict[str, Any]:
    """One path's figures: its rate, the floor's, and the ratio (1.0 = as fast as the floor),
    by wall time and by CPU time (steadier on a shared machine)."""
    (seconds, cpu), (floor_seconds, floor_cpu) = timing, floor
    rate, floor_rate = _rate(count, seconds), _rate(count, floor_seconds)
    cpu_rate, floor_cpu_rate = _rate(count, cpu), _rate(count, floor_cpu)
    return {
        "count": count,
        "unit": unit,
        "seconds": round(seconds, 4),
        "per_second": round(rate, 1),
        "floor_per_second": round(floor_rate, 1),
        "vs_floor": round(rate / floor_rate, 4) if floor_rate else None,
        "cpu_seconds": round(cpu, 4),
        "vs_floor_cpu": round(cpu_rate / floor_cpu_rate, 4) if floor_cpu_rate else None,
    }


def _run_cli(args: list[str]) -> Timing:
    """Run `orderlog ARGS` in a fresh interpreter; returns the time `main` took there (not
    the interpreter's start). Exit 1 (a refusal) is fine for a benchmark; 2 is not."""
    code = (
        "import sys, time; from projections.cli import main; "
        "wall, cpu = time.perf_counter(), time.process_time(); "
        f"code = main({args!r}); "
        "print(time.perf_counter() - wall, time.process_time() - cpu, file=sys.stderr); "
        "sys.exit(code)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False
    )
    said = done.stderr.decode(errors="replace").strip().splitlines()
    if done.returncode not in (0, 1) or not said:
        raise RuntimeError(f"orderlog {args[0]} failed: {' '.join(said)}")
    wall, cpu = said[-1].split()
    return float(wall), float(cpu)


def _child(path: str, db: Path) -> dict[str, Any]:
    """Run one path (`replay` or `verify`) in a child process: its seconds and peak RSS."""
    done = subprocess.run(
        [sys.executable, "-m", "projections.bench", "--child", path, str(db)],
        capture_output=True,
        check=False,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"bench child {path} failed: {done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def child_main(path: str, db: str) -> None:
    """In the child: run the path and print its seconds (wall and CPU, from an opened log)
    and peak RSS as JSON."""
    from .app import READ_MODELS, Orderlog
    from .audit import audit
    from .replay import replay_into

    if path == "replay":
        with Orderlog(db, create=False) as log:
            watch = Stopwatch()
            replay_into(log, None, quiet=True)
            wall, cpu = watch.elapsed()
    elif path == "verify":
        from eventstore import SQLiteEventStore

        store = SQLiteEventStore(db, read_only=True)
        try:
            watch = Stopwatch()
            report = audit(store, store.connection, READ_MODELS)
            wall, cpu = watch.elapsed()
        finally:
            store.close()
        if not report["ok"]:
            raise SystemExit(f"verify found a problem: {report['problem']}")
    else:
        raise SystemExit(f"unknown path {path}")
    peak = round(peak_rss_kib() / 1024, 1)
    print(json.dumps({"seconds": wall, "cpu_seconds": cpu, "peak_rss_mb": peak}))


def peak_rss_kib() -> int:
    """This process's peak resident memory in KiB. On Linux `ru_maxrss` keeps the peak of the
    process before `exec` (here: the benchmark that started the child, with the whole workload
    in memory), so the peak of this program alone is read from /proc (`VmHWM`)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# -- floors ----------------------------------------------------------------------------------

_FLOOR_TABLE = (
    "CREATE TABLE events (position INTEGER PRIMARY KEY, stream_id TEXT NOT NULL, "
    "stream_version INTEGER NOT NULL, type TEXT NOT NULL, schema_version INTEGER NOT NULL, "
    "data TEXT NOT NULL, metadata TEXT NOT NULL, occurred_at TEXT NOT NULL, "
    "recorded_at TEXT NOT NULL, hash TEXT NOT NULL) STRICT"
)
_FLOOR_INDEX = "CREATE UNIQUE INDEX events_stream ON events (stream_id, stream_version)"
_FLOOR_INSERT = "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?)"
_COLUMNS = (
    "position, stream_id, stream_version, type, schema_version, data, metadata, occurred_at, "
    "recorded_at, hash"
)
_SCAN = f"SELECT {_COLUMNS} FROM events ORDER BY position"


def _floor_db(path: Path) -> sqlite3.Connection:
    """A plain SQLite file with the log's table and index, WAL and fsync per commit (as the
    store's default durability)."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(_FLOOR_TABLE)
    conn.execute(_FLOOR_INDEX)
    return conn


def _all_rows(db: Path) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(_SCAN).fetchall()
    finally:
        conn.close()


def write_floor(rows: list[tuple[Any, ...]], spans: list[int], path: Path) -> Timing:
    """The same rows, one transaction (and fsync) per command, as the commands wrote them."""
    conn = _floor_db(path)
    try:
        watch = Stopwatch()
        at = 0
        for count in spans:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(_FLOOR_INSERT, rows[at : at + count])
            conn.execute("COMMIT")
            at += count
        return watch.elapsed()
    finally:
        conn.close()


def import_floor(export: Path, path: Path) -> Timing:
    """Parse the exported lines and insert them with executemany, in one transaction."""
    conn = _floor_db(path)
    try:
        watch = Stopwatch()
        with export.open(encoding="utf-8") as lines:
            rows = []
            for line in lines:
                record = json.loads(line)
                record["data"] = json.dumps(record["data"], sort_keys=True, separators=(",", ":"))
                record["metadata"] = json.dumps(
                    record["metadata"], sort_keys=True, separators=(",", ":")
                )
                rows.append(tuple(record.values()))
        conn.execute("BEGIN IMMEDIATE")
        conn.executemany(_FLOOR_INSERT, rows)
        conn.execute("COMMIT")
        return watch.elapsed()
    finally:
        conn.close()


def scan_floor(db: Path) -> Timing:
    """Scan every row and decode its JSON: what any replay must at least do."""
    conn = sqlite3.connect(db)
    try:
        watch = Stopwatch()
        for row in conn.execute(_SCAN):
            json.loads(row[5])
            json.loads(row[6])
        return watch.elapsed()
    finally:
        conn.close()


def chain_floor(db: Path) -> Timing:
    """Scan every row and recompute the SHA-256 chain: what any verify must at least do."""
    conn = sqlite3.connect(db)
    try:
        watch = Stopwatch()
        previous = "0" * 64
        for row in conn.execute(_SCAN):
            body = json.dumps(list(row[:9]), ensure_ascii=False, separators=(",", ":"))
            digest = hashlib.sha256(previous.encode() + body.encode()).hexdigest()
            if digest != row[9]:
                raise RuntimeError(f"floor: event {row[0]} does not match its hash")
            previous = digest
        return watch.elapsed()
    finally:
        conn.close()


# -- the paths -------------------------------------------------------------------------------


def measure(orders: int, folder: Path, *, compare_eventsourcing: bool = False) -> dict[str, Any]:
    """Every path at one size, each beside its floor; files go to `folder`."""
    from eventstore import SQLiteEventStore
    from eventstore.transfer import export_lines

    from .app import Orderlog

    commands = list(workload(orders))
    api_db, apply_db, import_db = folder / "api.db", folder / "apply.db", folder / "import.db"

    spans: list[int] = []
    outcomes = {"accepted": 0, "declined": 0, "refused": 0}

    def through_api() -> None:
        with Orderlog(api_db) as log:
            for command in commands:
                outcome = log.handle(command)
                spans.append(len(outcome.events))
                kind = "accepted" if outcome.ok else ("declined" if outcome.events else "refused")
                outcomes[kind] += 1

    api_seconds = _timed(through_api)
    rows = _all_rows(api_db)
    grouped = [sum(spans[at : at + GROUP]) for at in range(0, len(spans), GROUP)]
    spans = [count for count in spans if count]
    floor_seconds = write_floor(rows, spans, folder / "floor-write.db")
    batch_db = folder / "batch.db"

    def through_batches() -> None:
        with Orderlog(batch_db) as log:
            for at in range(0, len(commands), GROUP):
                log.handle_batch(commands[at : at + GROUP])

    batch_seconds = _timed(through_batches)
    group_floor_seconds = write_floor(rows, [n for n in grouped if n], folder / "floor-group.db")

    script = folder / "commands.jsonl"
    script.write_text("".join(json.dumps(c) + "\n" for c in commands), encoding="utf-8")
    apply_seconds = _run_cli(["apply", str(script), "--db", str(apply_db)])
    apply_group = ["apply", str(script), "--db", str(folder / "apply-group.db")]
    apply_group_seconds = _run_cli([*apply_group, "--group-commit", str(GROUP)])

    export = folder / "export.jsonl"
    store = SQLiteEventStore(api_db, read_only=True)
    try:
        with export.open("w", encoding="utf-8") as out:
            for line in export_lines(store):
                out.write(line + "\n")
    finally:
        store.close()
    import_seconds = _run_cli(["import", str(export), "--db", str(import_db)])
    import_floor_seconds = import_floor(export, folder / "floor-import.db")

    events = len(rows)
    replays = [_child("replay", api_db) for _ in range(2)]
    verifies = [_child("verify", api_db) for _ in range(2)]
    replay = _best(*((r["seconds"], r["cpu_seconds"]) for r in replays))
    verify = _best(*((v["seconds"], v["cpu_seconds"]) for v in verifies))
    result: dict[str, Any] = {
        "orders": orders,
        "commands": len(commands),
        "events": events,
        "outcomes": outcomes,
        "write_api": _path(len(commands), api_seconds, floor_seconds, "commands"),
        "write_apply": _path(len(commands), apply_seconds, floor_seconds, "commands"),
        "write_batch": _path(len(commands), batch_seconds, group_floor_seconds, "commands"),
        "write_apply_group": _path(
            len(commands), apply_group_seconds, group_floor_seconds, "commands"
        ),
        "import": _path(events, import_seconds, import_floor_seconds, "events"),
        "replay": {
            **_path(events, replay, _best(scan_floor(api_db), scan_floor(api_db)), "events"),
            "peak_rss_mb": max(r["peak_rss_mb"] for r in replays),
        },
        "verify": {
            **_path(events, verify, _best(chain_floor(api_db), chain_floor(api_db)), "events"),
            "peak_rss_mb": max(v["peak_rss_mb"] for v in verifies),
        },
        "status": status_latency(api_db, orders),
    }
    if compare_eventsourcing:
        result["eventsourcing"] = _eventsourcing(rows, spans, folder)
    return result


def status_latency(db: Path, orders: int) -> dict[str, Any]:
    """Milliseconds per `status` lookup through the Python API, over orders spread evenly."""
    from .app import Orderlog

    step = max(1, orders // STATUS_LOOKUPS)
    picked = [order_id(n) for n in range(0, orders, step)][:STATUS_LOOKUPS]
    seconds = []
    as_of = START + timedelta(days=30)
    with Orderlog(db, read_only=True) as log:
        log.status(picked[0], as_of)  # the first opens the read models
        for oid in picked:
            started = time.perf_counter()
            log.status(oid, as_of)
            seconds.append(time.perf_counter() - started)
    seconds.sort()
    return {
        "lookups": len(seconds),
        "p50_ms": round(1000 * seconds[len(seconds) // 2], 3),
        "p99_ms": round(1000 * seconds[min(len(seconds) - 1, int(len(seconds) * 0.99))], 3),
    }


def _eventsourcing(rows: list[tuple[Any, ...]], spans: list[int], folder: Path) -> dict[str, Any]:
    """The eventsourcing library on SQLite, side by side: one aggregate per order holding the
    same events; per command it loads the aggregate, records the command's events and saves
    (one transaction); replay reads every stored event and folds it into its aggregate."""
    from . import bench_eventsourcing

    return bench_eventsourcing.run(rows, spans, folder)


def _growth(small: dict[str, Any], large: dict[str, Any]) -> dict[str, Any]:
    """How many times the time grew for 10x the work, per path (10.0 = linear), by wall time
    and by CPU time."""
    grown: dict[str, Any] = {}
    for key in _LABELS:
        work = large[key]["count"] / small[key]["count"]
        for measure, suffix in (("seconds", ""), ("cpu_seconds", "_cpu")):
            before, after = small[key][measure], large[key][measure]
            grown[key + suffix] = round(after / before * (GROWTH / work), 2) if before else None
    return grown


def run(orders: int, *, skip_growth: bool, compare_eventsourcing: bool) -> dict[str, Any]:
    """The whole benchmark: the default size, then 10x (unless skipped), with growth."""
    with tempfile.TemporaryDirectory(prefix="orderlog-bench-") as root:
        base = Path(root)
        (base / "1x").mkdir()
        result: dict[str, Any] = {
            "machine": machine(),
            "sizes": [measure(orders, base / "1x", compare_eventsourcing=compare_eventsourcing)],
        }
        if not skip_growth:
            (base / "10x").mkdir()
            for leftover in (base / "1x").iterdir():
                leftover.unlink()
            large = measure(
                orders * GROWTH, base / "10x", compare_eventsourcing=compare_eventsourcing
            )
            result["sizes"].append(large)
            result["growth"] = _growth(result["sizes"][0], large)
    return result


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "platform": sys.platform,
    }


# -- output ----------------------------------------------------------------------------------

_LABELS = {
    "write_api": "write, Orderlog.handle (cmd/s)",
    "write_apply": "write, orderlog apply (cmd/s)",
    "write_batch": f"group commit, handle_batch x{GROUP}",
    "write_apply_group": f"group commit, apply x{GROUP}",
    "import": "import (ev/s)",
    "replay": "replay (ev/s)",
    "verify": "verify (ev/s)",
}


def table(result: dict[str, Any]) -> str:
    """The figures as a plain-text table, one block per size."""
    out = []
    for size in result["sizes"]:
        out.append(
            f"{size['orders']} orders, {size['commands']} commands, {size['events']} events "
            f"(accepted {size['outcomes']['accepted']}, declined {size['outcomes']['declined']}, "
            f"refused {size['outcomes']['refused']})"
        )
        out.append(
            f"  {'path':34} {'orderlog':>10} {'floor':>10} {'vs floor':>9} {'(CPU)':>7} "
            f"{'RSS MB':>7}"
        )
        for key, label in _LABELS.items():
            path = size[key]
            rss = f"{path['peak_rss_mb']:>7}" if "peak_rss_mb" in path else ""
            out.append(
                f"  {label:34} {path['per_second']:>10.0f} {path['floor_per_second']:>10.0f} "
                f"{path['vs_floor']:>9.3f} {path['vs_floor_cpu']:>7.3f} {rss}"
            )
        status = size["status"]
        out.append(f"  status lookup: p50 {status['p50_ms']} ms, p99 {status['p99_ms']} ms")
        anchor = size.get("eventsourcing")
        if anchor:
            write = size["write_api"]["per_second"] / anchor["write_per_second"]
            batch = size["write_batch"]["per_second"] / anchor["write_per_second"]
            apply = size["write_apply_group"]["per_second"] / anchor["write_per_second"]
            replay = size["replay"]["per_second"] / anchor["replay_per_second"]
            replay_cpu = anchor["replay_cpu_seconds"] / size["replay"]["cpu_seconds"]
            out.append(
                f"  eventsourcing {anchor['version']}: write {anchor['write_per_second']:.0f} "
                f"cmd/s (orderlog handle x{write:.2f}, handle_batch x{batch:.2f}, apply "
                f"--group-commit x{apply:.2f}), replay "
                f"{anchor['replay_per_second']:.0f} ev/s (orderlog x{replay:.2f}, "
                f"CPU x{replay_cpu:.2f})"
            )
    if "growth" in result:
        grown = ", ".join(
            f"{key} {value}x" for key, value in result["growth"].items() if "_cpu" not in key
        )
        out.append(f"time for {GROWTH}x the work: {grown}")
    machine_ = result["machine"]
    out.append(
        f"machine: {machine_['cpus']} CPUs, Python {machine_['python']}, "
        f"SQLite {machine_['sqlite']}"
    )
    return "\n".join(out)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child_main(sys.argv[2], sys.argv[3])
    else:
        raise SystemExit("run `orderlog bench`")
