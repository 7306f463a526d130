"""The `orderlog` command: apply commands, read status and refunds, find orders, audit and replay
the log, move it between files.

Every command takes `--db` (after the command, or before it: `orderlog --db x.db status A-1`;
default `$ORDERLOG_DB`, else `orderlog.db`); commands whose output is data take `--json`.
Any error prints one line, `orderlog: <message> [<code>]`, and the exit code is 0 (done), 1 (a
refusal, a decline or a verify problem) or 2 (the tool could not do its job): never another
code, never a traceback.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from eventstore import ChainKey, EventStore, HeadDigest, OrderlogError, SQLiteEventStore
from eventstore.codec import NaiveTime, parse_time_or_day
from eventstore.keys import key_from_environment, read_key_file
from eventstore.opening import is_postgres_dsn, open_log
from eventstore.sqlite import check_file
from eventstore.transfer import rows_from_lines
from lifecycle.errors import DECLINE_CODES
from lifecycle.machines import ORDER_MACHINE, RETURN_MACHINE, SUBSCRIPTION_MACHINE
from lifecycle.states import OrderStatus, ReturnState

from . import progress, render
from .app import READ_MODELS, Orderlog
from .applying import REFUSED, Tally, dry_run_log
from .audit import FreshReplay, PathCheck, audit
from .demo import run_demo
from .inputs import Line, checked_lines, opened, read_lines
from .interop import NewRows, export_lines_matching
from .listing import DECLINE_COLUMNS, ORDER_COLUMNS, RETURN_COLUMNS, Filters
from .provenance import claim_source, settle
from .readmodels import ReadModelFile
from .replay import replay_into

EXIT_REFUSED = 1
EXIT_ERROR = 2


class OrderlogCLIError(OrderlogError):
    """A problem with how the tool was called (a bad time, a file in the way)."""

    code = "usage_error"


class Interrupted(OrderlogError):
    """The tool was stopped (Ctrl-C) before it finished; what was committed stays committed."""

    code = "interrupted"


class InternalError(OrderlogError):
    """A fault in orderlog itself; the message names it. Please report it."""

    code = "internal_error"


class Time(click.ParamType):  # type: ignore[type-arg]
    """A moment as a person types it (`eventstore.codec.parse_time_or_day`): an ISO-8601 time
    with a UTC offset, `2026-03-04 09:00 UTC` as the tool prints it, or a day alone
    (`2026-03-10`): the end of that UTC day, or its start for `--since` (`day_ends=False`)."""

    name = "TIME|DAY"

    def __init__(self, *, day_ends: bool = True) -> None:
        self.day_ends = day_ends

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_time_or_day(str(value), day_ends=self.day_ends)
        except NaiveTime:
            self.fail(f"{value!r} has no UTC offset; add Z or +00:00", param, ctx)
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO-8601 time like 2026-03-02T09:00:00Z or a day like "
                "2026-03-10",
                param,
                ctx,
            )


SINCE = Time(day_ends=False)
"""`--since`: a day alone starts at its first instant."""

AS_OF_HELP = (
    "Show every field as it was at this time, or at the end of this UTC day (default: now)."
)


DEFAULT_DB = Path("orderlog.db")
DEMO_DB = Path("orderlog-demo.db")


Target = Path | str
"""A log: a SQLite file's path, or a PostgreSQL DSN (`postgresql://...`) as text."""


class LogTarget(click.ParamType):  # type: ignore[type-arg]
    """A SQLite file, or a PostgreSQL log named by a `postgresql://` DSN."""

    name = "FILE|DSN"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> Target:
        return as_target(value)


def as_target(value: Any) -> Target:
    """A DSN stays text; anything else is a file's path."""
    if isinstance(value, Path) or not is_postgres_dsn(value):
        return Path(value)
    return str(value)


def _chosen_db(ctx: click.Context, param: click.Parameter, value: Target | None) -> Target:
    """`--db` after the command, else before it, else `$ORDERLOG_DB`, else `orderlog.db`."""
    chosen = value or ctx.find_root().params.get("db") or os.environ.get("ORDERLOG_DB")
    ctx.meta[DB_NAMED] = chosen is not None
    return as_target(chosen or DEFAULT_DB)


def _is_new(db: Target) -> bool:
    """Whether a command is about to create a new SQLite file (a DSN never is a file)."""
    return isinstance(db, Path) and not db.exists()


DB_NAMED = "orderlog.db_named"
"""Set on the command's context: whether a log was named (`--db` or `$ORDERLOG_DB`)."""


def read_models_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--read-models",
        "read_models",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the read models from this file (built by `replay --into` or `project "
        "--into`): beside --db, which it must come from, or alone.",
    )(command)


Reader = Orderlog | ReadModelFile


@contextmanager
def _reading(db: Target, read_models: Path | None) -> Iterator[Reader]:
    """What a reading command reads: the log (read-only), the log with the read models of a
    file built from it, or, when no log is named, that file alone."""
    named = click.get_current_context().meta.get(DB_NAMED, False)
    if read_models is not None and not named:
        with ReadModelFile(read_models) as alone:
            yield alone
        return
    with Orderlog(db, read_only=True, read_models=read_models) as log:
        _say_if_behind(log)
        yield log


def _say_if_behind(log: Orderlog) -> None:
    """A note on stderr when a read-model file shows less than its log holds (it is read as it
    is, never caught up); a past view says so by its own `as_of`."""
    file = log.read_model_file
    if file is None or file.as_of is not None:
        return
    head = log.store.head().position  # the store's own errors are typed already
    if file.position < head:
        click.echo(
            f"orderlog: {file.path} stops at position {file.position} and the log at {head}; "
            f"showing the file (catch it up with `orderlog project --into {file.path}`)",
            err=True,
        )


def db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db",
        "db",
        type=LogTarget(),
        callback=_chosen_db,
        help="The orderlog SQLite file, or a postgresql:// DSN (default: $ORDERLOG_DB, else "
        "orderlog.db).",
    )(command)


def key_file_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--key-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="The shop's chain key (default: $ORDERLOG_KEY_FILE, else the key in $ORDERLOG_KEY).",
    )(command)


def _chain_key(key_file: Path | None) -> ChainKey | None:
    """The key from `--key-file`, else from the environment, else None."""
    return read_key_file(key_file) if key_file is not None else key_from_environment()


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print data as JSON.")(command)


def _zone(ctx: click.Context, param: click.Parameter, value: str | None) -> None:
    if value is None:
        return
    try:
        render.use_zone(ZoneInfo(value))
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(
            f"{value!r} is not a time zone this machine knows; give an IANA name like "
            "Europe/Paris or America/New_York",
            ctx,
            param,
        ) from None


def tz_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--tz",
        metavar="ZONE",
        callback=_zone,
        expose_value=False,
        help="Show times in this zone (an IANA name like Europe/Paris; default UTC).",
    )(command)


def output_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """`--json` or `--csv`: a listing's rows for scripts or spreadsheets."""
    command = click.option("--csv", "as_csv", is_flag=True, help="Print rows as CSV.")(command)
    return json_option(command)


def _output(as_json: bool, as_csv: bool) -> str:
    if as_json and as_csv:
        raise OrderlogCLIError("give --json or --csv, not both")
    return "json" if as_json else ("csv" if as_csv else "text")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--db",
    "db",
    type=LogTarget(),
    help="The orderlog SQLite file or postgresql:// DSN, for any command (default: "
    "$ORDERLOG_DB, else orderlog.db).",
)
@click.version_option(package_name="orderlog")
def cli(db: Target | None) -> None:
    """orderlog: an append-only, verifiable log of orders, returns and refunds.

    Exit codes: 0 done; 1 a command refused or declined, or a problem found by verify; 2 the
    tool could not do its job (the message says why)."""
    render.use_zone(UTC)


def _say_created(db: Target) -> None:
    click.echo(f"orderlog: created a new log at {db}", err=True)


INPUT = click.Path(exists=True, dir_okay=False, allow_dash=True)
"""A JSON Lines file to read, or - for standard input."""


@cli.command()
@click.argument("source", type=INPUT)
@click.option(
    "--group-commit",
    "group",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    metavar="N",
    help="Commit up to N commands per transaction (one fsync for them all); each result "
    "line is printed once its transaction has committed.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Decide every line against a copy of the log (each line seeing the ones before it) "
    "and write nothing.",
)
@click.option(
    "--stop-on-error",
    is_flag=True,
    help="Stop at the first refused line (a policy decline is an answer, not an error); with "
    "--group-commit, after the rest of that line's group, which has committed.",
)
@db_option
@key_file_option
def apply(
    source: str, group: int, dry_run: bool, stop_on_error: bool, db: Target, key_file: Path | None
) -> None:
    """Run the commands in a JSON Lines FILE (or - for stdin), one result line per command,
    then one summary line on stderr (accepted, declined, refused, duplicates, time taken).

    Exits 1 if any command was refused or declined (each result line says which and why).
    A log is created if the file does not exist yet (stderr says so); never by --dry-run.
    With the shop's key (--key-file or the environment) every event written carries its MAC."""
    started = time.monotonic()
    tally = Tally()
    with (
        opened(source) as lines,
        _apply_target(db, dry_run, _chain_key(key_file)) as log,
        progress.bar("applying", progress.lines_in(source)) as advance,
    ):
        for results in applied(log, progress.counted(read_lines(lines), advance), group):
            for result in results:
                tally.add(result)
                click.echo(_result_line(result))
                if stop_on_error and result["outcome"] == REFUSED and tally.stopped_at is None:
                    tally.stopped_at = result["line"]
            if group > 1:
                sys.stdout.flush()  # what is committed is reported before the next group
            if tally.stopped_at is not None:
                break
    click.echo(tally.summary(time.monotonic() - started, dry_run=dry_run), err=True)
    if not tally.all_accepted:
        sys.exit(EXIT_REFUSED)


_result_line = json.JSONEncoder(ensure_ascii=False).encode
"""An `apply` result as its JSON line (one encoder for every line; `json.dumps` builds one per
call)."""


def applied(log: Orderlog, lines: Iterable[Line], group: int) -> Iterator[list[dict[str, Any]]]:
    """The results of `apply`, a list per transaction: a line at a time, or up to `group`
    lines gathered into one group commit. Blank lines are skipped."""
    pending: list[Line] = []
    for line in lines:
        if line.problem is None and not line.text.strip():
            continue
        if group == 1:
            yield [render.apply_result(log, line)]
            continue
        pending.append(line)
        if len(pending) == group:
            yield render.apply_results(log, pending)
            pending = []
    if pending:
        yield render.apply_results(log, pending)


@contextmanager
def _apply_target(db: Target, dry_run: bool, key: ChainKey | None) -> Iterator[Orderlog]:
    """The log `apply` runs against: the file (created if missing, saying so), or for a dry
    run a copy of it in a temporary folder."""
    if dry_run:
        with dry_run_log(db, key=key) as copy:
            yield copy
        return
    created = _is_new(db)  # the store refuses a folder that does not exist (a typo)
    with Orderlog(db, key=key) as log:
        if created:
            _say_created(db)
        yield log


@cli.command()
@click.argument("order_id")
@click.option("--as-of", type=Time(), help=AS_OF_HELP)
@db_option
@read_models_option
@json_option
@tz_option
def status(
    order_id: str, as_of: datetime | None, db: Target, read_models: Path | None, as_json: bool
) -> None:
    """The status of one order: its state, money, windows, returns and overdue refunds (now,
    or every field as it was at --as-of)."""
    with _reading(db, read_models) as log:
        if isinstance(log, ReadModelFile):
            if as_of is not None:
                raise OrderlogCLIError(
                    "status --as-of folds the order's events from the log: give --db too "
                    "(or build a past view with `orderlog replay --as-of T --into FILE`)"
                )
            found = log.status(order_id)
        else:
            found = log.status(order_id, as_of)
    render.show(found.as_dict(), as_json, render.status_view)


@cli.command()
@click.argument("order_id")
@click.option("--as-of", type=Time(), help="Only the events that happened by this time or day.")
@db_option
@json_option
@tz_option
def history(order_id: str, as_of: datetime | None, db: Target, as_json: bool) -> None:
    """Every event of one order: when, who, and what happened (with its data in --json)."""
    with Orderlog(db, read_only=True) as log:
        entries = log.history(order_id, as_of)
    render.show(entries, as_json, render.history_view)


@cli.command()
@click.argument("order_id")
@click.option("--as-of", type=Time(), help="Only what was decided by this time or day.")
@db_option
@json_option
def explain(order_id: str, as_of: datetime | None, db: Target, as_json: bool) -> None:
    """The refund arithmetic of one order, line by line, with the policy clauses."""
    with Orderlog(db, read_only=True) as log:
        found = log.explain(order_id, as_of)
    render.show(found, as_json, render.explain_view)


@cli.command()
@click.option(
    "--as-of", type=Time(), help="The refunds as they stood at this time or day (default: now)."
)
@db_option
@read_models_option
@json_option
@tz_option
def refunds(as_of: datetime | None, db: Target, read_models: Path | None, as_json: bool) -> None:
    """Refund totals per policy, currency and day, and per currency; pending and overdue
    refunds (with how many days overdue)."""
    with _reading(db, read_models) as log:
        report = log.refunds(as_of)
    render.show(report, as_json, render.refunds_view)


def _filters(command: Callable[..., Any]) -> Callable[..., Any]:
    """The filters every listing takes: policy, customer and a time range."""
    for option in (
        click.option("--policy", multiple=True, help="Only under this policy (repeatable)."),
        click.option("--customer", multiple=True, help="Only this customer id (repeatable)."),
        click.option("--since", type=SINCE, help="From this time or day on."),
        click.option("--until", type=Time(), help="Up to this time or day."),
    ):
        command = option(command)
    return command


def _listing(command: Callable[..., Any]) -> Callable[..., Any]:
    for decorate in (_filters, db_option, read_models_option, output_options, tz_option):
        command = decorate(command)
    return command


Decorator = Callable[[Callable[..., Any]], Callable[..., Any]]


def _state_filters(words: list[str], noun: str, late: str, review: str, as_of: str) -> Decorator:
    """`--status`, `--overdue`, `--awaiting-review` and `--as-of` for orders or returns."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        for option in (
            click.option("--as-of", type=Time(), help=as_of),
            click.option("--awaiting-review", is_flag=True, help=review),
            click.option("--overdue", is_flag=True, help=late),
            click.option(
                "--status",
                "statuses",
                multiple=True,
                type=click.Choice(words),
                help=f"Only {noun} in this status (repeatable).",
            ),
        ):
            command = option(command)
        return command

    return decorate


Query = Callable[[Reader, Filters, datetime | None], list[dict[str, Any]]]


def _list(given: dict[str, Any], query: Query, columns: tuple[str, ...], view: Any) -> None:
    """Run a listing command from its options: the filters, then the rows in its format."""
    output = _output(given.pop("as_json"), given.pop("as_csv"))
    db, as_of = given.pop("db"), given.pop("as_of", None)
    read_models = given.pop("read_models")
    wanted = Filters(policies=given.pop("policy"), customers=given.pop("customer"), **given)
    with _reading(db, read_models) as log:
        rows = query(log, wanted, as_of)
    render.show_rows(rows, output, columns, view)


@cli.command()
@_state_filters(
    [s.value for s in OrderStatus],
    "orders",
    late="Only orders with a refund past its due day.",
    review="Only orders with a return held for review.",
    as_of="Judge `closed` and overdue as of this time.",
)
@_listing
def orders(**given: Any) -> None:
    """Find orders: by status, policy, customer, when placed, overdue refunds or review."""
    _list(given, lambda log, f, t: log.orders(f, t), ORDER_COLUMNS, render.orders_view)


@cli.command()
@_state_filters(
    [s.value for s in ReturnState],
    "returns",
    late="Only returns whose refund is past its due day.",
    review="Only returns held for review.",
    as_of="Judge overdue refunds as of this time.",
)
@_listing
def returns(**given: Any) -> None:
    """Find returns: by status, policy, customer, when requested, overdue refunds or review."""
    _list(given, lambda log, f, t: log.returns(f, t), RETURN_COLUMNS, render.returns_view)


@cli.command()
@click.option(
    "--code",
    "codes",
    multiple=True,
    type=click.Choice(sorted(DECLINE_CODES)),
    help="Only declines with this code (repeatable).",
)
@click.option("--clause", "clauses", multiple=True, help="Only under this clause id (repeatable).")
@_listing
def declines(**given: Any) -> None:
    """Find declined return requests: by code, clause, policy, customer or when declined."""
    _list(given, lambda log, f, t: log.declines(f), DECLINE_COLUMNS, render.declines_view)


@cli.command()
@click.option("--as-of", type=Time(), help="Only events that happened by this time.")
@click.option("--to-position", type=click.IntRange(min=0), help="Only events up to here.")
@click.option(
    "--into",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Build the read models in this separate file.",
)
@db_option
@json_option
def replay(
    as_of: datetime | None, to_position: int | None, into: Path | None, db: Target, as_json: bool
) -> None:
    """Rebuild every read model from position 0 (in place, or as of a time into a copy)."""
    # Only an in-place rebuild writes to the log's file.
    in_place = into is None and as_of is None and to_position is None
    with Orderlog(db, create=False, read_only=not in_place) as log:
        if into is not None:
            claim_source(into, log.store, rebuilt=True, as_of=as_of)
        summary = replay_into(log, into, as_of=as_of, to_position=to_position, quiet=as_json)
    if into is not None:
        settle(into)
    render.show(summary, as_json, render.replay_view)


@cli.command()
@click.option(
    "--digest", help="A head digest kept earlier (position:hash) that the log must extend."
)
@click.option(
    "--key",
    "keyed",
    is_flag=True,
    help="Also check every event's MAC with the shop's key (from --key-file or the environment).",
)
@key_file_option
@db_option
@json_option
def verify(
    digest: str | None, keyed: bool, key_file: Path | None, db: Target, as_json: bool
) -> None:
    """Check the hash chain, every stream's path and the read models (with --key, every
    event's MAC too). Exits 1 on a problem."""
    kept = _digest(digest)
    key = None
    if keyed or key_file is not None:
        key = _chain_key(key_file)
        if key is None:
            raise OrderlogCLIError(
                "--key needs the shop's key: give --key-file, or set $ORDERLOG_KEY_FILE or "
                "$ORDERLOG_KEY"
            )
    store = open_log(db, read_only=True, key=key)
    try:
        guard: AbstractContextManager[None] = (
            store.errors() if isinstance(store, SQLiteEventStore) else nullcontext()
        )
        with guard, progress.bar("verifying", store.head().position) as advance:
            report = audit(store, _kept_models(store), READ_MODELS, kept, advance)
    finally:
        store.close()
    report["key"] = None if key is None else key.key_id
    render.show(report, as_json, render.verify_view)
    if not report["ok"]:
        sys.exit(EXIT_REFUSED)


def _kept_models(store: EventStore) -> sqlite3.Connection | FreshReplay | None:
    """What verify compares a fresh replay with: the SQLite file's read models, or those in
    the PostgreSQL log's schema (read on the store's own connection, in its snapshot)."""
    if isinstance(store, SQLiteEventStore):
        return store.connection
    from eventstore.postgres import PostgresEventStore

    from .pgmodels import PgConnection, PgFreshReplay

    if not isinstance(store, PostgresEventStore):
        return None
    return PgFreshReplay(PgConnection(store.own_connection(), store.schema), READ_MODELS)


@cli.command()
@click.option("--order", "order_id", help="Only this order's events.")
@click.option(
    "--from-position", type=click.IntRange(min=1), default=1, help="Start at this position."
)
@click.option("--since", type=SINCE, help="Only events from this time or day.")
@db_option
def export(order_id: str | None, from_position: int, since: datetime | None, db: Target) -> None:
    """Print the log as JSON Lines, one event per line, oldest first (or a slice of it: an
    export from a position on can be imported onto a copy that stops just before it)."""
    store = open_log(db, read_only=True)
    try:
        lines = export_lines_matching(
            store, order_id=order_id, from_position=from_position, since=since
        )
        for line in lines:
            click.echo(line)
    finally:
        store.close()


@cli.command(name="import")
@click.argument("source", type=INPUT)
@db_option
@key_file_option
@json_option
def import_(source: str, db: Target, key_file: Path | None, as_json: bool) -> None:
    """Append an exported log (FILE or -), checking every hash link and every stream's path.

    Events the log already holds (same position, same content) are skipped, so importing the
    same export twice changes nothing; an event that differs from the log's is refused. With
    the shop's key, every MAC the export carries is checked and events without one get one."""
    key = _chain_key(key_file)
    created = _is_new(db)
    try:
        with (
            opened(source) as lines,
            Orderlog(db, key=key) as log,
            progress.bar("importing", progress.lines_in(source)) as advance,
        ):
            held = NewRows(log.store)
            rows = held(rows_from_lines(progress.counted(checked_lines(lines), advance)))
            added = log.store.import_rows(rows, check=PathCheck(log.store))
            log.catch_up()
            head = str(log.store.head())
    except BaseException:
        if created:  # all or nothing: a refused import leaves no empty log behind either
            for suffix in ("", "-wal", "-shm"):
                Path(f"{db}{suffix}").unlink(missing_ok=True)
        raise
    if created:
        _say_created(db)
    summary = {"imported": added, "skipped": held.skipped, "head": head}
    render.show(summary, as_json, render.import_view)


@cli.command()
@click.option(
    "--into",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The separate read database to keep up to date (it must be from this log).",
)
@click.option(
    "--follow",
    is_flag=True,
    help="Keep tailing the log until interrupted (saying something only when events came).",
)
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
@db_option
def project(into: Path, follow: bool, interval: float, db: Target) -> None:
    """Catch a separate read database up with the log (catch-up mode)."""
    from .replay import follow_into

    store = open_log(db, read_only=True)
    try:
        claim_source(into, store)
        polls = follow_into(store, into, follow=follow, interval=interval)
        for poll, (applied, checkpoint) in enumerate(polls):
            if applied or poll == 0:  # following, a poll that found nothing says nothing
                click.echo(f"applied {applied} event(s); read models at position {checkpoint}")
    finally:
        store.close()


MACHINES = {
    machine.name: machine for machine in (ORDER_MACHINE, RETURN_MACHINE, SUBSCRIPTION_MACHINE)
}


@cli.command()
@click.option(
    "--machine",
    type=click.Choice(list(MACHINES)),
    help="Only this machine, as a bare Mermaid diagram (for mermaid-cli and the like).",
)
@db_option
def diagram(machine: str | None, db: Target) -> None:
    """Print the order, return and subscription machines as Mermaid, one fenced block per
    machine (the same for every log: `--db` is accepted like everywhere else, and not read)."""
    if machine is not None:
        click.echo(MACHINES[machine].mermaid(), nl=False)
        return
    blocks = [f"```mermaid\n%% {m.name}\n{m.mermaid()}```\n" for m in MACHINES.values()]
    click.echo("\n".join(blocks), nl=False)


def _demo_db(ctx: click.Context, param: click.Parameter, value: Path | None) -> Path:
    """The demo's own default: `--db` where given, never `$ORDERLOG_DB` (a real log)."""
    chosen = value or ctx.find_root().params.get("db") or DEMO_DB
    if is_postgres_dsn(str(chosen)) or str(chosen).startswith(("postgresql:", "postgres:")):
        raise OrderlogCLIError("the demo writes a SQLite file: give --db a file's path, not a DSN")
    return Path(chosen)


@cli.command()
@click.option(
    "--db",
    "db",
    type=click.Path(dir_okay=False, path_type=Path),
    callback=_demo_db,
    help="The demo's SQLite file (default: orderlog-demo.db).",
)
@json_option
@tz_option
def demo(db: Path, as_json: bool) -> None:
    """Write a demo log (a month of orders and returns), print its tables and the commands it
    declines or refuses on purpose. It replaces only a log it wrote itself."""
    check_file(db, create=True, write=True)  # before the demo writes beside it
    summary = run_demo(db, quiet=as_json)
    render.show(summary, as_json, render.demo_view)


@cli.command()
@click.option(
    "--orders",
    type=click.IntRange(min=4),
    default=200,
    show_default=True,
    help="Orders in the workload (7 commands each, across the shipped policies).",
)
@click.option("--skip-10x", "skip_growth", is_flag=True, help="Do not run the 10x size.")
@click.option(
    "--compare-eventsourcing",
    is_flag=True,
    help="Run the eventsourcing library side by side (needs the `bench` extra).",
)
@click.option(
    "--postgres",
    "postgres",
    metavar="DSN",
    help="Also measure commands/s with 1 and 4 writer processes on PostgreSQL (in schemas of "
    "its own, dropped after), beside SQLite and a floor.",
)
@json_option
def bench(
    orders: int, skip_growth: bool, compare_eventsourcing: bool, postgres: str | None, as_json: bool
) -> None:
    """Measure write, import, replay, verify and status lookups beside their stdlib floors
    (in temporary files), and print the figures and ratios of this one run."""
    from . import bench as benchmark

    if postgres is not None and not is_postgres_dsn(postgres):
        raise OrderlogCLIError(f"--postgres needs a postgresql:// DSN, not {postgres!r}")
    if compare_eventsourcing:
        try:
            import eventsourcing  # noqa: F401
        except ImportError:
            raise OrderlogCLIError(
                "--compare-eventsourcing needs the eventsourcing library: "
                "pip install 'orderlog[bench]'"
            ) from None
    result = benchmark.run(
        orders, skip_growth=skip_growth, compare_eventsourcing=compare_eventsourcing
    )
    if postgres is not None:
        from . import bench_postgres

        result["writers"] = bench_postgres.run(postgres, orders)
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(benchmark.table(result))
        if postgres is not None:
            click.echo(bench_postgres.table(result["writers"]))


def _digest(text: str | None) -> HeadDigest | None:
    if text is None:
        return None
    try:
        return HeadDigest.parse(text)
    except ValueError as error:
        raise OrderlogCLIError(str(error)) from None


EXIT_CODES = (0, EXIT_REFUSED, EXIT_ERROR)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every failure into one line and exit code 0, 1 or 2."""
    try:
        cli.main(args=argv, prog_name="orderlog", standalone_mode=False)
    except OrderlogError as error:
        return _fail(error)
    except click.ClickException as error:
        return _fail(OrderlogCLIError(error.format_message()))
    except click.exceptions.Exit as done:
        return _exit_code(done.exit_code)
    except (click.Abort, KeyboardInterrupt):
        return _fail(Interrupted("interrupted; what was committed before stays committed"))
    except SystemExit as done:
        return _exit_code(done.code)
    except BrokenPipeError:
        return 0
    except Exception as error:  # the promise is: never a traceback
        return _fail(InternalError(f"unexpected {type(error).__name__}: {error}"))
    return 0


def _fail(error: OrderlogError) -> int:
    message = " ".join(error.message.split())  # one line, whatever the message holds
    click.echo(f"orderlog: {message} [{error.code}]", err=True)
    return EXIT_ERROR


def _exit_code(code: object) -> int:
    """0, 1 or 2: a code outside them (from a library, say) is the tool failing: 2."""
    if code is None:
        return 0
    return code if isinstance(code, int) and code in EXIT_CODES else EXIT_ERROR
