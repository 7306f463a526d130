"""The auditor's check (`orderlog verify`): the hash chain, positions and stream versions; every
stream a legal path through the machines; and the read models equal to a fresh replay.

It reads only: nothing in the file is changed. The first problem (by position) is reported.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from eventstore import EventStore, HeadDigest, Problem, RecordedEvent
from lifecycle import events as ev
from lifecycle.envelopes import from_recorded
from lifecycle.errors import IllegalTransition, InvalidPolicy
from lifecycle.order import Order, evolve
from lifecycle.policy_files import parse_policy
from lifecycle.subscriptions import Subscription, evolve_subscription

from .framework import CHECKPOINTS, Projection, catch_up, lowest_checkpoint


def audit(
    store: EventStore,
    conn: sqlite3.Connection,
    projections: Sequence[Projection],
    digest: HeadDigest | None = None,
) -> dict[str, Any]:
    """Run every check; returns the report as data (`ok`, `problem`, what each check found)."""
    chain = store.verify(digest)
    paths = first_illegal_step(store)
    models = read_model_problem(store, conn, projections)
    problems = [p for p in (chain.problem, paths, models) if p is not None]
    first = min(problems, key=lambda p: p.position) if problems else None
    return {
        "ok": first is None,
        "checked": chain.checked,
        "head": str(store.head()),
        "problem": None if first is None else _as_dict(first),
        "checks": {
            "chain": _verdict(chain.problem),
            "paths": _verdict(paths),
            "read_models": _verdict(models),
        },
    }


def first_illegal_step(store: EventStore) -> Problem | None:
    """The earliest event that no legal path through the machines allows (or cannot be read)."""
    found: list[Problem] = []
    for stream_id in store.stream_ids():
        kind = stream_id.split("-", 1)[0]
        checker = _CHECKERS.get(kind)
        events = store.read_stream(stream_id)
        if checker is None:
            found.append(
                Problem(
                    events[0].position,
                    "unknown_stream",
                    f"stream {stream_id} is not an orderlog stream",
                )
            )
            continue
        problem = checker(events)
        if problem is not None:
            found.append(problem)
    return min(found, key=lambda p: p.position) if found else None


def _check_order(events: list[RecordedEvent]) -> Problem | None:
    order: Order | None = None
    for envelope in events:
        try:
            event = from_recorded(envelope)
            if not isinstance(event, ev.OrderEvent):
                raise TypeError(f"{envelope.type} does not belong in an order stream")
            order = evolve(order, event)
        except (IllegalTransition, TypeError, ValueError, KeyError) as error:
            return _illegal(envelope, error)
    return None


def _check_subscription(events: list[RecordedEvent]) -> Problem | None:
    subscription: Subscription | None = None
    for envelope in events:
        try:
            event = from_recorded(envelope)
            if not isinstance(event, ev.SubscriptionEvent):
                raise TypeError(f"{envelope.type} does not belong in a subscription stream")
            subscription = evolve_subscription(subscription, event)
        except (IllegalTransition, TypeError, ValueError, KeyError) as error:
            return _illegal(envelope, error)
    return None


def _check_policy(events: list[RecordedEvent]) -> Problem | None:
    for envelope in events:
        try:
            event = from_recorded(envelope)
            if not isinstance(event, ev.PolicyRecorded):
                raise TypeError(f"{envelope.type} does not belong in a policy stream")
            if parse_policy(event.text, event.source).version != event.version:
                raise ValueError(f"the text of {event.name} does not hash to {event.version}")
        except (InvalidPolicy, TypeError, ValueError, KeyError) as error:
            return _illegal(envelope, error)
    return None


_CHECKERS: dict[str, Callable[[list[RecordedEvent]], Problem | None]] = {
    "order": _check_order,
    "subscription": _check_subscription,
    "policy": _check_policy,
}


def _illegal(envelope: RecordedEvent, error: Exception) -> Problem:
    message = getattr(error, "message", None) or str(error)
    return Problem(
        envelope.position,
        "illegal_path",
        f"event {envelope.position} ({envelope.type} in {envelope.stream_id}): {message}",
    )


def read_model_problem(
    store: EventStore, conn: sqlite3.Connection, projections: Sequence[Projection]
) -> Problem | None:
    """Whether the read models in `conn` are current and equal to a fresh replay of the log."""
    head = store.head().position
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if CHECKPOINTS not in tables:
        return Problem(
            head, "read_models_missing", "the file has no read models: run `orderlog replay`"
        )
    at = lowest_checkpoint(conn, projections)
    if at != head:
        return Problem(
            min(at + 1, head),
            "read_models_behind",
            f"the read models stop at position {at} and the log at {head}: run `orderlog replay`",
        )
    with tempfile.TemporaryDirectory(prefix="orderlog-verify-") as folder:
        path = str(Path(folder) / "replay.db")
        fresh = sqlite3.connect(path, isolation_level=None)
        try:
            catch_up(store, fresh, projections)
        finally:
            fresh.close()
        conn.execute("ATTACH DATABASE ? AS fresh", (path,))
        try:
            return _first_difference(conn, projections, head)
        finally:
            conn.execute("DETACH DATABASE fresh")


def _first_difference(
    conn: sqlite3.Connection, projections: Sequence[Projection], head: int
) -> Problem | None:
    """Compare each read-model table with its fresh twin, both ways, inside SQLite."""
    for projection in projections:
        for table in projection.tables:
            for left, right in (
                (f"main.{table}", f"fresh.{table}"),
                (f"fresh.{table}", f"main.{table}"),
            ):
                extra = conn.execute(
                    f"SELECT * FROM {left} EXCEPT SELECT * FROM {right} LIMIT 1"
                ).fetchone()
                if extra is not None:
                    where = "the file" if left.startswith("main") else "a fresh replay"
                    return Problem(
                        head,
                        "read_model_mismatch",
                        f"read model {table} differs from a fresh replay of the log: "
                        f"{where} has {extra!r}",
                    )
    return None


def _verdict(problem: Problem | None) -> str:
    return "ok" if problem is None else problem.message


def _as_dict(problem: Problem) -> dict[str, Any]:
    return {"position": problem.position, "kind": problem.kind, "message": problem.message}
