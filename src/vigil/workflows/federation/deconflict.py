"""Deconfliction: does another agency hold any of our selectors, without either side showing
its selectors to the other.

Querier: fetch the peer's signed, expiring evaluated set; blind every own token; have the
peer evaluate the blinded batch (it proves it used the set's key); unblind; keep the tokens
whose tag is in the set; confirm those online with their full outputs. Holder: serve the set,
evaluate blindly (rate-limited), and on confirmation record the hit and answer with its
contact point and an opaque reference. Both sides audit every step and record the hit.
"""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import BadInput, UsageError
from vigil.federation import evaluated_set, oprf
from vigil.federation.evaluated_set import tag_of
from vigil.federation.signing import RequestRefused, b64, parse_public_key, unb64
from vigil.federation.transport import Transport
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import Agency, Case, DeconflictionHit, Peer, SubjectSelector, utcnow
from vigil.workflows.federation.holdings import Holding, evaluated_holdings, holdings
from vigil.workflows.federation.node import active_peers, node_keys
from vigil.workflows.federation.peering import Caller, PeerClient
from vigil.workflows.operation.setup import find_case

BATCH = 4096
"""Blinded elements per evaluation request: well under RFC 9497's 65,535 and a few hundred KB."""


@dataclass(frozen=True)
class HitInfo:
    peer: str
    kind: str
    subject_id: int | None
    case: str | None
    contact: str | None
    their_reference: str
    first_seen: datetime
    direction: str
    our_reference: str


HIT_KEYS = ("peer", "kind", "subject_id", "case", "contact", "their_reference", "first_seen")


def hit_json(hit: HitInfo) -> dict[str, object]:
    """The ``vigil deconfliction hits --json`` shape, contract keys first (the API's too)."""
    row = dataclasses.asdict(hit)
    row["first_seen"] = hit.first_seen.isoformat()
    return {**{k: row.pop(k) for k in HIT_KEYS}, **row}


def _reference(agency: str) -> str:
    return f"{agency}-DX-{secrets.token_hex(6)}"


def _require(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip():
        raise RequestRefused(f"a deconfliction request needs a {name}")
    return value.strip()[:300]


# --- holder side --------------------------------------------------------------------------


def serve_set(store: Store, caller: Caller, payload: dict[str, Any]) -> dict[str, Any]:
    case, purpose = _require(payload, "case"), _require(payload, "purpose")
    with store.transaction() as session:
        keys = node_keys(session, caller.agency_id, caller.agency_code)
        evaluated = evaluated_holdings(session, caller.agency_id, keys.oprf)
        document = evaluated_set.publish(keys.signer, keys.oprf.public_key, evaluated.outputs)
        audit.append(
            session,
            None,
            "federation.set",
            "peer",
            caller.peer_id,
            {
                "peer": caller.peer_code,
                "case": case,
                "purpose": purpose,
                "tags": len(document["tags"]),
            },
        )
        return document


def serve_evaluate(store: Store, caller: Caller, payload: dict[str, Any]) -> dict[str, Any]:
    case, purpose = _require(payload, "case"), _require(payload, "purpose")
    blinded = payload.get("blinded")
    if not isinstance(blinded, list) or not all(isinstance(b, str) for b in blinded):
        raise RequestRefused("an evaluation request carries `blinded`, a list of base64 elements")
    elements = [unb64(b, "a blinded element") for b in blinded]
    with store.transaction() as session:
        keys = node_keys(session, caller.agency_id, caller.agency_code)
        evaluated = keys.oprf.evaluate_blinded(elements)
        audit.append(
            session,
            None,
            "federation.evaluate",
            "peer",
            caller.peer_id,
            {
                "peer": caller.peer_code,
                "case": case,
                "purpose": purpose,
                "selectors": len(elements),
            },
        )
    return {"evaluated": b64(evaluated)}


def serve_confirm(store: Store, caller: Caller, payload: dict[str, Any]) -> dict[str, Any]:
    """Record a hit for each full output that is one of ours; ignore the rest silently."""
    case, purpose = _require(payload, "case"), _require(payload, "purpose")
    contact = payload.get("contact") if isinstance(payload.get("contact"), str) else None
    items = payload.get("items")
    if not isinstance(items, list):
        raise RequestRefused("a confirmation carries `items`: [{output, reference}]")
    answers: list[dict[str, Any]] = []
    with store.transaction() as session:
        keys = node_keys(session, caller.agency_id, caller.agency_code)
        evaluated = evaluated_holdings(session, caller.agency_id, keys.oprf)
        agency = session.get(Agency, caller.agency_id)
        hits = _Hits(session, caller.agency_id, caller.peer_id, "received")
        for item in items:
            if not isinstance(item, dict):
                raise RequestRefused("each confirmation item is {output, reference}")
            output = unb64(str(item.get("output", "")), "an output")
            their_reference = str(item.get("reference", ""))[:100]
            token_input = evaluated.outputs.get(output)
            if token_input is None or not their_reference:
                continue
            for held in evaluated.holdings[token_input]:
                hit = hits.record(
                    held, _reference(caller.agency_code), their_reference, contact, case, purpose
                )
                answers.append(
                    {
                        "output": item["output"],
                        "reference": hit.our_reference,
                        "first_seen": hit.first_seen.isoformat(),
                    }
                )
        audit.append(
            session,
            None,
            "deconfliction.confirm",
            "peer",
            caller.peer_id,
            {
                "peer": caller.peer_code,
                "case": case,
                "purpose": purpose,
                "asked": len(items),
                "hits": len(answers),
            },
        )
        return {"contact": agency.contact if agency else None, "hits": answers}


class _Hits:
    """This agency's hits with one peer in one direction, loaded once and updated in place:
    one hit per own selector, whatever the number of times it is confirmed."""

    def __init__(self, session: Session, agency_id: int, peer_id: int, direction: str):
        self.session, self.key = session, (agency_id, peer_id, direction)
        self.rows = {
            hit.selector_id: hit
            for hit in session.scalars(
                select(DeconflictionHit).where(
                    DeconflictionHit.agency_id == agency_id,
                    DeconflictionHit.peer_id == peer_id,
                    DeconflictionHit.direction == direction,
                )
            )
        }

    def record(
        self,
        held: Holding,
        our_reference: str,
        their_reference: str,
        contact: str | None,
        their_case: str | None,
        purpose: str,
        case_id: int | None = None,
    ) -> DeconflictionHit:
        hit = self.rows.get(held.selector_id)
        if hit is None:
            agency_id, peer_id, direction = self.key
            hit = DeconflictionHit(
                agency_id=agency_id,
                peer_id=peer_id,
                direction=direction,
                kind=held.kind,
                selector_id=held.selector_id,
                our_reference=our_reference,
                first_seen=utcnow(),
            )
            self.session.add(hit)
            self.rows[held.selector_id] = hit
        hit.case_id = case_id if case_id is not None else held.case_id
        hit.their_reference = their_reference
        hit.contact = contact
        hit.their_case = their_case
        hit.purpose = purpose
        return hit


# --- querier side -------------------------------------------------------------------------


def deconflict(
    store: Store,
    actor: Actor,
    transport: Transport,
    *,
    purpose: str,
    case: str | None = None,
    peers: Sequence[str] | None = None,
) -> list[HitInfo]:
    """Ask every active peer (or those named) about this agency's selectors; returns the hits."""
    if not purpose.strip():
        raise UsageError("a deconfliction needs a --purpose")
    store.require_initialised()
    with store.reading() as session:
        case_row = find_case(session, actor, case) if case else None
        case_ref = case_row.reference if case_row else "all-cases"
        held = holdings(session, actor.agency_id, case_row.id if case_row else None)
        keys = node_keys(session, actor.agency_id, actor.agency_code)
        contact = _contact(session, actor)
        targets = [p for p in active_peers(session, actor) if peers is None or p.code in peers]
        session.expunge_all()
    if not targets:
        raise UsageError("no peers to ask; add one with `vigil peer add CODE URL --public-key KEY`")
    client = PeerClient(keys.signer, transport)
    inputs = sorted(held)
    # Blinded once, evaluated by every peer under its own key; one thread per peer so that
    # one peer's evaluation overlaps with unblinding another's.
    chunks = [inputs[i : i + BATCH] for i in range(0, len(inputs), BATCH)]
    blinded = [oprf.blind(chunk) for chunk in chunks]
    with ThreadPoolExecutor(max_workers=len(targets)) as pool:
        asked = {
            peer.code: pool.submit(_ask, client, peer, chunks, blinded, case_ref, purpose, contact)
            for peer in targets
        }
    failures: list[BaseException] = []
    for peer in targets:
        try:
            matched, answers = asked[peer.code].result()
        except Exception as exc:
            failures.append(exc)
            continue
        _record_made(
            store, actor, peer, matched, answers, held, case_row, case_ref, purpose, len(inputs)
        )
    if failures:
        raise failures[0]
    return [
        h
        for h in list_hits(store, actor)
        if h.direction == "made" and h.peer in {p.code for p in targets}
    ]


def _contact(session: Session, actor: Actor) -> str | None:
    agency = session.get(Agency, actor.agency_id)
    return agency.contact if agency else None


def _ask(
    client: PeerClient,
    peer: Peer,
    chunks: list[list[bytes]],
    blinded: list[oprf.BlindedBatch],
    case_ref: str,
    purpose: str,
    contact: str | None,
) -> tuple[dict[bytes, tuple[bytes, str]], dict[str, Any]]:
    """Full output -> (token input, our reference) for each token in the peer's set, and the
    peer's answer to confirming them."""
    document = client.call(peer, "set", {"case": case_ref, "purpose": purpose})
    published = evaluated_set.verify(document, peer.code, [parse_public_key(peer.public_key)])
    matched: dict[bytes, tuple[bytes, str]] = {}
    for chunk, batch in zip(chunks, blinded, strict=True):
        answer = client.call(
            peer,
            "evaluate",
            {"case": case_ref, "purpose": purpose, "blinded": [b64(b) for b in batch.blinded]},
        )
        if not isinstance(answer.get("evaluated"), str):
            raise BadInput(f"{peer.code} answered an evaluation without `evaluated`")
        outputs = batch.finalize(
            unb64(answer["evaluated"], "the evaluation"), published.oprf_public_key
        )
        for token_input, output in zip(chunk, outputs, strict=True):
            if tag_of(output) in published.tags:
                matched[output] = (token_input, _reference(client.signer.agency))
    if not matched:
        return matched, {"hits": [], "contact": None}
    items = [{"output": b64(o), "reference": ref} for o, (_, ref) in matched.items()]
    answers = client.call(
        peer,
        "confirm",
        {"case": case_ref, "purpose": purpose, "contact": contact, "items": items},
    )
    return matched, answers


def _record_made(
    store: Store,
    actor: Actor,
    peer: Peer,
    matched: dict[bytes, tuple[bytes, str]],
    answers: dict[str, Any],
    held: dict[bytes, list[Holding]],
    case_row: Case | None,
    case_ref: str,
    purpose: str,
    asked: int,
) -> None:
    confirmed = {str(a.get("output")): a for a in answers.get("hits", []) if isinstance(a, dict)}
    contact = answers.get("contact") if isinstance(answers.get("contact"), str) else None
    with store.transaction() as session:
        recorded = 0
        hits = _Hits(session, actor.agency_id, peer.id, "made")
        for output, (token_input, our_reference) in matched.items():
            answer = confirmed.get(b64(output))
            if answer is None:
                continue  # in the set but not confirmed: the holder no longer holds it
            for h in held[token_input]:
                hit = hits.record(
                    h,
                    our_reference,
                    str(answer.get("reference", ""))[:100],
                    contact,
                    None,
                    purpose,
                    case_row.id if case_row else None,
                )
                hit.our_reference = our_reference  # what the holder now holds as ours
                recorded += 1
        audit.append(
            session,
            actor,
            "deconfliction.query",
            "peer",
            peer.id,
            {
                "peer": peer.code,
                "case": case_ref,
                "purpose": purpose,
                "selectors": asked,
                "hits": recorded,
            },
        )


def list_hits(store: Store, actor: Actor) -> list[HitInfo]:
    """The hits this agency made and received, oldest first."""
    store.require_initialised()
    with store.reading() as session:
        rows = session.execute(
            select(DeconflictionHit, Peer.code, Case.reference)
            .join(Peer, Peer.id == DeconflictionHit.peer_id)
            .outerjoin(Case, Case.id == DeconflictionHit.case_id)
            .where(DeconflictionHit.agency_id == actor.agency_id)
            .order_by(DeconflictionHit.first_seen, DeconflictionHit.id)
        ).all()
        subjects = dict(
            session.execute(
                select(SubjectSelector.selector_id, SubjectSelector.subject_id).where(
                    SubjectSelector.selector_id.in_([hit.selector_id for hit, _, _ in rows])
                )
            ).all()
        )
        return [
            HitInfo(
                peer=code,
                kind=hit.kind,
                subject_id=subjects.get(hit.selector_id),
                case=case_ref,
                contact=hit.contact,
                their_reference=hit.their_reference,
                first_seen=hit.first_seen,
                direction=hit.direction,
                our_reference=hit.our_reference,
            )
            for hit, code, case_ref in rows
        ]
