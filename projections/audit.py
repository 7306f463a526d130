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

import cattrs

from eventstore import EventStore, HeadDigest, InvalidAppend, Problem, RecordedEvent
from lifecycle import events as ev
from lifecycle.envelopes import from_recorded, order_stream, policy_stream, subscription_stream
from lifecycle.errors import IllegalTransition, InvalidPolicy
from lifecycle.order import evolve
from lifecycle.policy_files import parse_policy
from lifecycle.subscriptions import evolve_subscription

from .framework import CHECKPOINTS, Projection, catch_up, lowest_checkpoint

Advance = Callable[[int], None]
"""Told how many more events a check has read (for a progress bar)."""

NOT_KEPT = "none kept in this database"
"""The read-model verdict for a log whose database holds no read models (PostgreSQL)."""


def audit(
    store: EventStore,
    conn: sqlite3.Connection | None,
    projections: Sequence[Projection],
    digest: HeadDigest | None = None,
    advance: Advance | None = None,
) -> dict[str, Any]:
    """Run every check; returns the report as data (`ok`, `problem`, what each check found).

    The problem reported is the log's earliest (chain or path), else the read models'. Each
    check reads every event once: `advance(n)` is told of them (for a bar over three times
    the log's length). Without `conn` (a log whose database keeps no read models) the read
    models are not checked."""
    step = advance or _quiet
    chain = store.verify(digest)
    step(chain.checked)
    paths = first_illegal_step(store, step)
    models = None if conn is None else read_model_problem(store, conn, projections, step)
    # The log's own problems come first: read models cannot follow a broken log anyway.
    problems = [p for p in (chain.problem, paths) if p is not None]
    first = min(problems, key=lambda p: p.position) if problems else models
    return {
        "ok": first is None,
        "checked": chain.checked,
        "head": str(store.head()),
        "problem": None if first is None else _as_dict(first),
        "checks": {
            "chain": _verdict(chain.problem),
            "paths": _verdict(paths),
            "read_models": NOT_KEPT if conn is None else _verdict(models),
        },
    }


def first_illegal_step(store: EventStore, advance: Advance | None = None) -> Problem | None:
    """The earliest event that no legal path through the machines allows (or cannot be read)."""
    found: list[Problem] = []
    for stream_id in store.stream_ids():
        state: Any = None
        stream = store.read_stream(stream_id)
        (advance or _quiet)(len(stream))
        for envelope in stream:
            try:
                state = fold_step(state, envelope)
            except _ILLEGAL as error:
                found.append(_illegal(envelope, error))
                break
    return min(found, key=lambda p: p.position) if found else None


class PathCheck:
    """For `import`: refuses (`InvalidAppend`) the first event that breaks its stream's path.

    Streams the log already has start from their recorded state."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.states: dict[str, Any] = {}

    def __call__(self, envelope: RecordedEvent) -> None:
        stream = envelope.stream_id
        if stream not in self.states:
            self.states[stream] = None
            for earlier in self.store.read_stream(stream):
                self.states[stream] = fold_step(self.states[stream], earlier)
        try:
            self.states[stream] = fold_step(self.states[stream], envelope)
        except _ILLEGAL as error:
            raise InvalidAppend(_illegal(envelope, error).message) from None


def fold_step(state: Any, envelope: RecordedEvent) -> Any:
    """One more event of a stream through its machine (order, subscription or policy); the
    event must belong to the stream it is in."""
    event = from_recorded(envelope)
    if envelope.stream_id != home_stream(event):
        raise TypeError(f"{envelope.type} of {home_stream(event)} is in {envelope.stream_id}")
    if isinstance(event, ev.OrderEvent):
        return evolve(state, event)
    if isinstance(event, ev.SubscriptionEvent):
        return evolve_subscription(state, event)
    if isinstance(event, ev.PolicyRecorded):
        if parse_policy(event.text, event.source).version != event.version:
            raise ValueError(f"the text of {event.name} does not hash to {event.version}")
        return state
    raise TypeError(f"{envelope.type} does not belong in stream {envelope.stream_id}")


def home_stream(event: ev.Event) -> str:
    """The stream an event belongs in."""
    if isinstance(event, ev.OrderEvent):
        return order_stream(event.order_id)
    if isinstance(event, ev.SubscriptionEvent):
        return subscription_stream(event.subscription_id)
    if isinstance(event, ev.PolicyRecorded):
        return policy_stream(event.name)
    return ""


# What a bad event raises: a forbidden step, an unreadable policy, or data that does not decode.
_ILLEGAL = (
    IllegalTransition,
    InvalidPolicy,
    TypeError,
    ValueError,
    KeyError,
    cattrs.BaseValidationError,
)


def _illegal(envelope: RecordedEvent, error: Exception) -> Problem:
    message = getattr(error, "message", None) or str(error)
    return Problem(
        envelope.position,
        "illegal_path",
        f"event {envelope.position} ({envelope.type} in {envelope.stream_id}): {message}",
    )


def read_model_problem(
    store: EventStore,
    conn: sqlite3.Connection,
    projections: Sequence[Projection],
    advance: Advance | None = None,
) -> Problem | None:
    """Whether the read models in `conn` are current and equal to a fresh replay of the log."""
    head = store.head().position
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    if CHECKPOINTS not in tables:
        if head == 0:
            return None  # a log created but never written to: nothing to model yet
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
            catch_up(store, fresh, projections, progress=advance)
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


def _quiet(count: int) -> None:
    """No progress bar."""


def _verdict(problem: Problem | None) -> str:
    return "ok" if problem is None else problem.message


def _as_dict(problem: Problem) -> dict[str, Any]:
    return {"position": problem.position, "kind": problem.kind, "message": problem.message}
