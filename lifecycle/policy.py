"""A shop's policy as data: the rules a TOML policy file can state, and the questions they answer.

Every rule names the clause it encodes (`kiyomi/return-window-30-days`), so refunds, declines and
`orderlog explain` can say which sentence of the shop's policy produced them. Where a policy is
silent, orderlog's documented defaults apply, under `orderlog/...` clause ids.
Parsing and validating files is `policy_files.py` (reading them, `policy_loading.py`); this
module is pure.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo

import attrs

from .deadlines import add_days, local_day, time_zone
from .vocabulary import Condition, Fault, ReturnMethod, ReturnReason

EU = frozenset(
    {"AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE"}
    | {"IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"}
)
REGIONS: Mapping[str, frozenset[str]] = {"EU": EU}
"""Region words a policy may use in a `countries` list besides ISO codes ("*" is any country)."""

DEFAULT_CLAUSES: Mapping[str, str] = {
    "orderlog/cancel-before-dispatch": "Without a stated window, an order can be cancelled "
    "until it is dispatched.",
    "orderlog/cancellation-refund": "A cancelled order is refunded everything that was paid.",
    "orderlog/no-return-window": "The policy sets no time limit on returns.",
    "orderlog/any-condition": "The policy sets no condition on returned items.",
    "orderlog/customer-fault": "Returns are the customer's choice unless the policy names "
    "reasons that are the shop's fault.",
    "orderlog/return-shipping-unstated": "The policy does not say who pays return shipping: "
    "nothing is deducted or reimbursed.",
    "orderlog/refund-cap": "The goods and original shipping refunded never exceed what was "
    "paid for them; reimbursed return costs are bounded only by their own rule.",
    "orderlog/refund-not-negative": "Deductions never take the refund of the goods below zero.",
    "orderlog/exchange-not-in-policy": "The policy offers no exchanges.",
    "orderlog/claim-review": "The policy has no rule for missing items, so a person reviews each "
    "claim before it is settled.",
    "orderlog/review-declined": "A reviewer declined the return.",
    "orderlog/no-rule-for-method": "No return shipping rule covers this method here.",
    "orderlog/faulty-goods-taken-back": "A damaged, defective or wrong item is the shop's to "
    "take back at its own cost, by refund or replacement, whatever its category or mark.",
    "orderlog/fault-method-review": "A return for the shop's fault is never declined over how "
    "it travels back: where no rule offers the method, a person reviews it.",
    "orderlog/settled-by-refund": "Support settled by refund a return the policy would settle "
    "by sending goods (none to send, or the customer asked for money).",
    "orderlog/replacement-shipped": "The return is settled by sending goods instead of money.",
    "orderlog/fault-not-found": "The warehouse did not find the damage or defect claimed, so the "
    "return is settled as the customer's choice: the usual fees apply, no postage is paid back "
    "and no replacement is owed.",
}
"""Clauses of orderlog's own defaults, used where a policy says nothing."""

FAULT_CLAIMS = frozenset({ReturnReason.DAMAGED, ReturnReason.DEFECTIVE, ReturnReason.WRONG_ITEM})
"""Reasons that are the shop's fault whatever the policy says: goods that arrived damaged,
defective or wrong (`orderlog/faulty-goods-taken-back` where the policy is silent)."""

FOUND_FAULTS = frozenset({Condition.DAMAGED, Condition.DEFECTIVE})
"""Conditions that show a claimed damage or defect; a unit claimed `damaged` or `defective` and
found otherwise did not have the fault claimed."""


class CountedFrom(enum.Enum):
    """Where a return window starts."""

    PURCHASE = "purchase"
    DELIVERY = "delivery"


class PackageMatch(enum.Enum):
    """Which return package of an order a shipping rule covers."""

    FIRST = "first"
    LATER = "later"
    ANY = "any"


class FaultMatch(enum.Enum):
    """Whose fault a rule covers."""

    MERCHANT = "merchant"
    CUSTOMER = "customer"
    ANY = "any"

    def matches(self, fault: Fault) -> bool:
        return self is FaultMatch.ANY or self.value == fault.value


class ReviewWhen(enum.Enum):
    """What sends a return to manual review."""

    BILLING_COUNTRY_DIFFERS = "billing_country_differs"
    RETURN_VALUE_OVER = "return_value_over"
    RETURN_SHARE_OVER = "return_share_over"


def in_countries(countries: tuple[str, ...], country: str) -> bool:
    """Whether `country` is in a rule's list (empty or "*" means everywhere; "EU" expands)."""
    if not countries or "*" in countries:
        return True
    return any(country == c or country in REGIONS.get(c, ()) for c in countries)


@attrs.frozen(kw_only=True)
class Accepted:
    """A list of accepted words (currencies, payment methods) and its clause."""

    accepted: tuple[str, ...]
    clause: str


@attrs.frozen(kw_only=True)
class ShippingFeeRule:
    """What an order's shipping costs in some countries: a flat fee, free over a goods total."""

    countries: tuple[str, ...] = ()
    flat: int
    free_over: int | None = None
    clause: str

    def fee(self, goods: int) -> int:
        return 0 if self.free_over is not None and goods > self.free_over else self.flat


@attrs.frozen(kw_only=True)
class CancellationRule:
    """How long after placing an order it may be cancelled (None: until dispatch)."""

    window_minutes: int | None = None
    clause: str


@attrs.frozen(kw_only=True)
class ReturnWindow:
    """How many days a return may be requested in (None: any time), counted from when."""

    days: int | None = None
    counted_from: CountedFrom = CountedFrom.DELIVERY
    clause: str

    def starts_on(
        self, placed: datetime, delivered: datetime | None, zone: tzinfo = UTC
    ) -> date | None:
        """The day (in the shop's zone) the window counts from, or None if that has not
        happened yet."""
        start = placed if self.counted_from is CountedFrom.PURCHASE else delivered
        return None if start is None else local_day(start, zone)

    def closes_on(
        self, placed: datetime, delivered: datetime | None, zone: tzinfo = UTC
    ) -> date | None:
        """The last day a request is accepted on, or None for no limit (or not started)."""
        starts = self.starts_on(placed, delivered, zone)
        if self.days is None or starts is None:
            return None
        return starts + timedelta(days=self.days)


@attrs.frozen(kw_only=True)
class ConditionException:
    """Other accepted conditions (and optionally another window) for some return reasons."""

    reasons: tuple[ReturnReason, ...]
    accepted: tuple[Condition, ...]
    window: ReturnWindow | None = None
    clause: str


@attrs.frozen(kw_only=True)
class ConditionRule:
    """The conditions a returned unit must be in, with exceptions by reason."""

    accepted: tuple[Condition, ...]
    clause: str
    exceptions: tuple[ConditionException, ...] = ()

    def exception_for(self, reason: ReturnReason) -> ConditionException | None:
        return next((e for e in self.exceptions if reason in e.reasons), None)


@attrs.frozen(kw_only=True)
class NonReturnableRule:
    """Items that cannot be returned: by category, final sale, or free gift."""

    categories: tuple[str, ...] = ()
    final_sale: bool = False
    free_gift: bool = False
    clause: str

    def excludes(self, category: str | None, final_sale: bool, free_gift: bool) -> bool:
        words = {c.casefold() for c in self.categories}
        return (
            (category is not None and category.casefold() in words)
            or (self.final_sale and final_sale)
            or (self.free_gift and free_gift)
        )


@attrs.frozen(kw_only=True)
class BundleRule:
    """Items bought as a package are returned whole or not at all."""

    whole_only: bool = True
    clause: str


@attrs.frozen(kw_only=True)
class FaultRule:
    """Return reasons that are the shop's responsibility."""

    merchant_reasons: tuple[ReturnReason, ...]
    clause: str


@attrs.frozen(kw_only=True)
class ReturnShippingRule:
    """Who pays the way back for some countries, packages, faults and methods.

    The first rule that matches a return applies. `label_fee` is deducted when the shop's label
    is used, `pickup_fee` for a pickup; `credit` is paid toward shipping; `reimburse_postage`
    pays back what the customer paid a carrier, up to `reimburse_cap`. A rule with
    `offered = false` refuses the returns it matches (`method_not_offered`) under its own clause,
    so a policy can say why a method is not available ("the return label is for the US only").
    With `placeholder = true` the rule's amounts are not the shop's own (the seed states none):
    they never move money, and a return they would apply to waits for a person instead."""

    countries: tuple[str, ...] = ()
    package: PackageMatch = PackageMatch.ANY
    fault: FaultMatch = FaultMatch.ANY
    methods: tuple[ReturnMethod, ...] = ()
    label_fee: int = 0
    pickup_fee: int = 0
    credit: int = 0
    reimburse_postage: bool = False
    reimburse_cap: int | None = None
    offered: bool = True
    placeholder: bool = False
    clause: str

    def matches(self, country: str, package: int, fault: Fault, method: ReturnMethod) -> bool:
        package_ok = self.package is PackageMatch.ANY or (self.package is PackageMatch.FIRST) == (
            package == 1
        )
        return (
            in_countries(self.countries, country)
            and package_ok
            and self.fault.matches(fault)
            and (not self.methods or method in self.methods)
        )


@attrs.frozen(kw_only=True)
class RefundRule:
    """How long after a return arrives the refund is due, in days or business days."""

    deadline_days: int
    business_days: bool = False
    holidays: tuple[date, ...] = ()
    clause: str

    def due_by(self, start: date) -> date:
        return add_days(start, self.deadline_days, self.business_days, frozenset(self.holidays))


@attrs.frozen(kw_only=True)
class RestockingFee:
    """A percentage of the accepted goods kept by the shop."""

    percent: int
    applies_to: FaultMatch = FaultMatch.CUSTOMER
    clause: str


@attrs.frozen(kw_only=True)
class OriginalShippingRule:
    """For which return reasons the order's original shipping fee is refunded (else never).

    With `cite_when_kept`, a refund that keeps the fee says so: a zero `original_shipping_kept`
    adjustment under this rule's clause, so `orderlog explain` can show why it was not repaid."""

    refunded_for: tuple[ReturnReason, ...] = ()
    cite_when_kept: bool = False
    clause: str


@attrs.frozen(kw_only=True)
class ReplacementRule:
    """Return reasons settled by a replacement instead of a refund."""

    reasons: tuple[ReturnReason, ...]
    clause: str


@attrs.frozen(kw_only=True)
class ExchangeRule:
    """Whether the shop exchanges goods."""

    offered: bool
    clause: str


@attrs.frozen(kw_only=True)
class LostParcelRule:
    """A parcel that never arrived is refunded in full, shipping included."""

    refund: bool = True
    clause: str


@attrs.frozen(kw_only=True)
class MissingItemRule:
    """What a claim for missing units needs: an unboxing video, and a report within hours."""

    unboxing_video: bool = False
    within_hours: int | None = None
    clause: str


@attrs.frozen(kw_only=True)
class ReturnlessRule:
    """Reasons settled without a parcel back (a used cosmetic that caused a reaction), with
    what the policy asks instead: a person's approval, and or photo evidence."""

    reasons: tuple[ReturnReason, ...]
    approval: bool = True
    photo_evidence: bool = False
    clause: str


@attrs.frozen(kw_only=True)
class ReviewTrigger:
    """A condition that holds a return for a person to approve or decline.

    `placeholder` marks a threshold the seed does not state; a review trigger only ever routes a
    return to a person, so a placeholder threshold may stand (docs/policies.md says which)."""

    when: ReviewWhen
    amount: int | None = None
    percent: int | None = None
    placeholder: bool = False
    clause: str


@attrs.frozen(kw_only=True)
class SubscriptionRule:
    """Subscriptions: renewing orders, cancellable before the next renewal.

    With `orders_cancellable_until_dispatch`, a renewal order may be cancelled until it is
    dispatched (instead of within the shop's usual cancellation window). The checkout order
    that starts the subscription keeps the usual window: the customer placed it at checkout."""

    clause: str
    cancel_clause: str
    orders_cancellable_until_dispatch: bool = True
    dispatch_clause: str | None = None


@attrs.frozen(kw_only=True)
class OutOfScope:
    """A clause that needs a person (write to an address, check a carrier's site)."""

    clause: str
    reason: str


@attrs.frozen(kw_only=True)
class Policy:
    """One shop's rules. `version` is the hash of the file it came from; orders pin it."""

    name: str
    title: str
    seed: str | None = None
    timezone: str = "UTC"
    currency: str | None = None
    clauses: Mapping[str, str]
    currencies: Accepted | None = None
    payment_methods: Accepted | None = None
    shipping_fees: tuple[ShippingFeeRule, ...] = ()
    cancellation: CancellationRule | None = None
    return_window: ReturnWindow | None = None
    conditions: ConditionRule | None = None
    non_returnable: tuple[NonReturnableRule, ...] = ()
    bundles: BundleRule | None = None
    fault: FaultRule | None = None
    return_shipping: tuple[ReturnShippingRule, ...] = ()
    refund: RefundRule | None = None
    restocking_fee: RestockingFee | None = None
    original_shipping: OriginalShippingRule | None = None
    replacement: ReplacementRule | None = None
    exchange: ExchangeRule | None = None
    lost_parcel: LostParcelRule | None = None
    missing_item: MissingItemRule | None = None
    returnless: tuple[ReturnlessRule, ...] = ()
    review: tuple[ReviewTrigger, ...] = ()
    subscriptions: SubscriptionRule | None = None
    out_of_scope: tuple[OutOfScope, ...] = ()
    # Set by `policy_files.parse_policy`, never by the file itself:
    version: str = ""
    source: str = ""
    text: str = ""

    @property
    def zone(self) -> tzinfo:
        """The shop's time zone: windows of days and business days count in its days."""
        return time_zone(self.timezone)

    def day_of(self, moment: datetime) -> date:
        """The shop's calendar day of a moment."""
        return local_day(moment, self.zone)

    @property
    def amounts_currency(self) -> str | None:
        """The currency the policy's amounts are written in: `currency`, else the one currency
        it accepts; None when it states neither (the amounts are then in any order's currency)."""
        if self.currency is not None:
            return self.currency
        if self.currencies is not None and len(self.currencies.accepted) == 1:
            return self.currencies.accepted[0]
        return None

    def amounts_apply_to(self, currency: str) -> bool:
        """Whether the policy's amounts mean money in an order of this currency."""
        return self.amounts_currency in (None, currency)

    def clause_text(self, clause: str) -> str:
        """The words behind a clause id (the policy's own, or orderlog's default)."""
        return self.clauses.get(clause) or DEFAULT_CLAUSES.get(clause, "")

    def shipping_fee_rule(self, country: str, currency: str) -> ShippingFeeRule | None:
        """The shipping rate for a destination, if the policy has one in the order's currency."""
        if not self.amounts_apply_to(currency):
            return None
        return next((r for r in self.shipping_fees if in_countries(r.countries, country)), None)

    def cancellation_clause(self, renewal: bool = False) -> str:
        """The clause saying how long an order (or a subscription's renewal order) can be
        cancelled. The checkout order that starts a subscription is an ordinary order."""
        rule = self.subscriptions
        if renewal and rule is not None and rule.orders_cancellable_until_dispatch:
            return rule.dispatch_clause or "orderlog/cancel-before-dispatch"
        return self.cancellation.clause if self.cancellation else "orderlog/cancel-before-dispatch"

    def cancellable_until(self, placed: datetime, renewal: bool = False) -> datetime | None:
        """When the cancellation window closes (None: it stays open until dispatch)."""
        rule = self.subscriptions
        if renewal and rule is not None and rule.orders_cancellable_until_dispatch:
            return None
        if self.cancellation is None or self.cancellation.window_minutes is None:
            return None
        return placed + timedelta(minutes=self.cancellation.window_minutes)

    def window_for(self, reason: ReturnReason) -> ReturnWindow:
        """The return window for a reason: an exception's own window, else the policy's."""
        exception = self.conditions.exception_for(reason) if self.conditions else None
        if exception is not None and exception.window is not None:
            return exception.window
        return self.return_window or ReturnWindow(clause="orderlog/no-return-window")

    def last_return_day(self, placed: datetime, delivered: datetime) -> date | None:
        """The last day any return can still be requested, whatever its reason (None: no end).

        A reason's own window (a longer one for defects, say) keeps returns open past the
        policy's main window."""
        windows = [self.return_window or ReturnWindow(clause="orderlog/no-return-window")]
        if self.conditions is not None:
            windows += [e.window for e in self.conditions.exceptions if e.window is not None]
        days = [window.closes_on(placed, delivered, self.zone) for window in windows]
        return None if None in days else max(day for day in days if day is not None)

    def accepted_conditions(self, reason: ReturnReason) -> tuple[frozenset[Condition], str]:
        """The conditions accepted for a reason, with the clause that says so."""
        if self.conditions is None:
            return frozenset(Condition), "orderlog/any-condition"
        exception = self.conditions.exception_for(reason)
        if exception is not None:
            return frozenset(exception.accepted), exception.clause
        return frozenset(self.conditions.accepted), self.conditions.clause

    def fault_of(self, reason: ReturnReason) -> tuple[Fault, str]:
        """Whose fault a reason is, and the clause that says so. Damaged, defective and wrong
        goods are the shop's even where the policy is silent (orderlog's default)."""
        if self.fault is not None and reason in self.fault.merchant_reasons:
            return Fault.MERCHANT, self.fault.clause
        if reason in FAULT_CLAIMS:
            return Fault.MERCHANT, "orderlog/faulty-goods-taken-back"
        return Fault.CUSTOMER, self.fault.clause if self.fault else "orderlog/customer-fault"

    def fault_conditions(self, reason: ReturnReason) -> tuple[frozenset[Condition], str]:
        """The conditions in which goods returned for a shop's fault are accepted, and the clause.

        A damaged or defective claim is accepted when the fault is found; a wrong item as it
        comes back unless worn (or as the policy's own exception for the reason says)."""
        exception = self.conditions.exception_for(reason) if self.conditions else None
        clause = exception.clause if exception else self.fault_of(reason)[1]
        if reason in (ReturnReason.DAMAGED, ReturnReason.DEFECTIVE):
            return FOUND_FAULTS, clause
        if exception is not None:
            return frozenset(exception.accepted) | FOUND_FAULTS, clause
        return frozenset(Condition) - {Condition.USED}, clause

    def standard_conditions(self) -> tuple[frozenset[Condition], str]:
        """The conditions a change-of-mind return must be in, with the clause."""
        if self.conditions is None:
            return frozenset(Condition), "orderlog/any-condition"
        return frozenset(self.conditions.accepted), self.conditions.clause

    def excluded_by(self, category: str | None, final_sale: bool, free_gift: bool) -> str | None:
        """The clause that makes an item non-returnable, or None."""
        for rule in self.non_returnable:
            if rule.excludes(category, final_sale, free_gift):
                return rule.clause
        return None

    def shipping_rule(
        self, country: str, package: int, fault: Fault, method: ReturnMethod
    ) -> ReturnShippingRule | None:
        """The first return-shipping rule covering this return (a catch-all if there are none)."""
        if not self.return_shipping:
            return ReturnShippingRule(clause="orderlog/return-shipping-unstated")
        return next(
            (r for r in self.return_shipping if r.matches(country, package, fault, method)), None
        )

    def returnless_rule(self, reason: ReturnReason) -> ReturnlessRule | None:
        """The rule that settles `reason` without a parcel back, if any."""
        return next((rule for rule in self.returnless if reason in rule.reasons), None)

    def refund_due_by(self, start: date) -> date | None:
        return self.refund.due_by(start) if self.refund else None

    def replacement_clause(self, reason: ReturnReason) -> str | None:
        if self.replacement is not None and reason in self.replacement.reasons:
            return self.replacement.clause
        return None

    def refunds_original_shipping(self, reason: ReturnReason) -> str | None:
        rule = self.original_shipping
        return rule.clause if rule is not None and reason in rule.refunded_for else None
