"""The few SQL constructs the model's levels need, written for each engine splink runs on.

The model's conditions are the same facts on DuckDB and on Spark; only the spelling of list
functions and lambdas differs. Each level's SQL is built from these pieces, so one
definition of a level serves both engines (and a test runs both on the same operation).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    name: str  # duckdb | spark

    def size(self, expr: str) -> str:
        return f"len({expr})" if self.name == "duckdb" else f"size({expr})"

    def intersect(self, a: str, b: str) -> str:
        fn = "list_intersect" if self.name == "duckdb" else "array_intersect"
        return f"{fn}({a}, {b})"

    def distinct(self, expr: str) -> str:
        fn = "list_distinct" if self.name == "duckdb" else "array_distinct"
        return f"{fn}({expr})"

    def filter(self, array: str, var: str, condition: str) -> str:
        if self.name == "duckdb":
            return f"list_filter({array}, lambda {var}: {condition})"
        return f"filter({array}, {var} -> {condition})"

    def transform(self, array: str, var: str, expr: str) -> str:
        if self.name == "duckdb":
            return f"list_transform({array}, lambda {var}: {expr})"
        return f"transform({array}, {var} -> {expr})"

    def exists(self, array: str, var: str, condition: str) -> str:
        if self.name == "duckdb":
            return f"len(list_filter({array}, lambda {var}: {condition})) > 0"
        return f"exists({array}, {var} -> {condition})"

    def jaro_winkler(self, a: str, b: str) -> str:
        # on Spark, splink registers its Java UDF under this name (see identity.spark)
        fn = "jaro_winkler_similarity" if self.name == "duckdb" else "jaro_winkler"
        return f"{fn}({a}, {b})"

    # the model's shapes, built from the pieces above

    def either_empty(self, column: str) -> str:
        return f"{self.size(column + '_l')} = 0 or {self.size(column + '_r')} = 0"

    def shared_count(self, column: str) -> str:
        return self.size(self.intersect(f"{column}_l", f"{column}_r"))

    def intersects(self, column: str) -> str:
        return f"{self.shared_count(column)} > 0"

    def close_ip_count(self, crowd: str, window_seconds: int) -> str:
        """Distinct addresses on the left, meeting ``crowd`` (on ``x.n``), that the right
        used within ``window_seconds``."""
        close = self.exists("ip_seen_r", "y", f"y.ip = x.ip and abs(y.t - x.t) <= {window_seconds}")
        kept = self.filter("ip_seen_l", "x", f"{crowd} and {close}")
        return self.size(self.distinct(self.transform(kept, "x", "x.ip")))

    def shared_ip(self, crowd: str) -> str:
        left = self.transform(self.filter("ip_seen_l", "x", crowd), "x", "x.ip")
        right = self.transform("ip_seen_r", "x", "x.ip")
        return f"{self.size(self.intersect(left, right))} > 0"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")
