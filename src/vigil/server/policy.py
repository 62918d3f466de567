"""The role table, in one place: which role may do what. Every route names one permission.

Roles and permissions are those of ``docs/server.md``. A route declares its permission with
``Depends(allow(Permission.X))``; the dependency signs the request in, checks CSRF for browser
writes, and asks ``may`` here. Nothing else in the server compares role names.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    READ = "read cases, sources, subjects, network, referrals of own agency"
    DECIDE_LINKS = "confirm, reject, split, merge links"
    REVIEW_LINKS = "see the review queue: links the model is unsure of"
    INVESTIGATE = "open cases, ingest, triage, import hash sets, resolve"
    REFER = "refer, send referrals, record outcomes, deconflict"
    REVEAL = "reveal one media item"
    SEE_EXPOSURE = "see the exposure of the agency's staff"
    AUDIT = "read the audit log and verify it"
    ADMINISTER = "manage users, peers and agency settings"
    SIGNED_IN = "anything about one's own account (any role)"


ROLES = ("analyst", "investigator", "supervisor", "auditor", "admin")

ROLE_TABLE: dict[Permission, frozenset[str]] = {
    Permission.READ: frozenset({"analyst", "investigator", "supervisor", "auditor"}),
    Permission.DECIDE_LINKS: frozenset({"analyst", "investigator", "supervisor"}),
    Permission.REVIEW_LINKS: frozenset({"analyst", "investigator", "supervisor"}),
    Permission.INVESTIGATE: frozenset({"investigator", "supervisor"}),
    Permission.REFER: frozenset({"investigator", "supervisor"}),
    Permission.REVEAL: frozenset({"investigator", "supervisor"}),
    Permission.SEE_EXPOSURE: frozenset({"supervisor"}),
    Permission.AUDIT: frozenset({"supervisor", "auditor"}),
    Permission.ADMINISTER: frozenset({"admin"}),
    Permission.SIGNED_IN: frozenset(ROLES),
}


def may(role: str, permission: Permission) -> bool:
    return role in ROLE_TABLE[permission]
