"""Reading the store into the network engine's plain data (docs/formats.md), and nothing else.

What accounts did comes from the one reading of the evidence
(``vigil.workflows.sources.activity``); a subject owns the accounts its ``SubjectSelector``
rows name. Actions become interactions: a DM's target, or an IRC DCC SEND's recipients. Only
``file_transfer`` events are sends (ingest writes exactly the sends of docs/formats.md so, one per
target for a DM, the send action named); provider-reported files are ``upload`` events:
evidence, not sends. Files found on a seized device
belong to the subject whose device it is: the device's Source names it in ``extra`` (a
``subject_id``; a ``seized_from`` account, ``{"platform", "username"}``, that `vigil triage
--owner` records; or a ``device`` id that is one of the subject's ``device`` selectors).
"""

from __future__ import annotations

from collections import Counter, defaultdict

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from vigil.graph.model import (
    AccountInfo,
    FileFacts,
    Holding,
    Interaction,
    NetworkInput,
    SubjectInfo,
)
from vigil.store.models import (
    File,
    FileInstance,
    HashEntry,
    HashSet,
    Match,
    Selector,
    Series,
    SeriesFile,
    Source,
    Subject,
    SubjectSelector,
)
from vigil.workflows.sources.activity import Activity, read_activity

CONTACT_OFFENCE_WORDS = ("enticement", "molestation", "trafficking", "contact", "sextortion")


def subject_accounts(session: Session) -> dict[int, int]:
    """Account selector id -> subject id (its most confident link)."""
    best: dict[int, tuple[float, int]] = {}
    rows = session.execute(
        select(SubjectSelector.selector_id, SubjectSelector.subject_id, SubjectSelector.confidence)
        .join(Selector, Selector.id == SubjectSelector.selector_id)
        .where(Selector.kind == "username")
    )
    for selector_id, subject_id, confidence in rows:
        current = best.get(selector_id)
        if current is None or (confidence, -subject_id) > (current[0], -current[1]):
            best[selector_id] = (confidence, subject_id)
    return {sid: subject for sid, (_c, subject) in best.items()}


def load_network_input(
    session: Session, activity: Activity | None = None, sources: Select | None = None
) -> NetworkInput:
    """The network of all the evidence, or (``sources``, a query of source ids) of what
    those sources say: its subjects are then only those owning an account they evidence or
    a device among them, so a ranking of it is a ranking of that view alone."""
    activity = activity or read_activity(session, sources)
    owner = subject_accounts(session)
    accounts = activity.accounts
    holdings = device_holdings(session, owner, sources)
    subjects = [
        SubjectInfo(s.id, s.label, s.role)
        for s in session.scalars(select(Subject).order_by(Subject.id))
    ]
    if sources is not None:
        evidenced = {owner.get(a) for a in accounts} | {h.subject_id for h in holdings}
        subjects = [s for s in subjects if s.id in evidenced]
    interactions: list[tuple[int, Interaction]] = []
    file_ids: set[int] = set()
    for account in accounts.values():
        for action in account.actions:
            interactions.append(
                (
                    action.event_id,
                    Interaction(
                        kind=action.kind,
                        actor=account.account_id,
                        targets=tuple(t for t in action.targets if t in accounts),
                        room=f"{account.platform}/{action.room}" if action.room else None,
                        file_id=action.file_id,
                        occurred_at=action.occurred_at,
                        is_send=action.is_send,
                        send_key=action.send_key,
                    ),
                )
            )
            if action.file_id is not None:
                file_ids.add(action.file_id)
    file_ids.update(h.file_id for h in holdings)
    return NetworkInput(
        subjects=subjects,
        accounts=[
            AccountInfo(a.account_id, a.platform, a.username, owner.get(a.account_id))
            for a in accounts.values()
        ],
        files=file_facts(session, file_ids, sources),
        interactions=[interaction for _id, interaction in sorted(interactions)],
        holdings=holdings,
        contact_indicators=contact_indicators(activity, owner),
        platform_roles=platform_roles(activity, owner),
    )


def device_holdings(
    session: Session, owner: dict[int, int], sources: Select | None = None
) -> list[Holding]:
    """Files on seized devices whose owner is known (see the module docstring); with
    ``sources``, on those devices only."""
    device_owner: dict[str, int] = {}
    rows = session.execute(
        select(Selector.value, SubjectSelector.subject_id)
        .join(SubjectSelector, SubjectSelector.selector_id == Selector.id)
        .where(Selector.kind == "device")
    )
    for value, device_subject in rows:
        device_owner.setdefault(value.casefold(), device_subject)
    account_owner: dict[tuple[str, str], int] = {}
    account_rows = session.execute(
        select(Selector.platform, Selector.value, SubjectSelector.subject_id)
        .join(SubjectSelector, SubjectSelector.selector_id == Selector.id)
        .where(Selector.kind == "username")
    )
    for platform, value, account_subject in account_rows:
        account_owner.setdefault((platform.casefold(), value.casefold()), account_subject)
    holdings: set[tuple[int, int]] = set()
    devices = select(Source) if sources is None else select(Source).where(Source.id.in_(sources))
    for source in session.scalars(devices):
        extra = source.extra or {}
        subject_id = extra.get("subject_id")
        seized_from = extra.get("seized_from")
        if subject_id is None and isinstance(seized_from, dict):
            key = (
                str(seized_from.get("platform", "")).casefold(),
                str(seized_from.get("username", "")).casefold(),
            )
            subject_id = account_owner.get(key)
        if subject_id is None and extra.get("device"):
            subject_id = device_owner.get(str(extra["device"]).casefold())
        if subject_id is None:
            continue
        for (file_id,) in session.execute(
            select(FileInstance.file_id).where(FileInstance.source_id == source.id)
        ):
            holdings.add((int(subject_id), file_id))
    return [Holding(s, f) for s, f in sorted(holdings)]


def file_facts(
    session: Session, file_ids: set[int], sources: Select | None = None
) -> list[FileFacts]:
    """Alert (any alert-set match), new (no match at all, or in a series), category.

    With ``sources`` (a query of source ids), only the series found in those sources: a
    series' label names a camera serial and a count of another triage's pictures."""
    if not file_ids:
        return []
    ids = sorted(file_ids)
    matches: dict[int, list[tuple[str, str | None]]] = defaultdict(list)
    series: dict[int, str] = {}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start : chunk_start + 500]
        for file_id, kind, category in session.execute(
            select(Match.file_id, HashSet.kind, HashEntry.category)
            .join(HashSet, HashSet.id == Match.hash_set_id)
            .join(HashEntry, HashEntry.id == Match.hash_entry_id)
            .where(Match.file_id.in_(chunk))
        ):
            matches[file_id].append((kind, category))
        in_series = (
            select(SeriesFile.file_id, Series.label)
            .join(Series, Series.id == SeriesFile.series_id)
            .where(SeriesFile.file_id.in_(chunk))
        )
        if sources is not None:
            in_series = in_series.where(Series.source_id.in_(sources))
        for file_id, label in session.execute(in_series):
            series[file_id] = label
    facts = []
    for row in session.scalars(select(File).where(File.id.in_(ids))):
        found = matches.get(row.id, [])
        alert = [category for kind, category in found if kind == "alert"]
        categories = Counter(c for c in alert if c)
        facts.append(
            FileFacts(
                id=row.id,
                sha256=row.sha256,
                md5=row.md5,
                alert=bool(alert),
                new=row.id in series or not found,
                category=categories.most_common(1)[0][0] if categories else None,
                series=series.get(row.id),
            )
        )
    return facts


def contact_indicators(activity: Activity, owner: dict[int, int]) -> dict[int, int]:
    """Provider reports whose incident type names a contact offence, per subject."""
    found: dict[int, set[str]] = defaultdict(set)
    for account in activity.accounts.values():
        subject_id = owner.get(account.account_id)
        if subject_id is None:
            continue
        for report in account.reports:
            incident = (report.incident_type or "").casefold()
            if any(word in incident for word in CONTACT_OFFENCE_WORDS):
                found[subject_id].add(report.report_id)
    return {subject_id: len(reports) for subject_id, reports in found.items()}


def platform_roles(activity: Activity, owner: dict[int, int]) -> dict[int, list[str]]:
    """Per subject, the venues its accounts run, as "Platform role" (plus the room)."""
    found: dict[int, set[str]] = defaultdict(set)
    for account in activity.accounts.values():
        subject_id = owner.get(account.account_id)
        if subject_id is None:
            continue
        for venue in account.venue_roles:
            room = f" {venue.room}" if venue.room else ""
            found[subject_id].add(f"{account.platform}{room} {venue.role}")
    return {subject_id: sorted(roles) for subject_id, roles in found.items()}
