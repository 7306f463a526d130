"""orderlog's read side: read models folded from the log, the audit, and the `orderlog` tool.

`Orderlog` opens a log with its service and inline read models; projections never decide.
"""

from .app import READ_MODELS, Orderlog
from .framework import Projection, catch_up

__all__ = ["READ_MODELS", "Orderlog", "Projection", "catch_up"]
