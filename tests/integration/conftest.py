"""Fixtures for the integration tier: the `orderlog` tool run in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from projections.cli import main
from tests.integration.clitools import Orderlog, Run


@pytest.fixture
def orderlog(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Orderlog:
    """`orderlog(*args)` runs the tool and returns its exit code and output. The caller's
    ORDERLOG_DB, the key variables and COLUMNS are cleared, so the defaults are the tool's own."""
    for name in ("ORDERLOG_DB", "ORDERLOG_KEY", "ORDERLOG_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("COLUMNS", raising=False)

    def run(*args: str) -> Run:
        code = main(list(args))
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "shop.db"
