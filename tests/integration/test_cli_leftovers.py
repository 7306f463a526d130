"""Small promises of the tool: reading commands leave nothing beside the log, and prose at 80
columns never breaks a clause id inside a word, and messages show times as people read them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from projections.demo import run_demo
from projections.render import wrapped
from tests.integration.clitools import applied
from tests.integration.workloads import journey, place, step
from tests.strategies import SHIPPED


@pytest.mark.parametrize(
    "args",
    [
        ("status", "o1"),
        ("status", "o1", "--as-of", "2026-03-10"),
        ("history", "o1"),
        ("explain", "o1"),
        ("refunds",),
        ("orders",),
        ("verify",),
        ("export",),
        ("replay", "--as-of", "2026-03-10"),
    ],
)
def test_a_reading_command_leaves_no_side_files_beside_the_log(
    orderlog: Any, tmp_path: Path, args: tuple[str, ...]
) -> None:
    folder = tmp_path / "copy"
    folder.mkdir()
    db = folder / "shop.db"
    applied(orderlog, db, tmp_path, journey("o1"))
    assert sorted(path.name for path in folder.iterdir()) == ["shop.db"]
    before = db.read_bytes()
    run = orderlog(*args, "--db", str(db))
    assert run.code == 0, run.err
    assert sorted(path.name for path in folder.iterdir()) == ["shop.db"]
    assert db.read_bytes() == before


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("demo") / "demo.db"
    run_demo(path, quiet=True)
    return path


def _prose_column(out: str) -> list[str]:
    """The cells of the history table's last column (`what`), line by line."""
    lines = out.splitlines()
    header = next(line for line in lines if line.rstrip().endswith("what"))
    start = header.rindex("what")
    return [line[start:].rstrip() for line in lines[lines.index(header) + 2 :]]


def test_at_80_columns_prose_breaks_a_clause_id_only_after_a_hyphen(
    orderlog: Any, demo_db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    run = orderlog("history", "A-3001", "--db", str(demo_db))
    joined = ""
    for line in _prose_column(run.out):
        joined += line.lstrip() if joined.endswith("-") else f" {line.lstrip()}"
    clauses = set(SHIPPED.current("allegra-k").clauses)
    shown = {clause for clause in clauses if clause in run.out.replace("\n", "")}
    assert shown  # the history names clauses, and each reads whole once its lines are joined
    for clause in clauses:
        if clause in orderlog("history", "A-3001", "--db", str(demo_db), "--json").out:
            assert clause in joined, clause


def test_wrapped_prose_keeps_short_hyphenated_words_whole() -> None:
    text = "line l2 (AK-SOCKS) cannot be returned (allegra-k/non-returnable-categories)"
    lines = wrapped(text, 30).splitlines()
    assert all(len(line) <= 30 for line in lines)
    assert "(AK-SOCKS)" in " ".join(lines)
    assert lines[-2:] == ["(allegra-k/non-returnable-", "categories)"]


def test_refusal_messages_show_times_as_people_read_them(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    late = [place("o1"), step("dispatch_order", "o1", 1), step("confirm_delivery", "o1", 0.5)]
    message = json.loads(applied(orderlog, db, tmp_path, late).out.splitlines()[-1])["error"]
    assert (
        "2026-03-02 21:00 UTC is earlier than the order's last event (2026-03-03 09:00 UTC)"
        in (message["message"])
    )
