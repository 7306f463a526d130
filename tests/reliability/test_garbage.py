"""Garbage in: whatever a caller or a file holds, `Orderlog.handle` answers with an `Outcome` and
`orderlog apply` with one result line per line and exit 0, 1 or 2: never an exception, a
traceback or `internal_error`. Inputs mix well-formed commands, commands with one field replaced
by any JSON value, JSON that is no command, deep nesting, huge numbers and bytes that are not
UTF-8 or not JSON."""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import uuid
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.service import Outcome
from lifecycle.wire import COMMAND_TYPES
from projections.app import Orderlog
from projections.cli import main
from tests.integration.workloads import journey, place
from tests.support import stress_scale

JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**62, max_value=2**70),  # past SQLite's 64-bit integers
    st.floats(allow_nan=False),
    st.text(max_size=40),
    st.sampled_from(["", "\x00", "\ufeff", "2026-03-02T09:00:00", "2026-03-02T09:00:00Z", "o1"]),
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner),
    max_leaves=12,
)
FIELDS = sorted({key for command in journey("o1") for key in command} | {"lines", "customer"})


@st.composite
def garbage_commands(draw: st.DrawFn) -> Any:
    """A command a careless or hostile caller might send."""
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(JSON_VALUES)  # anything at all
    base = dict(draw(st.sampled_from([place("o1"), *journey("o1")])))
    if kind == 1:  # one field replaced by any value, or removed
        name = draw(st.sampled_from(FIELDS))
        if draw(st.booleans()):
            base[name] = draw(JSON_VALUES)
        else:
            base.pop(name, None)
    elif kind == 2:  # a known type with random fields
        base = {"type": draw(st.sampled_from(sorted(COMMAND_TYPES)))}
        base.update(draw(st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6)))
    elif kind == 3:  # nested too deep for anyone's stack
        depth = draw(st.integers(50, 3000))
        base[draw(st.sampled_from(FIELDS))] = nested(depth)
    if draw(st.booleans()):
        base["command_id"] = draw(st.sampled_from(["c1", "c2"]) | JSON_VALUES)
    return base


def nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


_LOG: list[Orderlog] = []


def shared_log() -> Orderlog:
    """One log for every example, so garbage meets orders that exist, too."""
    if not _LOG:
        _LOG.append(Orderlog(f"file:/orderlog-garbage-{uuid.uuid4().hex}?vfs=memdb"))
        _LOG[0].handle(place("o1"))
    return _LOG[0]


@settings(max_examples=300 * stress_scale())
@given(garbage_commands())
def test_any_command_gets_an_outcome_never_an_exception(command: Any) -> None:
    outcome = shared_log().handle(command)
    assert isinstance(outcome, Outcome)
    if not outcome.ok:
        assert outcome.error is not None
        assert outcome.error["code"] not in {"internal_error", "orderlog_error"}
        assert outcome.error["message"]


def encoded(command: Any) -> bytes:
    try:
        return json.dumps(command).encode()
    except (ValueError, RecursionError):
        return b"{"


LINES = st.one_of(
    garbage_commands().map(encoded),
    st.binary(max_size=60),  # bytes that are not UTF-8, or not JSON
    st.sampled_from([b"\xef\xbb\xbf{}", b"\xff\xfe", b'{"type": "place_order", "type": 1}']),
    st.just(b"[" * 100_000),
)

_FOLDER = Path(tempfile.mkdtemp(prefix="orderlog-garbage-"))


@settings(max_examples=100 * stress_scale())
@given(st.lists(LINES, min_size=1, max_size=6))
def test_any_file_through_apply_exits_0_1_or_2_with_one_result_per_line(
    lines: list[bytes],
) -> None:
    source = _FOLDER / "in.jsonl"
    source.write_bytes(b"\n".join(lines))
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["apply", str(source), "--db", str(_FOLDER / "log.db")])
    assert code in (0, 1, 2), err.getvalue()
    assert "Traceback" not in out.getvalue() + err.getvalue()
    assert "internal_error" not in out.getvalue() + err.getvalue()
    results = [json.loads(line) for line in out.getvalue().splitlines()]
    if code == 2:
        assert err.getvalue().count("\n") == 1, err.getvalue()
        return
    assert all(result["ok"] or result["error"]["code"] for result in results)
    assert [r["line"] for r in results] == sorted({r["line"] for r in results})
