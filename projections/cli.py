"""The `orderlog` command: apply commands, read status and refunds, audit and replay the log.

Every command takes `--db` (default `orderlog.db`); commands whose output is data take `--json`.
Any error prints one line, `orderlog: <message> [<code>]`, and exits non-zero; never a traceback.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import click

from eventstore import HeadDigest, OrderlogError, SQLiteEventStore
from eventstore.codec import NaiveTime, parse_iso_time
from eventstore.transfer import export_lines, rows_from_lines
from lifecycle.machines import ORDER_MACHINE, RETURN_MACHINE, SUBSCRIPTION_MACHINE

from . import render
from .app import READ_MODELS, Orderlog
from .audit import PathCheck, audit
from .demo import run_demo
from .explain import explain_order
from .history import order_history
from .replay import replay_into

EXIT_REFUSED = 1
EXIT_ERROR = 2


class OrderlogCLIError(OrderlogError):
    """A problem with how the tool was called (a bad time, a file in the way)."""

    code = "usage_error"


class Time(click.ParamType):  # type: ignore[type-arg]
    """An ISO-8601 time with a UTC offset, as on the wire."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return parse_iso_time(str(value))
        except NaiveTime:
            self.fail(f"{value!r} has no UTC offset; add Z or +00:00", param, ctx)
        except ValueError:
            self.fail(f"{value!r} is not an ISO-8601 time like 2026-03-02T09:00:00Z", param, ctx)


def db_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--db",
        "db",
        default="orderlog.db",
        show_default=True,
        type=click.Path(dir_okay=False, path_type=Path),
        help="The orderlog SQLite file.",
    )(command)


def json_option(command: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print data as JSON.")(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="orderlog")
def cli() -> None:
    """orderlog: an append-only, verifiable log of orders, returns and refunds."""


@cli.command()
@click.argument("source", type=click.File("r", encoding="utf-8"))
@db_option
def apply(source: TextIO, db: Path) -> None:
    """Run the commands in a JSON Lines FILE (or - for stdin), one result line per command.

    Exits 1 if any command was refused or declined (each result line says which and why)."""
    refused = 0
    with Orderlog(db) as log:
        for number, line in enumerate(source, start=1):
            if not line.strip():
                continue
            result = {"line": number, **render.apply_result(log, line)}
            refused += not result["ok"]
            click.echo(json.dumps(result, ensure_ascii=False))
    if refused:
        sys.exit(EXIT_REFUSED)


@cli.command()
@click.argument("order_id")
@click.option("--as-of", type=Time(), help="Report `closed` as of this time (default: now).")
@db_option
@json_option
def status(order_id: str, as_of: datetime | None, db: Path, as_json: bool) -> None:
    """The status of one order: its state, money and returns."""
    with Orderlog(db, read_only=True) as log:
        found = log.status(order_id, as_of or datetime.now(UTC))
    if found is None:
        raise _no_order(order_id)
    render.show(found, as_json, render.status_view)


@cli.command()
@click.argument("order_id")
@db_option
@json_option
def history(order_id: str, db: Path, as_json: bool) -> None:
    """Every event of one order: when, who, and what happened."""
    with Orderlog(db, read_only=True) as log:
        entries = order_history(log.store, order_id)
    if not entries:
        raise _no_order(order_id)
    render.show(entries, as_json, render.history_view)


@cli.command()
@click.argument("order_id")
@db_option
@json_option
def explain(order_id: str, db: Path, as_json: bool) -> None:
    """The refund arithmetic of one order, line by line, with the policy clauses."""
    with Orderlog(db, read_only=True) as log:
        found = explain_order(log.store, log.policies, order_id)
    if found is None:
        raise _no_order(order_id)
    render.show(found, as_json, render.explain_view)


@cli.command()
@click.option("--as-of", type=Time(), help="Count refunds as of this time (default: now).")
@db_option
@json_option
def refunds(as_of: datetime | None, db: Path, as_json: bool) -> None:
    """Refund totals per policy, currency and day; pending and overdue refunds."""
    with Orderlog(db, read_only=True) as log:
        report = log.refunds(as_of or datetime.now(UTC))
    render.show(report, as_json, render.refunds_view)


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
    as_of: datetime | None, to_position: int | None, into: Path | None, db: Path, as_json: bool
) -> None:
    """Rebuild every read model from position 0 (in place, or as of a time into a copy)."""
    # Only an in-place rebuild writes to the log's file.
    in_place = into is None and as_of is None and to_position is None
    with Orderlog(db, create=False, read_only=not in_place) as log:
        summary = replay_into(log, into, as_of=as_of, to_position=to_position, quiet=as_json)
    render.show(summary, as_json, render.replay_view)


@cli.command()
@click.option(
    "--digest", help="A head digest kept earlier (position:hash) that the log must extend."
)
@db_option
@json_option
def verify(digest: str | None, db: Path, as_json: bool) -> None:
    """Check the hash chain, every stream's path and the read models. Exits 1 on a problem."""
    kept = _digest(digest)
    store = SQLiteEventStore(db, read_only=True)
    try:
        report = audit(store, store.connection, READ_MODELS, kept)
    finally:
        store.close()
    render.show(report, as_json, render.verify_view)
    if not report["ok"]:
        sys.exit(EXIT_REFUSED)


@cli.command()
@db_option
def export(db: Path) -> None:
    """Print the log as JSON Lines, one event per line, oldest first."""
    store = SQLiteEventStore(db, read_only=True)
    try:
        for line in export_lines(store):
            click.echo(line)
    finally:
        store.close()


@cli.command(name="import")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@db_option
@json_option
def import_(source: TextIO, db: Path, as_json: bool) -> None:
    """Append an exported log (FILE or -), checking every hash link and every stream's path."""
    with Orderlog(db) as log:
        added = log.store.import_rows(rows_from_lines(source), check=PathCheck(log.store))
        log.catch_up()
        head = str(log.store.head())
    render.show({"imported": added, "head": head}, as_json, render.import_view)


@cli.command()
@click.option(
    "--into",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The separate read database to keep up to date.",
)
@click.option("--follow", is_flag=True, help="Keep tailing the log until interrupted.")
@click.option("--interval", default=1.0, show_default=True, help="Seconds between polls.")
@db_option
def project(into: Path, follow: bool, interval: float, db: Path) -> None:
    """Catch a separate read database up with the log (catch-up mode)."""
    from .replay import follow_into

    store = SQLiteEventStore(db, read_only=True)
    try:
        for applied, checkpoint in follow_into(store, into, follow=follow, interval=interval):
            click.echo(f"applied {applied} event(s); read models at position {checkpoint}")
    finally:
        store.close()


@cli.command()
@db_option
def diagram(db: Path) -> None:
    """Print the order, return and subscription machines as Mermaid diagrams (the same for every
    log: `--db` is accepted like everywhere else, and not read)."""
    for machine in (ORDER_MACHINE, RETURN_MACHINE, SUBSCRIPTION_MACHINE):
        click.echo(f"%% {machine.name}\n{machine.mermaid()}")


@cli.command()
@click.option(
    "--db",
    "db",
    default="orderlog-demo.db",
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The demo's SQLite file.",
)
@json_option
def demo(db: Path, as_json: bool) -> None:
    """Create a fresh demo log, run a realistic mix of orders and returns, print the tables."""
    summary = run_demo(db, quiet=as_json)
    render.show(summary, as_json, render.demo_view)


def _digest(text: str | None) -> HeadDigest | None:
    if text is None:
        return None
    try:
        return HeadDigest.parse(text)
    except ValueError as error:
        raise OrderlogCLIError(str(error)) from None


def _no_order(order_id: str) -> OrderlogError:
    from lifecycle.errors import UnknownOrder

    return UnknownOrder(order_id)


def main(argv: list[str] | None = None) -> int:
    """Entry point: run the CLI, turning every failure into one line and an exit code."""
    try:
        cli.main(args=argv, prog_name="orderlog", standalone_mode=False)
    except OrderlogError as error:
        click.echo(f"orderlog: {error.message} [{error.code}]", err=True)
        return EXIT_ERROR
    except click.ClickException as error:
        click.echo(f"orderlog: {error.format_message()}", err=True)
        return EXIT_ERROR
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.Abort:
        click.echo("orderlog: interrupted", err=True)
        return 130
    except SystemExit as done:
        return int(done.code or 0)
    except BrokenPipeError:
        return 0
    except Exception as error:  # the promise is: never a traceback
        click.echo(f"orderlog: unexpected {type(error).__name__}: {error}", err=True)
        return 70
    return 0
