"""Deciding each subject's country from the store, and writing it with its basis.

What counts as the subject's comes from the one reading of what its accounts did
(``vigil.workflows.sources.activity``): the selectors resolve linked to it and those seen on
its accounts; the IPs its accounts used, except those the provider flagged as a proxy;
the ISP subscriber returns naming any of those selectors; and the verified location of the
provider reports that name one of its accounts (``estimatedLocation/countryCode``).
"""

from __future__ import annotations

import dataclasses
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.geo.countries import (
    CountryDecision,
    CountryEvidence,
    ProviderLocation,
    SubscriberRecord,
    decide_countries,
)
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import Selector, Subject, SubjectSelector
from vigil.workflows.sources.activity import Activity, read_activity


@dataclass(frozen=True)
class CountrySummary:
    decisions: list[CountryDecision]

    @property
    def by_country(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for decision in self.decisions:
            counts[decision.country or "unknown"] += 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def as_json(self) -> list[dict[str, object]]:
        """``vigil countries --json``: one ``{subject_id, country, basis, basis_kind}`` each."""
        return [dataclasses.asdict(decision) for decision in self.decisions]


def gather_country_evidence(
    session: Session,
    activity: Activity | None = None,
    subject_ids: set[int] | None = None,
    *,
    seen_in_activity_only: bool = False,
) -> list[CountryEvidence]:
    """Each subject's country evidence (every subject, or only ``subject_ids``).

    A subject's selectors are those linked to it and those seen on its accounts; with
    ``seen_in_activity_only``, only its accounts and what ``activity`` saw on them: a link
    resolve made may rest on sources ``activity`` leaves out (a referral package's)."""
    activity = activity or read_activity(session)
    kinds = dict(session.execute(select(Selector.id, Selector.kind)).all())
    linked: dict[int, set[int]] = defaultdict(set)
    for subject_id, selector_id in session.execute(
        select(SubjectSelector.subject_id, SubjectSelector.selector_id)
    ):
        linked[subject_id].add(selector_id)
    evidence: list[CountryEvidence] = []
    for subject_id in session.scalars(select(Subject.id).order_by(Subject.id)):
        if subject_ids is not None and subject_id not in subject_ids:
            continue
        own = linked.get(subject_id, set())
        accounts = [
            activity.accounts[s]
            for s in sorted(own)
            if kinds.get(s) == "username" and s in activity.accounts
        ]
        tied = {a.account_id for a in accounts} if seen_in_activity_only else set(own)
        seen = tied.union(*(account.selectors for account in accounts))
        records: dict[tuple[str, str, str | None], SubscriberRecord] = {}
        for selector_id in sorted(seen):
            for row in activity.subscribers.get(selector_id, ()):
                record = SubscriberRecord(
                    ip=row.ip or "",
                    country=row.country or "",
                    isp=row.isp,
                    request_ref=row.request_ref,
                )
                records[(record.ip, record.country, record.request_ref)] = record
        evidence.append(
            CountryEvidence(
                subject_id=subject_id,
                subscriber=list(records.values()),
                provider=[
                    ProviderLocation(report.country, report.provider, report.report_id)
                    for account in accounts
                    for report in account.reports
                    if report.country
                ],
                # A proxy, VPN or CGNAT address says where the proxy is, not the person.
                ips=[use.ip for account in accounts for use in account.ips if not use.proxy],
            )
        )
    return evidence


def assign_countries(store: Store, actor: Actor) -> CountrySummary:
    """Decide and store every subject's country again (``vigil countries``).

    Nothing needs it: whatever changes a country's inputs (resolve, an ingest, a decision)
    places the subjects it touched. It stays as the explicit full recompute.
    """
    store.require_initialised()
    with store.transaction() as session:
        return place_subjects(session, actor)


def place_subjects(
    session: Session,
    actor: Actor,
    activity: Activity | None = None,
    subject_ids: set[int] | None = None,
) -> CountrySummary:
    """Decide and store the country, basis and basis kind of every subject (or only
    ``subject_ids``); one audit entry for the run, naming how many changed."""
    decisions = decide_countries(gather_country_evidence(session, activity, subject_ids))
    by_id = {d.subject_id: d for d in decisions}
    changed = 0
    for subject in session.scalars(select(Subject)):
        decision = by_id.get(subject.id)
        if decision is None:
            continue
        wanted = (decision.country, decision.basis, decision.basis_kind)
        if (subject.country, subject.country_basis, subject.country_basis_kind) != wanted:
            subject.country, subject.country_basis, subject.country_basis_kind = wanted
            changed += 1
    summary = CountrySummary(decisions)
    audit.append(
        session,
        actor,
        "subject.countries",
        "subject",
        None,
        {
            "subjects": len(decisions),
            "changed": changed,
            "by_country": summary.by_country,
            "by_basis": dict(Counter(d.basis_kind for d in decisions)),
        },
    )
    return summary
