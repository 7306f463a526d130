"""docs/reference.md against the code (issue 12, item 9): every command type and field, event
type, error and decline code, and tool command and option the code has is in the reference,
and the reference names nothing the code does not have. The test reads the markdown as written:
nothing is generated, so the page cannot fall behind unnoticed."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import typing
from pathlib import Path
from typing import Any

import attrs
import click

from eventstore.errors import OrderlogError
from lifecycle.commands import BaseCommand
from lifecycle.errors import DECLINE_CODES
from lifecycle.events import EVENT_TYPES
from lifecycle.wire import COMMAND_TYPES
from projections.cli import cli

ROOT = Path(__file__).resolve().parents[2]
REFERENCE = (ROOT / "docs" / "reference.md").read_text()


def section(text: str, heading: str) -> str:
    """The text under a heading, up to the next heading of the same or a higher level."""
    level = heading.split(" ")[0]
    start = text.index(f"\n{heading}\n") + len(heading) + 2
    ends = [
        m.start() for m in re.finditer(r"\n(#+) ", text[start:]) if len(m.group(1)) <= len(level)
    ]
    return text[start : start + ends[0]] if ends else text[start:]


def subsections(text: str) -> dict[str, str]:
    """`### `name`` headings and the text under each."""
    parts = re.split(r"\n### `([^`]+)`\n", "\n" + text)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def first_column(text: str) -> list[str]:
    """The backticked names in the first column of the markdown tables in `text`."""
    return re.findall(r"^\| `([^`]+)` \|", text, re.M)


def field_names(cls: type[Any], prefix: str = "") -> set[str]:
    """A command's wire fields, nested ones as `customer.id` and `lines[].sku`."""
    hints = typing.get_type_hints(cls)
    names: set[str] = set()
    for field in attrs.fields(cls):
        name = prefix + field.name
        names.add(name)
        for inner, suffix in _nested(hints[field.name]):
            names |= field_names(inner, f"{name}{suffix}.")
    return names


def _nested(hint: Any) -> list[tuple[type[Any], str]]:
    if attrs.has(hint):
        return [(hint, "")]
    found = []
    for arg in typing.get_args(hint):
        if attrs.has(arg):
            found.append((arg, "[]" if typing.get_origin(hint) is tuple else ""))
    return found


COMMON = {field.name for field in attrs.fields(BaseCommand)}


def test_every_command_type_is_in_the_reference_and_no_other() -> None:
    documented = subsections(section(REFERENCE, "## Commands"))
    assert set(documented) == set(COMMAND_TYPES)


def test_every_field_of_every_command_is_documented_and_no_other() -> None:
    commands = section(REFERENCE, "## Commands")
    common = first_column(commands.split("\n### ")[0])
    assert set(common) == COMMON | {"type"}
    for name, text in subsections(commands).items():
        expected = field_names(COMMAND_TYPES[name]) - COMMON
        assert set(first_column(text)) == expected, name
        assert f'"type": "{name}"' in text, f"{name} has no example"


def test_every_event_type_is_in_the_reference_and_no_other() -> None:
    assert set(first_column(section(REFERENCE, "## Events"))) == set(EVENT_TYPES)


def every_error_class() -> set[type[OrderlogError]]:
    """Every `OrderlogError` class in the three packages (each module imported first)."""
    for package in ("eventstore", "lifecycle", "projections"):
        module = importlib.import_module(package)
        for info in pkgutil.walk_packages(module.__path__, f"{package}."):
            importlib.import_module(info.name)
    found: set[type[OrderlogError]] = {OrderlogError}
    frontier = [OrderlogError]
    while frontier:
        for child in frontier.pop().__subclasses__():
            if child.__module__.split(".")[0] in {"eventstore", "lifecycle", "projections"}:
                found.add(child)
                frontier.append(child)
    return found


def test_every_error_code_is_in_the_reference_with_its_class_and_no_other() -> None:
    errors = section(REFERENCE, "### Errors")
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \|", errors, re.M)
    documented = dict(rows)
    assert len(documented) == len(rows), "a code is listed twice"
    classes = every_error_class()
    assert documented == {cls.code: cls.__name__ for cls in classes}


def test_every_decline_code_is_in_the_reference_and_no_other() -> None:
    declines = first_column(section(REFERENCE, "### Declines"))
    assert set(declines) == set(DECLINE_CODES)
    assert not set(declines) & {cls.code for cls in every_error_class()}


def test_every_tool_command_and_option_is_in_the_reference_and_no_other() -> None:
    tool = section(REFERENCE, "## The orderlog tool")
    documented = {name.removeprefix("orderlog "): text for name, text in subsections(tool).items()}
    assert set(documented) == set(cli.commands)
    for name, command in cli.commands.items():
        text = documented[name]
        assert f"orderlog {name}" in text.split("```bash")[1], f"{name} has no example"
        for option in _long_options(command):
            assert option in text, f"{name} {option}"
    for option in _long_options(cli):
        assert option in tool.split("\n### ")[0], option


def _long_options(command: click.Command) -> list[str]:
    return [
        name
        for param in command.params
        if isinstance(param, click.Option) and not param.hidden
        for name in param.opts
        if name.startswith("--") and name not in {"--help", "--version"}
    ]


def test_the_json_shapes_of_apply_status_and_export_are_documented() -> None:
    shapes = subsections(section(REFERENCE, "## JSON shapes"))
    assert {"orderlog apply", "orderlog status ORDER --json", "orderlog export"} <= set(shapes)


def test_the_readme_links_the_reference_and_not_a_file_outside_the_repository() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "(docs/reference.md)" in readme
    assert "SPEC.md" not in readme


def problem_kinds() -> set[str]:
    """Every `kind` a `Problem(position, kind, message)` in the packages is given, read from
    the source (kinds are literals where each problem is found)."""
    kinds: set[str] = set()
    for package in ("eventstore", "projections", "lifecycle"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "Problem"
                    and len(node.args) >= 2
                    and isinstance(node.args[1], ast.Constant)
                ):
                    kinds.add(str(node.args[1].value))
    return kinds


def test_every_kind_of_verify_problem_is_in_the_reference_and_no_other() -> None:
    shapes = section(REFERENCE, "### The other commands' JSON")
    verify = shapes[shapes.index("- `verify --json`") :].split("\n- ")[0]
    listed = verify.split("`kind` is one of", 1)[1]
    found = problem_kinds()
    assert len(found) > 10  # the scan finds the problems where they are made
    assert set(re.findall(r"`([a-z_]+)`", listed)) == found
