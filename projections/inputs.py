"""JSON Lines input for `orderlog apply` and `import`, read strictly and one line at a time.

The file is read as bytes and decoded line by line, so one line that is not UTF-8 is one bad
line, not a crash; a UTF-8 byte order mark at the start is accepted. A JSON object that gives
a key twice is refused instead of silently keeping the last value.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

from eventstore import InvalidAppend
from lifecycle.errors import InvalidCommand

BOM = b"\xef\xbb\xbf"


class Line(NamedTuple):
    """One input line: its number from 1, its text, or why it could not be decoded."""

    number: int
    text: str
    problem: str | None = None


@contextmanager
def opened(name: str) -> Iterator[Iterable[bytes]]:
    """The lines of a file as bytes, or of standard input for `-` (where stdin is text only,
    as under some test runners, its text is encoded back to UTF-8)."""
    if name != "-":
        with Path(name).open("rb") as file:
            yield file
        return
    binary = getattr(sys.stdin, "buffer", None)
    yield binary if binary is not None else (line.encode("utf-8") for line in sys.stdin)


def read_lines(source: Iterable[bytes]) -> Iterator[Line]:
    """Every line of a binary file, decoded as UTF-8 (a byte order mark at the start is
    skipped); a line that is not UTF-8 comes with its `problem` and empty text."""
    for number, raw in enumerate(source, start=1):
        if number == 1 and raw.startswith(BOM):
            raw = raw[len(BOM) :]
        try:
            yield Line(number, raw.decode("utf-8"))
        except UnicodeDecodeError as error:
            byte = raw[error.start]
            problem = (
                f"the line is not UTF-8 text (byte 0x{byte:02x} at byte {error.start + 1}); "
                "save the file as UTF-8"
            )
            yield Line(number, "", problem)


def load_json(text: str) -> Any:
    """Parse one line of JSON; raises `InvalidCommand` for text that is not JSON and for an
    object that gives a key twice (naming the key)."""
    try:
        if text.startswith("\ufeff"):  # as `json.loads` refuses it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _decode(text)
    except InvalidCommand:
        raise
    except (ValueError, RecursionError) as error:
        raise InvalidCommand(
            f"the line is not JSON we can read ({type(error).__name__}: {error})"
        ) from None


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) == len(pairs):  # the usual case, checked at C speed
        return found
    seen: set[str] = set()
    for key, _ in pairs:
        if key in seen:
            raise InvalidCommand(
                "is given twice in one JSON object; give each field once", field=key[:60]
            )
        seen.add(key)
    return found


_decode = json.JSONDecoder(object_pairs_hook=_unique_keys).decode
"""One decoder for every line (`json.loads` builds one per call)."""


def checked_lines(source: Iterable[bytes]) -> Iterator[str]:
    """The lines of an export for `import`, each checked to be UTF-8 JSON without repeated
    keys; raises `InvalidAppend` naming the first bad line (the import is all or nothing)."""
    for line in read_lines(source):
        if line.problem is None and line.text.strip():
            try:
                load_json(line.text)
            except InvalidCommand as error:
                raise InvalidAppend(f"line {line.number}: {error.message}") from None
        elif line.problem is not None:
            raise InvalidAppend(f"line {line.number}: {line.problem}")
        yield line.text
