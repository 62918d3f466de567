"""Revealing one file: asked for explicitly, shown greyscale and blurred first, timed, audited.

``start_reveal`` records who looks at which file and how it is first shown; ``report_seconds``
takes the page's count of seconds on screen (never more than the time that has passed) and the
blur and greyscale it ends with; ``reveal_media`` reads the file's bytes back from the evidence,
verified against its SHA-256, and only for an open reveal of the person who asked for it.
Known material (an exact match in a hash set) needs no viewing, so it is refused unless the
person says they still need to see it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from vigil.errors import IntegrityViolation, NotFound, UsageError, VigilError
from vigil.evidence import open_evidence
from vigil.store import audit
from vigil.store.db import Actor
from vigil.store.models import File, FileInstance, Match, MediaReveal, Source, utcnow
from vigil.workflows.welfare.exposure import Exposure, my_exposure

VIEWABLE = ("image/", "video/", "audio/")
OPEN_FOR = timedelta(minutes=30)  # media is served for this long after the reveal at most
MAX_REVEAL_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class RevealStarted:
    reveal_id: int
    sha256: str
    mime: str
    blurred: bool
    greyscale: bool
    muted: bool


def is_known(session: Session, file_id: int) -> bool:
    """Known material: an exact match in any hash set. Its category is already recorded."""
    return (
        session.scalars(
            select(Match.id).where(Match.file_id == file_id, Match.kind == "exact").limit(1)
        ).first()
        is not None
    )


def start_reveal(
    session: Session,
    actor: Actor,
    file: File,
    *,
    reason: str | None = None,
    view_known: bool = False,
) -> RevealStarted:
    """Reveal ``file``, which the caller has found in the actor's reach."""
    sha256 = str(file.sha256)
    mime = file.mime or ""
    if not mime.startswith(VIEWABLE):
        raise UsageError(f"{sha256} is {mime or 'of unknown type'}: only media can be revealed")
    if is_known(session, file.id) and not view_known:
        raise UsageError("known material needs no viewing: its category is already recorded")
    before = my_exposure(session, actor)
    reveal = MediaReveal(
        user_id=actor.user_id,
        file_id=file.id,
        reason=(reason or "").strip()[:500] or None,
        blurred=True,
        greyscale=True,
    )
    session.add(reveal)
    session.flush()
    audit.append(
        session,
        actor,
        "media.reveal",
        "file",
        file.sha256,
        {"reveal_id": reveal.id, "blurred": True, "greyscale": True, "reason": reveal.reason},
    )
    _note_threshold(session, actor, before)
    return RevealStarted(reveal.id, str(file.sha256), mime, True, True, True)


def _own_reveal(session: Session, actor: Actor, sha256: str, reveal_id: int) -> MediaReveal:
    reveal = session.get(MediaReveal, reveal_id)
    file = session.get(File, reveal.file_id) if reveal is not None else None
    if reveal is None or reveal.user_id != actor.user_id or file is None:
        raise NotFound(f"no reveal {reveal_id}")
    if file.sha256 != sha256.lower():
        raise NotFound(f"no reveal {reveal_id}")
    return reveal


def report_seconds(
    session: Session,
    actor: Actor,
    sha256: str,
    reveal_id: int,
    *,
    seconds: float,
    blurred: bool,
    greyscale: bool,
    ended: bool,
) -> Exposure:
    """Record the seconds on screen so far (a running total from the page). The total only
    grows and never passes the time since the reveal; the last report closes it and is
    audited with the seconds."""
    reveal = _own_reveal(session, actor, sha256, reveal_id)
    if reveal.ended_at is not None:
        raise UsageError(f"reveal {reveal_id} is already closed")
    if not 0 <= seconds < 86400:
        raise UsageError("seconds on screen must be between 0 and 86400")
    before = my_exposure(session, actor)
    elapsed = (utcnow() - reveal.revealed_at).total_seconds()
    reveal.seconds_on_screen = round(max(reveal.seconds_on_screen, min(seconds, elapsed + 1)), 1)
    reveal.blurred = blurred
    reveal.greyscale = greyscale
    if ended:
        reveal.ended_at = utcnow()
    session.flush()
    if ended:
        audit.append(
            session,
            actor,
            "media.reveal.close",
            "file",
            sha256.lower(),
            {
                "reveal_id": reveal.id,
                "seconds_on_screen": reveal.seconds_on_screen,
                "blurred": blurred,
                "greyscale": greyscale,
            },
        )
    return _note_threshold(session, actor, before)


def _note_threshold(session: Session, actor: Actor, before: Exposure) -> Exposure:
    """Audit the moment a person passes the break threshold (once a day): it is what their
    supervisor's pages show."""
    after = my_exposure(session, actor)
    if after.over_threshold and not before.over_threshold:
        audit.append(
            session,
            actor,
            "welfare.threshold_passed",
            "user",
            actor.user_id,
            {"reveals_today": after.reveals_today, "minutes_today": after.minutes_today},
        )
    return after


def reveal_media(session: Session, actor: Actor, sha256: str, reveal_id: int) -> tuple[bytes, str]:
    """The file's bytes for an open reveal of this person, read from the evidence and checked
    against the SHA-256 recorded at intake. Any copy will do: they are the same bytes."""
    reveal = _own_reveal(session, actor, sha256, reveal_id)
    if reveal.ended_at is not None or utcnow() - reveal.revealed_at > OPEN_FOR:
        raise NotFound(f"reveal {reveal_id} is closed")
    file = session.get_one(File, reveal.file_id)
    places = session.execute(
        select(Source.original_name, FileInstance.path)
        .join(FileInstance, FileInstance.source_id == Source.id)
        .where(FileInstance.file_id == file.id)
    ).all()
    for evidence_path, member_path in places:
        data = _read_member(Path(evidence_path), member_path)
        if data is None:
            continue
        if hashlib.sha256(data).hexdigest() != file.sha256:
            raise IntegrityViolation(f"the evidence no longer matches {file.sha256}")
        return data, file.mime or "application/octet-stream"
    raise NotFound(f"the evidence holding {sha256} is not readable on this server")


def _read_member(evidence_path: Path, member_path: str) -> bytes | None:
    try:
        evidence = open_evidence(evidence_path)
        for member in evidence.members():
            if member.path != member_path:
                continue
            if member.size_bytes > MAX_REVEAL_BYTES:
                raise UsageError("the file is too large to reveal in the browser")
            with member.load().open() as handle:
                data = handle.read(MAX_REVEAL_BYTES + 1)
            member.release()
            return data
    except (OSError, VigilError) as exc:
        if isinstance(exc, UsageError):
            raise
        return None
    return None
