"""The keyed chain through the tool: `apply` and `import` sign with the shop's key (from
`--key-file` or the environment), `verify --key` names every event the key does not vouch for,
and a wrong or missing key is named as such."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eventstore.rows import StoredRow, row_hash
from tests.integration.clitools import applied, assert_one_line_error, write_jsonl
from tests.integration.workloads import journey, place


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "shop.key"
    path.write_text("4f1c9e0b7a2d4e6f8a1b3c5d7e9f0a2b\n")
    return path


@pytest.fixture
def other_key(tmp_path: Path) -> Path:
    path = tmp_path / "other.key"
    path.write_text("not the shop's key, but long enough\n")
    return path


def keyed_apply(orderlog: Any, db: Path, tmp_path: Path, key: Path, commands: Any) -> Any:
    source = write_jsonl(tmp_path / "in.jsonl", commands)
    return orderlog("apply", str(source), "--db", str(db), "--key-file", str(key))


def verify(orderlog: Any, db: Path, *options: str) -> tuple[int, dict[str, Any]]:
    run = orderlog("verify", "--db", str(db), "--json", *options)
    return run.code, run.json()


def test_a_log_applied_with_a_key_verifies_with_and_without_it(
    orderlog: Any, db: Path, tmp_path: Path, key_file: Path
) -> None:
    assert keyed_apply(orderlog, db, tmp_path, key_file, journey("o1")).code == 1  # a decline
    code, report = verify(orderlog, db, "--key-file", str(key_file))
    assert (code, report["ok"]) == (0, True)
    assert report["key"] is not None
    assert len(report["key"]) == 16
    assert report["key"] in orderlog("verify", "--db", str(db), "--key-file", str(key_file)).out
    code, report = verify(orderlog, db)
    assert (code, report["ok"], report["key"]) == (0, True, None)


def test_an_event_appended_without_the_key_is_caught_by_verify_key(
    orderlog: Any, db: Path, tmp_path: Path, key_file: Path
) -> None:
    keyed_apply(orderlog, db, tmp_path, key_file, journey("o1"))
    forge_next_event(db)
    assert verify(orderlog, db)[1]["checks"]["chain"] == "ok"  # the chain cannot tell
    code, report = verify(orderlog, db, "--key-file", str(key_file))
    assert code == 1
    assert report["problem"]["kind"] == "mac_missing"
    assert "without the shop's key" in report["problem"]["message"]


def forge_next_event(db: Path) -> None:
    """Append a copy of the last event with a correct hash, as anyone with the file can."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        last = StoredRow._make(
            conn.execute("SELECT * FROM events ORDER BY position DESC LIMIT 1").fetchone()
        )
        row = last._replace(
            position=last.position + 1, stream_version=last.stream_version + 1, mac=None
        )
        row = row._replace(hash=row_hash(row, last.hash))
        conn.execute(f"INSERT INTO events VALUES ({', '.join('?' * len(row))})", row)
    finally:
        conn.close()


def test_a_wrong_key_is_named_by_verify_and_refused_by_apply(
    orderlog: Any, db: Path, tmp_path: Path, key_file: Path, other_key: Path
) -> None:
    keyed_apply(orderlog, db, tmp_path, key_file, [place("o1")])
    code, report = verify(orderlog, db, "--key-file", str(other_key))
    assert (code, report["problem"]["kind"]) == (1, "wrong_key")
    for run in (
        keyed_apply(orderlog, db, tmp_path, other_key, [place("o2")]),
        applied(orderlog, db, tmp_path, [place("o3")]),  # no key at all
    ):
        assert_one_line_error(run, "wrong_key")
        assert run.code == 2
    assert verify(orderlog, db, "--key-file", str(key_file))[1]["checked"] == 2


def test_the_key_comes_from_the_environment(
    orderlog: Any,
    db: Path,
    tmp_path: Path,
    key_file: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORDERLOG_KEY_FILE", str(key_file))
    assert applied(orderlog, db, tmp_path, [place("o1")]).code == 0
    assert verify(orderlog, db, "--key")[0] == 0
    monkeypatch.delenv("ORDERLOG_KEY_FILE")
    monkeypatch.setenv("ORDERLOG_KEY", key_file.read_text().strip())
    assert applied(orderlog, db, tmp_path, [place("o2")]).code == 0  # the same key, as text
    code, report = verify(orderlog, db, "--key")
    assert (code, report["checked"]) == (0, 3)  # the policy is recorded once


def test_a_missing_short_or_unreadable_key_is_a_clear_error(
    orderlog: Any, db: Path, tmp_path: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    assert_one_line_error(orderlog("verify", "--db", str(db), "--key"), "usage_error")
    short = tmp_path / "short.key"
    short.write_text("abc\n")
    for path in (short, tmp_path / "nowhere.key"):
        run = orderlog("verify", "--db", str(db), "--key-file", str(path))
        assert_one_line_error(run, "invalid_key")
        assert run.code == 2


def test_an_unkeyed_log_fails_only_a_keyed_verify(
    orderlog: Any, db: Path, tmp_path: Path, key_file: Path
) -> None:
    applied(orderlog, db, tmp_path, [place("o1")])
    assert verify(orderlog, db)[0] == 0
    code, report = verify(orderlog, db, "--key-file", str(key_file))
    assert (code, report["problem"]["kind"]) == (1, "unkeyed_log")


def test_an_export_of_a_keyed_log_keeps_its_macs_through_import(
    orderlog: Any, db: Path, tmp_path: Path, key_file: Path, other_key: Path
) -> None:
    keyed_apply(orderlog, db, tmp_path, key_file, journey("o1"))
    export = tmp_path / "log.jsonl"
    export.write_text(orderlog("export", "--db", str(db)).out)
    assert all("mac" in json.loads(line) for line in export.read_text().splitlines())
    plain = tmp_path / "plain.db"  # imported without the key: the MACs come along as they are
    assert orderlog("import", str(export), "--db", str(plain)).code == 0
    assert verify(orderlog, plain, "--key-file", str(key_file))[0] == 0
    signed = tmp_path / "signed.db"  # with the key: each MAC is checked
    assert (
        orderlog("import", str(export), "--db", str(signed), "--key-file", str(key_file)).code == 0
    )
    assert verify(orderlog, signed, "--key-file", str(key_file))[0] == 0
    other = tmp_path / "other.db"  # with another key: refused, nothing imported
    run = orderlog("import", str(export), "--db", str(other), "--key-file", str(other_key))
    assert_one_line_error(run, "invalid_append")
    assert "MAC" in run.err
    assert not other.exists()


def test_an_unkeyed_export_imported_with_the_key_is_signed(
    orderlog: Any, db: Path, tmp_path: Path, key_file: Path
) -> None:
    applied(orderlog, db, tmp_path, journey("o1"))
    export = tmp_path / "log.jsonl"
    export.write_text(orderlog("export", "--db", str(db)).out)
    assert not any("mac" in json.loads(line) for line in export.read_text().splitlines())
    signed = tmp_path / "signed.db"
    assert (
        orderlog("import", str(export), "--db", str(signed), "--key-file", str(key_file)).code == 0
    )
    assert verify(orderlog, signed, "--key-file", str(key_file))[0] == 0


def test_a_writer_opened_before_the_shop_took_a_key_cannot_append_without_it(
    tmp_path: Path,
) -> None:
    """The check is made at every write of a writer without a key, not only at its first: a
    long-running writer that opened the log before it was keyed is refused once it is."""
    from eventstore import SQLiteEventStore
    from eventstore.keys import WrongKey
    from projections.app import Orderlog

    path = tmp_path / "shop.db"
    with Orderlog(path) as early:
        assert early.handle(place("o1")).ok
        with Orderlog(path, key=b"4f1c9e0b7a2d4e6f8a1b3c5d") as keyed:
            assert keyed.handle(place("o2")).ok
        with pytest.raises(WrongKey):
            early.handle(place("o3"))
    store = SQLiteEventStore(path, read_only=True, key=b"4f1c9e0b7a2d4e6f8a1b3c5d")
    try:
        assert store.verify().ok
    finally:
        store.close()
