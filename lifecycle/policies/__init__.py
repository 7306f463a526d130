"""The policy files orderlog ships, one per seed shop (see docs/policies.md)."""
