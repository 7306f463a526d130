"""The policy registry: finds a policy by name (the version now in force) or by name and version
(the version an order was placed under, which governs it for ever).

It holds policies in memory; `shipped()` and `load_directory()` have `policy_loading.py` read
the files.
"""

from __future__ import annotations

from pathlib import Path

from . import policy_loading
from .errors import UnknownPolicy
from .policy import Policy


class PolicyRegistry:
    """Policies by name and version. Newer files replace the current version of a name; older
    versions stay findable so orders placed under them keep their rules."""

    def __init__(self, policies: list[Policy] | None = None) -> None:
        self._current: dict[str, Policy] = {}
        self._versions: dict[tuple[str, str], Policy] = {}
        for policy in policies or []:
            self.add(policy)

    @classmethod
    def shipped(cls) -> PolicyRegistry:
        """The policies orderlog ships (one per seed shop)."""
        return cls(policy_loading.shipped_policies())

    def load_directory(self, folder: Path) -> None:
        """Add every `*.toml` policy in a folder, as the current version of its name; raises
        `InvalidPolicy` for a bad file."""
        for policy in policy_loading.load_directory(folder):
            self.add(policy)

    def add(self, policy: Policy, *, current: bool = True) -> None:
        """Register a policy version; `current=False` keeps an old version findable only."""
        self._versions[(policy.name, policy.version)] = policy
        if current:
            self._current[policy.name] = policy

    def current(self, name: str) -> Policy:
        """The version of `name` in force now; raises `UnknownPolicy`."""
        try:
            return self._current[name]
        except KeyError:
            known = ", ".join(sorted(self._current)) or "none"
            raise UnknownPolicy(f"no policy named {name!r} (known: {known})") from None

    def get(self, name: str, version: str) -> Policy | None:
        """A specific version, or None if this registry has not seen it."""
        return self._versions.get((name, version))

    def names(self) -> list[str]:
        return sorted(self._current)
