"""Learning the model's m and u from the store's own data with splink, without labels.

Every full run learns its model from the accounts it resolves, on DuckDB in this process
(whatever engine then scores the pairs, so DuckDB and Spark apply the same numbers):

1. u by random sampling (splink's ``estimate_u_using_random_sampling``): how often two
   accounts picked at random show each level. Random pairs are almost all of two different
   people, so this is what u means; a seed and inputs sorted by account id make it repeatable.
2. m by expectation maximisation (``estimate_parameters_using_expectation_maximisation``) on
   two training blocks: accounts with the same alias stem (learns every comparison but the
   alias, which the block itself decides) and accounts sharing an address few others use
   (learns the alias). u stays fixed at step 1's values during EM.
3. Guards, because a missed link can be reviewed but a false one can send an innocent
   person's name abroad:

   - a learned u is kept only where random pairs speak for non-matches: the level was seen
     on at least ``MIN_U_PAIRS`` sampled pairs, and pairs of one person's accounts (about
     ``match_rate`` of random pairs, estimated from how often the email rule fires in the
     sample against how often EM says a person's two accounts share an email) make at most
     ``MAX_MATCH_SHARE`` of them; the estimate is corrected for that share. In a small store
     random pairs sharing a rare handle are mostly one person's, and such a u would call a
     telling coincidence common: the prior stays there.
   - an EM session that does not converge within splink's iteration limit leaves the priors
     of its comparisons in place (logged, and noted in the model).
   - no learned m falls below ``M_FLOOR``: no single comparison may veto a link (EM on a
     synthetic store learns that a person never has two accounts on one platform, which real
     ban evaders disprove); the vetoes Vigil has are explicit (victims, analyst rejects).
   - the deterministic rules' levels (same email, same phone) keep their priors: they link
     outright whatever their weight.
   - learning may make the model more cautious, never bolder: a level whose learned weight
     is above its prior's keeps the prior m and u. The model adds its levels' weights as if
     they were independent, and in a real store they are not where it matters most: false
     friends (a CGNAT address and look-alike handles, a family's computer and surname) share
     several at once, so a learned "look-alike handles are rarer than we thought" would sum
     with the shared address into a false link (it did, on a large synthetic operation). So
     every pair's weight is at most what the priors give it, and precision at least theirs.

The false-friend guards sit in the features, before any weight: crowded addresses, devices,
files and contacts are thinned out by ``features.Population`` and never reach the model as
evidence for a link.

Term frequencies: splink's term-frequency adjustment applies to single-valued columns; an
account's aliases, addresses, emails, devices and phones are sets, so their frequency in the
store is measured by ``features.Population`` and becomes the level (an alias core on five
accounts or fewer, an address on six or fewer, a contact on ten or fewer), whose u and m are
then learned here like any other.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sequence
from typing import Any

from vigil.identity.account_table import AccountTable, as_table
from vigil.identity.features import AccountColumns
from vigil.identity.linkage import Linkage, settings
from vigil.identity.model import COMPARISONS, PRIORS, RULES, Comparison, Model

log = logging.getLogger(__name__)

# Fewer accounts than this teach nothing reliable: the priors apply as they are.
MIN_ACCOUNTS = 100
# Random pairs sampled for u; enough that a level seen once in ten thousand pairs is counted
# a hundred times.
U_SAMPLE_PAIRS = 1e6
U_SEED = 16
# A level seen on fewer sampled pairs keeps its prior u: too few to count.
MIN_U_PAIRS = 30
# A learned u is kept only where one person's pairs make at most this share of the sample.
MAX_MATCH_SHARE = 0.1
# No learned m goes below this: one comparison never vetoes a link on its own.
M_FLOOR = 0.01
# The prior m counts as this many pairs of one person's accounts: EM's estimate, from the
# pairs it judged one person's in its training block, outweighs it only with more evidence
# than that (a small store learns a little, a national one mostly from its data).
PRIOR_MATCH_PAIRS = 500
# Likewise the prior u counts as this many random pairs against the sampled ones: a store of a
# few hundred accounts (some ten thousand pairs) moves u a little, a large one decides it.
PRIOR_RANDOM_PAIRS = 100_000
# EM iterations before a session counts as not converged (splink's default).
EM_MAX_ITERATIONS = 25
# EM on at most this many blocked pairs (splink samples records deterministically beyond).
EM_MAX_PAIRS = 2e6
# Learned values are rounded to this many significant digits, so that the order in which a
# database sums floating-point numbers cannot change a subject.
DIGITS = 6
# The training blocks: the alias comparison is learned where pairs share an address, every
# other comparison where they share an alias stem.
ALIAS_BLOCK = "l.rare_ip = r.rare_ip"
OTHER_BLOCK = "l.alias_stem = r.alias_stem"


def _round(value: float) -> float:
    return float(f"{value:.{DIGITS - 1}e}")


def _learned(data: dict[str, Any]) -> dict[str, list[tuple[Any, Any]]]:
    """Per comparison, splink's (m, u) per level from a saved model (None where absent)."""
    out: dict[str, list[tuple[Any, Any]]] = {}
    for comparison in data["comparisons"]:
        out[comparison["output_column_name"]] = [
            (level.get("m_probability"), level.get("u_probability"))
            for level in comparison["comparison_levels"]
        ]
    return out


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and math.isfinite(value) and value > 0:
        return float(value)
    return None


def _rule_index(comparison: Comparison) -> int | None:
    labels = {label for name, label in RULES if name == comparison.name}
    return next((i for i, lv in enumerate(comparison.levels) if lv.label in labels), None)


class _Trainer:
    def __init__(self, columns: AccountTable, threads: int | None):
        self.accounts = len(columns)
        self.linkage = Linkage(threads=threads)
        self.table = self.linkage._db.register(
            columns.for_splink(training=True), table_name="accounts_training"
        )
        self.notes: list[str] = []

    def linker(self, model: Model) -> Any:
        from splink import Linker

        chosen = {**settings(self.linkage.dialect, model), "max_iterations": EM_MAX_ITERATIONS}
        return Linker(self.table, chosen, log_level=None)

    def sample_u(self) -> tuple[dict[str, list[tuple[Any, Any]]], float]:
        linker = self.linker(PRIORS)
        linker.training.estimate_u_using_random_sampling(
            max_pairs=U_SAMPLE_PAIRS, seed=U_SEED, min_count_per_level=None, num_chunks=1
        )
        n = self.accounts
        sampled = min(U_SAMPLE_PAIRS, n * (n - 1) / 2)
        return _learned(linker.misc.save_model_to_json()), sampled

    def em(self, model: Model, block: str) -> tuple[dict[str, list[tuple[Any, Any]]], float] | None:
        """One EM session's m per level and how many of its pairs it judged one person's, or
        None where it failed or did not converge."""
        linker = self.linker(model)
        n = self.accounts
        try:
            session = linker.training.estimate_parameters_using_expectation_maximisation(
                block,
                max_pairs=EM_MAX_PAIRS,
                record_sample_proportion=min(1.0, 100_000 / max(n, 1)),
            )
        except Exception as exc:  # splink raises its own types and database errors alike
            self.notes.append(f"EM blocked on {block} failed ({exc}); priors kept for it")
            log.warning("identity model: EM blocked on %s failed: %s", block, exc)
            return None
        iterations = len(session._core_model_settings_history) - 1
        limit = EM_MAX_ITERATIONS
        if iterations >= limit:
            self.notes.append(
                f"EM blocked on {block} did not converge in {limit} iterations; priors kept"
            )
            log.warning("identity model: EM blocked on %s did not converge", block)
            return None
        column = block.partition(" = ")[0].removeprefix("l.")
        blocked = self.linkage._rows(
            f"select coalesce(sum(n * (n - 1) / 2), 0) from (select count(*) as n "
            f"from {self.table.physical_name} where {column} is not null group by {column})"
        )[0][0]
        share = session.core_model_settings.probability_two_random_records_match
        matches = float(share) * min(float(blocked), EM_MAX_PAIRS)
        self.notes.append(
            f"EM blocked on {block} converged in {iterations} iterations "
            f"(about {matches:.0f} of its pairs judged one person's)"
        )
        return _learned(linker.misc.save_model_to_json()), matches

    def close(self) -> None:
        self.linkage.close()


def learn(accounts: AccountTable | Sequence[AccountColumns], threads: int | None = None) -> Model:
    """The model learned from these accounts, with the guards above; the priors where there
    are too few accounts to learn anything from."""
    if len(accounts) < MIN_ACCOUNTS:
        return dataclasses.replace(
            PRIORS,
            notes=(f"priors: {len(accounts)} accounts, fewer than {MIN_ACCOUNTS} to learn from",),
        )
    columns = as_table(accounts)
    trainer = _Trainer(columns, threads)
    try:
        sampled_u, sampled = trainer.sample_u()
        # u first (EM keeps u fixed): provisional, before the match share is known
        provisional = _with_u(sampled_u, sampled, match_rate=1.0 / len(columns))
        m_other = trainer.em(provisional, OTHER_BLOCK)
        m_alias = trainer.em(provisional, ALIAS_BLOCK)
    finally:
        trainer.close()
    m_learned: dict[str, list[tuple[Any, Any]]] = {}
    for comparison in COMPARISONS:
        session = m_alias if comparison.name == "alias" else m_other
        if session is not None:
            m_learned[comparison.name] = _shrunk(comparison, *session)
    match_rate = _match_rate(sampled_u, m_learned, len(columns))
    trainer.notes.append(f"one person's pairs among random pairs: about {match_rate:.3g}")
    u_model = _with_u(sampled_u, sampled, match_rate, m_learned)
    return _with_m(u_model, m_learned, trainer.notes)


def _shrunk(
    comparison: Comparison, learned: dict[str, list[tuple[Any, Any]]], matches: float
) -> list[tuple[Any, Any]]:
    """EM's m per level weighed against the prior m, pair for pair (``PRIOR_MATCH_PAIRS``);
    a level EM did not estimate stays None."""
    out: list[tuple[Any, Any]] = []
    for level, (m, u) in zip(comparison.levels, learned[comparison.name], strict=True):
        value = _number(m)
        if value is not None and value != level.m:
            value = (matches * value + PRIOR_MATCH_PAIRS * level.m) / (matches + PRIOR_MATCH_PAIRS)
        out.append((value, u))
    return out


def _match_rate(
    sampled_u: dict[str, list[tuple[Any, Any]]],
    m_learned: dict[str, list[tuple[Any, Any]]],
    accounts: int,
) -> float:
    """The share of random pairs that are one person's two accounts.

    The email rule's level is seen on random pairs almost only when they are one person's;
    its frequency there over EM's m (how often one person's pairs share an email) estimates
    that share. Never below one pair per account (every account with one sibling), so a
    store without emails errs towards keeping priors.
    """
    floor = 1.0 / max(accounts, 1)
    rates = [floor]
    for comparison in COMPARISONS:
        index = _rule_index(comparison)
        if index is None or comparison.name not in m_learned:
            continue
        frequency = _number(sampled_u[comparison.name][index][1])
        m = _number(m_learned[comparison.name][index][0])
        if frequency and m:
            rates.append(min(0.5, frequency / m))
    return max(rates)


# how one level is set: from its comparison, its index and the comparison's rule level (if
# any), its (m, u) and where they came from, in words
LevelChoice = Callable[[Comparison, int, int | None], tuple[float, float, str]]


def _per_level(choose: LevelChoice, notes: Sequence[str] = ()) -> Model:
    """A model whose every level is set by ``choose``, with the source of each in words."""
    parameters: dict[str, tuple[tuple[float, float], ...]] = {}
    sources: dict[str, tuple[str, ...]] = {}
    for comparison in COMPARISONS:
        rule = _rule_index(comparison)
        chosen = [choose(comparison, index, rule) for index in range(len(comparison.levels))]
        parameters[comparison.name] = tuple((m, u) for m, u, _ in chosen)
        sources[comparison.name] = tuple(where for _, _, where in chosen)
    return Model(parameters, tuple(notes), sources)


def _with_u(
    sampled_u: dict[str, list[tuple[Any, Any]]],
    sampled: float,
    match_rate: float,
    m_learned: dict[str, list[tuple[Any, Any]]] | None = None,
) -> Model:
    """Priors with each level's u replaced by the sampled one where the guards allow it."""

    def choose(comparison: Comparison, index: int, rule: int | None) -> tuple[float, float, str]:
        level = comparison.levels[index]
        m, u = level.m, level.u
        frequency = _number(sampled_u[comparison.name][index][1])
        where = "prior u"
        if level.null or index == rule:
            where = "null" if level.null else "prior u (rule)"
        elif frequency is None or frequency * sampled < MIN_U_PAIRS:
            where = "prior u (too few sampled pairs)"
        else:
            learned_m = m
            if m_learned and comparison.name in m_learned:
                learned_m = _number(m_learned[comparison.name][index][0]) or m
            if match_rate * learned_m / frequency <= MAX_MATCH_SHARE:
                corrected = (frequency - match_rate * learned_m) / (1.0 - match_rate)
                corrected = min(max(corrected, frequency / 2), 1.0)
                u = (sampled * corrected + PRIOR_RANDOM_PAIRS * u) / (sampled + PRIOR_RANDOM_PAIRS)
                u, where = _round(u), "learned u"
            else:
                where = "prior u (random pairs mostly one person's)"
        return m, u, where

    return _per_level(choose)


def _with_m(model: Model, m_learned: dict[str, list[tuple[Any, Any]]], notes: list[str]) -> Model:
    def choose(comparison: Comparison, index: int, rule: int | None) -> tuple[float, float, str]:
        level = comparison.levels[index]
        m, u = model.m_u(comparison, index)
        where = "prior m"
        learned = m_learned.get(comparison.name)
        value = _number(learned[index][0]) if learned else None
        if level.null:
            where = "null"
        elif index == rule:
            where = "prior m (rule)"
        elif value is not None and value != level.m:
            m, where = _round(max(value, M_FLOOR)), "learned m"
        elif value is not None:
            where = "prior m (level not seen in training)"
        where = f"{where}, {model.sources[comparison.name][index]}"
        if not level.null and math.log2(m / u) > level.weight_bits:
            m, u = level.m, level.u
            where = f"prior m and u (learned weight above the prior's; {where})"
        return m, u, where

    return _per_level(choose, notes)
