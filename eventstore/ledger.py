"""The command ledger against the events: rebuilt from imported metadata, and checked by `verify`.

The ledger maps a command id to the positions of the events it wrote; those events carry the id
in their metadata, inside the hash chain. Both directions are checked in one pass over the log in
position order, in Python over parsed metadata (so no text, a NUL say, can cut a check short),
holding only the ledger entries that span the current position.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from .codec import format_time
from .errors import InvalidAppend
from .records import Problem, RecordedEvent
from .rows import COMMAND_ID, StoredRow

LedgerEntry = tuple[str, int, int]
"""(command id, first position, last position) of one accepted command."""


def note_command(commands: dict[str, tuple[int, int, str]], event: RecordedEvent) -> None:
    """Rebuild the ledger of imported events from their metadata; a command's are contiguous.

    `commands` maps a command id to (first, last, recorded_at); raises `InvalidAppend` if the
    events of one command are apart."""
    command_id = event.metadata.get(COMMAND_ID)
    if command_id is None:
        return
    first, last, recorded_at = commands.get(
        command_id, (event.position, event.position - 1, _text_time(event))
    )
    if last != event.position - 1:
        raise InvalidAppend(f"row {event.position}: the events of command {command_id} are apart")
    commands[command_id] = (first, event.position, recorded_at)


def _text_time(event: RecordedEvent) -> str:
    return format_time(event.recorded_at)


def command_of(row: StoredRow) -> Any:
    """The command id in a row's metadata (None if it has none or the text does not parse)."""
    text = row.metadata
    if type(text) is not str:
        return None  # a malformed row: the chain walk names it
    # A JSON text can spell the key "command_id" only literally or with \u escapes: rows
    # with neither need no parsing, which keeps the check cheap on long logs.
    if "command_id" not in text and "\\u" not in text:
        return None
    try:
        metadata = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return metadata.get(COMMAND_ID) if isinstance(metadata, dict) else None


class LedgerCheck:
    """Feed it the rows in position order (`step`), then `finish`: the first entry that does not
    match its events, or event naming a command the ledger does not lead to."""

    def __init__(self, entries: Iterable[tuple[Any, Any, Any]]) -> None:
        self._entries: Iterator[tuple[Any, Any, Any]] = iter(entries)
        self._next: tuple[Any, Any, Any] | None = None
        self._open: dict[Any, list[int]] = {}  # command id -> [first, last, next expected]
        self.problem: Problem | None = None
        self._pull()

    def _pull(self) -> None:
        self._next = next(self._entries, None)

    def _fail(self, position: int, message: str) -> None:
        if self.problem is None or position < self.problem.position:
            self.problem = Problem(position, "ledger_mismatch", message)

    def _entry_fails(self, command_id: Any, first: Any) -> None:
        where = first if type(first) is int else 0
        self._fail(
            where,
            f"the ledger entry for command {command_id} does not match the events it points at",
        )

    def _open_entries_to(self, position: int) -> None:
        while self._next is not None and _sort_key(self._next[1]) <= position:
            command_id, first, last = self._next
            self._pull()
            well_formed = (
                type(command_id) is str
                and type(first) is int
                and type(last) is int
                and 1 <= first <= last
            )
            if not well_formed:
                self._entry_fails(command_id, first)
            else:
                self._open[command_id] = [first, last, first]

    def step(self, row: StoredRow) -> None:
        """Check one row (rows come in position order)."""
        position = row.position
        if self._next is not None:
            self._open_entries_to(position)
        command_id = command_of(row)
        if command_id is not None and command_id not in self._open:
            self._fail(
                position,
                f"event {position} belongs to command {command_id}, which the ledger does not "
                "lead to",
            )
        if not self._open:
            return
        for other, span in list(self._open.items()):
            # An entry fails where its span skips a position or holds another command's event.
            if other != command_id or span[2] != position:
                self._entry_fails(other, span[0])
                del self._open[other]
            elif position == span[1]:
                del self._open[other]
            else:
                span[2] = position + 1

    def finish(self) -> Problem | None:
        """After the last row: entries that run past the log are problems too."""
        for command_id, span in self._open.items():
            self._entry_fails(command_id, span[0])
        while self._next is not None:
            command_id, first, _ = self._next
            self._entry_fails(command_id, first)
            self._pull()
        return self.problem


def _sort_key(first: Any) -> float:
    return first if type(first) is int else float("-inf")
