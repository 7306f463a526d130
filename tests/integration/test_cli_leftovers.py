"""Small promises of the tool: reading commands leave nothing beside the log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.integration.clitools import applied
from tests.integration.workloads import journey


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
