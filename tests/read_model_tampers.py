"""The read-model tampers `orderlog verify` must catch on every backend (SQLite in
tests/reliability/test_verify_read_models.py, PostgreSQL in
tests/integration/test_postgres_verify.py). Every tamper leaves the log intact and changes only
the read models, and each is a named read-model problem.

A backend's test class subclasses `ReadModelTamperContract`, gives a `shop` fixture (a log of a
few orders, each returned and refunded, read models current) and says how to audit it, how an
attacker edits its read models, and how its comparison alone sees a doubled row."""

from __future__ import annotations

import abc
from typing import Any

from eventstore import Problem

REBUILT_WITHOUT_KEY = (
    "CREATE TABLE refunds_copy AS SELECT * FROM refunds",
    "INSERT INTO refunds_copy SELECT * FROM refunds LIMIT 1",
    "DROP TABLE refunds",
    "ALTER TABLE refunds_copy RENAME TO refunds",
)
"""The refunds table rebuilt without its key, one row doubled."""


class ReadModelTamperContract(abc.ABC):
    """Tampers every backend's verify names as read-model problems."""

    kept: str
    """How a mismatch names the backend's side ("the file", "the log's schema")."""

    @abc.abstractmethod
    def verified(self, shop: Any) -> dict[str, Any]:
        """The audit report of the log `shop`."""

    @abc.abstractmethod
    def tamper(self, shop: Any, *statements: str) -> None:
        """Run raw SQL against the read models of `shop`."""

    @abc.abstractmethod
    def doubled_row_problem(self, shop: Any) -> Problem | None:
        """The first difference between the read models and a fresh replay, compared without
        the schema check."""

    def problem_of(self, shop: Any) -> dict[str, Any]:
        """The read-model problem of `shop`, its log itself checking."""
        report = self.verified(shop)
        assert not report["ok"]
        assert report["checks"]["chain"] == "ok"
        assert report["checks"]["paths"] == "ok"
        assert report["checks"]["read_models"] == report["problem"]["message"]
        problem: dict[str, Any] = report["problem"]
        return problem

    def test_an_untouched_log_verifies(self, shop: Any) -> None:
        report = self.verified(shop)
        assert report["ok"], report["problem"]
        assert report["checks"] == {"chain": "ok", "paths": "ok", "read_models": "ok"}

    def test_a_changed_value_is_caught(self, shop: Any) -> None:
        self.tamper(shop, "UPDATE orders SET paid_total = paid_total + 1 WHERE customer_id = 'c-1'")
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_mismatch"
        assert "read model orders" in problem["message"]
        assert f"{self.kept} has" in problem["message"]

    def test_values_swapped_between_columns_of_the_right_shape_are_caught(self, shop: Any) -> None:
        self.tamper(
            shop, "UPDATE orders SET paid_total = refunded_total, refunded_total = paid_total"
        )
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_mismatch"
        assert "orders" in problem["message"]

    def test_refunds_rebuilt_without_their_key_with_a_row_doubled_are_caught(
        self, shop: Any
    ) -> None:
        self.tamper(shop, *REBUILT_WITHOUT_KEY)
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_schema"
        assert "read model refunds" in problem["message"]

    def test_a_doubled_row_is_caught_by_its_count_even_where_the_schema_allows_it(
        self, shop: Any
    ) -> None:
        """The comparison itself counts rows: without the schema check, a duplicate still shows."""
        self.tamper(shop, *REBUILT_WITHOUT_KEY)
        problem = self.doubled_row_problem(shop)
        assert problem is not None
        assert problem.kind == "read_model_mismatch"
        assert "refunds" in problem.message
        assert "2 times" in problem.message

    def test_two_columns_with_their_names_swapped_are_caught(self, shop: Any) -> None:
        self.tamper(
            shop,
            "ALTER TABLE orders RENAME COLUMN paid_total TO swapped",
            "ALTER TABLE orders RENAME COLUMN refunded_total TO paid_total",
            "ALTER TABLE orders RENAME COLUMN swapped TO refunded_total",
        )
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_schema"
        assert "read model orders" in problem["message"]

    def test_a_renamed_column_is_caught(self, shop: Any) -> None:
        self.tamper(shop, "ALTER TABLE declines RENAME COLUMN message TO why")
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_schema"
        assert "read model declines" in problem["message"]

    def test_an_added_column_is_a_named_problem(self, shop: Any) -> None:
        self.tamper(shop, "ALTER TABLE returns ADD COLUMN note text")
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_schema"
        assert "read model returns" in problem["message"]

    def test_a_dropped_table_is_a_named_problem(self, shop: Any) -> None:
        self.tamper(shop, "DROP TABLE returns")
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_schema"
        assert "read model returns" in problem["message"]
        assert "no such table" in problem["message"]

    def test_a_table_replaced_by_a_view_is_a_named_problem(self, shop: Any) -> None:
        self.tamper(
            shop,
            "ALTER TABLE declines RENAME TO declines_old",
            "CREATE VIEW declines AS SELECT * FROM declines_old",
        )
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_model_schema"
        assert "read model declines" in problem["message"]

    def test_checkpoints_behind_the_log_are_named(self, shop: Any) -> None:
        self.tamper(shop, "UPDATE projection_checkpoints SET position = position - 1")
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_models_behind"

    def test_dropped_checkpoints_are_named(self, shop: Any) -> None:
        self.tamper(shop, "DROP TABLE projection_checkpoints")
        problem = self.problem_of(shop)
        assert problem["kind"] == "read_models_missing"
