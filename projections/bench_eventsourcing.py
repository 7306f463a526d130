"""The eventsourcing library as an anchor for `orderlog bench --compare-eventsourcing`.

One aggregate per order holding the very events orderlog wrote. Writing: per command, load the
order's aggregate from the database (or create it), trigger the command's events and save them
in one transaction. Replay: read every stored event in order, decode it and fold it into its
aggregate. Needs the `bench` extra (`pip install 'orderlog[bench]'`).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

_NAMESPACE = uuid.UUID("6f726465-726c-6f67-2d62-656e63680000")
_BATCH = 1000


class BenchOrder(Aggregate):
    """An order as an aggregate: it only keeps what its events say (no decisions)."""

    @event("Started")
    def __init__(self, stream: str, kind: str, data: dict[str, Any]) -> None:
        self.stream = stream
        self.facts: dict[str, Any] = {kind: data}
        self.count = 1

    @classmethod
    def create_id(cls, stream: str, kind: str, data: dict[str, Any]) -> uuid.UUID:
        return uuid.uuid5(_NAMESPACE, stream)

    @event("Happened")
    def happened(self, kind: str, data: dict[str, Any]) -> None:
        self.facts[kind] = data
        self.count += 1


class BenchApplication(Application[uuid.UUID]):
    is_snapshotting_enabled = False


def run(rows: list[tuple[Any, ...]], spans: list[int], folder: Path) -> dict[str, Any]:
    """Write the rows command by command, then replay them; seconds and rates of each."""
    env = {"PERSISTENCE_MODULE": "eventsourcing.sqlite", "SQLITE_DBNAME": str(folder / "es.db")}
    saved = {key: os.environ.pop(key) for key in list(os.environ) if key in env}
    try:
        app = BenchApplication(env=env)
        started = time.perf_counter(), time.process_time()
        _write(app, rows, spans)
        written = time.perf_counter(), time.process_time()
        folded = _replay(app)
        replayed = time.perf_counter(), time.process_time()
    finally:
        os.environ.update(saved)
    if folded != len(rows):
        raise RuntimeError(f"eventsourcing replay folded {folded} events of {len(rows)}")
    return {
        "version": _version(),
        "commands": len(spans),
        "events": len(rows),
        "write_seconds": round(written[0] - started[0], 4),
        "write_cpu_seconds": round(written[1] - started[1], 4),
        "write_per_second": round(len(spans) / (written[0] - started[0]), 1),
        "replay_seconds": round(replayed[0] - written[0], 4),
        "replay_cpu_seconds": round(replayed[1] - written[1], 4),
        "replay_per_second": round(len(rows) / (replayed[0] - written[0]), 1),
    }


def _version() -> str:
    from importlib.metadata import version

    return version("eventsourcing")


def _write(app: BenchApplication, rows: list[tuple[Any, ...]], spans: list[int]) -> None:
    ids: dict[str, uuid.UUID] = {}
    at = 0
    for count in spans:
        part = rows[at : at + count]
        at += count
        stream = part[0][1]
        known = ids.get(stream)
        if known is None:
            first, *rest = part
            order = BenchOrder(stream, first[3], json.loads(first[5]))
            ids[stream] = order.id
        else:
            order = app.repository.get(known)
            rest = part
        for row in rest:
            order.happened(row[3], json.loads(row[5]))
        app.save(order)


def _replay(app: BenchApplication) -> int:
    orders: dict[uuid.UUID, Any] = {}
    folded = 0
    start = 1
    while True:
        notifications = app.recorder.select_notifications(start, _BATCH)
        if not notifications:
            break
        for notification in notifications:
            domain_event: Any = app.mapper.to_domain_event(notification)
            orders[domain_event.originator_id] = domain_event.mutate(
                orders.get(domain_event.originator_id)
            )
            folded += 1
        start = notifications[-1].id + 1
    return folded
