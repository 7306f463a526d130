"""Running the `orderlog` tool in-process from tests, and reading what it printed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


class Run:
    """The result of one `orderlog` invocation."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.code, self.out, self.err = code, out, err

    def json(self) -> Any:
        return json.loads(self.out)


Orderlog = Callable[..., Run]
"""The `orderlog` fixture: `orderlog(*args)` runs the tool in-process."""


def write_jsonl(path: Path, commands: list[dict[str, Any]], extra: str = "") -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in commands) + extra)
    return path


def applied(orderlog: Orderlog, db: Path, tmp_path: Path, commands: list[dict[str, Any]]) -> Run:
    return orderlog("apply", str(write_jsonl(tmp_path / "in.jsonl", commands)), "--db", str(db))


def assert_one_line_error(run: Run, code: str) -> None:
    assert run.code != 0
    assert run.err.count("\n") == 1, run.err
    assert run.err.startswith("orderlog: ")
    assert f"[{code}]" in run.err
    assert "Traceback" not in run.err + run.out
