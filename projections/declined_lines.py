"""The declined-lines read model: lines a policy declined inside a request it otherwise
accepted (issue 11, ruling 2), so `orderlog declines` finds them by code and clause beside the
requests declined as a whole. Its own table, so a log written before it fills it on the next
catch-up.
"""

from __future__ import annotations

from .framework import Batch, Envelope, Projection, Table

DECLINED_LINES = Table(
    "declined_lines",
    {
        "order_id": str,
        "return_id": str,
        "line_id": str,
        "quantity": int,
        "code": str,
        "clause": str,
        "message": str,
        "declined_at": str,
        "position": int,
    },
    pk=("order_id", "return_id", "line_id"),
    not_null=frozenset({"code", "declined_at", "position"}),
)


class DeclinedLinesProjection(Projection):
    """`declined_lines`: one row per line declined in an authorized or held request."""

    name = "declined_lines"
    handles = frozenset({"ReturnAuthorized", "ReturnHeldForReview"})
    schema = (DECLINED_LINES,)

    def fold(self, rows: Batch, envelope: Envelope) -> None:
        data = envelope.data
        table = rows["declined_lines"]
        for line in data.get("declined_lines") or []:
            table.put(
                {
                    "order_id": data["order_id"],
                    "return_id": data["return_id"],
                    "line_id": line["line_id"],
                    "quantity": line["quantity"],
                    "code": line["code"],
                    "clause": line["clause"],
                    "message": line["message"],
                    "declined_at": rows.time_of(envelope),
                    "position": envelope.position,
                }
            )
