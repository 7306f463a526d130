"""Replay properties over generated workloads: a full replay equals the live read models, and an
as-of replay equals the live read models of a log that stopped at that time."""

from __future__ import annotations

import sqlite3
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.registry import PolicyRegistry
from lifecycle.testing import valid_commands
from projections.app import READ_MODELS, Orderlog
from projections.replay import replay_into

REGISTRY = PolicyRegistry.shipped()
POLICIES = [REGISTRY.current(name) for name in REGISTRY.names()]


def workloads() -> st.SearchStrategy[list[dict[str, Any]]]:
    """Commands for two shops at once, interleaved by time (ids kept apart by prefixes)."""
    return st.tuples(st.sampled_from(POLICIES), st.sampled_from(POLICIES), st.booleans()).flatmap(
        lambda picked: st.tuples(
            valid_commands(picked[0], orders=3, steps=25, prefix="a-", refusals=picked[2]),
            valid_commands(picked[1], orders=2, steps=15, prefix="b-"),
        ).map(
            lambda pair: sorted([*pair[0], *pair[1]], key=lambda c: datetime.fromisoformat(c["at"]))
        )
    )


def snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
        for projection in READ_MODELS
        for table in projection.tables
    }


def run(path: Path, commands: list[dict[str, Any]]) -> Orderlog:
    log = Orderlog(path, policies=REGISTRY)
    for command in commands:
        log.handle(command)
    return log


@settings(max_examples=25)
@given(workloads())
def test_a_full_replay_equals_the_live_read_models(commands: list[dict[str, Any]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        log = run(Path(folder) / "live.db", commands)
        try:
            live = snapshot(log.conn)
            replay_into(log, Path(folder) / "replayed.db", quiet=True)
            replayed = sqlite3.connect(Path(folder) / "replayed.db")
            assert snapshot(replayed) == live
            replayed.close()
            replay_into(log, None, quiet=True)  # in place
            assert snapshot(log.conn) == live
        finally:
            log.close()


@settings(max_examples=15)
@given(workloads(), st.floats(min_value=0.1, max_value=0.9))
def test_an_as_of_replay_shows_the_log_as_it_was(
    commands: list[dict[str, Any]], fraction: float
) -> None:
    times = [datetime.fromisoformat(c["at"]) for c in commands]
    cut = times[0] + (times[-1] - times[0]) * fraction
    earlier = [c for c, moment in zip(commands, times, strict=True) if moment <= cut]
    with tempfile.TemporaryDirectory() as folder:
        full = run(Path(folder) / "full.db", commands)
        then = run(Path(folder) / "then.db", earlier)
        try:
            replay_into(full, Path(folder) / "as-of.db", as_of=cut, quiet=True)
            as_of = sqlite3.connect(Path(folder) / "as-of.db")
            expected = snapshot(then.conn)
            # Positions and checkpoints differ between the two logs; the facts must not.
            assert _without_positions(snapshot(as_of)) == _without_positions(expected)
            as_of.close()
        finally:
            full.close()
            then.close()


def _without_positions(tables: dict[str, list[tuple[Any, ...]]]) -> dict[str, Any]:
    """Drop the columns that record log positions (they depend on what else the log holds)."""
    out: dict[str, Any] = {}
    for name, rows in tables.items():
        # orders ends with last_position, declines with the decline's own position.
        if name in ("orders", "declines"):
            out[name] = sorted((row[:-1] for row in rows), key=repr)
        else:
            out[name] = rows
    return out
