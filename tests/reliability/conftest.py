"""The reliability tier runs the tool in-process as the integration tier does."""

from tests.integration.conftest import orderlog

__all__ = ["orderlog"]
