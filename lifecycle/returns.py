"""The policy's answer to a return request: a refusal (recorded as a decline), a hold for review,
or the terms of an accepted return. Pure functions of the order, the request and the policy."""

from __future__ import annotations

from datetime import timedelta

import attrs

from eventstore.codec import human_time

from .commands import RequestReturn, ReturnLine
from .errors import InvalidCommand, QuantityExceedsReturnable
from .events import PlacedLine, RequestedLine, ReturnRequest, ReturnTerms, ShippingTerms
from .money import format_money
from .order import Order, ReturnCase
from .policy import Policy, ReturnShippingRule, ReviewWhen
from .refunds import units_value
from .vocabulary import Fault, Resolution, ReturnMethod, ReturnReason

METHOD_REVIEW = "orderlog/fault-method-review"
"""The shipping clause of a shop's-fault return whose method no rule offers: held for review."""


@attrs.frozen
class Refusal:
    """Why the policy refuses a request: a decline code, a sentence, and the clause."""

    code: str
    message: str
    clause: str


def check_request_lines(order: Order, command: RequestReturn) -> None:
    """Errors, not declines: unknown lines and more units than are left to return."""
    for index, wanted in enumerate(command.lines):
        line = order.line(wanted.line_id)
        if line is None:
            raise InvalidCommand(
                f"order {order.order_id} has no line {wanted.line_id!r}",
                field=f"lines[{index}].line_id",
            )
        left = line.quantity - order.units_in_returns(line.line_id)
        if wanted.quantity > left:
            raise QuantityExceedsReturnable(
                f"line {line.line_id} has {left} of {line.quantity} unit(s) left to return; "
                f"{wanted.quantity} asked"
            )


def request_of(command: RequestReturn) -> ReturnRequest:
    """The request as the decision event records it."""
    return ReturnRequest(
        lines=tuple(
            RequestedLine(line_id=line.line_id, quantity=line.quantity) for line in command.lines
        ),
        reason=command.reason,
        method=command.method,
        resolution=command.resolution,
        exchange_sku=command.exchange_sku,
        exchange_unit_price=command.exchange_unit_price,
        unboxing_video=bool(command.evidence and command.evidence.unboxing_video),
        photo=bool(command.evidence and command.evidence.photo),
    )


def line_refusals(
    order: Order, command: RequestReturn, policy: Policy
) -> list[tuple[ReturnLine, Refusal]]:
    """The requested lines the policy declines on their own (a non-returnable item, a line of a
    bundle holding one, part of a bundle asked without the rest), each with its refusal: a
    request is decided line by line."""
    found = []
    for wanted in command.lines:
        single = attrs.evolve(command, lines=(wanted,))
        refused = _not_returnable(order, single, policy)
        if refused is None:
            refused = _partial_bundle(order, command, policy, only=wanted.line_id)
        if refused is not None:
            found.append((wanted, refused))
    return found


def refusal(order: Order, command: RequestReturn, policy: Policy) -> Refusal | None:
    """The first policy rule the request breaks, checked in a fixed order, or None."""
    for check in (_window, _not_returnable, _partial_bundle, _claim, _returnless, _exchange):
        found = check(order, command, policy)
        if found is not None:
            return found
    return None


def terms(order: Order, command: RequestReturn, policy: Policy) -> ReturnTerms | Refusal:
    """The terms of an accepted request, or a refusal if no return-shipping rule allows it."""
    fault, fault_clause = policy.fault_of(command.reason)
    package = order.packages() + 1
    resolution, resolution_clause = _resolution(command, policy)
    window = policy.window_for(command.reason)
    # The fault clause is cited where it changes something: when the shop is at fault.
    clauses = [
        window.clause,
        *([fault_clause] if fault is Fault.MERCHANT else []),
        *([resolution_clause] if resolution_clause else []),
    ]
    returnless = policy.returnless_rule(command.reason)
    if command.reason is ReturnReason.MISSING_ITEM:
        shipping = ShippingTerms(method=command.method, clause=claim_clause(policy))
    elif returnless is not None:
        shipping = ShippingTerms(method=command.method, clause=returnless.clause)
    else:
        country = destination(order)
        rule = policy.shipping_rule(country, package, fault, command.method)
        if fault is Fault.MERCHANT and (rule is None or not rule.offered):
            # Never declined over the way back when the shop is at fault: a person decides.
            shipping = ShippingTerms(method=command.method, clause=METHOD_REVIEW)
        elif rule is None or not rule.offered:
            return _method_refusal(command, policy, package, country, fault, rule)
        else:
            shipping = shipping_terms(rule, command.method, policy, order.placed.currency)
    clauses.append(shipping.clause)
    return ReturnTerms(
        package=package,
        fault=fault,
        resolution=resolution,
        shipping=shipping,
        clauses=tuple(dict.fromkeys(clauses)),
        returnless=returnless is not None,
    )


def shipping_terms(
    rule: ReturnShippingRule, method: ReturnMethod, policy: Policy, currency: str
) -> ShippingTerms:
    """The rule's terms for a return by `method`, leaving out any amount that is not the shop's
    money for this order: a placeholder (the seed states no amount) or an amount written in
    another currency. Such an amount never deducts, credits or caps; `not_applied` says why."""
    usable = policy.amounts_apply_to(currency)
    why = (
        "a placeholder: the seed states no amount"
        if rule.placeholder
        else f"written in {policy.amounts_currency}, not the order's {currency}"
    )
    relevant = {
        "label_fee": method is ReturnMethod.PREPAID_LABEL,
        "pickup_fee": method is ReturnMethod.PICKUP,
        "credit": True,
        "reimburse_cap": rule.reimburse_postage and method is ReturnMethod.OWN_CARRIER,
    }
    amounts: dict[str, int | None] = {name: getattr(rule, name) for name in relevant}
    not_applied = []
    if rule.placeholder or not usable:
        for name, applies in relevant.items():
            value = amounts[name]
            if applies and value:
                not_applied.append(f"{name} {value} is {why}")
                amounts[name] = None if name == "reimburse_cap" else 0
    return ShippingTerms(
        method=method,
        label_fee=amounts["label_fee"] or 0,
        pickup_fee=amounts["pickup_fee"] or 0,
        credit=amounts["credit"] or 0,
        reimburse_postage=rule.reimburse_postage,
        reimburse_cap=amounts["reimburse_cap"],
        clause=rule.clause,
        not_applied=tuple(not_applied),
    )


def terms_without_fault(order: Order, case: ReturnCase, policy: Policy) -> ReturnTerms:
    """A return's terms once the warehouse found no fault: the customer's choice, under the
    return-shipping rule for a customer-fault package (fees apply again, no postage is paid
    back), settled by refund unless the customer asked for an exchange.

    If no rule offers the method the parcel came by, nothing is deducted or paid back: the
    parcel is already here, and orderlog charges no amount a rule does not state."""
    assert case.terms is not None, "only an accepted return is inspected"
    terms = case.terms
    method = case.request.method
    rule = policy.shipping_rule(destination(order), terms.package, Fault.CUSTOMER, method)
    if rule is None or not rule.offered:
        shipping = ShippingTerms(method=method, clause="orderlog/fault-not-found")
    else:
        shipping = shipping_terms(rule, method, policy, order.placed.currency)
    resolution = terms.resolution
    if resolution is Resolution.REPLACEMENT:
        resolution = Resolution.REFUND
    fault_clauses = {policy.fault_of(case.request.reason)[1], terms.shipping.clause}
    if terms.resolution is Resolution.REPLACEMENT:
        fault_clauses.add(policy.replacement_clause(case.request.reason) or "")
    kept = [c for c in terms.clauses if c not in fault_clauses]
    return ReturnTerms(
        package=terms.package,
        fault=Fault.CUSTOMER,
        resolution=resolution,
        shipping=shipping,
        clauses=tuple(dict.fromkeys([*kept, "orderlog/fault-not-found", shipping.clause])),
    )


def _method_refusal(
    command: RequestReturn,
    policy: Policy,
    package: int,
    country: str,
    fault: Fault,
    rule: ReturnShippingRule | None,
) -> Refusal:
    """The decline for a return no shipping rule offers: under the refusing rule's clause if a
    rule says `offered = false`, else orderlog's own."""
    message = (
        f"{command.method.value} is not offered for return package {package} from {country} "
        f"({fault.value} fault)"
    )
    if rule is None:
        return Refusal("method_not_offered", message, "orderlog/no-rule-for-method")
    return Refusal(
        "method_not_offered", f"{message}: {policy.clause_text(rule.clause)}", rule.clause
    )


def review_triggers(
    order: Order, command: RequestReturn, policy: Policy, terms: ReturnTerms | None = None
) -> list[tuple[str, str]]:
    """(clause, why) for each manual-review trigger the request (on `terms`) trips, an amount
    of its terms left out (a placeholder, another currency) included: a person settles what the
    policy cannot."""
    tripped = []
    if terms is not None and terms.shipping.clause == METHOD_REVIEW:
        tripped.append(
            (
                METHOD_REVIEW,
                f"no return shipping rule offers {command.method.value} for this return, and "
                "the shop is at fault",
            )
        )
    returnless = policy.returnless_rule(command.reason)
    if returnless is not None and returnless.approval:
        tripped.append(
            (returnless.clause, "settled without a parcel back: a person approves it first")
        )
    if command.reason is ReturnReason.MISSING_ITEM and policy.missing_item is None:
        tripped.append(("orderlog/claim-review", "the policy has no rule for missing-item claims"))
    if terms is not None and terms.shipping.not_applied:
        left_out = "; ".join(terms.shipping.not_applied)
        tripped.append((terms.shipping.clause, f"{left_out}: not applied, a person settles it"))
    value = units_value(order, ((line.line_id, line.quantity) for line in command.lines))

    def money(amount: int) -> str:
        return format_money(amount, order.placed.currency)

    billing, country = order.placed.billing_address, destination(order)
    for trigger in policy.review:
        why = None
        if trigger.when is ReviewWhen.BILLING_COUNTRY_DIFFERS:
            if billing is not None and billing.country != country:
                why = f"billing country {billing.country} differs from shipping country {country}"
        elif trigger.when is ReviewWhen.RETURN_VALUE_OVER:
            if trigger.amount is not None and not policy.amounts_apply_to(order.placed.currency):
                why = (
                    f"the review threshold is in {policy.amounts_currency}, not the order's "
                    f"{order.placed.currency}"
                )
            elif trigger.amount is not None and value > trigger.amount:
                worth, limit = money(value), money(trigger.amount)
                why = f"return value {worth} is over {limit}"
        elif trigger.percent is not None and value * 100 > trigger.percent * order.paid_total:
            why = f"return value {money(value)} is over {trigger.percent}% of what was paid"
        if why is not None:
            tripped.append((trigger.clause, why))
    return tripped


def destination(order: Order) -> str:
    """The country the order was shipped to (and so the one it comes back from)."""
    address = order.placed.shipping_address
    return address.country if address is not None else order.placed.customer.country


def _resolution(command: RequestReturn, policy: Policy) -> tuple[Resolution, str | None]:
    if command.resolution is Resolution.EXCHANGE:
        return Resolution.EXCHANGE, policy.exchange.clause if policy.exchange else None
    replacement = policy.replacement_clause(command.reason)
    if replacement is not None:
        return Resolution.REPLACEMENT, replacement
    return Resolution.REFUND, None


def _window(order: Order, command: RequestReturn, policy: Policy) -> Refusal | None:
    window = policy.window_for(command.reason)
    starts = window.starts_on(order.placed.at, order.delivered_at, policy.zone)
    closes = window.closes_on(order.placed.at, order.delivered_at, policy.zone)
    if starts is None or closes is None or policy.day_of(command.at) <= closes:
        return None
    return Refusal(
        "return_window_closed",
        f"return window closed: {window.days} days from {window.counted_from.value} on "
        f"{starts.isoformat()} ended {closes.isoformat()}",
        window.clause,
    )


def _not_returnable(order: Order, command: RequestReturn, policy: Policy) -> Refusal | None:
    if command.reason is ReturnReason.MISSING_ITEM:
        return None  # what never arrived cannot be excluded from returns
    if policy.fault_of(command.reason)[0] is Fault.MERCHANT:
        return None  # faults beat exclusions: those govern change-of-mind returns
    lines = [order.line(wanted.line_id) for wanted in command.lines]
    for line in lines:
        assert line is not None, "lines are checked before the policy"
        clause = policy.excluded_by(line.category, line.final_sale, line.free_gift)
        if clause is not None:
            return Refusal(
                "not_returnable",
                f"line {line.line_id} ({line.sku}) cannot be returned: "
                f"{policy.clause_text(clause)}",
                clause,
            )
    for line in lines:
        assert line is not None, "lines are checked before the policy"
        found = _excluded_bundle_member(order, line, policy)
        if found is not None:
            return found
    return None


def _excluded_bundle_member(order: Order, line: PlacedLine, policy: Policy) -> Refusal | None:
    """A line of a whole-only bundle with a member that cannot be returned: the bundle cannot
    come back whole, so none of it comes back, for the member's reason (its exclusion clause),
    not as a bundle asked in part."""
    if line.bundle is None or policy.bundles is None or not policy.bundles.whole_only:
        return None
    for member in order.placed.lines:
        if member.bundle != line.bundle or member.line_id == line.line_id:
            continue
        clause = policy.excluded_by(member.category, member.final_sale, member.free_gift)
        if clause is not None:
            return Refusal(
                "not_returnable",
                f"line {line.line_id} ({line.sku}) cannot be returned: package {line.bundle} "
                f"comes back whole or not at all, and its line {member.line_id} ({member.sku}) "
                f"cannot be returned: {policy.clause_text(clause)}",
                clause,
            )
    return None


def _partial_bundle(
    order: Order, command: RequestReturn, policy: Policy, only: str | None = None
) -> Refusal | None:
    """A bundle asked in part; with `only`, whether that line's bundle is."""
    if policy.bundles is None or not policy.bundles.whole_only:
        return None
    if command.reason is ReturnReason.MISSING_ITEM:
        return None  # one item of a package can go missing on its own
    if policy.fault_of(command.reason)[0] is Fault.MERCHANT:
        return None  # one faulty item of a package comes back on its own
    asked = {line.line_id: line.quantity for line in command.lines}
    for wanted in command.lines:
        if only is not None and wanted.line_id != only:
            continue
        line = order.line(wanted.line_id)
        if line is None or line.bundle is None:
            continue
        members = [m for m in order.placed.lines if m.bundle == line.bundle]
        for member in members:
            left = member.quantity - order.units_in_returns(member.line_id)
            if asked.get(member.line_id, 0) != left:
                return Refusal(
                    "partial_bundle",
                    f"package {line.bundle} must be returned whole: line {member.line_id} has "
                    f"{left} unit(s) to return, {asked.get(member.line_id, 0)} asked",
                    policy.bundles.clause,
                )
    return None


def _claim(order: Order, command: RequestReturn, policy: Policy) -> Refusal | None:
    rule = policy.missing_item
    if command.reason is not ReturnReason.MISSING_ITEM or rule is None:
        return None
    delivered = order.delivered_at
    if rule.within_hours is not None and delivered is not None:
        late = command.at - delivered
        if late > timedelta(hours=rule.within_hours):
            return Refusal(
                "claim_window_closed",
                f"missing items must be reported within {rule.within_hours} hours of delivery "
                f"({human_time(delivered)}); this claim came {late // timedelta(hours=1)} "
                "hours after",
                rule.clause,
            )
    if rule.unboxing_video and not (command.evidence and command.evidence.unboxing_video):
        return Refusal(
            "evidence_required",
            "a missing-item claim needs an unboxing video (evidence.unboxing_video)",
            rule.clause,
        )
    return None


def _returnless(order: Order, command: RequestReturn, policy: Policy) -> Refusal | None:
    rule = policy.returnless_rule(command.reason)
    if rule is None or not rule.photo_evidence:
        return None
    if command.evidence and command.evidence.photo:
        return None
    return Refusal(
        "evidence_required",
        f"a {command.reason.value} settled without a parcel back needs a photo (evidence.photo)",
        rule.clause,
    )


def _exchange(order: Order, command: RequestReturn, policy: Policy) -> Refusal | None:
    if command.resolution is not Resolution.EXCHANGE:
        return None
    rule = policy.exchange
    if rule is not None and rule.offered:
        return None
    clause = rule.clause if rule is not None else "orderlog/exchange-not-in-policy"
    return Refusal(
        "exchange_not_offered",
        f"{policy.title} does not offer exchanges: {policy.clause_text(clause)}",
        clause,
    )


def claim_clause(policy: Policy) -> str:
    """The clause governing missing-item claims."""
    rule = policy.missing_item
    return rule.clause if rule is not None else "orderlog/claim-review"
