"""Read-only media for tests: a folder bind-mounted read-only, as an auditor's copy would be.

Root ignores file modes, so chmod cannot make a file read-only for these tests; a read-only bind
mount can. Where mounting is refused (not root, no CAP_SYS_ADMIN), the test is skipped.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _mount(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *args], capture_output=True, text=True, check=False)


@contextmanager
def read_only_view(source: Path, target: Path) -> Iterator[Path]:
    """`source` seen read-only at `target` for the duration of the block."""
    target.mkdir()
    try:
        bound = _mount("--bind", str(source), str(target))
    except OSError as error:
        pytest.skip(f"no mount command here: {error}")
    if bound.returncode:
        pytest.skip(f"bind mounts are refused here (needs root): {bound.stderr.strip()}")
    try:
        remounted = _mount("-o", "remount,bind,ro", str(target))
        if remounted.returncode:
            pytest.skip(f"read-only remounts are refused here: {remounted.stderr.strip()}")
        yield target
    finally:
        subprocess.run(["umount", str(target)], capture_output=True, check=False)


@contextmanager
def tiny_disk(target: Path, size: str) -> Iterator[Path]:
    """A folder on a file system of `size` (tmpfs), to fill up, for the duration of the block."""
    target.mkdir()
    try:
        mounted = _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(target))
    except OSError as error:
        pytest.skip(f"no mount command here: {error}")
    if mounted.returncode:
        pytest.skip(f"tmpfs mounts are refused here (needs root): {mounted.stderr.strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", str(target)], capture_output=True, check=False)
