"""Alias normalisation: the ways one person spells the same handle on different platforms.

``Son_of_god``, ``son.of.god``, ``s0n_0f_g0d`` and ``SonOfGod77`` are one alias written four
ways. Folding removes what people vary (case, separators, leetspeak) and splits off a numeric
suffix (``77``), which people change from one platform to the next. What remains, the *stem*,
is what we compare; the similarity is a rapidfuzz score so near-misses count too.

Decoration is folded away too: ``xXColdRiverXx`` is ``coldriver`` dressed up, so the
undressed reading comes first and the written one is kept as a second reading.

One ambiguity is real: in ``3ch042`` the ``0`` may be the leet ``o`` of ``echo`` or the first
digit of ``042``. Such a handle keeps both readings (``ech|042`` and ``echo|42``) and two
handles agree when any reading agrees.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import cached_property, lru_cache

from rapidfuzz.distance import JaroWinkler

_SEPARATORS = re.compile(r"[\s._\-|~+*=^'`\"/\\,:;!?()\[\]{}<>#&%]+")
_TRAILING_DIGITS = re.compile(r"^(.*?)(\d+)$")
# ``xX...Xx`` and ``xx...xx`` wrappers, folded to lower case: the same two or three x each side.
_X_WRAPPER = re.compile(r"^(x{2,3})(.{3,})\1$")
_LEET_DIGITS = "01345"
_LEET = str.maketrans(
    {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a", "$": "s"}
)


@dataclass(frozen=True)
class AliasForm:
    """One username, folded. ``readings`` are (stem, suffix) pairs; the first is preferred."""

    written: str
    readings: tuple[tuple[str, str], ...]

    @property
    def stem(self) -> str:
        return self.readings[0][0]

    @property
    def suffix(self) -> str:
        return self.readings[0][1]

    @property
    def folded(self) -> str:
        return self.stem + self.suffix

    # folded forms are shared (``fold_alias`` is cached), so their derived tuples are too

    @cached_property
    def stems(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(stem for stem, _ in self.readings if stem))

    @cached_property
    def distinctive_tokens(self) -> tuple[str, ...]:
        return tuple(
            f"{stem}|{suffix}" for stem, suffix in self.readings if distinctive(stem, suffix)
        )

    @cached_property
    def tokens(self) -> tuple[str, ...]:
        """``stem|suffix`` per reading: two handles with a token in common are one alias."""
        return tuple(f"{stem}|{suffix}" for stem, suffix in self.readings if stem)


def _compact(username: str) -> str:
    text = unicodedata.normalize("NFKC", username).casefold()
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return _SEPARATORS.sub("", text)


@lru_cache(maxsize=1 << 16)
def fold_alias(username: str) -> AliasForm:
    compact = _compact(username)
    wrapped = _X_WRAPPER.match(compact)
    if wrapped:
        inner = _fold_compact(username, wrapped.group(2))
        outer = _fold_compact(username, compact)
        readings = tuple(dict.fromkeys(inner.readings + outer.readings))
        return AliasForm(username, readings)
    return _fold_compact(username, compact)


def _fold_compact(username: str, compact: str) -> AliasForm:
    match = _TRAILING_DIGITS.match(compact)
    if not match or not match.group(1):
        # no suffix, or a handle that is all digits: nothing to split or fold
        stem = compact.translate(_LEET) if not compact.isdigit() else compact
        return AliasForm(username, ((stem, ""),))
    body, digits = match.group(1), match.group(2)
    readings = [(body.translate(_LEET), digits)]
    if digits[0] in _LEET_DIGITS and body[-1].isalpha():
        # the first digit may be a leet letter ending the last word (``3ch0`` + ``42``)
        readings.append(((body + digits[0]).translate(_LEET), digits[1:]))
        if digits[0] == "0":
            readings.reverse()  # numbers rarely start with 0: ``3ch042`` is ``echo`` + 42
    return AliasForm(username, tuple(readings))


def alias_similarity(a: AliasForm, b: AliasForm) -> float:
    """Jaro-Winkler over the preferred stems, in [0, 1]; 1.0 when the stems are identical."""
    return stem_similarity(a.stem, b.stem)


def stem_similarity(a: str, b: str) -> float:
    """The same Jaro-Winkler DuckDB's ``jaro_winkler_similarity`` computes for the model."""
    if not a or not b:
        return 0.0
    return float(JaroWinkler.normalized_similarity(a, b))


LONG_STEM_LETTERS = 8


def distinctive(stem: str, suffix: str) -> bool:
    """Whether a handle is unlikely to be chosen by two people independently.

    ``nightowl`` or ``copper454`` are; ``desert``, ``grey`` or ``john71`` are not: one
    dictionary word, bare or with a short number, is what many people pick.
    """
    letters = stem_information(stem)
    return letters >= LONG_STEM_LETTERS or (letters >= 5 and len(suffix) >= 3)


@lru_cache(maxsize=1 << 16)
def stem_information(stem: str) -> int:
    """How much a stem says about its owner, as a count of letters.

    Short stems (``john``, ``max``) are shared by many unrelated people; a long one
    (``sonofgod``) rarely is. The model treats a shared short stem as weak evidence.
    """
    return sum(1 for c in stem if c.isalpha())
