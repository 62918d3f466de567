"""The analyst decides: confirm or reject a link, split or merge subjects.

Every decision is a ``LinkDecision`` row between two accounts (stored with the lower
selector id first), with the user and the time, audited in the same transaction. Every later
resolve, full or incremental, obeys them: a reject is never crossed, a confirm always joins.

Accounts are named ``platform:username`` (split at the first colon; case does not matter),
the same way ``vigil subjects --json`` prints them. ``split`` and ``merge`` act on subjects
at once, and record the decisions that make the next resolve keep what the analyst did.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import NotFound, UsageError
from vigil.identity.clusters import pair
from vigil.identity.profiles import parse_account_key, subject_label
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import (
    LinkDecision,
    Selector,
    Subject,
    SubjectSelector,
    utcnow,
)
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.identity.subjects import retire_subject
from vigil.workflows.network.refresh import refresh_subjects

DECISIONS = ("confirm", "reject")


def _stored_link(reasons: str | None) -> dict[str, Any] | None:
    try:
        value = json.loads(reasons or "null")
    except ValueError:
        return None
    link = value.get("link") if isinstance(value, dict) else None
    return link if isinstance(link, dict) else None


@dataclass(frozen=True)
class DecisionResult:
    decision: str
    a: str
    b: str
    changed: bool


def find_account(session: Session, text: str) -> Selector:
    try:
        platform, username = parse_account_key(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    candidates = session.scalars(
        select(Selector).where(Selector.kind == "username", Selector.value == username.casefold())
    ).all()
    matches = [s for s in candidates if s.platform.casefold() == platform.casefold()]
    if not matches:
        raise NotFound(f"no account {text!r}; name it platform:username as `vigil subjects` does")
    return matches[0]


def _name(selector: Selector) -> str:
    return f"{selector.platform.casefold()}:{selector.value}"


def _record(
    session: Session, actor: Actor, a: Selector, b: Selector, decision: str, note: str | None
) -> bool:
    if a.id == b.id:
        raise UsageError("an account cannot be linked to itself")
    low, high = pair(a.id, b.id)
    row = session.scalars(
        select(LinkDecision).where(
            LinkDecision.selector_a_id == low, LinkDecision.selector_b_id == high
        )
    ).first()
    if row is not None and row.decision == decision:
        return False
    if row is None:
        row = LinkDecision(
            selector_a_id=low,
            selector_b_id=high,
            decision=decision,
            user_id=actor.user_id,
            decided_at=utcnow(),
            note=note,
        )
        session.add(row)
    else:
        row.decision, row.user_id, row.decided_at, row.note = (
            decision,
            actor.user_id,
            utcnow(),
            note,
        )
    session.flush()
    audit.append(
        session,
        actor,
        f"link.{decision}",
        "link_decision",
        row.id,
        {"a": _name(a), "b": _name(b), "note": note},
    )
    return True


def decide_link(
    store: Store,
    actor: Actor,
    a_text: str,
    b_text: str,
    decision: str,
    note: str | None = None,
    *,
    relink: bool = True,
) -> DecisionResult:
    """Record the decision, then re-link the subjects; ``relink=False`` leaves that to the
    caller (the review page queues it as a job, so the analyst goes on to the next pair)."""
    if decision not in DECISIONS:
        raise UsageError(f"a link decision is confirm or reject, not {decision!r}")
    store.require_initialised()
    with store.transaction() as session:
        a, b = find_account(session, a_text), find_account(session, b_text)
        changed = _record(session, actor, a, b, decision, note)
        result = DecisionResult(decision, _name(a), _name(b), changed)
    if changed and relink:
        # The decision binds at once: subjects, and so their countries and priorities, follow.
        resolve(store, actor)
    return result


def _subject_accounts(session: Session, subject_id: int) -> list[Selector]:
    if session.get(Subject, subject_id) is None:
        raise NotFound(f"no subject {subject_id}")
    return list(
        session.scalars(
            select(Selector)
            .join(SubjectSelector, SubjectSelector.selector_id == Selector.id)
            .where(SubjectSelector.subject_id == subject_id, Selector.kind == "username")
            .order_by(Selector.id)
        )
    )


@dataclass(frozen=True)
class SplitResult:
    subject_id: int
    new_subject_id: int
    moved: list[str]


def split_subject(
    store: Store, actor: Actor, subject_id: int, account_texts: list[str]
) -> SplitResult:
    """Move the named accounts out into a new subject; reject every link across the cut."""
    store.require_initialised()
    with store.transaction() as session:
        members = _subject_accounts(session, subject_id)
        moving = [find_account(session, t) for t in account_texts]
        member_ids = {m.id for m in members}
        for account in moving:
            if account.id not in member_ids:
                raise UsageError(f"{_name(account)} is not an account of subject {subject_id}")
        moving_ids = {m.id for m in moving}
        staying = [m for m in members if m.id not in moving_ids]
        if not staying:
            raise UsageError("a split must leave at least one account in the subject")
        for out in moving:
            for stay in staying:
                _record(session, actor, out, stay, "reject", f"split of subject {subject_id}")
        for first, second in itertools.pairwise(moving):
            _record(session, actor, first, second, "confirm", f"split of subject {subject_id}")
        old = session.get(Subject, subject_id)
        assert old is not None
        new = Subject(
            label=subject_label(moving[0].platform, moving[0].display),
            role=old.role,
            status="open",
        )
        session.add(new)
        session.flush()
        note = json.dumps(
            {"text": f"split out of subject {subject_id} by analyst {actor.username}", "link": None}
        )
        rows = session.scalars(
            select(SubjectSelector).where(
                SubjectSelector.subject_id == subject_id,
                SubjectSelector.selector_id.in_(moving_ids),
            )
        )
        for row in rows:
            row.subject_id = new.id
            row.reasons = note
            row.decided_by, row.user_id, row.decided_at = "analyst", actor.user_id, utcnow()
        for row in session.scalars(
            select(SubjectSelector).where(SubjectSelector.subject_id == subject_id)
        ):
            link = _stored_link(row.reasons)
            if link and {link.get("a_id"), link.get("b_id")} & moving_ids:
                row.reasons = json.dumps(
                    {
                        "text": "its link went to an account split out by an analyst; "
                        "the next resolve re-links it",
                        "link": None,
                    }
                )
        audit.append(
            session,
            actor,
            "subject.split",
            "subject",
            subject_id,
            {"new_subject": new.id, "moved": [_name(m) for m in moving]},
        )
        refresh_subjects(session, actor)
        return SplitResult(subject_id, new.id, [_name(m) for m in moving])


def merge_subjects(store: Store, actor: Actor, first_id: int, second_id: int) -> int:
    """Merge the second subject into the first; confirm a link between them."""
    if first_id == second_id:
        raise UsageError("cannot merge a subject with itself")
    store.require_initialised()
    with store.transaction() as session:
        first, second = session.get(Subject, first_id), session.get(Subject, second_id)
        a_accounts = _subject_accounts(session, first_id)
        b_accounts = _subject_accounts(session, second_id)
        assert first is not None and second is not None
        if first.role != second.role and "victim" in (first.role, second.role):
            raise UsageError("a victim's subject is never merged with a suspect's")
        if not a_accounts or not b_accounts:
            raise UsageError("both subjects need an account to merge")
        note = f"merge of subject {second_id} into {first_id}"
        _record(session, actor, a_accounts[0], b_accounts[0], "confirm", note)
        # an earlier reject across the two subjects is overruled by this merge
        by_id = {s.id: s for s in (*a_accounts, *b_accounts)}
        a_ids, b_ids = {a.id for a in a_accounts}, {b.id for b in b_accounts}
        rejects = session.scalars(select(LinkDecision).where(LinkDecision.decision == "reject"))
        for decision in rejects.all():
            ends = {decision.selector_a_id, decision.selector_b_id}
            if ends & a_ids and ends & b_ids:
                _record(
                    session,
                    actor,
                    by_id[decision.selector_a_id],
                    by_id[decision.selector_b_id],
                    "confirm",
                    note,
                )
        held = set(
            session.scalars(
                select(SubjectSelector.selector_id).where(SubjectSelector.subject_id == first_id)
            )
        )
        for row in session.scalars(
            select(SubjectSelector).where(SubjectSelector.subject_id == second_id)
        ):
            if row.selector_id in held:
                session.delete(row)
            else:
                row.subject_id = first_id
        session.flush()
        retire_subject(session, second)
        audit.append(session, actor, "subject.merge", "subject", first_id, {"merged": second_id})
        refresh_subjects(session, actor)
        return first_id
