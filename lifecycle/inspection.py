"""Judging an inspection: which returned units the policy accepts, and by which clause.

A unit is accepted when its condition is one the policy accepts for the return's reason. Under a
whole-package rule, one unaccepted unit of a package rejects the whole package.
"""

from __future__ import annotations

from collections.abc import Sequence

from .commands import InspectedLine
from .events import InspectionResult
from .order import Order, ReturnCase
from .policy import Policy


def judge(
    order: Order, case: ReturnCase, lines: Sequence[InspectedLine], policy: Policy
) -> tuple[InspectionResult, ...]:
    """One result per inspected line, in the order given."""
    accepted_conditions, clause = policy.accepted_conditions(case.request.reason)
    results = [
        InspectionResult(
            line_id=line.line_id,
            quantity=line.quantity,
            condition=line.condition,
            accepted=line.condition in accepted_conditions,
            clause=clause,
        )
        for line in lines
    ]
    return tuple(_whole_packages(order, case, results, policy))


def _whole_packages(
    order: Order, case: ReturnCase, results: list[InspectionResult], policy: Policy
) -> list[InspectionResult]:
    """Reject every unit of a package if any unit of it was refused or is not in the parcel."""
    rule = policy.bundles
    if rule is None or not rule.whole_only:
        return results
    broken = set()
    for requested in case.request.lines:
        bundle = _bundle_of(order, requested.line_id)
        accepted = sum(r.quantity for r in results if r.line_id == requested.line_id and r.accepted)
        if bundle is not None and accepted < requested.quantity:
            broken.add(bundle)
    return [
        _reject(result, rule.clause) if _bundle_of(order, result.line_id) in broken else result
        for result in results
    ]


def _bundle_of(order: Order, line_id: str) -> str | None:
    line = order.line(line_id)
    return None if line is None else line.bundle


def _reject(result: InspectionResult, clause: str) -> InspectionResult:
    return InspectionResult(
        line_id=result.line_id,
        quantity=result.quantity,
        condition=result.condition,
        accepted=False,
        clause=clause,
    )
