"""No skipped events on PostgreSQL: several writer processes append at once while a follower
tails the log; the follower sees every position exactly once, in order, with no gap, and no
writer's append fails for a position another writer took.

Appends are serialised by the log's advisory lock (docs/decisions.md, "No skipped events on
PostgreSQL"). With the lock turned off (`PostgresEventStore._serialise_appends = False`) writers
read the same head, collide on the position key and fail with `concurrency_conflict`: this test
fails then."""

from __future__ import annotations

import multiprocessing
import time

from eventstore import ANY_VERSION, ConcurrencyConflict
from eventstore.postgres import PostgresEventStore
from tests.integration.store_contract import event
from tests.pg import DSN, fresh_schema, needs_postgres, with_schema

pytestmark = needs_postgres

WRITERS = 4
PER_WRITER = 60


def _write(dsn: str, writer: int, count: int, serialise: bool) -> list[str]:
    """Append `count` events, each alone, mostly to the writer's own stream (any version), every
    fifth to a shared stream at its expected version (a lost race there is fair and retried).
    Returns the conflicts seen on its own stream, which only a position collision can cause."""
    PostgresEventStore._serialise_appends = serialise
    store = PostgresEventStore(dsn, busy_timeout=30)
    unfair: list[str] = []
    try:
        for n in range(count):
            if n % 5 == 0:
                while True:
                    try:
                        version = store.stream_version("shared")
                        store.append("shared", [event(n=n, writer=writer)], version)
                        break
                    except ConcurrencyConflict as conflict:
                        if conflict.stream_id != "shared":
                            unfair.append(conflict.message)
                            break
                continue
            try:
                store.append(f"writer-{writer}", [event(n=n)], ANY_VERSION)
            except ConcurrencyConflict as conflict:
                unfair.append(conflict.message)
    finally:
        store.close()
    return unfair


def follow(dsn: str, total: int, quiet: float) -> list[int]:
    """Tail the log as a catch-up reader does (everything after the last position seen),
    until `total` events are seen, or nothing new came for `quiet` seconds after the first
    (at most two minutes in all). Returns the positions in the order seen."""
    store = PostgresEventStore(dsn, read_only=True)
    seen: list[int] = []
    last_news = deadline = time.monotonic() + 120  # the writers may take a while to start
    try:
        while len(seen) < total and time.monotonic() < min(deadline, last_news + quiet):
            after = seen[-1] if seen else 0
            batch = [e.position for e in store.read_all(after + 1)]
            seen.extend(batch)
            if batch:
                last_news = time.monotonic()
            else:
                time.sleep(0.002)
    finally:
        store.close()
    return seen


def run(serialise: bool) -> tuple[list[list[str]], list[int], list[int]]:
    """Writers and a follower at once; (each writer's unfair conflicts, positions the follower
    saw, positions in the log)."""
    with fresh_schema() as schema:
        dsn = with_schema(DSN, schema)
        PostgresEventStore(dsn).close()
        context = multiprocessing.get_context("spawn")
        with context.Pool(WRITERS + 1) as pool:
            follower = pool.apply_async(follow, (dsn, WRITERS * PER_WRITER, 10))
            writers = [
                pool.apply_async(_write, (dsn, n, PER_WRITER, serialise)) for n in range(WRITERS)
            ]
            unfair = [job.get(timeout=180) for job in writers]
            seen = follower.get(timeout=180)
        store = PostgresEventStore(dsn, read_only=True)
        try:
            logged = [e.position for e in store.read_all()]
            assert store.verify().ok
        finally:
            store.close()
    return unfair, seen, logged


def test_concurrent_writers_never_make_a_follower_skip_an_event() -> None:
    unfair, seen, logged = run(serialise=True)
    total = WRITERS * PER_WRITER
    assert unfair == [[]] * WRITERS, "an append failed for a position another writer took"
    assert logged == list(range(1, total + 1))
    assert seen == logged, "the follower skipped, doubled or reordered an event"
