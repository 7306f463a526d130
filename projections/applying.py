"""`orderlog apply` for operators: a dry run on a copy of the log, and the tally of what became of
each line (the one-line summary on stderr).

A dry run decides every line against a copy of the log in a temporary folder, so the real file
is only read (it may be on read-only media), and each line sees the lines before it, as a real
run would.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

from eventstore import ChainKey, DatabaseNotFound, SQLiteEventStore
from eventstore.opening import open_log
from eventstore.sqlite import check_folder

from .app import Orderlog

ACCEPTED, DECLINED, REFUSED = "accepted", "declined", "refused"
_WORDS = (ACCEPTED, DECLINED, REFUSED, "duplicates")


def outcome_word(result: dict[str, Any]) -> str:
    """What became of one `apply` line: accepted, declined (by the policy: a recorded
    `ReturnDeclined`) or refused (nothing written)."""
    if result["ok"]:
        return ACCEPTED
    return DECLINED if result["events"] else REFUSED


@contextmanager
def dry_run_log(db: Path | str, key: ChainKey | None = None) -> Iterator[Orderlog]:
    """An `Orderlog` on a copy of the log at `db` in a temporary folder (an empty log if there
    is no file yet, in a folder that exists), with the shop's key if given; nothing is written
    to `db`, and the copy goes when the block ends. A PostgreSQL log (a DSN) is copied row by
    row into the file. Raises `DatabaseNotFound` for a folder that does not exist."""
    with tempfile.TemporaryDirectory(prefix="orderlog-dry-run-") as folder:
        copy = Path(folder) / "copy.db"
        if isinstance(db, str):
            _copy_rows(db, copy)
        elif db.exists():
            source = SQLiteEventStore(db, read_only=True)
            target = sqlite3.connect(copy)
            try:
                with source.errors():
                    source.connection.backup(target)
            finally:
                target.close()
                source.close()
        else:
            check_folder(db)  # as `apply` would refuse it: nothing to try the commands on
        with Orderlog(copy, key=key) as log:
            yield log


def _copy_rows(dsn: str, copy: Path) -> None:
    """Copy a PostgreSQL log into a new SQLite file, exactly (as `import` would); a log not
    created yet copies as an empty one."""
    try:
        source = open_log(dsn, read_only=True)
    except DatabaseNotFound:
        return
    try:
        target = SQLiteEventStore(copy)
        try:
            target.import_rows(source.read_rows())
        finally:
            target.close()
    finally:
        source.close()


@attrs.define
class Tally:
    """How many lines were accepted, declined, refused, or duplicates of an earlier command
    (counted apart: their result is the first outcome, and nothing new was written), and
    whether every line was accepted (a duplicate of a decline is still a decline)."""

    counts: dict[str, int] = attrs.field(factory=lambda: dict.fromkeys(_WORDS, 0))
    stopped_at: int | None = None
    all_accepted: bool = True

    def add(self, result: dict[str, Any]) -> None:
        self.counts["duplicates" if result.get("duplicate") else result["outcome"]] += 1
        self.all_accepted = self.all_accepted and result["outcome"] == ACCEPTED

    def summary(self, seconds: float, *, dry_run: bool) -> str:
        """The line for stderr: `orderlog: 12 line(s) in 0.4 s: 10 accepted, ...`."""
        lines = sum(self.counts.values())
        counts = ", ".join(
            f"{count} {word.removesuffix('s') if count == 1 else word}"
            for word, count in self.counts.items()
        )
        what = "dry run, nothing written: " if dry_run else ""
        stopped = "" if self.stopped_at is None else f"; stopped at line {self.stopped_at}"
        return f"orderlog: {what}{lines} line(s) in {seconds:.1f} s: {counts}{stopped}"
