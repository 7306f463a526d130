"""The layers of style.md, checked: the domain decides, the store records, projections read.

Imports are read from each module's source (not run), so a forbidden import anywhere in a
module fails here even on a path the tests never take.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# The domain's bridge to the store, the service that uses it, and the hypothesis strategies
# for users' tests are the only lifecycle modules allowed beyond the domain's own imports.
BRIDGES = {"service.py", "envelopes.py", "testing.py", "__init__.py"}
DOMAIN_MAY_IMPORT = {"attrs", "cattrs", "transitions", "lifecycle", "eventstore.errors"}
DECISIONS = {"lifecycle.decide", "lifecycle.returns", "lifecycle.refunds", "lifecycle.inspection"}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).glob("*.py"))


def imports(path: Path) -> set[str]:
    """Absolute names of everything a module imports (relative imports resolved)."""
    package = path.parent.name
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = f"{package}.{base}" if base else package
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def allowed_in_domain(name: str) -> bool:
    top = name.split(".")[0]
    if name.startswith("eventstore"):
        return name.startswith("eventstore.errors")
    return top in sys.stdlib_module_names or top in DOMAIN_MAY_IMPORT


@pytest.mark.parametrize(
    "path", [p for p in modules("lifecycle") if p.name not in BRIDGES], ids=lambda p: p.name
)
def test_domain_modules_import_no_storage_and_no_projections(path: Path) -> None:
    forbidden = sorted(name for name in imports(path) if not allowed_in_domain(name))
    assert forbidden == [], f"{path.name} imports {forbidden}"
    assert "sqlite3" not in imports(path)


@pytest.mark.parametrize(
    "path", [p for p in modules("lifecycle") if p.name not in BRIDGES], ids=lambda p: p.name
)
def test_domain_modules_never_read_the_clock(path: Path) -> None:
    calls = [
        node.func.attr
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    ]
    assert not {"now", "utcnow", "today"} & set(calls), path.name


@pytest.mark.parametrize("path", modules("eventstore"), ids=lambda p: p.name)
def test_the_store_knows_nothing_of_orders(path: Path) -> None:
    names = imports(path)
    assert not [n for n in names if n.startswith(("lifecycle", "projections"))], path.name


@pytest.mark.parametrize("path", modules("projections"), ids=lambda p: p.name)
def test_projections_fold_and_never_decide(path: Path) -> None:
    assert not DECISIONS & imports(path), path.name


def test_importing_the_domain_loads_no_database_code() -> None:
    probe = (
        "import sys, lifecycle.decide, lifecycle.order, lifecycle.policy; "
        "print(sorted(m for m in ('sqlite3', 'sqlite_utils', 'eventstore.sqlite', 'projections')"
        " if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.strip()
    assert loaded == "[]"
