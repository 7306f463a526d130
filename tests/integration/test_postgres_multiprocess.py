"""Several hosts on one PostgreSQL log (issue 13.6): 4 writer processes issue the commands of 16
orders phase by phase, each phase's commands spread over the writers so every order is written
by all of them, while a follower process projects the log into a local read database. The read
models end equal to those of a single-process run of the same commands, and the follower applied
every event: none skipped."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eventstore.postgres import PostgresEventStore
from projections.app import Orderlog
from projections.framework import fetch_dicts
from projections.replay import follow_into, open_read_db, summarise
from tests.integration.workloads import place, returned_serum, step
from tests.pg import DSN, fresh_schema, needs_postgres, with_schema

pytestmark = needs_postgres

WRITERS = 4
ORDERS = 16
AS_OF = datetime(2026, 6, 1, tzinfo=UTC)


def phases() -> list[list[dict[str, Any]]]:
    """The commands of every order, one list per phase; within a phase they commute."""
    orders = [f"m{n:02}" for n in range(ORDERS)]
    per_order = {
        order: [
            place(order),
            step("dispatch_order", order, 0.5, carrier="post"),
            step("confirm_delivery", order, 2),
            *returned_serum(order, 5),
            step("issue_refund", order, 12, return_id="r1", payment_reference=f"pay-{order}"),
        ]
        for order in orders
    }
    count = len(per_order[orders[0]])
    return [
        [{**per_order[order][phase], "command_id": f"{order}-{phase}"} for order in orders]
        for phase in range(count)
    ]


def _write(dsn: str, writer: int, barrier: Any) -> list[str]:
    """Handle this writer's share of every phase, waiting for the others between phases.
    Returns what went wrong (commands not accepted)."""
    wrong: list[str] = []
    with Orderlog(dsn) as log:
        for number, phase in enumerate(phases()):
            for index, command in enumerate(phase):
                if (index + number) % WRITERS != writer:
                    continue
                outcome = log.handle(command)
                if not outcome.ok:
                    wrong.append(f"{command['command_id']}: {outcome.error}")
            barrier.wait(timeout=120)
    return wrong


def _follow(dsn: str, into: str, total: int) -> list[tuple[int, int]]:
    """Project the log into `into` until its read models reach `total` (or 120 s pass)."""
    import time

    store = PostgresEventStore(dsn, read_only=True)
    seen: list[tuple[int, int]] = []
    deadline = time.monotonic() + 120
    try:
        for applied, checkpoint in follow_into(store, Path(into), follow=True, interval=0.2):
            seen.append((applied, checkpoint))
            if checkpoint >= total or time.monotonic() > deadline:
                break
    finally:
        store.close()
    return seen


def _models(conn: Any) -> dict[str, Any]:
    """What the read models say, leaving out where in the log each row was last changed."""
    orders = fetch_dicts(conn, "SELECT * FROM orders ORDER BY order_id")
    for row in orders:
        del row["last_position"]
    return {"summary": summarise(conn, AS_OF), "orders": orders}


def test_four_writer_processes_and_a_follower_match_a_single_process_run(tmp_path: Path) -> None:
    with Orderlog(tmp_path / "single.db") as single:
        for phase in phases():
            for command in phase:
                assert single.handle(command).ok, command
        total = single.store.head().position
        expected = _models(single.read_models())
    with fresh_schema("mp") as schema:
        dsn = with_schema(DSN, schema)
        PostgresEventStore(dsn).close()
        into = tmp_path / "read.db"
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(WRITERS)
        with context.Pool(WRITERS + 1) as pool:
            follower = pool.apply_async(_follow, (dsn, str(into), total))
            writers = [
                context.Process(target=_run_writer, args=(dsn, n, barrier, tmp_path))
                for n in range(WRITERS)
            ]
            for process in writers:
                process.start()
            for process in writers:
                process.join(timeout=300)
            seen = follower.get(timeout=180)
        for n in range(WRITERS):
            assert (tmp_path / f"writer-{n}.txt").read_text() == "", f"writer {n}"
        store = PostgresEventStore(dsn, read_only=True)
        try:
            assert store.head().position == total
            assert store.verify().ok
        finally:
            store.close()
    assert seen[-1][1] == total
    assert sum(applied for applied, _ in seen) == total, "the follower skipped an event"
    conn = open_read_db(into)
    try:
        assert _models(conn) == expected
    finally:
        conn.close()


def _run_writer(dsn: str, writer: int, barrier: Any, folder: Path) -> None:
    """A writer process: its problems (none, if all is well) go to a file the test reads."""
    try:
        wrong = _write(dsn, writer, barrier)
    except Exception as error:
        wrong = [f"{type(error).__name__}: {error}"]
    (folder / f"writer-{writer}.txt").write_text("\n".join(wrong))
