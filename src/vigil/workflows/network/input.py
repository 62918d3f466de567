"""Reading the store into the network engine's plain data (contract C), and nothing else.

Accounts are ``username`` selectors with a platform; a subject owns the accounts its
``SubjectSelector`` rows name. Events become interactions: a DM's target, or an IRC DCC
SEND's ``extra["recipients"]``. Only ``file_transfer`` events are sends (ingest writes exactly
contract B's sends so, one per target for a DM, the send action named in ``extra["send"]``);
provider-reported files are ``upload`` events: evidence, not sends. Files found on a seized device
belong to the subject whose device it is: the device's Source names it in ``extra`` (a
``subject_id``; a ``seized_from`` account, ``{"platform", "username"}``, that `vigil triage
--owner` records; or a ``device`` id that is one of the subject's ``device`` selectors).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from sqlalchemy import select
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
    Event,
    File,
    FileInstance,
    HashEntry,
    HashSet,
    Match,
    Selector,
    Series,
    SeriesFile,
    Sighting,
    Source,
    Subject,
    SubjectSelector,
)

SEND_EVENT_KIND = "file_transfer"  # exactly contract B's sends; provider files are "upload"
VENUE_ROLES = frozenset({"founder", "administrator", "admin", "owner", "operator"})
PHPBB_FOUNDER_USER_TYPE = 3
PHPBB_ADMINISTRATORS_GROUP_ID = 5  # the ADMINISTRATORS group of a default phpBB 3 install
CONTACT_OFFENCE_WORDS = ("enticement", "molestation", "trafficking", "contact", "sextortion")


def subject_accounts(session: Session) -> tuple[dict[int, int], dict[int, Selector]]:
    """Account selector id -> subject id (most confident link), and the account selectors."""
    accounts = {
        s.id: s for s in session.scalars(select(Selector).where(Selector.kind == "username"))
    }
    best: dict[int, tuple[float, int]] = {}
    rows = session.execute(
        select(SubjectSelector.selector_id, SubjectSelector.subject_id, SubjectSelector.confidence)
    )
    for selector_id, subject_id, confidence in rows:
        if selector_id in accounts:
            current = best.get(selector_id)
            if current is None or (confidence, -subject_id) > (current[0], -current[1]):
                best[selector_id] = (confidence, subject_id)
    return {sid: subject for sid, (_c, subject) in best.items()}, accounts


def _recipients(extra: dict[str, Any] | None) -> tuple[int, ...]:
    if not extra:
        return ()
    values = extra.get("recipients") or ()
    return tuple(int(v) for v in values if isinstance(v, int) or str(v).isdigit())


def _send_key(event: Event) -> str | None:
    send = (event.extra or {}).get("send")
    return f"{event.source_id}:{send}" if send is not None else None


def load_network_input(session: Session) -> NetworkInput:
    owner, accounts = subject_accounts(session)
    subjects = [
        SubjectInfo(s.id, s.label, s.role)
        for s in session.scalars(select(Subject).order_by(Subject.id))
    ]
    interactions: list[Interaction] = []
    file_ids: set[int] = set()
    for event in session.scalars(select(Event).order_by(Event.id)):
        if event.actor_id is None or event.actor_id not in accounts:
            continue
        platform = accounts[event.actor_id].platform
        targets = (event.target_id,) if event.target_id is not None else _recipients(event.extra)
        interactions.append(
            Interaction(
                kind=event.kind,
                actor=event.actor_id,
                targets=tuple(t for t in targets if t in accounts),
                room=f"{platform}/{event.room}" if event.room else None,
                file_id=event.file_id,
                occurred_at=event.occurred_at,
                is_send=event.kind == SEND_EVENT_KIND,
                send_key=_send_key(event),
            )
        )
        if event.file_id is not None:
            file_ids.add(event.file_id)
    holdings = device_holdings(session, owner)
    file_ids.update(h.file_id for h in holdings)
    return NetworkInput(
        subjects=subjects,
        accounts=[
            AccountInfo(a.id, a.platform, a.display, owner.get(a.id)) for a in accounts.values()
        ],
        files=file_facts(session, file_ids),
        interactions=interactions,
        holdings=holdings,
        contact_indicators=contact_indicators(session, owner),
        platform_roles=platform_roles(session, owner, accounts),
    )


def device_holdings(session: Session, owner: dict[int, int]) -> list[Holding]:
    """Files on seized devices whose owner is known (see the module docstring)."""
    device_owner: dict[str, int] = {}
    rows = session.execute(
        select(Selector.value, SubjectSelector.subject_id)
        .join(SubjectSelector, SubjectSelector.selector_id == Selector.id)
        .where(Selector.kind == "device")
    )
    for value, device_subject in rows:
        device_owner.setdefault(value.casefold(), device_subject)
    account_owner: dict[tuple[str, str], int] = {}
    rows = session.execute(
        select(Selector.platform, Selector.value, SubjectSelector.subject_id)
        .join(SubjectSelector, SubjectSelector.selector_id == Selector.id)
        .where(Selector.kind == "username")
    )
    for platform, value, account_subject in rows:
        account_owner.setdefault((platform.casefold(), value.casefold()), account_subject)
    holdings: set[tuple[int, int]] = set()
    for source in session.scalars(select(Source)):
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


def file_facts(session: Session, file_ids: set[int]) -> list[FileFacts]:
    """Alert (any alert-set match), new (no match at all, or in a series), category."""
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
        for file_id, label in session.execute(
            select(SeriesFile.file_id, Series.label)
            .join(Series, Series.id == SeriesFile.series_id)
            .where(SeriesFile.file_id.in_(chunk))
        ):
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


def contact_indicators(session: Session, owner: dict[int, int]) -> dict[int, int]:
    """Provider reports whose incident type names a contact offence, per subject."""
    found: dict[int, set[str]] = defaultdict(set)
    rows = session.execute(
        select(Sighting.account_id, Sighting.extra).where(Sighting.account_id.is_not(None))
    )
    for account_id, extra in rows:
        if not extra or extra.get("role") != "reported":
            continue
        incident = str(extra.get("incident_type") or "").casefold()
        subject_id = owner.get(account_id)
        if subject_id is not None and any(w in incident for w in CONTACT_OFFENCE_WORDS):
            found[subject_id].add(str(extra.get("report_id")))
    return {subject_id: len(reports) for subject_id, reports in found.items()}


def venue_role(extra: dict[str, Any]) -> str | None:
    """The venue-running role an account sighting records, if any.

    Read, in order: ``platform_role`` (founder, administrator, owner, operator); phpBB's
    ``user_type`` 3 (founder) or ``group_id`` 5 (administrators); an IRC channel mode
    (``mode``/``modes`` holding ``o`` or ``@``: channel operator).
    """
    role = str(extra.get("platform_role") or "").casefold()
    if role in VENUE_ROLES:
        return "administrator" if role == "admin" else role
    if extra.get("user_type") in (PHPBB_FOUNDER_USER_TYPE, str(PHPBB_FOUNDER_USER_TYPE)):
        return "founder"
    if extra.get("group_id") in (PHPBB_ADMINISTRATORS_GROUP_ID, str(PHPBB_ADMINISTRATORS_GROUP_ID)):
        return "administrator"
    modes = str(extra.get("modes") or extra.get("mode") or "")
    if "o" in modes or "@" in modes:
        return "operator"
    return None


def platform_roles(
    session: Session, owner: dict[int, int], accounts: dict[int, Selector]
) -> dict[int, list[str]]:
    """Per subject, the venues its accounts run, as "Platform role" (plus the room)."""
    found: dict[int, set[str]] = defaultdict(set)
    rows = session.execute(
        select(Sighting.account_id, Sighting.extra).where(
            Sighting.account_id.is_not(None), Sighting.selector_id == Sighting.account_id
        )
    )
    for account_id, extra in rows:
        subject_id = owner.get(account_id)
        if subject_id is None or not extra:
            continue
        role = venue_role(extra)
        if role is None:
            continue
        room = extra.get("room") or extra.get("channel")
        venue = accounts[account_id].platform + (f" {room}" if room else "")
        found[subject_id].add(f"{venue} {role}")
    return {subject_id: sorted(roles) for subject_id, roles in found.items()}
