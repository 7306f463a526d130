"""`orderlog bench --postgres DSN`: commands per second with 1 and 4 writer processes on a
PostgreSQL log, beside a SQLite file with the same writers and a floor, all in one run.

Each writer process opens its own `Orderlog` and handles its share of the bench workload (whole
orders, `n % writers == writer`) through the service, as a fulfilment host would; the rate is
every command over the wall time from the moment all writers are ready to the last one done. The
floor is the same events inserted into a plain PostgreSQL table (the same columns and keys, no
triggers, no lock, no checks) by one connection, one transaction per command: the least a
database round trip per command costs. Logs go to a schema of their own, dropped afterwards.

    orderlog bench --skip-10x --postgres postgresql://postgres@127.0.0.1:5432/test
    python -m projections.bench_postgres postgresql://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import multiprocessing
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

WRITER_COUNTS = (1, 4)


def _writer(target: str, writer: int, writers: int, orders: int, ready: Any, out: Any) -> None:
    """One writer process: its orders' commands through `Orderlog.handle`, timed from the
    moment every writer is ready; puts (started, finished, commands, events per command)."""
    from .app import Orderlog
    from .bench import order_commands

    mine = [c for n in range(writer, orders, writers) for c in order_commands(n)]
    spans = []
    with Orderlog(target) as log:
        log.store.head()  # connected and migrated before the clock starts
        ready.wait(timeout=300)
        started = time.time()
        for command in mine:
            spans.append(len(log.handle(command).events))
        finished = time.time()
    out.put((started, finished, len(mine), spans))


def writers_rate(target: str, writers: int, orders: int) -> tuple[float, list[int]]:
    """Commands per second of `writers` processes on the log `target`, and (for one writer)
    how many events each command wrote."""
    context = multiprocessing.get_context("spawn")
    ready, out = context.Barrier(writers), context.Queue()
    processes = [
        context.Process(target=_writer, args=(target, n, writers, orders, ready, out))
        for n in range(writers)
    ]
    for process in processes:
        process.start()
    results = [out.get(timeout=1800) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        if process.exitcode != 0:
            raise RuntimeError(f"a bench writer failed (exit {process.exitcode})")
    started = min(r[0] for r in results)
    finished = max(r[1] for r in results)
    commands = sum(r[2] for r in results)
    spans = [count for r in results for count in r[3]]
    return commands / max(finished - started, 1e-9), spans


def _schema_dsn(dsn: str, schema: str) -> str:
    from eventstore.postgres import split_dsn

    plain, _ = split_dsn(dsn)
    return f"{plain}{'&' if '?' in plain else '?'}schema={schema}"


def _drop(dsn: str, schema: str) -> None:
    import psycopg

    from eventstore.postgres import split_dsn

    with psycopg.connect(split_dsn(dsn)[0], autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def postgres_floor(dsn: str, schema: str, source: Path, spans: list[int]) -> float:
    """Commands per second inserting the events of the log at `source` into a plain table,
    one transaction per command (`spans`: events per command, in order)."""
    import psycopg

    from eventstore.postgres import split_dsn

    from .bench import _all_rows

    rows = _all_rows(source)
    spans = [count for count in spans if count]
    with psycopg.connect(split_dsn(dsn)[0], autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
        conn.execute(
            f"CREATE TABLE {schema}.events (position bigint PRIMARY KEY, stream_id text NOT NULL, "
            "stream_version bigint NOT NULL, type text NOT NULL, schema_version bigint NOT NULL, "
            "data text NOT NULL, metadata text NOT NULL, occurred_at text NOT NULL, "
            "recorded_at text NOT NULL, hash text NOT NULL, mac text, "
            "UNIQUE (stream_id, stream_version))"
        )
        insert = f"INSERT INTO {schema}.events VALUES ({', '.join(['%s'] * 11)})"
        started = time.perf_counter()
        at = 0
        for count in spans:
            with conn.transaction():
                conn.cursor().executemany(insert, [(*row, None) for row in rows[at : at + count]])
            at += count
        seconds = time.perf_counter() - started
    return len(spans) / max(seconds, 1e-9)


def run(dsn: str, orders: int) -> dict[str, Any]:
    """The whole comparison at one size: SQLite and PostgreSQL with each writer count, and the
    PostgreSQL floor."""
    tag = uuid.uuid4().hex[:8]
    result: dict[str, Any] = {"orders": orders, "commands": 0, "sqlite": {}, "postgres": {}}
    schemas = [f"orderlog_bench_{tag}_{n}" for n in WRITER_COUNTS] + [f"orderlog_bench_{tag}_f"]
    with tempfile.TemporaryDirectory(prefix="orderlog-bench-pg-") as folder:
        spans: list[int] = []
        try:
            for writers, schema in zip(WRITER_COUNTS, schemas, strict=False):
                db = Path(folder) / f"sqlite-{writers}.db"
                rate, these = writers_rate(str(db), writers, orders)
                result["sqlite"][str(writers)] = round(rate, 1)
                if writers == 1:
                    spans = these
                    result["commands"] = len(these)
                rate, _ = writers_rate(_schema_dsn(dsn, schema), writers, orders)
                result["postgres"][str(writers)] = round(rate, 1)
            floor = postgres_floor(dsn, schemas[-1], Path(folder) / "sqlite-1.db", spans)
        finally:
            for schema in schemas:
                _drop(dsn, schema)
    result["postgres_floor"] = round(floor, 1)
    pg, lite = result["postgres"], result["sqlite"]
    result["ratios"] = {
        "postgres_vs_floor_1": round(pg["1"] / floor, 3),
        "postgres_vs_sqlite_1": round(pg["1"] / lite["1"], 3),
        "postgres_vs_sqlite_4": round(pg["4"] / lite["4"], 3),
        "postgres_4_vs_1": round(pg["4"] / pg["1"], 3),
        "sqlite_4_vs_1": round(lite["4"] / lite["1"], 3),
    }
    return result


def table(result: dict[str, Any]) -> str:
    """The figures as plain text."""
    pg, lite, ratios = result["postgres"], result["sqlite"], result["ratios"]
    lines = [
        f"writers: {result['orders']} orders, {result['commands']} commands (cmd/s, one run)",
        f"  {'writer processes':18} {'SQLite':>9} {'PostgreSQL':>11} {'PG/SQLite':>10}",
    ]
    for count in WRITER_COUNTS:
        key = str(count)
        lines.append(
            f"  {count:<18} {lite[key]:>9.0f} {pg[key]:>11.0f} "
            f"{ratios[f'postgres_vs_sqlite_{count}']:>10.3f}"
        )
    lines.append(
        f"  PostgreSQL floor (plain INSERTs, 1 connection): {result['postgres_floor']:.0f} cmd/s; "
        f"orderlog at {ratios['postgres_vs_floor_1']:.3f} of it with 1 writer"
    )
    lines.append(
        f"  4 writers vs 1: PostgreSQL x{ratios['postgres_4_vs_1']:.2f}, "
        f"SQLite x{ratios['sqlite_4_vs_1']:.2f}"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        raise SystemExit("usage: python -m projections.bench_postgres DSN [ORDERS]")
    print(table(run(sys.argv[1], int(sys.argv[2]) if len(sys.argv) == 3 else 300)))
