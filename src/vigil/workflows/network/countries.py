"""Deciding each subject's country from the store, and writing it with its basis.

What counts as the subject's: the selectors resolve linked to it, plus every selector seen
on its accounts and every IP its accounts' events came from. Subscriber returns are the IP
(or email, phone) sightings whose ``extra["subscriber"]`` an ISP return wrote; a provider's
verified location is the ``country`` a CyberTipline report put on the reported account's
sighting (``estimatedLocation/countryCode``).
"""

from __future__ import annotations

from collections import defaultdict
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
from vigil.store.models import Event, Selector, Sighting, Subject, SubjectSelector


@dataclass(frozen=True)
class CountrySummary:
    decisions: list[CountryDecision]

    @property
    def by_country(self) -> dict[str, int]:
        counts: dict[str, int] = defaultdict(int)
        for decision in self.decisions:
            counts[decision.country or "unknown"] += 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def gather_country_evidence(session: Session) -> list[CountryEvidence]:
    kinds = dict(session.execute(select(Selector.id, Selector.kind)).all())
    values = dict(session.execute(select(Selector.id, Selector.value)).all())
    platforms = dict(session.execute(select(Selector.id, Selector.platform)).all())
    linked: dict[int, set[int]] = defaultdict(set)
    for subject_id, selector_id in session.execute(
        select(SubjectSelector.subject_id, SubjectSelector.selector_id)
    ):
        linked[subject_id].add(selector_id)

    on_account: dict[int, list[int]] = defaultdict(list)
    provider_of_account: dict[int, list[ProviderLocation]] = defaultdict(list)
    subscriber_of_selector: dict[int, list[SubscriberRecord]] = defaultdict(list)
    for selector_id, account_id, extra in session.execute(
        select(Sighting.selector_id, Sighting.account_id, Sighting.extra)
    ):
        extra = extra or {}
        subscriber = extra.get("subscriber")
        if isinstance(subscriber, dict) and subscriber.get("country"):
            subscriber_of_selector[selector_id].append(
                SubscriberRecord(
                    ip=str(subscriber.get("ip") or values.get(selector_id, "")),
                    country=str(subscriber["country"]),
                    isp=subscriber.get("isp"),
                    request_ref=subscriber.get("request_ref"),
                )
            )
        if account_id is None:
            continue
        on_account[account_id].append(selector_id)
        if selector_id == account_id and extra.get("role") == "reported" and extra.get("country"):
            provider_of_account[account_id].append(
                ProviderLocation(
                    country=str(extra["country"]),
                    provider=platforms.get(account_id) or None,
                    report=str(extra.get("report_id") or ""),
                )
            )
    event_ips: dict[int, list[int]] = defaultdict(list)
    for actor_id, ip_id in session.execute(
        select(Event.actor_id, Event.ip_id).where(
            Event.ip_id.is_not(None), Event.actor_id.is_not(None)
        )
    ):
        if actor_id is not None and ip_id is not None:
            event_ips[actor_id].append(ip_id)

    evidence: list[CountryEvidence] = []
    for subject_id in session.scalars(select(Subject.id).order_by(Subject.id)):
        own = linked.get(subject_id, set())
        accounts = [s for s in own if kinds.get(s) == "username"]
        seen = set(own)
        ip_sightings: list[str] = [values[s] for s in own if kinds.get(s) == "ip"]
        for account_id in accounts:
            for selector_id in on_account.get(account_id, ()):
                seen.add(selector_id)
                if kinds.get(selector_id) == "ip":
                    ip_sightings.append(values[selector_id])
            ip_sightings += [values[ip] for ip in event_ips.get(account_id, ())]
        records: dict[tuple[str, str, str | None], SubscriberRecord] = {}
        for selector_id in seen:
            for record in subscriber_of_selector.get(selector_id, ()):
                records[(record.ip, record.country, record.request_ref)] = record
        evidence.append(
            CountryEvidence(
                subject_id=subject_id,
                subscriber=list(records.values()),
                provider=[p for a in accounts for p in provider_of_account.get(a, ())],
                ips=ip_sightings,
            )
        )
    return evidence


def assign_countries(store: Store, actor: Actor) -> CountrySummary:
    """Decide and store every subject's country and basis; one audit entry for the run."""
    store.require_initialised()
    with store.transaction() as session:
        decisions = decide_countries(gather_country_evidence(session))
        by_id = {d.subject_id: d for d in decisions}
        changed = 0
        for subject in session.scalars(select(Subject)):
            decision = by_id[subject.id]
            if (subject.country, subject.country_basis) != (decision.country, decision.basis):
                subject.country = decision.country
                subject.country_basis = decision.basis
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
                "by_basis": _count(d.basis_kind for d in decisions),
            },
        )
    return summary


def _count(items: object) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in items:  # type: ignore[attr-defined]
        counts[item] += 1
    return dict(counts)
