"""Judging an inspection: which returned units the policy accepts, and by which clause.

A unit is accepted when its condition is one the policy accepts for the return's reason. Goods
returned for the shop's fault are judged by the fault (faults beat exclusions and the unopened
rule); a unit claimed damaged or defective but found without the fault is judged as a
change-of-mind return (its category's exclusion and the standard conditions apply). Under a
whole-package rule, one unaccepted unit of a package rejects the whole package.
"""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from .commands import InspectedLine
from .events import InspectionResult
from .order import Order, ReturnCase
from .policy import FOUND_FAULTS, Policy
from .vocabulary import Fault, ReturnReason

RECHECKED = frozenset({ReturnReason.DAMAGED, ReturnReason.DEFECTIVE})
"""Claims the warehouse can check: the damage or defect is found on the unit, or it is not."""


def judge(
    order: Order, case: ReturnCase, lines: Sequence[InspectedLine], policy: Policy
) -> tuple[InspectionResult, ...]:
    """One result per inspected line, in the order given."""
    results = [_judge_line(order, case, line, policy) for line in lines]
    return tuple(_whole_packages(order, case, results, policy))


def fault_found(case: ReturnCase, lines: Sequence[InspectedLine]) -> bool:
    """Whether an inspection bears out a claim of the shop's fault. A damaged or defective claim
    holds if any unit shows damage or a defect; other claims are not re-checked."""
    if case.terms is None or case.terms.fault is not Fault.MERCHANT:
        return False
    if case.request.reason not in RECHECKED:
        return True
    return any(line.condition in FOUND_FAULTS for line in lines)


def _judge_line(
    order: Order, case: ReturnCase, line: InspectedLine, policy: Policy
) -> InspectionResult:
    reason = case.request.reason
    merchant = case.terms is not None and case.terms.fault is Fault.MERCHANT
    accepted, clause = policy.accepted_conditions(reason)
    if reason in RECHECKED:
        if merchant and line.condition in FOUND_FAULTS:
            fault_clause = (
                clause if line.condition in accepted else policy.fault_conditions(reason)[1]
            )
            return _result(line, True, fault_clause)
        return _change_of_mind(order, line, policy)  # the fault claimed is not in this unit
    if merchant and line.condition not in accepted:
        accepted, clause = policy.fault_conditions(reason)
    return _result(line, line.condition in accepted, clause)


def _change_of_mind(order: Order, line: InspectedLine, policy: Policy) -> InspectionResult:
    """A unit judged as the customer's choice: its exclusion, else the standard conditions."""
    placed = order.line(line.line_id)
    assert placed is not None, "inspected lines are checked against the return"
    excluded = policy.excluded_by(placed.category, placed.final_sale, placed.free_gift)
    if excluded is not None:
        return _result(line, False, excluded)
    accepted, clause = policy.standard_conditions()
    return _result(line, line.condition in accepted, clause)


def _result(line: InspectedLine, accepted: bool, clause: str) -> InspectionResult:
    return InspectionResult(
        line_id=line.line_id,
        quantity=line.quantity,
        condition=line.condition,
        accepted=accepted,
        clause=clause,
    )


def _whole_packages(
    order: Order, case: ReturnCase, results: list[InspectionResult], policy: Policy
) -> list[InspectionResult]:
    """Reject every unit of a package if any unit of it was refused or is not in the parcel."""
    rule = policy.bundles
    if rule is None or not rule.whole_only:
        return results
    if case.terms is not None and case.terms.fault is Fault.MERCHANT:
        return results  # a faulty item of a package is judged on its own
    broken = set()
    for requested in case.request.lines:
        bundle = _bundle_of(order, requested.line_id)
        accepted = sum(r.quantity for r in results if r.line_id == requested.line_id and r.accepted)
        if bundle is not None and accepted < requested.quantity:
            broken.add(bundle)
    return [
        attrs.evolve(result, accepted=False, clause=rule.clause)
        if _bundle_of(order, result.line_id) in broken
        else result
        for result in results
    ]


def _bundle_of(order: Order, line_id: str) -> str | None:
    line = order.line(line_id)
    return None if line is None else line.bundle
