"""Progress bars for long jobs (`apply`, `import`, `verify`): drawn on stderr, only when stderr is
a terminal and the job is long, so scripts, pipes and CI logs never see them."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

LONG = 1000
"""Lines (or events) from which a job is long enough for a bar."""

Advance = Callable[[int], None]
T = TypeVar("T")


def wanted(total: int | None) -> bool:
    """Whether a job of `total` steps gets a bar: stderr is a terminal and the job is long."""
    return total is not None and total >= LONG and sys.stderr.isatty()


def lines_in(name: str) -> int | None:
    """How many lines a file holds (None for standard input, which cannot be read twice)."""
    if name == "-":
        return None
    with Path(name).open("rb") as file:
        return sum(chunk.count(b"\n") for chunk in iter(lambda: file.read(1 << 20), b""))


@contextmanager
def bar(label: str, total: int | None) -> Iterator[Advance]:
    """A bar over `total` steps labelled `label` (none unless `wanted`); yields `advance(n)`."""
    if not wanted(total):
        yield lambda count: None
        return
    shown = Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    task = shown.add_task(label, total=total)
    with shown:
        yield lambda count: shown.advance(task, count)


def counted(items: Iterable[T], advance: Advance) -> Iterator[T]:
    """`items` as they are, telling `advance` of each one."""
    for item in items:
        advance(1)
        yield item
