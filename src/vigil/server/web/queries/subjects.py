"""The subjects list (sorted and filtered by the database) and one subject's page.

The subject page says why each account is linked (the reasons and confidence the resolver or
an analyst recorded), what the person did (a timeline of events), which files they sent and
received, which country they are in and on what basis, and how each referral naming them ended.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from vigil.errors import NotFound
from vigil.server.web.queries.files import file_key
from vigil.server.web.queries.listing import Page, Sort, paginate
from vigil.server.web.queries.scope import reachable_source_ids, subject_visible
from vigil.store.db import Actor
from vigil.store.models import (
    Event,
    File,
    Outcome,
    Referral,
    ReferralSubject,
    Selector,
    Subject,
    SubjectSelector,
)
from vigil.workflows.identity.subjects import stored_reasons

TIMELINE_LIMIT = 200
ROLES = ("suspect", "victim", "unknown")
_ACCOUNTS = (
    select(func.count(SubjectSelector.id))
    .join(Selector, Selector.id == SubjectSelector.selector_id)
    .where(SubjectSelector.subject_id == Subject.id, Selector.kind == "username")
    .correlate(Subject)
    .scalar_subquery()
)
SORTS: dict[str, Any] = {
    "priority": Subject.priority,
    "label": func.lower(Subject.label),
    "country": Subject.country,
    "accounts": _ACCOUNTS,
    "role": Subject.role,
}


def list_subject_page(
    session: Session,
    actor: Actor,
    *,
    page: int,
    sort: Sort,
    role: str | None = None,
    country: str | None = None,
    text: str | None = None,
) -> Page:
    query = select(
        Subject.id,
        Subject.label,
        Subject.role,
        Subject.country,
        Subject.priority,
        Subject.status,
        _ACCOUNTS.label("accounts"),
    ).where(Subject.status != "merged", subject_visible(actor, Subject.id))
    if role in ROLES:
        query = query.where(Subject.role == role)
    if country:
        query = query.where(Subject.country == country.upper()[:2])
    if text:
        query = query.where(Subject.label.ilike(f"%{text.strip()}%"))
    return paginate(session, query.order_by(*sort.order(SORTS, Subject.id)), page)


def subject_in_reach(session: Session, actor: Actor, subject_id: int) -> Subject:
    subject = session.scalars(
        select(Subject).where(Subject.id == subject_id, subject_visible(actor, Subject.id))
    ).first()
    if subject is None:
        raise NotFound(f"no subject {subject_id}")
    return subject


def subject_detail(session: Session, actor: Actor, subject_id: int) -> dict[str, Any]:
    subject = subject_in_reach(session, actor, subject_id)
    links = session.execute(
        select(SubjectSelector, Selector)
        .join(Selector, Selector.id == SubjectSelector.selector_id)
        .where(SubjectSelector.subject_id == subject.id)
        .order_by(Selector.kind, Selector.platform, Selector.value)
    ).all()
    accounts, selectors, selector_ids = [], [], []
    for link, selector in links:
        selector_ids.append(selector.id)
        stored = stored_reasons(link.reasons)
        if selector.kind == "username":
            accounts.append(
                {
                    "key": f"{selector.platform}:{selector.display or selector.value}",
                    "platform": selector.platform,
                    "username": selector.display or selector.value,
                    "confidence": link.confidence,
                    "decided_by": link.decided_by,
                    "link": stored.get("link"),
                    "linked_to": stored.get("linked_to"),
                }
            )
        else:
            selectors.append(
                {
                    "kind": selector.kind,
                    "value": selector.display or selector.value,
                    "platform": selector.platform,
                }
            )
    return {
        "subject": subject,
        "accounts": accounts,
        "selectors": selectors,
        "timeline": _timeline(session, actor, selector_ids),
        "files": _files(session, actor, selector_ids),
        "referrals": _referrals(session, subject.id),
    }


def _timeline(session: Session, actor: Actor, selector_ids: list[int]) -> list[dict[str, Any]]:
    target = aliased(Selector)
    who = aliased(Selector)
    rows = session.execute(
        select(Event, who.display, target.display)
        .outerjoin(who, who.id == Event.actor_id)
        .outerjoin(target, target.id == Event.target_id)
        .where(
            or_(Event.actor_id.in_(selector_ids), Event.target_id.in_(selector_ids)),
            Event.source_id.in_(reachable_source_ids(actor)),
        )
        .order_by(Event.occurred_at.desc().nulls_last(), Event.id.desc())
        .limit(TIMELINE_LIMIT)
    ).all()
    return [
        {
            "at": event.occurred_at,
            "kind": event.kind,
            "actor": actor_name,
            "target": target_name or event.room,
            "text": event.text,
            "has_file": event.file_id is not None,
        }
        for event, actor_name, target_name in rows
    ]


def _files(session: Session, actor: Actor, selector_ids: list[int]) -> dict[str, list[Any]]:
    """Files this subject sent and received (file transfers), with how many times each."""
    out: dict[str, list[Any]] = {}
    for direction, column in (("sent", Event.actor_id), ("received", Event.target_id)):
        out[direction] = [
            {"key": file_key(sha, md5, sha1), "sha256": sha, "mime": mime, "times": times}
            for sha, md5, sha1, mime, times in session.execute(
                select(File.sha256, File.md5, File.sha1, File.mime, func.count(Event.id))
                .join(File, File.id == Event.file_id)
                .where(column.in_(selector_ids), Event.source_id.in_(reachable_source_ids(actor)))
                .group_by(File.id, File.sha256, File.md5, File.sha1, File.mime)
                .order_by(func.count(Event.id).desc(), File.id)
                .limit(50)
            )
        ]
    return out


def _referrals(session: Session, subject_id: int) -> list[dict[str, Any]]:
    referrals = session.execute(
        select(Referral)
        .join(ReferralSubject, ReferralSubject.referral_id == Referral.id)
        .where(ReferralSubject.subject_id == subject_id)
        .order_by(Referral.id)
    ).scalars()
    outcomes = session.scalars(
        select(Outcome).where(Outcome.subject_id == subject_id).order_by(Outcome.occurred_on)
    ).all()
    return [
        {
            "referral": referral,
            "outcomes": [o for o in outcomes if o.referral_id in (referral.id, None)],
        }
        for referral in referrals
    ] or ([{"referral": None, "outcomes": list(outcomes)}] if outcomes else [])
