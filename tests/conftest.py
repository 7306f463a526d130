"""Shared test configuration: hypothesis profiles and the stress budget."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from tests.support import stress_scale

pytest.register_assert_rewrite("tests.integration.store_contract", "tests.read_model_tampers")

EXAMPLES = 25 * stress_scale()
"""Examples per property (runs per state machine) in the default and `ci` profiles: enough for
an every-commit run under two minutes; ORDERLOG_STRESS_SCALE multiplies them."""

settings.register_profile("default", max_examples=EXAMPLES, deadline=None)
settings.register_profile(
    "ci",
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("nightly", max_examples=2000, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


@pytest.fixture(autouse=True)
def _no_inherited_terminal_width(monkeypatch: pytest.MonkeyPatch) -> None:
    """The tool's page width is its own in every test: pytest-xdist's workers inherit
    `COLUMNS=80`, which would wrap tables the tests read (a test wanting a width sets it)."""
    monkeypatch.delenv("COLUMNS", raising=False)
