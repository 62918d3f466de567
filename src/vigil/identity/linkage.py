"""Running the model over a population with splink on DuckDB.

Candidate pairs come from one exploding blocking rule over ``block_keys`` (every identifier
an account carries that is not crowded), so two accounts are compared only when they share
something. A full run scores every candidate pair; an incremental run scores only new
accounts against existing ones and against each other (``predict_between`` plus
``predict_within``), which is what keeps a re-resolve after a small ingest cheap.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb

from vigil.errors import UsageError
from vigil.identity.account_table import AccountTable, as_table
from vigil.identity.dialects import DUCKDB, Dialect
from vigil.identity.features import AccountColumns
from vigil.identity.model import COMPARISONS, PRIOR_MATCH, PRIORS, RULES, Model
from vigil.machine import memory_here

if TYPE_CHECKING:
    from splink.internals.splink_dataframe import SplinkDataFrame


@dataclass(frozen=True, slots=True)
class ScoredPair:
    a: int
    b: int
    probability: float
    rule: str | None


@dataclass(frozen=True)
class LinkageRun:
    pairs: list[ScoredPair]  # at or above the keep threshold
    compared_pairs: int  # every candidate pair the model scored


def settings(dialect: Dialect = DUCKDB, model: Model = PRIORS) -> dict[str, object]:
    comparisons = []
    for comparison in COMPARISONS:
        levels = []
        for index, level in enumerate(comparison.levels):
            entry: dict[str, object] = {
                "sql_condition": level.sql(dialect),
                "label_for_charts": level.label,
            }
            if level.null:
                entry["is_null_level"] = True
            else:
                entry["m_probability"], entry["u_probability"] = model.m_u(comparison, index)
            levels.append(entry)
        comparisons.append({"output_column_name": comparison.name, "comparison_levels": levels})
    return {
        "link_type": "dedupe_only",
        "unique_id_column_name": "unique_id",
        "probability_two_random_records_match": PRIOR_MATCH,
        "comparisons": comparisons,
        "blocking_rules_to_generate_predictions": [
            {"blocking_rule": "l.block_keys = r.block_keys", "arrays_to_explode": ["block_keys"]}
        ],
        "retain_matching_columns": False,
        "retain_intermediate_calculation_columns": True,
    }


class SplinkLinkage:
    """The population held by one splink backend; scores candidate pairs.

    The seam between the model and an engine: ``score_all``, ``score_new`` and ``close``.
    ``Linkage`` (DuckDB, in-process) is the default and the in-memory twin;
    ``vigil.identity.spark.SparkLinkage`` runs the same settings on a Spark cluster.
    """

    dialect: Dialect = DUCKDB
    model: Model = PRIORS
    _db: Any

    def _register(
        self, columns: AccountTable | Sequence[AccountColumns], name: str
    ) -> SplinkDataFrame:
        return self._db.register(as_table(columns).for_splink(), table_name=name)

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def _collect(self, predictions: SplinkDataFrame, keep_probability: float) -> LinkageRun:
        table = predictions.physical_name
        compared = self._rows(f"select count(*) from {table}")
        rule_sql, rule_case = _rule_sql(self.model)
        rows = self._rows(
            f"select unique_id_l, unique_id_r, match_probability, {rule_case} as rule "
            f"from {table} where match_probability >= {float(keep_probability)!r} "
            f"or ({rule_sql})"
        )
        pairs = [
            ScoredPair(min(a, b), max(a, b), 1.0 if rule else float(p), rule)
            for a, b, p, rule in rows
        ]
        predictions.drop_table_from_database_and_remove_from_cache()
        return LinkageRun(pairs, int(compared[0][0]) if compared else 0)

    def _linker(self, df: SplinkDataFrame) -> Any:
        from splink import Linker

        return Linker(df, settings(self.dialect, self.model), log_level=None)

    def score_all(
        self, columns: AccountTable | Sequence[AccountColumns], keep_probability: float
    ) -> LinkageRun:
        if len(columns) < 2:
            return LinkageRun([], 0)
        df = self._register(columns, "accounts_all")
        predictions = self._linker(df).inference.predict(warning_mode="never")
        return self._collect(predictions, keep_probability)

    def score_new(
        self,
        existing: AccountTable | Sequence[AccountColumns],
        new: AccountTable | Sequence[AccountColumns],
        keep_probability: float,
    ) -> LinkageRun:
        """New against existing, and new against new; existing pairs are never re-scored."""
        if not new:
            return LinkageRun([], 0)
        if not existing:
            return self.score_all(new, keep_probability)
        old_df = self._register(existing, "accounts_existing")
        new_df = self._register(new, "accounts_new")
        linker = self._linker(old_df)
        between = self._collect(
            linker.inference.predict_between(old_df, new_df, warning_mode="never"),
            keep_probability,
        )
        within = LinkageRun([], 0)
        if len(new) > 1:
            within = self._collect(
                linker.inference.predict_within(new_df, warning_mode="never"),
                keep_probability,
            )
        return LinkageRun(
            between.pairs + within.pairs, between.compared_pairs + within.compared_pairs
        )

    def close(self) -> None:
        raise NotImplementedError


class Linkage(SplinkLinkage):
    """One in-process DuckDB connection holding the population."""

    def __init__(self, threads: int | None = None, model: Model = PRIORS):
        from splink import DuckDBAPI

        self.model = model
        self._con = duckdb.connect(":memory:")
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        # DuckDB assumes 80% of the machine is its own, but it runs inside a process that
        # holds the accounts' table and then the subjects: it gets half, and spills what does
        # not fit to the temp dir (by default to ./.tmp, in the user's working directory)
        if total := memory_here():
            self._con.execute(f"SET memory_limit = '{total // 2 // 2**20}MiB'")
        spill = os.path.join(tempfile.gettempdir(), "vigil-duckdb").replace("'", "''")
        self._con.execute(f"SET temp_directory = '{spill}'")
        self._db = DuckDBAPI(self._con)
        logging.getLogger("splink").setLevel(logging.ERROR)

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        return self._con.execute(sql).fetchall()

    def close(self) -> None:
        self._con.close()


def _rule_terms(model: Model) -> list[tuple[str, str]]:
    """Where each deterministic rule applies, as a filter on splink's per-comparison weights.

    splink keeps the weight of each comparison's level (``mw_<name>``), not its index unless
    it also keeps every input column; within one comparison every level has its own weight
    (``learning`` keeps it so, and a test holds us to that), so the weight names the level.
    """
    by_name = {c.name: c for c in COMPARISONS}
    terms = []
    for name, label in RULES:
        comparison = by_name[name]
        index = next(i for i, lv in enumerate(comparison.levels) if lv.label == label)
        bits = model.weight_bits(comparison, index)
        terms.append((f"abs(mw_{name} - {bits!r}) < 1e-9", label))
    return terms


def _rule_sql(model: Model) -> tuple[str, str]:
    """The filter any rule meets, and the rule's label as a SQL expression."""
    terms = _rule_terms(model)
    if not terms:
        return "false", "null"
    case = "case " + " ".join(f"when {t} then '{label}'" for t, label in terms) + " end"
    return " or ".join(t for t, _ in terms), case


ENGINES = ("duckdb", "spark")


def open_linkage(
    engine: str = "duckdb",
    threads: int | None = None,
    spark_master: str | None = None,
    model: Model = PRIORS,
) -> SplinkLinkage:
    """The linkage engine by name: DuckDB in-process, or Spark at ``spark_master``; both
    apply ``model``, so both give the same scores."""
    if engine == "duckdb":
        return Linkage(threads=threads, model=model)
    if engine == "spark":
        from vigil.identity.spark import DEFAULT_MASTER, SparkLinkage

        return SparkLinkage(spark_master or DEFAULT_MASTER, model=model)
    raise UsageError(f"unknown engine {engine!r}; choose one of {', '.join(ENGINES)}")
