"""The README's promises: its Python example runs, its diagrams are the machines', its set-up
commands are the ones CI runs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lifecycle.machines import ORDER_MACHINE, RETURN_MACHINE

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def compiled(example: str) -> Any:
    """An example compiled at its own lines of README.md, so tracebacks (and hypothesis,
    which reads the source of a failing test) point at the README's real lines."""
    before = README[: README.index(example)].count("\n")
    return compile("\n" * before + example, "README.md", "exec")


def test_the_python_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    example = blocks("python")[0]
    exec(compiled(example), {})
    assert (tmp_path / "shop.db").exists()


def test_the_property_testing_example_runs() -> None:
    example = blocks("python")[1]
    namespace: dict[str, object] = {}
    exec(compiled(example), namespace)
    test = namespace["test_our_adapter_survives_any_story"]
    assert callable(test)
    test()


def test_the_diagrams_are_the_machines_definitions() -> None:
    order, returns = blocks("mermaid")
    assert order == ORDER_MACHINE.mermaid()
    assert returns == RETURN_MACHINE.mermaid()


def test_ci_runs_the_readme_test_command_word_for_word() -> None:
    commands = blocks("bash")
    test_command = commands[1].strip()
    assert "pytest" in test_command
    ci = (ROOT / ".ci" / "run").read_text()
    assert test_command in ci
    assert ci.count("pip install") == 1, "CI installs once, by the README's command"
    assert commands[0].strip().endswith("orderlog demo")
