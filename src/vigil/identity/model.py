"""The linkage model: Fellegi-Sunter comparisons run by splink on DuckDB, plus rules.

Each comparison is written once with two faces: a SQL condition per level, which splink
evaluates over the whole population in DuckDB, and a Python predicate over ``PairEvidence``,
which scores one pair at a time (a new account against existing subjects, and the reasons
stored with every link). A test keeps the two faces in agreement.

Each level carries a prior m and u: m is how often the same person shows that level across
two of his accounts, u how often two unrelated accounts do. A run learns its own m and u from
the store's data with splink (``vigil.identity.learning``) and keeps a prior wherever the data
cannot speak for a level; the result is a ``Model``, which both faces and both engines apply.
Identifiers seen with many accounts are thinned out before they reach the model (see
``features.Population``), so a CGNAT address or a family computer carries little weight.
Deterministic rules sit above the model: a shared email address or phone number links two
accounts outright, as an analyst would.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from vigil.identity.aliases import LONG_STEM_LETTERS
from vigil.identity.dialects import DUCKDB, Dialect
from vigil.identity.features import (
    HOME_IP_ACCOUNTS,
    IP_CROWD_ACCOUNTS,
    IP_MONTH_SECONDS,
    IP_WEEK_SECONDS,
    IP_WINDOW_SECONDS,
    AccountColumns,
    PairEvidence,
)

# Chance that two accounts in a blocked candidate pair belong to one person, before evidence.
PRIOR_MATCH = 1e-3
# Links at or above this probability join two accounts into one subject.
LINK_THRESHOLD = 0.99

Predicate = Callable[[PairEvidence, AccountColumns, AccountColumns], bool]
Condition = Callable[[Dialect], str]


def _else(d: Dialect) -> str:
    return "ELSE"


@dataclass(frozen=True)
class Level:
    label: str
    condition: Condition  # the SQL face, for the engine's dialect
    applies: Predicate  # the Python face, over one pair's evidence
    m: float
    u: float
    null: bool = False

    @property
    def weight_bits(self) -> float:
        return 0.0 if self.null else math.log2(self.m / self.u)

    def sql(self, dialect: Dialect = DUCKDB) -> str:
        return self.condition(dialect)


@dataclass(frozen=True)
class Comparison:
    name: str
    levels: tuple[Level, ...]  # most specific first; the last one is the "else" level

    def level_of(self, evidence: PairEvidence, a: AccountColumns, b: AccountColumns) -> int:
        for index, level in enumerate(self.levels[:-1]):
            if level.applies(evidence, a, b):
                return index
        return len(self.levels) - 1


def _null(name: str, column: str) -> Level:
    return Level(
        f"no {name} on one side",
        lambda d: d.either_empty(column),
        lambda e, a, b: not getattr(a, column) or not getattr(b, column),
        1.0,
        1.0,
        null=True,
    )


def _identifier(name: str, column: str, attr: str, m: float, u: float, m_else: float) -> Comparison:
    """A set-valued identifier: shared, different, or not known on one side."""
    return Comparison(
        name,
        (
            _null(name, column),
            Level(
                f"shared {name}",
                lambda d: d.intersects(column),
                lambda e, a, b: bool(getattr(e, attr)),
                m,
                u,
            ),
            Level(f"different {name}", _else, lambda e, a, b: True, m_else, 1.0 - u),
        ),
    )


_RARE_IP = f"x.n <= {IP_CROWD_ACCOUNTS}"
_CROWDED_IP = f"x.n > {IP_CROWD_ACCOUNTS}"
_HOME_IP = f"x.n <= {HOME_IP_ACCOUNTS}"


def _long(d: Dialect) -> str:
    return f"least(stem_letters_l, stem_letters_r) >= {LONG_STEM_LETTERS}"


def _jw(d: Dialect) -> str:
    return d.jaro_winkler("alias_stem_l", "alias_stem_r")


# Alias levels weigh a shared handle by how telling it is: its shape (a long or numbered
# handle is rarely picked twice by chance) and its frequency in the whole store (a core on
# a handful of accounts is one person's; one on many is a name many people pick).
ALIAS = Comparison(
    "alias",
    (
        Level(
            "no alias on one side",
            lambda d: "alias_stem_l = '' or alias_stem_r = ''",
            lambda e, a, b: not a.alias_stem or not b.alias_stem,
            1.0,
            1.0,
            null=True,
        ),
        Level(
            "same distinctive handle, rare in the store",
            lambda d: d.intersects("alias_rare_distinctive"),
            lambda e, a, b: e.same_rare_distinctive_alias,
            0.35,
            2e-7,
        ),
        Level(
            "same handle, rare in the store",
            lambda d: d.intersects("alias_rare_tokens"),
            lambda e, a, b: e.same_rare_alias,
            0.15,
            2e-6,
        ),
        Level(
            "same long stem, rare in the store",
            lambda d: d.intersects("alias_rare_long_stems"),
            lambda e, a, b: e.same_rare_long_stem,
            0.2,
            2.2e-6,
        ),
        Level(
            "same short handle, on few accounts",
            lambda d: d.intersects("alias_few_tokens"),
            lambda e, a, b: e.same_few_alias,
            0.15,
            3e-5,
        ),
        Level(
            "same stem, rare in the store",
            lambda d: d.intersects("alias_rare_stems"),
            lambda e, a, b: e.same_rare_stem,
            0.1,
            1e-4,
        ),
        Level(
            "same distinctive handle, common in the store",
            lambda d: d.intersects("alias_distinctive"),
            lambda e, a, b: e.same_distinctive_alias,
            0.05,
            1e-4,
        ),
        Level(
            "same handle, common in the store",
            lambda d: d.intersects("alias_tokens"),
            lambda e, a, b: e.same_alias,
            0.05,
            1.2e-3,
        ),
        Level(
            "same long stem, common in the store",
            lambda d: d.intersects("alias_long_stems"),
            lambda e, a, b: e.same_long_stem,
            0.1,
            5e-4,
        ),
        Level(
            "same stem, different number",
            lambda d: d.intersects("alias_stems"),
            lambda e, a, b: e.same_stem,
            0.1,
            2e-3,
        ),
        Level(
            "similar long alias",
            lambda d: f"{_jw(d)} >= 0.92 and {_long(d)}",
            lambda e, a, b: e.alias_similarity >= 0.92 and e.stem_letters >= LONG_STEM_LETTERS,
            0.05,
            5e-4,
        ),
        Level(
            "somewhat similar alias",
            lambda d: f"{_jw(d)} >= 0.85",
            lambda e, a, b: e.alias_similarity >= 0.85,
            0.05,
            0.02,
        ),
        Level("different alias", _else, lambda e, a, b: True, 0.10, 0.977),
    ),
)

# Handles are unique per platform: two near-identical handles on one platform are usually
# two registrations by two people (the second found the first taken).
PLATFORM = Comparison(
    "platform",
    (
        Level(
            "same platform",
            lambda d: "platform_l = platform_r",
            lambda e, a, b: e.same_platform,
            0.03,
            0.25,
        ),
        Level("different platforms", _else, lambda e, a, b: True, 0.97, 0.75),
    ),
)

EMAIL = Comparison(
    "email",
    (
        _null("email", "emails"),
        Level(
            "same email",
            lambda d: d.intersects("emails"),
            lambda e, a, b: bool(e.shared_emails),
            0.7,
            1e-6,
        ),
        Level(
            "same mailbox by provider rules",
            lambda d: d.intersects("email_forms"),
            lambda e, a, b: bool(e.shared_email_forms),
            0.05,
            1e-5,
        ),
        Level("different emails", _else, lambda e, a, b: True, 0.35, 0.99999),
    ),
)

FILES = Comparison(
    "files",
    (
        _null("unknown files", "files"),
        Level(
            "two or more shared unknown files",
            lambda d: f"{d.shared_count('files')} >= 2",
            lambda e, a, b: len(e.shared_files) >= 2,
            0.2,
            2e-5,
        ),
        Level(
            "one shared unknown file",
            lambda d: f"{d.shared_count('files')} = 1",
            lambda e, a, b: len(e.shared_files) == 1,
            0.1,
            1e-3,
        ),
        Level("no shared unknown file", _else, lambda e, a, b: True, 0.7, 0.9999),
    ),
)

# An address counts by how few accounts sit behind it and how close in time two accounts
# used it: a home line shared by a handful of accounts counts even months apart, one behind
# which many accounts sit (CGNAT, a VPN exit) counts little even within the hour.
IPS = Comparison(
    "ip",
    (
        _null("timed IP", "ip_seen"),
        Level(
            "two or more rare IPs within 24 h",
            lambda d: f"{d.close_ip_count(_RARE_IP, IP_WINDOW_SECONDS)} >= 2",
            lambda e, a, b: len(e.close_ips) >= 2,
            0.15,
            1e-6,
        ),
        Level(
            "one rare IP within 24 h",
            lambda d: f"{d.close_ip_count(_RARE_IP, IP_WINDOW_SECONDS)} = 1",
            lambda e, a, b: len(e.close_ips) == 1,
            0.25,
            3e-5,
        ),
        Level(
            "rare IP within 7 days",
            lambda d: f"{d.close_ip_count(_RARE_IP, IP_WEEK_SECONDS)} >= 1",
            lambda e, a, b: bool(e.week_ips),
            0.2,
            8e-5,
        ),
        Level(
            "rare IP within 30 days",
            lambda d: f"{d.close_ip_count(_RARE_IP, IP_MONTH_SECONDS)} >= 1",
            lambda e, a, b: bool(e.month_ips),
            0.15,
            2e-4,
        ),
        Level(
            "home IP of a handful of accounts, months apart",
            lambda d: d.shared_ip(_HOME_IP),
            lambda e, a, b: bool(e.home_ips),
            0.1,
            1.5e-4,
        ),
        Level(
            "crowded IP within 24 h",
            lambda d: f"{d.close_ip_count(_CROWDED_IP, IP_WINDOW_SECONDS)} >= 1",
            lambda e, a, b: bool(e.crowded_close_ips),
            0.02,
            0.01,
        ),
        Level(
            "shared IP, never within 30 days",
            lambda d: d.shared_ip(_RARE_IP),
            lambda e, a, b: bool(e.distant_ips),
            0.05,
            0.055,
        ),
        Level("no shared IP", _else, lambda e, a, b: True, 0.18, 0.93),
    ),
)

# Where two accounts' IP addresses are registered: the same country is common (about one
# random pair in ten in an international operation), different countries count against.
COUNTRY = Comparison(
    "country",
    (
        _null("located IP", "countries"),
        Level(
            "IPs in the same country",
            lambda d: d.intersects("countries"),
            lambda e, a, b: bool(e.shared_countries),
            0.95,
            0.1,
        ),
        Level("IPs in different countries", _else, lambda e, a, b: True, 0.05, 0.9),
    ),
)

COMPARISONS: tuple[Comparison, ...] = (
    ALIAS,
    PLATFORM,
    EMAIL,
    _identifier("phone", "phones", "shared_phones", 0.7, 1e-6, 0.3),
    _identifier("device", "devices", "shared_devices", 0.6, 1e-4, 0.4),
    _identifier("camera", "cameras", "shared_cameras", 0.6, 1e-5, 0.4),
    _identifier("payment", "payments", "shared_payments", 0.7, 1e-6, 0.3),
    FILES,
    IPS,
    COUNTRY,
)

# Strong identifiers that link outright, whatever else the model says.
RULES: tuple[tuple[str, str], ...] = (("email", "same email"), ("phone", "shared phone"))


def rule_for(levels: dict[str, int]) -> str | None:
    """The deterministic rule two accounts meet, given their level per comparison."""
    by_name = {c.name: c for c in COMPARISONS}
    for name, label in RULES:
        comparison = by_name[name]
        index = levels.get(name)
        if index is not None and comparison.levels[index].label == label:
            return label
    return None


@dataclass(frozen=True)
class Model:
    """The m and u of every level, as one run applies them (learned, or the priors).

    ``parameters`` maps a comparison's name to one (m, u) per level, in level order (a null
    level's pair is unused). ``notes`` say, per level or per training step, where a value came
    from: learned by splink, or the prior kept and why. The model travels as JSON (``as_json``)
    so that an incremental run, the one-account index and the Spark engine apply exactly the
    parameters a full run learned.
    """

    parameters: dict[str, tuple[tuple[float, float], ...]]
    notes: tuple[str, ...] = ()
    sources: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def m_u(self, comparison: Comparison, index: int) -> tuple[float, float]:
        return self.parameters[comparison.name][index]

    def weight_bits(self, comparison: Comparison, index: int) -> float:
        level = comparison.levels[index]
        if level.null:
            return 0.0
        m, u = self.m_u(comparison, index)
        return math.log2(m / u)

    def as_json(self) -> dict[str, Any]:
        return {
            "parameters": {
                name: [[m, u] for m, u in levels] for name, levels in self.parameters.items()
            },
            "sources": {name: list(values) for name, values in self.sources.items()},
            "notes": list(self.notes),
        }

    @classmethod
    def from_json(cls, data: Any) -> Model | None:
        """The model an earlier run recorded, or None where it is missing or does not fit
        the comparisons of this version (levels added or removed since)."""
        if not isinstance(data, dict) or not isinstance(data.get("parameters"), dict):
            return None
        parameters: dict[str, tuple[tuple[float, float], ...]] = {}
        for comparison in COMPARISONS:
            levels = data["parameters"].get(comparison.name)
            if not isinstance(levels, list) or len(levels) != len(comparison.levels):
                return None
            try:
                parameters[comparison.name] = tuple((float(m), float(u)) for m, u in levels)
            except (TypeError, ValueError):
                return None
        sources = data.get("sources") or {}
        return cls(
            parameters,
            tuple(str(n) for n in data.get("notes") or ()),
            {str(k): tuple(str(v) for v in vs) for k, vs in sources.items()}
            if isinstance(sources, dict)
            else {},
        )


PRIORS = Model(
    {c.name: tuple((level.m, level.u) for level in c.levels) for c in COMPARISONS},
    ("priors: no model learned",),
    {c.name: tuple("prior" for _ in c.levels) for c in COMPARISONS},
)


def probability_from_bits(weight_bits: float) -> float:
    prior_bits = math.log2(PRIOR_MATCH / (1.0 - PRIOR_MATCH))
    odds_bits = prior_bits + weight_bits
    if odds_bits > 60:
        return 1.0
    odds = 2.0**odds_bits
    return odds / (1.0 + odds)


@dataclass(frozen=True)
class PairScore:
    probability: float
    weight_bits: float
    levels: dict[str, int]
    rule: str | None


def score(
    evidence: PairEvidence, a: AccountColumns, b: AccountColumns, model: Model = PRIORS
) -> PairScore:
    """The model's verdict on one pair, computed in Python (the same sums splink does)."""
    levels = {c.name: c.level_of(evidence, a, b) for c in COMPARISONS}
    bits = sum(model.weight_bits(c, levels[c.name]) for c in COMPARISONS)
    rule = rule_for(levels)
    probability = 1.0 if rule else probability_from_bits(bits)
    return PairScore(probability, bits, levels, rule)
