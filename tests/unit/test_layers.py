"""The layers of style.md, checked: the domain decides, the store records, projections read.

The import rules are import-linter contracts in pyproject.toml (`lint-imports`, which CI runs
too); this module runs them, keeps their module lists complete, and checks what imports cannot
show: the domain never reads the clock or opens a file, and importing it loads no database code.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CONTRACTS: list[dict[str, Any]] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"][
    "importlinter"
]["contracts"]
DOMAIN_CONTRACT = next(c for c in CONTRACTS if c["name"].startswith("The pure domain"))
DOMAIN = sorted(DOMAIN_CONTRACT["source_modules"])
FORBIDDEN_TO_DOMAIN = set(DOMAIN_CONTRACT["forbidden_modules"])
STORE_MODULES_THE_DOMAIN_MAY_USE = {"eventstore.errors", "eventstore.codec"}


def modules(package: str) -> list[str]:
    """The dotted names of a flat package's modules (its `__init__` excluded)."""
    return sorted(
        f"{package}.{path.stem}"
        for path in (ROOT / package).glob("*.py")
        if path.name != "__init__.py"
    )


def source(module: str) -> str:
    return (ROOT / (module.replace(".", "/") + ".py")).read_text()


def test_the_import_contracts_hold() -> None:
    """`lint-imports`, as CI runs it: every contract kept, none with an ignored import."""
    lint = Path(sys.executable).parent / "lint-imports"
    run = subprocess.run(
        [lint, "--no-cache"], capture_output=True, text=True, check=False, cwd=ROOT
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in run.stdout
    assert not any("ignore_imports" in contract for contract in CONTRACTS)


def test_every_lifecycle_module_is_domain_or_a_named_edge() -> None:
    """A new lifecycle module must be put on one side: pure, or an edge the domain may not use."""
    edges = {name for name in FORBIDDEN_TO_DOMAIN if name.startswith("lifecycle.")}
    assert {"lifecycle.testing", "lifecycle.testing.*"} <= edges  # the strategies' package
    modules_of_edges = edges - {"lifecycle.testing", "lifecycle.testing.*"}
    assert set(modules("lifecycle")) == set(DOMAIN) | modules_of_edges
    assert not set(DOMAIN) & edges


def test_every_store_module_but_the_error_root_and_the_codec_is_forbidden_to_the_domain() -> None:
    store = set(modules("eventstore")) - STORE_MODULES_THE_DOMAIN_MAY_USE
    assert store | {"eventstore"} <= FORBIDDEN_TO_DOMAIN


def calls(module: str) -> set[str]:
    """The names of everything a module calls (`now` for `datetime.now()`, `open`...)."""
    found = set()
    for node in ast.walk(ast.parse(source(module))):
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute):
                found.add(func.attr)
            elif isinstance(func, ast.Name):
                found.add(func.id)
    return found


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_modules_never_read_the_clock(module: str) -> None:
    assert not {"now", "utcnow", "today"} & calls(module), module


@pytest.mark.parametrize("module", DOMAIN)
def test_domain_modules_never_open_or_read_a_file(module: str) -> None:
    assert not {"open", "read_text", "read_bytes", "write_text", "iterdir"} & calls(module)


def loaded_by(imports: str) -> set[str]:
    """The modules a fresh interpreter holds after `import <imports>`."""
    probe = f"import sys, {imports}; print(' '.join(sys.modules))"
    run = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return set(run.stdout.split())


def test_importing_the_domain_loads_no_database_code() -> None:
    loaded = loaded_by("lifecycle.decide, lifecycle.order, lifecycle.policy, lifecycle.planning")
    assert not {"sqlite3", "sqlite_utils", "eventstore.sqlite", "projections"} & loaded


def test_importing_the_domain_loads_no_store_module_but_the_error_root_and_the_codec() -> None:
    """Even through the package's own `__init__`, which offers the service by name."""
    loaded = loaded_by(", ".join(DOMAIN))
    store = {name for name in loaded if name.startswith("eventstore.")}
    assert store == STORE_MODULES_THE_DOMAIN_MAY_USE
    assert "lifecycle.service" not in loaded
    assert "hypothesis" not in loaded


def test_the_service_is_still_offered_by_the_package() -> None:
    import lifecycle
    from lifecycle.service import OrderService, Outcome

    assert (lifecycle.OrderService, lifecycle.Outcome) == (OrderService, Outcome)
    with pytest.raises(AttributeError, match="no attribute 'Nothing'"):
        _ = lifecycle.Nothing
