"""The keyed chain: an HMAC-SHA256 on every event, made with a key only the shop keeps.

The hash chain proves a log was not edited since a digest was kept; anyone can extend it, since
recomputing SHA-256 needs no secret. With a key, each event also carries a MAC over its chain
hash (so over its whole text, its position and, through the chain, every event before it): an
event added by someone without the key, or an edited and re-hashed one, fails `verify` with the
key. The MAC lives beside the chain, not in it, so a log verifies without the key as well.

A MAC is stored as `<key id>:<hex HMAC>`; the key id (a MAC of a fixed text) names which key
made it, so a wrong key is told apart from forged events. The key itself is never stored.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Mapping
from pathlib import Path

from .errors import OrderlogError, StoreFileError
from .records import Problem
from .rows import StoredRow

MIN_KEY_BYTES = 16
"""A shorter key is refused: 128 bits is the least an HMAC key should have."""

KEY_FILE_ENV = "ORDERLOG_KEY_FILE"
KEY_ENV = "ORDERLOG_KEY"

_MAC_LABEL = b"orderlog event mac v1\x00"
_ID_LABEL = b"orderlog key id v1"


class InvalidKey(OrderlogError, ValueError):
    """The key cannot be used: too short, or its file cannot be read."""

    code = "invalid_key"


class WrongKey(StoreFileError):
    """The log is keyed with another key than the one given (or needs one that was not given)."""

    code = "wrong_key"


class ChainKey:
    """A shop's secret for the keyed chain. Its repr shows only the key id, never the key."""

    __slots__ = ("_secret", "key_id")

    def __init__(self, secret: bytes) -> None:
        if not isinstance(secret, bytes | bytearray) or len(secret) < MIN_KEY_BYTES:
            raise InvalidKey(
                f"a chain key must be at least {MIN_KEY_BYTES} bytes; generate one with "
                "`python -c 'import secrets; print(secrets.token_hex(32))' > shop.key`"
            )
        self._secret = bytes(secret)
        self.key_id = hmac.new(self._secret, _ID_LABEL, hashlib.sha256).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"ChainKey(key_id={self.key_id!r})"

    def sign(self, event_hash: str) -> str:
        """The MAC text of an event, from its chain hash."""
        return f"{self.key_id}:{self._digest(event_hash)}"

    def _digest(self, event_hash: str) -> str:
        message = _MAC_LABEL + event_hash.encode("ascii", "replace")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def check(self, event_hash: object, mac: object) -> str | None:
        """Why `mac` is not this key's MAC of `event_hash` ("missing", "wrong_key", "mismatch"),
        or None when it is."""
        if mac is None:
            return "missing"
        if type(mac) is not str or type(event_hash) is not str:
            return "mismatch"
        key_id, _, digest = mac.partition(":")
        if key_id != self.key_id:
            return "wrong_key"
        return None if hmac.compare_digest(digest, self._digest(event_hash)) else "mismatch"


def as_key(key: ChainKey | bytes | None) -> ChainKey | None:
    """A key given as bytes or as a `ChainKey` (None stays None)."""
    if key is None or isinstance(key, ChainKey):
        return key
    return ChainKey(key)


def read_key_file(path: str | Path) -> ChainKey:
    """The key in a file: its bytes, without a trailing newline. Raises `InvalidKey`."""
    try:
        secret = Path(path).read_bytes()
    except OSError as error:
        raise InvalidKey(f"the key file {path} cannot be read ({error.strerror})") from None
    return ChainKey(secret.rstrip(b"\r\n"))


def key_from_environment(environ: Mapping[str, str] | None = None) -> ChainKey | None:
    """The key named by `$ORDERLOG_KEY_FILE` (a path), else `$ORDERLOG_KEY` (the key's text),
    else None."""
    env = os.environ if environ is None else environ
    if env.get(KEY_FILE_ENV):
        return read_key_file(env[KEY_FILE_ENV])
    if env.get(KEY_ENV):
        return ChainKey(env[KEY_ENV].encode("utf-8"))
    return None


def key_id_of(mac: object) -> str | None:
    """The key id a stored MAC names (None for no MAC or one that is not text)."""
    return mac.partition(":")[0] if type(mac) is str else None


def check_writer_key(key: ChainKey | None, head: StoredRow | None, name: str) -> None:
    """Refuse to write to a keyed log without its key, or with another key: the last event
    tells (its MAC's key id). Raises `WrongKey`."""
    if head is None or head.mac is None:
        return
    found = key_id_of(head.mac)
    if key is None:
        raise WrongKey(
            f"the log at {name} is keyed (its events carry MACs of key {found}): give the shop's "
            "key to write to it (--key-file, or $ORDERLOG_KEY_FILE / $ORDERLOG_KEY)"
        )
    if found != key.key_id:
        raise WrongKey(
            f"the log at {name} is keyed with key {found}, not with the key given ({key.key_id}): "
            "give the shop's key"
        )


class MacCheck:
    """`verify` with a key: feed it rows in position order (`step`), then `finish`.

    Every event from the first one carrying a MAC on must carry this key's MAC. Events before
    it (written before the shop took a key) are vouched for by that first MAC, which covers
    their hashes through the chain. A log where no event carries a MAC is a problem too."""

    def __init__(self, key: ChainKey) -> None:
        self.key = key
        self.keyed = False
        self.problem: Problem | None = None

    def step(self, row: StoredRow) -> None:
        if self.problem is not None:
            return
        why = self.key.check(row.hash, row.mac)
        if why is None:
            self.keyed = True
        elif why == "missing":
            if self.keyed:
                self.problem = Problem(
                    row.position,
                    "mac_missing",
                    f"event {row.position} ({row.type} in {row.stream_id}) carries no MAC: it "
                    "was appended without the shop's key, or its MAC was removed",
                )
        elif why == "wrong_key" and not self.keyed:
            self.problem = Problem(
                row.position,
                "wrong_key",
                f"the key given ({self.key.key_id}) is not the one this log is keyed with: "
                f"event {row.position} carries a MAC of key {key_id_of(row.mac)}; give the "
                "shop's key",
            )
        else:
            self.problem = Problem(
                row.position,
                "mac_mismatch",
                f"event {row.position} ({row.type} in {row.stream_id}) does not carry the shop's "
                "MAC of its content: it was altered or forged by someone without the key",
            )

    def finish(self, checked: int) -> Problem | None:
        if self.problem is None and checked and not self.keyed:
            return Problem(
                1,
                "unkeyed_log",
                "no event carries a MAC: the log was never written with a key (or every MAC "
                "was removed), so the key cannot vouch for it",
            )
        return self.problem
