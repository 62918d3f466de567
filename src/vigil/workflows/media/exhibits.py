"""Which exhibit this evidence is: one Source per seized item, never one per look-alike.

A disk image or an archive has bytes to hash; a folder has only a listing, and two suspects'
devices can hold the same unpacked archive with the same names, sizes and times. So an
exhibit is identified by what the examiner knows (``--exhibit REF``, else the owner and, for
a folder, where it is) together with what it holds:

- ``--exhibit REF``: that reference, in that case, is one exhibit. Triaging other bytes
  under the same reference is refused.
- a folder: its resolved path and owner. Its listing may change between an interrupted run
  and the rerun (a ``touch``): the rerun resumes the same source and reads again only what
  changed. Once complete, a changed listing is refused rather than mixed in.
- an archive or disk image: its SHA-256 (and owner), so the same bytes seized from two
  people are two exhibits, and the same bytes again are the same one.

When the last batch is in, the source records the content manifest: a digest of every
path with the SHA-256 of its content, computed from the hashes of the same pass.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import BadInput
from vigil.evidence import Evidence
from vigil.evidence.names import printable
from vigil.store.db import Actor
from vigil.store.models import File, FileInstance, Source
from vigil.workflows.sources.provenance import Digest, register_source, serialise_source


@dataclass(frozen=True)
class ExhibitIdentity:
    key: str  # Source.exhibit
    by_reference: bool  # the key alone names the exhibit (a folder, or --exhibit)
    name: str
    container: str
    digest: Digest  # bytes for a file, the listing for a folder


def exhibit_identity(
    evidence: Evidence, exhibit: str | None, seized_from: dict[str, str] | None
) -> ExhibitIdentity:
    digest = Digest(*evidence.digest())
    owner = f"owner:{seized_from['platform']}:{seized_from['username']}" if seized_from else ""
    name = printable(str(evidence.path))
    if exhibit is not None:
        key, by_reference = f"exhibit:{exhibit.strip()}", True
    elif evidence.kind == "folder":
        where = printable(str(evidence.path.resolve()))
        key, by_reference = " ".join(p for p in (f"folder:{where}", owner) if p), True
    else:
        key, by_reference = owner, False
    return ExhibitIdentity(key, by_reference, name, evidence.kind, digest)


def claim_exhibit(
    session: Session,
    actor: Actor,
    case_id: int,
    identity: ExhibitIdentity,
    extra: dict[str, Any],
) -> Source:
    """The exhibit's Source: found again, or registered ``in_progress``."""
    serialise_source(session, case_id, identity.key)
    if identity.by_reference:
        found = session.scalars(
            select(Source).where(Source.case_id == case_id, Source.exhibit == identity.key)
        ).first()
        if found is not None:
            _same_exhibit(found, identity)
            return found
    ref = register_source(
        session,
        actor,
        kind="evidence",
        original_name=identity.name,
        digest=identity.digest,
        case_id=case_id,
        extra={"container": identity.container, **extra},
        exhibit=identity.key,
    )
    source = session.get_one(Source, ref.id)
    if ref.created:
        source.status = "in_progress"
    return source


def _same_exhibit(source: Source, identity: ExhibitIdentity) -> None:
    recorded = source.extra or {}
    if recorded.get("container") != identity.container:
        raise BadInput(
            f"exhibit {identity.key!r} is already source {source.id}, a "
            f"{recorded.get('container')}, not a {identity.container}",
            source=identity.name,
        )
    if identity.container == "folder":
        listing = recorded.get("listing_sha256")
        if source.status == "complete" and listing and listing != identity.digest.sha256:
            raise BadInput(
                f"this folder has changed since it was triaged as source {source.id}; "
                "give it a new --exhibit reference to triage it as another exhibit",
                source=identity.name,
            )
    elif source.sha256 != identity.digest.sha256:
        raise BadInput(
            f"exhibit {identity.key!r} is source {source.id} with other content "
            f"(SHA-256 {source.sha256}); give this item its own --exhibit reference",
            source=identity.name,
        )


def close_exhibit(session: Session, source: Source, identity: ExhibitIdentity) -> dict[str, Any]:
    """Record the content manifest; ``complete`` only when every member was read whole."""
    rows = session.execute(
        select(FileInstance.path, File.sha256, FileInstance.read_complete)
        .join(File, File.id == FileInstance.file_id)
        .where(FileInstance.source_id == source.id)
        .order_by(FileInstance.path)
    ).all()
    manifest = hashlib.sha256()
    unread = 0
    for path, sha256, whole in rows:
        manifest.update(f"{path}\0{sha256 or '-'}\n".encode())
        unread += not whole
    closing = {
        "content_sha256": manifest.hexdigest(),
        "listing_sha256": identity.digest.sha256,
        "not_read_whole": unread,
    }
    source.extra = {**(source.extra or {}), **closing}
    source.status = "incomplete" if unread else "complete"
    return closing
