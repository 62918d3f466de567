"""`vigil links review`: the pairs the model is unsure of, best first, for an analyst.

The queue is computed from the evidence and the analysts' decisions as they are now (a full
resolution in memory, nothing written), so it never depends on when `vigil resolve` last ran;
it weighs evidence with the model the last resolve recorded (learned afresh where none is).
Each item names its two accounts as `vigil subjects` does, the subjects they are in now,
the model's probability, whether the model linked them, the expected value of a decision
(account pairs it is expected to correct; see ``vigil.identity.review``), the reasons in
words and the evidence behind them (each comparison's level and its weight in bits). An
analyst answers with `vigil link confirm A B` or `vigil link reject A B`: the decision is
applied to the subjects at once, and every later resolve and review obeys it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from vigil.identity.resolution import resolve as run_engine
from vigil.identity.review import REVIEW_FLOOR, review_queue
from vigil.store.db import Store
from vigil.store.models import Subject, SubjectSelector
from vigil.workflows.identity.resolve import decision_constraints, last_model
from vigil.workflows.identity.resolve_input import account_keys, load_accounts


def review_links(store: Store, limit: int | None = 50) -> list[dict[str, Any]]:
    store.require_initialised()
    with store.reading() as session:
        loaded = load_accounts(session)
        constraints, confirmed = decision_constraints(session, loaded.profiles)
        model = last_model(session)  # as the subjects were resolved; learned afresh if none
        subject_of = dict(
            session.execute(
                select(SubjectSelector.selector_id, SubjectSelector.subject_id)
                .join(Subject, Subject.id == SubjectSelector.subject_id)
                .where(Subject.status != "merged")
            ).all()
        )
    outcome = run_engine(
        loaded.profiles, constraints, confirmed=confirmed, review_floor=REVIEW_FLOOR, model=model
    )
    items = review_queue(
        outcome.clusters,
        outcome.near_misses,
        outcome.columns,
        constraints,
        limit,
        model=outcome.model,
    )
    keys = account_keys(loaded)
    return [
        {
            "a": keys[item.a],
            "b": keys[item.b],
            "subject_a": subject_of.get(item.a),
            "subject_b": subject_of.get(item.b),
            "probability": round(item.probability, 6),
            "linked": item.linked,
            "expected_value": round(item.expected_value, 6),
            "accounts_affected": item.accounts_affected,
            "reasons": list(item.reasons),
            "evidence": [
                {"comparison": e.comparison, "level": e.level, "weight_bits": e.weight_bits}
                for e in item.evidence
            ],
        }
        for item in items
    ]
