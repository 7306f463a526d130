"""Reading policy files from disk and from the package: the domain's edge for policies.

The domain only parses text (`policy_files.parse_policy`); this module does the reading, for
the registry and for anyone loading a shop's own files.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from .errors import InvalidPolicy
from .policy import Policy
from .policy_files import parse_policy


def load_policy(path: Path) -> Policy:
    """Read a policy file; its name must match the file name (`kiyomi.toml` holds `kiyomi`).

    Raises `InvalidPolicy` naming the file and the field."""
    policy = parse_policy(path.read_text(encoding="utf-8"), path.name)
    if policy.name != path.stem:
        raise InvalidPolicy(
            path.name, "name", f"is {policy.name!r}; the file must be named {policy.name}.toml"
        )
    return policy


def load_directory(folder: Path) -> list[Policy]:
    """Every `*.toml` policy in a folder, by file name."""
    return [load_policy(path) for path in sorted(folder.glob("*.toml"))]


def shipped_policies() -> list[Policy]:
    """The policies orderlog ships (one per seed shop), by file name."""
    folder = resources.files("lifecycle.policies")
    return [
        parse_policy(entry.read_text(encoding="utf-8"), entry.name)
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".toml")
    ]
