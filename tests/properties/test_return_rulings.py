"""Issue 11's return rulings as properties over the shipped policies: a request is decided line
by line (ruling 2), and faults beat exclusions (ruling 3), whatever the order's lines."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle import PolicyRegistry
from tests.unit.policies.shop import Shop, line, only_event

POLICIES = PolicyRegistry.shipped()
FAULTS = ("damaged", "defective", "wrong_item")


@st.composite
def orders(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Two to four lines, each maybe final sale, a free gift or in an excluded category."""
    count = draw(st.integers(2, 4))
    return [
        line(
            f"l{index}",
            draw(st.integers(100, 5000)),
            draw(st.integers(1, 3)),
            final_sale=draw(st.booleans()),
            free_gift=draw(st.booleans()),
            category=draw(st.sampled_from([None, "socks", "tights", "dresses"])),
        )
        for index in range(1, count + 1)
    ]


def _excluded(policy: str, placed: dict[str, Any]) -> bool:
    rules = POLICIES.current(policy)
    return (
        rules.excluded_by(placed["category"], placed["final_sale"], placed["free_gift"]) is not None
    )


@settings(max_examples=40, deadline=None)
@given(
    policy=st.sampled_from(POLICIES.names()),
    lines=orders(),
    reason=st.sampled_from(["changed_mind", *FAULTS]),
)
def test_a_request_is_decided_line_by_line_and_faults_beat_exclusions(
    policy: str, lines: list[dict[str, Any]], reason: str
) -> None:
    shop = Shop(policy)
    try:
        shop.delivered(*lines, shipping_fee=500)
        method = "prepaid_label" if policy in ("allegra-k", "kiyomi") else "own_carrier"
        if policy == "kiyomi" and reason == "changed_mind":
            method = "own_carrier"
        outcome = shop.request(
            "r1", {entry["line_id"]: 1 for entry in lines}, reason=reason, method=method
        )
        excluded = {e["line_id"] for e in lines if _excluded(policy, e)}
        if reason in FAULTS:
            # A fault may always be sent back: nothing is declined for its category or mark.
            assert outcome.ok, outcome.as_dict()
            decision = outcome.recorded[0].data
            assert decision.get("declined_lines", []) == []
        elif excluded == {e["line_id"] for e in lines}:
            assert outcome.events == ("ReturnDeclined",)
            assert only_event(outcome, "ReturnDeclined").data["code"] == "not_returnable"
        else:
            # Some line is returnable: the request is authorized (or held) for those lines.
            assert outcome.ok, outcome.as_dict()
            decision = outcome.recorded[0].data
            kept = {entry["line_id"] for entry in decision["request"]["lines"]}
            declined = {entry["line_id"] for entry in decision.get("declined_lines", [])}
            assert (kept, declined) == ({e["line_id"] for e in lines} - excluded, excluded)
    finally:
        shop.close()
