"""`orderlog apply` for operators (a dry run, a summary, ids on every result, stopping at the first
refusal), progress bars only for long jobs on a terminal, and a quiet `project --follow`."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from projections import progress
from projections.app import Orderlog
from tests.integration.clitools import applied, assert_one_line_error, write_jsonl
from tests.integration.workloads import journey, place, step
from tests.reliability.mounts import read_only_view


def _results(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines()]


def test_a_dry_run_decides_every_line_and_writes_nothing(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o0")])
    before = db.read_bytes(), orderlog("export", "--db", str(db)).out
    source = write_jsonl(tmp_path / "new.jsonl", [*journey("o1"), step("dispatch_order", "o1", 50)])
    run = orderlog("apply", str(source), "--db", str(db), "--dry-run")
    outcomes = [result["outcome"] for result in _results(run.out)]
    # Each line sees the ones before it: the order placed on line 1 is there for line 2.
    assert outcomes == ["accepted"] * 7 + ["declined", "refused"]
    assert run.code == 1
    assert (db.read_bytes(), orderlog("export", "--db", str(db)).out) == before
    assert run.err.startswith("orderlog: dry run, nothing written: 9 line(s) in ")
    assert run.err.rstrip().endswith("7 accepted, 1 declined, 1 refused, 0 duplicates")


def test_a_dry_run_creates_no_log(orderlog: Any, db: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "new.jsonl", [place("o1")])
    run = orderlog("apply", str(source), "--db", str(db), "--dry-run")
    assert (run.code, _results(run.out)[0]["outcome"]) == (0, "accepted")
    assert not db.exists()
    assert "created" not in run.err


def test_a_dry_run_refuses_a_folder_that_does_not_exist_as_apply_does(
    orderlog: Any, tmp_path: Path
) -> None:
    # A typo in the path would otherwise be decided against an empty log, and look fine.
    source = write_jsonl(tmp_path / "new.jsonl", [place("o1")])
    missing = tmp_path / "no-such-folder" / "shop.db"
    real = orderlog("apply", str(source), "--db", str(missing))
    dry = orderlog("apply", str(source), "--db", str(missing), "--dry-run")
    assert (dry.code, dry.out) == (2, "")
    assert_one_line_error(dry, "database_not_found")
    assert dry.err == real.err
    assert not missing.parent.exists()


def test_a_dry_run_reads_a_log_on_read_only_media(orderlog: Any, tmp_path: Path) -> None:
    folder = tmp_path / "log"
    folder.mkdir()
    applied(orderlog, folder / "shop.db", tmp_path, [place("o1")])
    source = write_jsonl(tmp_path / "new.jsonl", [step("dispatch_order", "o1", 1)])
    with read_only_view(folder, tmp_path / "ro") as media:
        run = orderlog("apply", str(source), "--db", str(media / "shop.db"), "--dry-run")
        assert sorted(path.name for path in media.iterdir()) == ["shop.db"]
    assert (run.code, _results(run.out)[0]["outcome"]) == (0, "accepted"), run.err


def test_the_summary_counts_every_kind_of_outcome(orderlog: Any, db: Path, tmp_path: Path) -> None:
    first = {**place("o1"), "command_id": "shop-1"}
    lines = [first, step("dispatch_order", "o9", 1), first]
    run = applied(orderlog, db, tmp_path, lines)
    assert run.err.splitlines()[-1].endswith("1 accepted, 0 declined, 1 refused, 1 duplicate")
    assert run.err.startswith("orderlog: created a new log")


def test_every_result_names_its_order_and_command(orderlog: Any, db: Path, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [{**place("o1"), "command_id": "c-1"}], "{bad\n")
    first, bad = _results(orderlog("apply", str(source), "--db", str(db)).out)
    assert (first["order_id"], first["command_id"]) == ("o1", "c-1")
    assert (bad["order_id"], bad["command_id"], bad["outcome"]) == (None, None, "refused")


def test_stop_on_error_stops_at_the_first_refusal_not_at_a_decline(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    lines = [*journey("o1"), step("dispatch_order", "o9", 50), place("o2", 51)]
    source = write_jsonl(tmp_path / "in.jsonl", lines)
    run = orderlog("apply", str(source), "--db", str(db), "--stop-on-error")
    assert [r["outcome"] for r in _results(run.out)][-2:] == ["declined", "refused"]
    assert run.code == 1
    assert run.err.rstrip().endswith("; stopped at line 9")
    assert orderlog("status", "o2", "--db", str(db)).code == 2  # line 10 never ran


def test_no_progress_bar_unless_stderr_is_a_terminal_and_the_job_is_long(
    orderlog: Any, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [place(f"o{n}", n / 1000) for n in range(1200)])
    assert progress.lines_in(str(source)) == 1200
    run = orderlog("apply", str(source), "--db", str(db))
    assert run.err.count("\n") == 2  # "created", then the summary: no bar in a pipe
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert progress.wanted(1200)
    assert not progress.wanted(10)
    assert not progress.wanted(None)  # standard input: no length to show


def test_project_follow_says_nothing_when_nothing_happened(
    orderlog: Any, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    polls = iter(range(5))

    def sleep(seconds: float) -> None:
        poll = next(polls)
        if poll == 2:
            with Orderlog(db) as log:
                log.handle(step("dispatch_order", "o1", 1))
        if poll == 4:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", sleep)  # the poll loop's pause
    args = ("project", "--db", str(db), "--into", str(tmp_path / "read.db"), "--follow")
    run = orderlog(*args)
    assert run.out.splitlines() == [
        "applied 2 event(s); read models at position 2",
        "applied 1 event(s); read models at position 3",
    ]


def test_a_dry_run_with_group_commit_decides_the_same(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [*journey("o1"), step("dispatch_order", "o1", 50)])
    one = orderlog("apply", str(source), "--db", str(db), "--dry-run")
    grouped = orderlog("apply", str(source), "--db", str(db), "--dry-run", "--group-commit", "4")
    assert _results(grouped.out) == _results(one.out)
    assert not db.exists()


@pytest.mark.parametrize("terminal", [True, False])
def test_apply_import_and_verify_draw_a_bar_only_on_a_terminal(
    orderlog: Any, db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, terminal: bool
) -> None:
    monkeypatch.setattr(progress, "LONG", 2)  # these files count as long
    monkeypatch.setattr(sys.stderr, "isatty", lambda: terminal)
    source = write_jsonl(tmp_path / "in.jsonl", journey("o1"))
    runs = {"applying": orderlog("apply", str(source), "--db", str(db))}
    (tmp_path / "log.jsonl").write_text(orderlog("export", "--db", str(db)).out)
    copy = str(tmp_path / "copy.db")
    runs["importing"] = orderlog("import", str(tmp_path / "log.jsonl"), "--db", copy)
    runs["verifying"] = orderlog("verify", "--db", copy)
    for label, run in runs.items():
        assert (label in run.err) is terminal, (label, run.err)
        assert label not in run.out


def test_a_declined_command_sent_again_still_exits_1(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    """A duplicate carries its first outcome: a decline sent again is still a decline (exit 1),
    counted in the summary as a duplicate."""
    *before, late = journey("o1")
    applied(orderlog, db, tmp_path, before)
    declined = {**late, "command_id": "late-1"}
    assert applied(orderlog, db, tmp_path, [declined]).code == 1
    again = applied(orderlog, db, tmp_path, [declined])
    [result] = _results(again.out)
    assert (result["outcome"], result["duplicate"]) == ("declined", True)
    assert again.err.rstrip().endswith("0 accepted, 0 declined, 0 refused, 1 duplicate")
    assert again.code == 1
