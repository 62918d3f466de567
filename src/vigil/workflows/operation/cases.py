"""Cases as the server lists them, their sources, and sharing a case with another agency.

Which cases a caller may see is decided by the caller (the server's scoping): these functions
take the set of case ids as a query and never widen it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from vigil.errors import UsageError
from vigil.store import audit
from vigil.store.db import Actor, Store
from vigil.store.models import Agency, Case, CaseShare, Source
from vigil.store.models_server import SHARE_ACCESS
from vigil.workflows.operation.accounts import find_agency
from vigil.workflows.sources.provenance import source_warnings


def _case_row(case: Case, agency_code: str, sources: int) -> dict[str, Any]:
    return {
        "id": case.id,
        "reference": case.reference,
        "title": case.title,
        "status": case.status,
        "agency": agency_code,
        "sources": sources,
        "created_at": case.created_at.isoformat(),
    }


def list_cases(store: Store, case_ids: Select) -> list[dict[str, Any]]:
    store.require_initialised()
    with store.reading() as session:
        counts = dict(
            session.execute(
                select(Source.case_id, func.count(Source.id))
                .where(Source.case_id.in_(case_ids))
                .group_by(Source.case_id)
            ).all()
        )
        rows = session.execute(
            select(Case, Agency.code)
            .join(Agency, Agency.id == Case.agency_id)
            .where(Case.id.in_(case_ids))
            .order_by(Case.id)
        ).all()
        return [_case_row(case, code, counts.get(case.id, 0)) for case, code in rows]


def describe_case(session: Session, case: Case) -> dict[str, Any]:
    """One case with its sources (provenance: what, its SHA-256, who brought it in, when)."""
    code = session.scalar(select(Agency.code).where(Agency.id == case.agency_id)) or ""
    sources = session.scalars(
        select(Source).where(Source.case_id == case.id).order_by(Source.id)
    ).all()
    shares = session.execute(
        select(Agency.code, CaseShare.access)
        .join(Agency, Agency.id == CaseShare.agency_id)
        .where(CaseShare.case_id == case.id)
        .order_by(Agency.code)
    ).all()
    return {
        **_case_row(case, code, len(sources)),
        "sources": [
            {
                "id": s.id,
                "kind": s.kind,
                "original_name": s.original_name,
                "sha256": s.sha256,
                "size": s.size_bytes,
                "status": s.status,
                "ingested_at": s.ingested_at.isoformat(),
                **source_warnings(s),
            }
            for s in sources
        ],
        "shared_with": [{"agency": agency, "access": access} for agency, access in shares],
    }


def share_case(store: Store, actor: Actor, case: Case, agency_code: str, access: str) -> None:
    """Open an agency's case to another agency on this server (again: changes the access)."""
    if access not in SHARE_ACCESS:
        raise UsageError(f"access must be one of {', '.join(SHARE_ACCESS)}: {access!r}")
    with store.transaction() as session:
        agency = find_agency(session, agency_code)
        if agency.id == case.agency_id:
            raise UsageError("a case is always open to its own agency")
        share = session.scalars(
            select(CaseShare).where(CaseShare.case_id == case.id, CaseShare.agency_id == agency.id)
        ).first()
        if share is None:
            session.add(
                CaseShare(
                    case_id=case.id, agency_id=agency.id, access=access, shared_by=actor.user_id
                )
            )
        elif share.access == access:
            return
        else:
            share.access = access
        audit.append(
            session, actor, "case.share", "case", case.id, {"agency": agency.code, "access": access}
        )
