"""The operation report: read the whole store into ``ReportData`` and render one HTML file.

Figures are counted from the store as it is (subjects, countries, files, series, referrals,
outcomes). Subjects come from the one subject serialiser (``subject_records``) and the
ranking from the one ranking (``ranking_of``) that ``refer`` and ``network rank`` use too.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from vigil.graph.build import TRANSFER_WEIGHT_PER_FILE, build_subject_graph
from vigil.graph.model import NetworkInput, NetworkResult
from vigil.outputs import check_output_path, write_atomically
from vigil.report.model import (
    CommunityRow,
    CoreEdge,
    CoreNode,
    CountryRow,
    DistributorRow,
    Figures,
    OutcomeRow,
    ReferralRow,
    ReportData,
    SeriesRow,
)
from vigil.report.render import render_report
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import (
    Agency,
    Event,
    File,
    Outcome,
    Selector,
    Series,
    SeriesFile,
    Source,
    Subject,
    utcnow,
)
from vigil.workflows.identity.subjects import subject_records
from vigil.workflows.network.input import file_facts, load_network_input
from vigil.workflows.network.rank import ranking_of
from vigil.workflows.referral.outcomes import list_outcomes
from vigil.workflows.referral.refer import list_referrals

TOP_SUBJECTS = 25
CORE_NODES = 40


def _figures(session: Session, data: NetworkInput, countries: int, unknown: int) -> Figures:
    def count(query: Select[int]) -> int:
        return int(session.scalar(query) or 0)

    all_files = set(session.scalars(select(File.id)))
    facts = file_facts(session, all_files)
    return Figures(
        suspects=count(select(func.count(Subject.id)).where(Subject.role != "victim")),
        victims=count(select(func.count(Subject.id)).where(Subject.role == "victim")),
        countries=countries,
        unknown_country=unknown,
        accounts=count(select(func.count(Selector.id)).where(Selector.kind == "username")),
        files=len(all_files),
        known_alert_files=sum(1 for f in facts if f.alert),
        new_files=sum(1 for f in facts if f.new and not f.alert),
        series=count(select(func.count(Series.id))),
        events=count(select(func.count(Event.id))),
        file_sends=count(select(func.count(Event.id)).where(Event.file_id.is_not(None))),
        sources=count(select(func.count(Source.id))),
        referrals=0,
        outcomes=count(select(func.count(Outcome.id))),
    )


def _core(data: NetworkInput, result: NetworkResult) -> tuple[list[CoreNode], list[CoreEdge]]:
    top = result.ranking[:CORE_NODES]
    keys = {f"subject:{r.subject_id}" for r in top}
    graph = build_subject_graph(data).undirected
    # Only ties worth at least one file transfer: room co-presence alone would draw a hairball.
    edges = [
        CoreEdge(graph.vs[e.source]["key"], graph.vs[e.target]["key"], e["weight"])
        for e in graph.es
        if e["weight"] >= TRANSFER_WEIGHT_PER_FILE
        and graph.vs[e.source]["key"] in keys
        and graph.vs[e.target]["key"] in keys
    ]
    nodes = [CoreNode(f"subject:{r.subject_id}", r.label, r.score, r.community) for r in top]
    return nodes, edges


def build_report_data(store: Store, actor: Actor) -> ReportData:
    store.require_initialised()
    referrals = list_referrals(store)
    outcomes = list_outcomes(store)
    with store.reading() as session:
        agency = session.get(Agency, actor.agency_id)
        data = load_network_input(session)
        result = ranking_of(data)
        subjects = {s["id"]: s for s in subject_records(session)}
        suspects = [s for s in subjects.values() if s["role"] != "victim"]
        latest_referral: dict[str, str] = {}
        for r in referrals:
            latest_referral[r.country or ""] = f"{r.reference} ({r.status})"
        per_country: dict[str, Counter[str]] = defaultdict(Counter)
        for s in suspects:
            if s["country"]:
                per_country[s["country"]][s["country_basis_kind"] or "unknown"] += 1
        countries = [
            CountryRow(cc, sum(c.values()), dict(c.most_common()), latest_referral.get(cc, "-"))
            for cc, c in sorted(per_country.items(), key=lambda kv: (-sum(kv[1].values()), kv[0]))
        ]
        unknown = sum(1 for s in suspects if not s["country"])
        figures = _figures(session, data, len(countries), unknown)
        figures = Figures(**{**figures.__dict__, "referrals": len(referrals)})
        series_rows = [
            SeriesRow(label, status, int(n or 0), serial or "")
            for label, status, serial, n in session.execute(
                select(Series.label, Series.status, Series.camera_serial, func.count(SeriesFile.id))
                .outerjoin(SeriesFile, SeriesFile.series_id == Series.id)
                .group_by(Series.id, Series.label, Series.status, Series.camera_serial)
                .order_by(Series.label)
            )
        ]
    labels = {r.subject_id: r.label for r in result.ranking}
    countries_of = {sid: s["country"] for sid, s in subjects.items()}
    distributors = [
        DistributorRow(
            rank=i,
            subject_id=r.subject_id,
            label=r.label,
            country=countries_of.get(r.subject_id) or "-",
            score=r.score,
            files_distributed=r.files_distributed,
            distinct_files=r.distinct_files_distributed,
            recipients=r.recipients,
            alert_files=r.alert_files,
            new_files=r.new_files,
            community=r.community,
            reasons=r.reasons[:3],
        )
        for i, r in enumerate(result.ranking[:TOP_SUBJECTS], start=1)
    ]
    communities = [
        CommunityRow(
            c.id,
            c.size,
            len({countries_of.get(m) for m in c.members if countries_of.get(m)}),
            [labels[m] for m in c.members[:5]],
        )
        for c in result.communities
        if c.size > 1
    ][:15]
    core_nodes, core_edges = _core(data, result)
    return ReportData(
        title="Operation report",
        agency=agency.name if agency else actor.agency_code,
        generated_at=utcnow(),
        figures=figures,
        countries=countries,
        distributors=distributors,
        communities=communities,
        series=series_rows,
        referrals=[
            ReferralRow(
                r.id,
                r.reference,
                r.country or "-",
                len(r.subjects),
                r.status,
                r.sha256,
                len(r.outcomes),
            )
            for r in referrals
        ],
        outcomes=[
            OutcomeRow(o.subject_id, o.label, o.country or "-", o.kind, o.date or "-")
            for o in outcomes
        ],
        outcome_counts=dict(Counter(o.kind for o in outcomes).most_common()),
        core_nodes=core_nodes,
        core_edges=core_edges,
    )


def write_report(store: Store, actor: Actor, path: Path) -> ReportData:
    """Render the report to ``path`` (written whole, through a temporary file)."""
    check_output_path(path)
    data = build_report_data(store, actor)
    write_atomically(path, render_report(data))
    with store.transaction() as session:
        audit.append(
            session,
            actor,
            "report.write",
            "report",
            None,
            {
                "path": str(path),
                "suspects": data.figures.suspects,
                "countries": data.figures.countries,
            },
        )
    return data
