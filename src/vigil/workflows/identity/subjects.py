"""`vigil subjects`: the subjects, their accounts and selectors, and why each link was made.

Each subject is ``{id, label, role, country, priority, accounts:[{platform, username}],
selectors:[{kind, value}]}`` (the command-line contract) plus ``country_basis`` (in words),
``country_basis_kind`` (subscriber, provider, ip-majority or unknown), ``status`` (open,
merged, or the furthest outcome) and ``links``: one entry
per account beyond the first, ``{a, b, probability, reasons, decided_by}``, where ``a`` and
``b`` are accounts written ``platform:username``. Subjects merged away are not listed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Collection, Iterable
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from vigil.identity.profiles import account_key, subject_label
from vigil.store.db import Store
from vigil.store.models import Outcome, ReferralSubject, Selector, Subject, SubjectSelector

_FILTER_IN_SQL_UP_TO = 5000  # beyond that, reading everything beats a huge IN list


def list_subjects(store: Store) -> list[dict[str, Any]]:
    """Every subject not merged away, in id order."""
    store.require_initialised()
    with store.reading() as session:
        return subject_records(session)


def subject_records(
    session: Session,
    subject_ids: Iterable[int] | None = None,
    *,
    within: Collection[int] | None = None,
) -> list[dict[str, Any]]:
    """The one serialisation of a subject, used by ``vigil subjects``, referral packages
    and the report: the contract's keys plus ``country_basis``, ``country_basis_kind``,
    ``status`` and ``links``. With ``subject_ids``, those subjects in that order.

    With ``within`` (selector ids), only those accounts and selectors, and only the links
    between two of those accounts: what a referral package may say of a subject that
    another agency on the store has seen too (``vigil.store.reach``)."""
    query = select(Subject).where(Subject.status != "merged").order_by(Subject.id)
    links_query = (
        select(SubjectSelector, Selector)
        .join(Selector, Selector.id == SubjectSelector.selector_id)
        .order_by(SubjectSelector.subject_id, Selector.kind, Selector.platform, Selector.value)
    )
    wanted = list(subject_ids) if subject_ids is not None else None
    if wanted is not None and len(wanted) <= _FILTER_IN_SQL_UP_TO:
        query = query.where(Subject.id.in_(wanted))
        links_query = links_query.where(SubjectSelector.subject_id.in_(wanted))
    subjects = {s.id: s for s in session.scalars(query)}
    order = [i for i in wanted if i in subjects] if wanted is not None else list(subjects)
    rows = session.execute(links_query).all()
    accounts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    selectors: dict[int, list[dict[str, Any]]] = defaultdict(list)
    links: dict[int, list[dict[str, Any]]] = defaultdict(list)
    kept_accounts = (  # only for ``within``: every other caller keeps every link
        None
        if within is None
        else {
            account_key(selector.platform, selector.display or selector.value)
            for _link, selector in rows
            if selector.kind == "username" and selector.id in within
        }
    )
    for link_row, selector in rows:
        subject_id = link_row.subject_id
        if within is not None and selector.id not in within:
            continue
        if selector.kind == "username":
            accounts[subject_id].append(
                {
                    "platform": selector.platform,
                    "username": selector.display or selector.value,
                    "confidence": round(link_row.confidence, 6),
                    "decided_by": link_row.decided_by,
                }
            )
            link = stored_reasons(link_row.reasons).get("link")
            if isinstance(link, dict) and (
                kept_accounts is None or {link.get("a"), link.get("b")} <= kept_accounts
            ):
                links[subject_id].append(
                    {
                        "a": link.get("a"),
                        "b": link.get("b"),
                        "probability": link.get("probability"),
                        "reasons": link.get("reasons", []),
                        "decided_by": link.get("decided_by", link_row.decided_by),
                    }
                )
        else:
            entry: dict[str, Any] = {"kind": selector.kind, "value": selector.value}
            if selector.platform:
                entry["platform"] = selector.platform
            selectors[subject_id].append(entry)
    return [
        {
            "id": subject.id,
            "label": subject.label if within is None else _label_within(subject, accounts),
            "role": subject.role,
            "country": subject.country,
            "country_basis": subject.country_basis,
            "country_basis_kind": subject.country_basis_kind,
            "priority": subject.priority,
            "status": subject.status,
            "accounts": accounts[subject.id],
            "selectors": selectors[subject.id],
            "links": links[subject.id],
        }
        for subject in (subjects[i] for i in order)
    ]


def _label_within(subject: Subject, accounts: dict[int, list[dict[str, Any]]]) -> str:
    """A subject's label that names only an account kept: the stored one when it does
    (resolve names a subject after one of its accounts), else the first kept account, as
    resolve would write it. The stored label may name an account only another agency saw."""
    kept = [subject_label(a["platform"], a["username"]) for a in accounts.get(subject.id, ())]
    if subject.label in kept:
        return subject.label
    return kept[0] if kept else f"subject {subject.id}"


def stored_reasons(reasons: str | None) -> dict[str, Any]:
    """A link's stored reasons (JSON); older free text comes back as ``{"text": ...}``."""
    try:
        value = json.loads(reasons or "{}")
    except ValueError:
        return {"text": reasons}
    return value if isinstance(value, dict) else {}


def retire_subject(session: Session, subject: Subject) -> None:
    """Delete a subject that no longer holds anything, or mark it merged if a referral or
    an outcome names it (those records must keep pointing somewhere)."""
    session.execute(delete(SubjectSelector).where(SubjectSelector.subject_id == subject.id))
    referenced = session.scalar(
        select(func.count())
        .select_from(ReferralSubject)
        .where(ReferralSubject.subject_id == subject.id)
    ) or session.scalar(
        select(func.count()).select_from(Outcome).where(Outcome.subject_id == subject.id)
    )
    if referenced:
        subject.status = "merged"
    else:
        session.delete(subject)
    session.flush()
