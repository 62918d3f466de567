"""`vigil subjects`: the subjects, their accounts and selectors, and why each link was made.

Each subject is ``{id, label, role, country, priority, accounts:[{platform, username}],
selectors:[{kind, value}]}`` (the DESIGN.md contract) plus ``status`` and ``links``: one entry
per account beyond the first, ``{a, b, probability, reasons, decided_by}``, where ``a`` and
``b`` are accounts written ``platform:username``. Subjects merged away are not listed.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from vigil.store.db import Store
from vigil.store.models import Selector, Subject, SubjectSelector


def list_subjects(store: Store) -> list[dict[str, Any]]:
    store.require_initialised()
    with store.reading() as session:
        subjects = session.scalars(
            select(Subject).where(Subject.status != "merged").order_by(Subject.id)
        ).all()
        rows = session.execute(
            select(SubjectSelector, Selector)
            .join(Selector, Selector.id == SubjectSelector.selector_id)
            .order_by(SubjectSelector.subject_id, Selector.kind, Selector.platform, Selector.value)
        ).all()
    accounts: dict[int, list[dict[str, Any]]] = defaultdict(list)
    selectors: dict[int, list[dict[str, Any]]] = defaultdict(list)
    links: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for link_row, selector in rows:
        subject_id = link_row.subject_id
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
            if isinstance(link, dict):
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
            "label": subject.label,
            "role": subject.role,
            "country": subject.country,
            "priority": subject.priority,
            "status": subject.status,
            "accounts": accounts[subject.id],
            "selectors": selectors[subject.id],
            "links": links[subject.id],
        }
        for subject in subjects
    ]


def stored_reasons(reasons: str | None) -> dict[str, Any]:
    """A link's stored reasons (JSON); older free text comes back as ``{"text": ...}``."""
    try:
        value = json.loads(reasons or "{}")
    except ValueError:
        return {"text": reasons}
    return value if isinstance(value, dict) else {}
