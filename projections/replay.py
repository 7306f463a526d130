"""Rebuilding read models: in place, into a separate read database, or as of a past moment; and
keeping a separate read database caught up (`orderlog project --follow`)."""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from eventstore import EventStore, ForeignDatabase, StorageErrors
from eventstore.schema import APPLICATION_ID
from eventstore.sqlite import check_file
from eventstore.sqlite import immediate_transaction as transaction
from lifecycle.states import OPEN_RETURN_STATES, OrderState
from lifecycle.status import derive_status

from .app import READ_MODELS, Orderlog
from .framework import READ_MODEL_ID, catch_up, fetch_dicts, lowest_checkpoint, reset
from .reimbursements import ISSUED_SUM


def replay_into(
    log: Orderlog,
    into: Path | None,
    *,
    as_of: datetime | None = None,
    to_position: int | None = None,
    quiet: bool = False,
) -> dict[str, Any]:
    """Rebuild the read models from position 0 and summarise them.

    In place when no `into`, `as_of` or `to_position` is given (the live read models are
    replaced); a past view goes to `into`, or to memory, never over the live read models."""
    partial = as_of is not None or to_position is not None
    if into is None and not partial and log.postgres_models is not None:
        return _replay_postgres(log, quiet)
    errors: AbstractContextManager[None]
    if into is not None:
        target, errors = open_read_db(into), read_db_errors(into)
    elif partial:
        target, errors = sqlite3.connect(":memory:", isolation_level=None), log.errors()
    else:
        target, errors = log.conn, log.errors()
    # In place, the rebuild is one transaction: a crash or a kill leaves the old read models,
    # never half of the new ones (writers wait for it, up to their busy timeout).
    whole = transaction(target) if target is log.conn else nullcontext()
    try:
        with errors, whole:
            reset(target, READ_MODELS)
            last = log.store.head().position if to_position is None else to_position
            with _progress(last, quiet) as advance:
                applied = catch_up(
                    log.store, target, READ_MODELS, to_position=last, as_of=as_of, progress=advance
                )
            summary = summarise(target, as_of or datetime.now(UTC))
    finally:
        if target is not log.conn:
            target.close()
    where = str(into) if into else ("memory" if partial else "in place")
    return {
        "events": applied,
        "to_position": last,
        "as_of": as_of.isoformat() if as_of else None,
        "into": where,
        **summary,
    }


def _replay_postgres(log: Orderlog, quiet: bool) -> dict[str, Any]:
    """Rebuild a PostgreSQL log's read models in its schema, in one transaction under the
    log's advisory lock (appends wait for it, up to their busy timeout)."""
    from .pgmodels import pg_catch_up, pg_reset

    models = log.postgres_models
    assert models is not None
    with log.errors():
        with models.raw.transaction():
            models.raw.execute(f"SELECT pg_advisory_xact_lock({models.lock})")
            pg_reset(models, READ_MODELS)
            last = log.store.head().position
            with _progress(last, quiet):
                applied = pg_catch_up(log.store, models, READ_MODELS)
        summary = summarise(log.conn, datetime.now(UTC))
    return {"events": applied, "to_position": last, "as_of": None, "into": "in place", **summary}


def summarise(conn: sqlite3.Connection, as_of: datetime) -> dict[str, Any]:
    """Orders by status and refund money by currency, from a set of read models.

    SQLite groups the orders by what their status depends on, so memory stays flat however
    many orders there are; the status word of each group comes from the domain's one rule."""
    by_status: dict[str, int] = {}
    for row in conn.execute(_STATUS_INPUTS, _OPEN):
        state, open_returns, paid, refunded, reimbursed, closes, count = row
        word = derive_status(
            OrderState(state),
            open_returns=open_returns,
            paid_total=paid,
            refunded_total=refunded,
            returns_close_on=date.fromisoformat(closes) if closes else None,
            as_of=as_of,
            reimbursed_total=reimbursed,
        ).value
        by_status[word] = by_status.get(word, 0) + count
    money = fetch_dicts(
        conn,
        "SELECT currency, count(*) AS refunds, sum(amount) AS decided, "
        "sum(coalesce(issued_amount, 0)) AS issued FROM refunds "
        "GROUP BY currency ORDER BY currency",
    )
    return {
        "orders_by_status": dict(sorted(by_status.items())),
        "refunds_by_currency": money,
        "declines": decline_reasons(conn),
    }


_OPEN = tuple(sorted(state.value for state in OPEN_RETURN_STATES))
_STATUS_INPUTS = (
    "SELECT o.state, coalesce(r.open, 0), o.paid_total, o.refunded_total, "
    f"{ISSUED_SUM.format(order='o.order_id')}, o.returns_close_on, "
    "count(*) FROM orders o LEFT JOIN (SELECT order_id, count(*) AS open FROM returns "
    f"WHERE state IN ({', '.join('?' for _ in _OPEN)}) GROUP BY order_id) r USING (order_id) "
    "GROUP BY 1, 2, 3, 4, 5, 6"
)


def decline_reasons(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """How many return requests were declined, per policy, code and clause."""
    return fetch_dicts(
        conn,
        "SELECT o.policy, d.code, d.clause, count(*) AS declines "
        "FROM declines d JOIN orders o USING (order_id) "
        "GROUP BY o.policy, d.code, d.clause ORDER BY o.policy, declines DESC, d.code",
    )


READ_DB_TIMEOUT = 10.0
"""Seconds a read database waits for another process's lock before `concurrency_conflict`."""


def read_db_errors(path: Path) -> StorageErrors:
    """A block in which SQLite errors on the read database at `path` become typed errors
    that name it (`disk_full`, `log_read_only`, `concurrency_conflict`...)."""
    return StorageErrors(str(path), READ_DB_TIMEOUT)


def open_read_db(path: Path) -> sqlite3.Connection:
    """A separate file holding only read models; refuses an event log or a foreign file
    (`ForeignDatabase`), a missing folder (`DatabaseNotFound`), a read-only place
    (`ReadOnlyLog`), and names any other SQLite fault."""
    check_file(path, create=True, write=True)
    with read_db_errors(path):
        conn = sqlite3.connect(path, isolation_level=None, timeout=READ_DB_TIMEOUT)
    try:
        with read_db_errors(path):
            _mark_as_read_db(conn, path)
    except BaseException:
        conn.close()
        raise
    return conn


def _mark_as_read_db(conn: sqlite3.Connection, path: Path) -> None:
    """Refuse a file that is neither new nor a read database, then mark it as one."""
    try:
        application_id = conn.execute("PRAGMA application_id").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    except sqlite3.DatabaseError as error:
        if getattr(error, "sqlite_errorcode", 0) & 0xFF != sqlite3.SQLITE_NOTADB:
            raise
        raise ForeignDatabase(f"{path} is not a SQLite database ({error})") from error
    if application_id == APPLICATION_ID:
        raise ForeignDatabase(f"{path} is an orderlog event log; give a separate read database")
    if application_id != READ_MODEL_ID and (application_id or tables):
        raise ForeignDatabase(f"{path} belongs to another application; give a new file")
    conn.execute(f"PRAGMA application_id = {READ_MODEL_ID}")
    conn.execute("PRAGMA journal_mode = WAL")


def follow_into(
    store: EventStore, into: Path, *, follow: bool, interval: float
) -> Iterator[tuple[int, int]]:
    """Catch the read database up; with `follow`, keep going: after each catch-up wait for the
    log to announce an append (PostgreSQL's LISTEN/NOTIFY) or for `interval` seconds to pass,
    whichever is first (so a log that cannot announce is polled). Yields (applied,
    checkpoint)."""
    conn = open_read_db(into)
    if follow:
        store.wait_for_appends(0)  # start listening before the first catch-up: none missed
    try:
        while True:
            with read_db_errors(into):
                applied = catch_up(store, conn, READ_MODELS)
                checkpoint = lowest_checkpoint(conn, READ_MODELS)
            yield applied, checkpoint
            if not follow:
                return
            store.wait_for_appends(interval)
    finally:
        conn.close()


@contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Callable[[int], None]]:
    """A progress bar over positions on stderr (none when `quiet`); yields `advance(count)`."""
    bar = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        disable=quiet or not sys.stderr.isatty(),  # no bar (nor its closing line) in a pipe
        transient=True,
    )
    task = bar.add_task("replay", total=total)
    with bar:
        yield lambda count: bar.advance(task, count)
