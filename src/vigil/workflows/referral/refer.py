"""Referring subjects by country: one verifiable package per country, recorded as a Referral.

Only suspects with a decided country are referred (``resolve`` decides every subject's
country; a subject of unknown country is listed by the report, not guessed into a package).
Subjects are ordered by the same ranking the report shows (``ranking_of``), of the evidence
the agency reaches (``package_sources``). A country whose
prepared, unsent referral already holds the same subjects and says the same is not referred
again: running ``refer`` twice with nothing new changes nothing. Packages are signed with the
node key when the store has a place for it (``node_key``). The package is written first and
the rows committed after, so a failure leaves neither a row without a package nor (the
directory is removed) a package without a row.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import shutil
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Select, exists, func, or_, select
from sqlalchemy.orm import Session

from vigil.errors import NotFound, UsageError, VigilError
from vigil.federation.signing import parse_public_key, public_key_text, verify_signature
from vigil.geo.countries import CountryDecision, decide_countries
from vigil.graph.model import NetworkInput, RankedSubject
from vigil.outputs import check_output_path
from vigil.referral.model import PackageContent, ReferredSubject
from vigil.referral.package import (
    MANIFEST_NAME,
    PackageSigner,
    VerifyReport,
    manifest_body,
    package_signature,
    verify_package,
    write_package,
)
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import (
    Agency,
    Case,
    OutboxMessage,
    Outcome,
    Peer,
    PeerOutcome,
    Referral,
    ReferralStatus,
    ReferralSubject,
    Source,
    Subject,
    utcnow,
)
from vigil.store.reach import (
    reachable_source_ids,
    selectors_evidenced_in,
    visible_subject_ids,
)
from vigil.workflows.federation.exchange import serving_peer
from vigil.workflows.identity.subjects import subject_records
from vigil.workflows.network.countries import gather_country_evidence
from vigil.workflows.network.input import load_network_input
from vigil.workflows.network.rank import ranking_of
from vigil.workflows.network.refresh import NO_SUBJECTS_YET, has_subjects
from vigil.workflows.operation.accounts import check_country
from vigil.workflows.operation.node_key import node_signer, trusted_public_key
from vigil.workflows.referral.evidence import gather_evidence
from vigil.workflows.sources.activity import Activity, read_activity


@dataclass(frozen=True)
class ReferralInfo:
    id: int
    country: str | None
    subjects: list[int]
    status: str
    package: str
    sha256: str
    reference: str
    created_at: str
    outcomes: list[dict[str, object]]


EVIDENCED_CHUNK = 5000  # subject ids per query: five IN lists of them in one statement
CONTRACT_REFERRAL_KEYS = ("id", "country", "subjects", "status", "package", "sha256")


def referral_json(referral: ReferralInfo) -> dict[str, object]:
    """``vigil referrals --json``: the contract's keys first, then the rest."""
    row = dataclasses.asdict(referral)
    ordered = {key: row.pop(key) for key in CONTRACT_REFERRAL_KEYS}
    return {**ordered, **row}


def _subjects_by_country(
    session: Session,
    actor: Actor,
    country: str | None,
    ranking: dict[int, RankedSubject],
    places: dict[int, CountryDecision] | None,
) -> dict[str, list[Subject]]:
    """Suspects with a decided country within the agency's reach (``store.reach``: on a
    store several agencies share, another agency's suspects are never its to refer), highest
    ranked first within each country: the store's country, or where given, the country
    ``places`` decides from the agency's own sources."""
    query = select(Subject).where(
        Subject.role != "victim",
        Subject.status != "merged",
        Subject.id.in_(visible_subject_ids(actor)),
    )
    if places is None:
        query = query.where(Subject.country.is_not(None))
        if country is not None:
            query = query.where(Subject.country == country)
    grouped: dict[str, list[Subject]] = defaultdict(list)
    for subject in session.scalars(query):
        placed = subject.country if places is None else _placed(places, subject.id)
        if placed is not None and (country is None or placed == country):
            grouped[placed].append(subject)
    for members in grouped.values():
        members.sort(key=lambda s: (-(ranking[s.id].score if s.id in ranking else 0.0), s.id))
    return dict(sorted(grouped.items()))


def _placed(places: dict[int, CountryDecision], subject_id: int) -> str | None:
    decision = places.get(subject_id)
    return decision.country if decision is not None else None


def places_in(session: Session, activity: Activity) -> dict[int, CountryDecision]:
    """Each subject's country decided from ``activity`` alone (what the referring agency's
    sources say): the basis a package gives, ISP request references included, is then never
    another agency's."""
    decisions = decide_countries(
        gather_country_evidence(session, activity, seen_in_activity_only=True)
    )
    return {decision.subject_id: decision for decision in decisions}


def package_sources(session: Session, actor: Actor) -> Select | None:
    """The sources a package may draw on (a query of their ids), or None where the agency
    reaches them all (a store of its own: the one ranking, as ``network rank`` gives it).

    On a store several agencies share, the package's subjects are placed (``places_in``)
    and ranked (``load_network_input``) from the agency's reachable sources alone: a
    country and its basis, a priority and the reasons given for it ("runs <venue>", "sent N
    files") never rest on another agency's unshared evidence.
    """
    reachable = reachable_source_ids(actor)
    beyond = session.scalar(select(func.count(Source.id)).where(Source.id.not_in(reachable)))
    return reachable if beyond else None


def _tied_selectors(session: Session, scope: Select, grouped: dict[str, list[Subject]]) -> set[int]:
    """The selectors ``scope`` ties to any of the grouped subjects (one pass of the sources'
    sightings and events for every country, not one each)."""
    ids = sorted(s.id for subjects in grouped.values() for s in subjects)
    found: set[int] = set()
    for start in range(0, len(ids), EVIDENCED_CHUNK):
        chunk = ids[start : start + EVIDENCED_CHUNK]
        found.update(session.scalars(selectors_evidenced_in(scope, chunk)))
    return found


def _as_placed(record: dict[str, Any], places: dict[int, CountryDecision] | None) -> dict[str, Any]:
    """The subject's record with the country ``places`` decided for it, if any."""
    decision = places.get(record["id"]) if places is not None else None
    if decision is None:
        return record
    return {
        **record,
        "country": decision.country,
        "country_basis": decision.basis,
        "country_basis_kind": decision.basis_kind,
    }


def _referred(record: dict[str, Any], ranked: RankedSubject | None) -> ReferredSubject:
    """A subject as the package states it. Unranked (no account or device of theirs in the
    sources read), a subject has nothing there to rank it on: priority 0, no reasons, never
    the store's own priority, which may rest on another agency's evidence."""
    return ReferredSubject(
        id=record["id"],
        label=record["label"],
        role=record["role"],
        country=record["country"],
        country_basis=record["country_basis"],
        priority=ranked.score if ranked else 0.0,
        accounts=record["accounts"],
        selectors=record["selectors"],
        reasons=list(ranked.reasons) if ranked else [],
        files_distributed=ranked.files_distributed if ranked else 0,
        recipients=ranked.recipients if ranked else 0,
    )


def refer(
    store: Store,
    actor: Actor,
    out_dir: Path,
    *,
    country: str | None = None,
    sending: bool = False,
) -> list[ReferralInfo]:
    """One package per country (or only ``country``) under ``out_dir``; returns the referrals.

    A prepared referral whose package would say the same is that referral, not a new one.
    When ``sending``, so is one on its way to a peer or delivered (its message pending or
    delivered, whatever status the referral has reached since): sending it again (a second
    click, a job run again) would give the peer the same package twice, under two
    references. One a peer refused is not: sending again writes a new one.
    """
    store.require_initialised()
    if country is not None:
        country = check_country(country)
    check_output_path(out_dir, directory=True)
    signer = _package_signer(store, actor)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    try:
        with store.transaction() as session:
            if not has_subjects(session):
                raise NotFound(NO_SUBJECTS_YET)
            scope = package_sources(session, actor)
            activity = read_activity(session, scope) if scope is not None else None
            places = places_in(session, activity) if activity is not None else None
            data = load_network_input(session, activity, scope)
            ranking = {r.subject_id: r for r in ranking_of(data).ranking}
            grouped = _subjects_by_country(session, actor, country, ranking, places)
            if not grouped:
                where = f"in {country}" if country else "with a known country"
                raise NotFound(
                    f"no suspects {where}: `vigil subjects --json` gives each one's "
                    "country_basis (what evidence would place them)"
                )
            ids = [
                referral.id
                for referral in _make_referrals(
                    session,
                    actor,
                    grouped,
                    ranking,
                    data,
                    scope,
                    places,
                    out_dir,
                    written,
                    signer,
                    sending,
                )
            ]
        return [r for r in list_referrals(store) if r.id in ids]
    except BaseException:
        for directory in written:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def _make_referrals(
    session: Session,
    actor: Actor,
    grouped: dict[str, list[Subject]],
    ranking: dict[int, RankedSubject],
    data: NetworkInput,
    scope: Select | None,
    places: dict[int, CountryDecision] | None,
    out_dir: Path,
    written: list[Path],
    signer: PackageSigner | None,
    sending: bool,
) -> list[Referral]:
    agency = session.get(Agency, actor.agency_id)
    cases = list(session.scalars(select(Case.reference).where(Case.agency_id == actor.agency_id)))
    referrals: list[Referral] = []
    within = None if scope is None else _tied_selectors(session, scope, grouped)
    for cc, subjects in grouped.items():
        ids = [s.id for s in subjects]
        evidence = gather_evidence(session, actor, data, ids)
        content = PackageContent(
            reference="",
            country=cc,
            sending_agency=agency.name if agency else actor.agency_code,
            prepared_by=actor.label,
            prepared_at=utcnow(),
            subjects=[
                _referred(_as_placed(record, places), ranking.get(record["id"]))
                for record in subject_records(session, ids, within=within)
            ],
            files=evidence.files,
            event_counts=evidence.event_counts,
            first_event=evidence.first_event,
            last_event=evidence.last_event,
            sources=evidence.sources,
            cases=cases,
        )
        same = _same_referral(session, actor, cc, subjects, content, sending)
        if same is not None:  # nothing new since it was prepared (or sent): still the one
            referrals.append(same)
            continue
        referral = Referral(
            country=cc,
            to_agency=None,
            package_path="",
            sha256="",
            status="prepared",
            agency_id=actor.agency_id,
            created_by=actor.user_id,
        )
        session.add(referral)
        session.flush()
        reference = f"{actor.agency_code}-{cc}-{referral.id:04d}"
        content = dataclasses.replace(content, reference=reference)
        directory = out_dir / reference
        if directory.exists() and any(directory.iterdir()):
            raise UsageError(f"referral package directory is not empty: {directory}")
        written.append(directory)  # ours from here on: removed if anything later fails
        result = write_package(content, directory, signer)
        referral.package_path = str(directory.resolve())
        referral.sha256 = result.manifest_sha256
        for subject in subjects:
            session.add(ReferralSubject(referral_id=referral.id, subject_id=subject.id))
        session.add(
            ReferralStatus(
                referral_id=referral.id,
                status="prepared",
                user_id=actor.user_id,
                note=f"package {reference} written",
            )
        )
        audit.append(
            session,
            actor,
            "referral.create",
            "referral",
            referral.id,
            {
                "country": cc,
                "reference": reference,
                "subjects": [s.id for s in subjects],
                "package": referral.package_path,
                "manifest_sha256": result.manifest_sha256,
                "files": len(evidence.files),
            },
        )
        referrals.append(referral)
    return referrals


def list_referrals(store: Store, agency_id: int | None = None) -> list[ReferralInfo]:
    """Every referral, or only those ``agency_id`` made."""
    store.require_initialised()
    with store.reading() as session:
        members: dict[int, list[int]] = defaultdict(list)
        for referral_id, subject_id in session.execute(
            select(ReferralSubject.referral_id, ReferralSubject.subject_id).order_by(
                ReferralSubject.subject_id
            )
        ):
            members[referral_id].append(subject_id)
        outcomes: dict[int, list[dict[str, object]]] = defaultdict(list)
        for outcome in session.scalars(select(Outcome).order_by(Outcome.id)):
            if outcome.referral_id is not None:
                outcomes[outcome.referral_id].append(
                    {
                        "subject_id": outcome.subject_id,
                        "kind": outcome.kind,
                        "date": outcome.occurred_on.date().isoformat()
                        if outcome.occurred_on
                        else None,
                    }
                )
        for reported, peer_code in session.execute(
            select(PeerOutcome, Peer.code)
            .join(Peer, Peer.id == PeerOutcome.peer_id)
            .order_by(PeerOutcome.id)
        ):
            outcomes[reported.referral_id].append(
                {
                    "subject_id": reported.subject_id,
                    "kind": reported.kind,
                    "date": reported.occurred_on.date().isoformat()
                    if reported.occurred_on
                    else None,
                    "agency": peer_code,
                }
            )
        return [
            ReferralInfo(
                id=r.id,
                country=r.country,
                subjects=members.get(r.id, []),
                status=r.status,
                package=r.package_path,
                sha256=r.sha256,
                reference=Path(r.package_path).name,
                created_at=r.created_at.isoformat(),
                outcomes=outcomes.get(r.id, []),
            )
            for r in session.scalars(
                select(Referral).order_by(Referral.id)
                if agency_id is None
                else select(Referral).where(Referral.agency_id == agency_id).order_by(Referral.id)
            )
        ]


def verify_referral(store: Store | None, directory: Path) -> VerifyReport:
    """Check a package against what the store recorded for it and against its signature.

    The manifest inside a package cannot vouch for itself (whoever changed a file can change
    its hash there too). The package is found in the store by its reference (or its path),
    and the manifest must have the SHA-256 recorded when it was written; a package the store
    does not know must carry a signature by this node's key.
    """
    recorded = None
    trusted = None
    if store is not None and store.is_initialised():
        recorded = _recorded_sha256(store, directory)
        trusted = trusted_public_key(store)
    report = verify_package(directory, recorded)
    problems = list(report.problems)
    signature = package_signature(directory)
    manifest = directory / MANIFEST_NAME
    if signature is not None and manifest.is_file():
        public_key, signed = signature
        if trusted is not None and public_key != trusted:
            problems.append("the package is signed by another key than this node's")
        elif not _signature_holds(public_key, manifest.read_bytes(), signed):
            problems.append("the manifest's signature does not verify")
    if recorded is None and (signature is None or trusted is None):
        problems.append(
            "this store has no record of the package and it carries no signature by this "
            "node's key: its manifest cannot vouch for itself"
        )
    return dataclasses.replace(report, problems=problems)


def _recorded_sha256(store: Store, directory: Path) -> str | None:
    reference = None
    with contextlib.suppress(OSError, ValueError, AttributeError):
        reference = json.loads((directory / MANIFEST_NAME).read_bytes()).get("reference")
    with store.reading() as session:
        by_path = session.scalars(
            select(Referral.sha256).where(Referral.package_path == str(directory.resolve()))
        ).first()
        if by_path is not None:
            return by_path
        number = str(reference).rsplit("-", 1)[-1] if isinstance(reference, str) else ""
        if not number.isdigit():
            return None
        referral = session.get(Referral, int(number))
        if referral is None or Path(referral.package_path).name != reference:
            return None
        return referral.sha256


def _signature_holds(public_key: str, manifest: bytes, signature: bytes) -> bool:
    try:
        return verify_signature(parse_public_key(public_key), manifest, signature)
    except VigilError:
        return False


def _package_signer(store: Store, actor: Actor) -> PackageSigner | None:
    """The node key signs every package; a store with no place for keys writes them unsigned."""
    try:
        signer = node_signer(store, actor.agency_code)
    except UsageError:
        return None
    return PackageSigner(public_key_text(signer.public_key), signer.sign)


def _same_referral(
    session: Session,
    actor: Actor,
    country: str,
    subjects: list[Subject],
    content: PackageContent,
    sending: bool,
) -> Referral | None:
    """The agency's referral of exactly these subjects whose package says the same: a
    prepared one, or (``sending``) one whose message to the peer now serving the country is
    pending or delivered. One sent to a peer since replaced is not: the new peer has not
    had it."""
    wanted = sorted(s.id for s in subjects)
    fresh = _comparable(manifest_body(content))
    reusable = Referral.status == "prepared"
    peer = serving_peer(session, actor.agency_id, country) if sending else None
    if peer is not None:
        on_its_way = exists(
            select(OutboxMessage.id).where(
                OutboxMessage.referral_id == Referral.id,
                OutboxMessage.peer_id == peer.id,
                OutboxMessage.state.in_(("pending", "delivered")),
            )
        )
        reusable = or_(reusable, on_its_way)
    for referral in session.scalars(
        select(Referral)
        .where(Referral.agency_id == actor.agency_id, Referral.country == country, reusable)
        .order_by(Referral.id)
    ):
        members = sorted(
            session.scalars(
                select(ReferralSubject.subject_id).where(ReferralSubject.referral_id == referral.id)
            )
        )
        if members != wanted:
            continue
        try:
            written = json.loads((Path(referral.package_path) / MANIFEST_NAME).read_bytes())
        except (OSError, ValueError):
            continue
        if _comparable(written) == _comparable(json.loads(json.dumps(fresh, default=str))):
            return referral
    return None


def _comparable(manifest: dict[str, object]) -> dict[str, object]:
    """A manifest without what differs on every writing: its reference, author and time."""
    volatile = {"reference", "prepared_by", "prepared_at", "package_files"}
    return {key: value for key, value in manifest.items() if key not in volatile}
