"""The clause bookkeeping each shop's meta-test checks: every clause of a policy file is encoded
by a rule, listed out of scope, or covered by a test named after it."""

from __future__ import annotations

import inspect
import tomllib
from collections.abc import Iterator
from importlib import resources
from types import ModuleType
from typing import Any


def policy_file(name: str) -> dict[str, Any]:
    """A shipped policy file's TOML, as written."""
    text = (resources.files("lifecycle.policies") / f"{name}.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)


def rule_clauses(value: Any) -> Iterator[str]:
    """Every clause id a rule names (`clause`, `cancel_clause`, `dispatch_clause`...)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key.endswith("clause") and isinstance(item, str):
                yield item
            yield from rule_clauses(item)
    elif isinstance(value, list):
        for item in value:
            yield from rule_clauses(item)


def name_prefix(clause: str) -> str:
    """`allegra-k/sets-whole` -> `test_allegra_k_sets_whole`: how a clause's tests are named."""
    return "test_" + clause.replace("/", "_").replace("-", "_")


def coverage_problems(name: str, module: ModuleType) -> list[str]:
    """What is wrong with the clause coverage of policy `name` and its test module (none: [])."""
    data = policy_file(name)
    defined = set(data["clauses"])
    out_of_scope = {entry["clause"] for entry in data.get("out_of_scope", [])}
    rules = {key: value for key, value in data.items() if key not in {"clauses", "out_of_scope"}}
    referenced = set(rule_clauses(rules))
    tests = [n for n, _ in inspect.getmembers(module, inspect.isfunction) if n.startswith("test_")]
    problems = []
    for clause in sorted(defined):
        prefix = name_prefix(clause)
        tested = any(n == prefix or n.startswith(prefix + "_") for n in tests)
        if not (clause in referenced or clause in out_of_scope or tested):
            problems.append(f"{clause}: no rule names it, it is not out of scope, no test")
        if clause not in out_of_scope and not tested:
            problems.append(f"{clause}: in scope but no test is named {prefix}_...")
        if clause in out_of_scope and clause in referenced:
            problems.append(f"{clause}: listed out of scope, yet a rule names it")
    return problems
