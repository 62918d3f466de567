"""What this agency holds, as selector tokens, and its evaluated set.

Holdings are read from the agency's sightings each time (derived data follows its inputs);
the evaluated outputs, the costly part, are kept in memory per process and recomputed
whenever the agency's sightings or its OPRF key change.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from threading import Lock

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vigil.federation.oprf import OprfKey
from vigil.federation.tokens import DECONFLICTED_KINDS, token
from vigil.store.models import Selector, Sighting


@dataclass(frozen=True)
class Holding:
    selector_id: int
    kind: str
    case_id: int | None


def holdings(
    session: Session, agency_id: int, case_id: int | None = None
) -> dict[bytes, list[Holding]]:
    """Token input -> this agency's selectors with that token (usually one)."""
    query = (
        select(
            Selector.id,
            Selector.kind,
            Selector.platform,
            Selector.value,
            Sighting.seen_at,
            func.min(Sighting.case_id),
        )
        .join(Sighting, Sighting.selector_id == Selector.id)
        .where(Sighting.agency_id == agency_id, Selector.kind.in_(DECONFLICTED_KINDS))
        .group_by(Selector.id, Selector.kind, Selector.platform, Selector.value, Sighting.seen_at)
    )
    if case_id is not None:
        query = query.where(Sighting.case_id == case_id)
    found: dict[bytes, dict[int, Holding]] = defaultdict(dict)
    for selector_id, kind, platform, value, seen_at, first_case in session.execute(query):
        made = token(kind, value, platform, seen_at)
        if made is not None and selector_id not in found[made.input]:
            found[made.input][selector_id] = Holding(selector_id, kind, first_case)
    return {key: sorted(rows.values(), key=lambda h: h.selector_id) for key, rows in found.items()}


@dataclass(frozen=True)
class EvaluatedHoldings:
    holdings: dict[bytes, list[Holding]]
    outputs: dict[bytes, bytes]
    """Full PRF output -> token input."""


_cache: dict[tuple[int, int, int, bytes], EvaluatedHoldings] = {}
_cache_lock = Lock()


def evaluated_holdings(session: Session, agency_id: int, oprf: OprfKey) -> EvaluatedHoldings:
    marker = session.execute(
        select(func.count(Sighting.id), func.coalesce(func.max(Sighting.id), 0)).where(
            Sighting.agency_id == agency_id
        )
    ).one()
    key = (agency_id, int(marker[0]), int(marker[1]), oprf.public_key)
    with _cache_lock:
        cached = _cache.get(key)
    if cached is not None:
        return cached
    held = holdings(session, agency_id)
    inputs = sorted(held)
    outputs = dict(zip(oprf.evaluate_known(inputs), inputs, strict=True))
    result = EvaluatedHoldings(held, outputs)
    with _cache_lock:
        for stale in [k for k in _cache if k[0] == agency_id]:
            del _cache[stale]
        _cache[key] = result
    return result
