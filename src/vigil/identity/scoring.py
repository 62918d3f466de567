"""Scoring one new account against the subjects already resolved, without a full run.

An in-memory inverted index from each blocking key (identifier, alias stem, rare IP) to the
accounts carrying it gives the candidates; the Python face of the model scores them with the
model the full run learned (the same sums splink computes), and each subject gets the best
link any of its accounts offers. This is what answers "who is this new account?" in
milliseconds at a million accounts.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from vigil.identity.features import (
    AccountColumns,
    Population,
    account_columns,
    compare,
)
from vigil.identity.model import PRIORS, Model, score
from vigil.identity.profiles import AccountProfile
from vigil.identity.reasons import reasons


@dataclass(frozen=True)
class SubjectMatch:
    subject_id: int
    account_id: int  # the subject's account that gave the best link
    probability: float
    reasons: tuple[str, ...]


class SubjectIndex:
    def __init__(
        self,
        columns: Iterable[AccountColumns],
        subject_of: dict[int, int],
        population: Population,
        model: Model = PRIORS,
    ):
        self.population = population
        self.model = model
        self.subject_of = subject_of
        self.columns: dict[int, AccountColumns] = {}
        self.by_key: dict[str, list[int]] = defaultdict(list)
        for column in columns:
            self.columns[column.unique_id] = column
            for key in column.block_keys:
                self.by_key[key].append(column.unique_id)

    def candidates(self, column: AccountColumns) -> set[int]:
        found: set[int] = set()
        for key in column.block_keys:
            found.update(self.by_key.get(key, ()))
        found.discard(column.unique_id)
        return found

    def score_account(self, profile: AccountProfile, limit: int = 5) -> list[SubjectMatch]:
        """The subjects this account most probably belongs to, best first."""
        column = account_columns(profile, self.population)
        best: dict[int, SubjectMatch] = {}
        for other_id in self.candidates(column):
            other = self.columns[other_id]
            evidence = compare(column, other)
            verdict = score(evidence, column, other, self.model)
            subject = self.subject_of.get(other_id)
            if subject is None:
                continue
            current = best.get(subject)
            if current is None or verdict.probability > current.probability:
                best[subject] = SubjectMatch(
                    subject,
                    other_id,
                    verdict.probability,
                    tuple(reasons(evidence, column, other)),
                )
        ranked = sorted(best.values(), key=lambda m: (-m.probability, m.subject_id))
        return ranked[:limit]
