"""Reveals and exposure (docs/web.md, "Welfare"): one file, greyscale and blurred first,
seconds on screen audited, the meter and the agency's break threshold."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image, ImageDraw
from sqlalchemy import select

from vigil.errors import NotFound, UsageError
from vigil.store.db import Actor, Store
from vigil.store.models import (
    AuditEntry,
    File,
    HashEntry,
    HashSet,
    Match,
    MediaReveal,
    utcnow,
)
from vigil.workflows.media.triage import triage
from vigil.workflows.operation.setup import find_actor
from vigil.workflows.welfare.exposure import agency_exposure, my_exposure, set_threshold
from vigil.workflows.welfare.reveal import report_seconds, reveal_media, start_reveal


def _device(root: Path) -> list[bytes]:
    """Two procedural images (shapes on a gradient): nothing but colour and geometry."""
    root.mkdir()
    contents = []
    for index, colour in enumerate(("#3366aa", "#aa6633")):
        image = Image.new("RGB", (96, 64), colour)
        ImageDraw.Draw(image).ellipse((10 + index * 20, 10, 60, 50), fill="#eeeeee")
        path = root / f"IMG_{index}.png"
        image.save(path)
        contents.append(path.read_bytes())
    return contents


@pytest.fixture
def triaged(store: Store, tmp_path: Path) -> tuple[Store, Actor, list[str]]:
    contents = _device(tmp_path / "device")
    actor = find_actor(store, "TEST/admin")
    triage(store, actor, tmp_path / "device", "CASE-1")
    return store, actor, [hashlib.sha256(data).hexdigest() for data in contents]


def _file(store: Store, sha256: str) -> File:
    with store.reading() as session:
        return session.scalars(select(File).where(File.sha256 == sha256)).one()


def test_reveal_starts_blurred_greyscale_and_serves_the_verified_bytes(triaged) -> None:
    store, actor, hashes = triaged
    with store.transaction() as session:
        started = start_reveal(session, actor, _file(store, hashes[0]), reason="series check")
    assert (started.blurred, started.greyscale, started.muted) == (True, True, True)
    assert started.mime == "image/png"
    with store.reading() as session:
        data, mime = reveal_media(session, actor, hashes[0], started.reveal_id)
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "media.reveal")).one()
    assert hashlib.sha256(data).hexdigest() == hashes[0]
    assert mime == "image/png"
    assert entry.object_id == hashes[0]
    assert json.loads(entry.details)["reveal_id"] == started.reveal_id
    # Another file's hash, or another person, never reaches these bytes.
    with store.reading() as session, pytest.raises(NotFound):
        reveal_media(session, actor, hashes[1], started.reveal_id)
    stranger = Actor(actor.user_id + 100, "someone", actor.agency_id, "TEST", "investigator")
    with store.reading() as session, pytest.raises(NotFound):
        reveal_media(session, stranger, hashes[0], started.reveal_id)


def test_closing_records_the_seconds_audits_them_and_ends_access(triaged) -> None:
    store, actor, hashes = triaged
    with store.transaction() as session:
        started = start_reveal(session, actor, _file(store, hashes[0]))
        reveal = session.get_one(MediaReveal, started.reveal_id)
        reveal.revealed_at = utcnow() - timedelta(seconds=90)
    with store.transaction() as session:
        report_seconds(
            session,
            actor,
            hashes[0],
            started.reveal_id,
            seconds=30,
            blurred=True,
            greyscale=True,
            ended=False,
        )
    with store.transaction() as session:
        # A page cannot claim more time on screen than has passed since the reveal.
        meter = report_seconds(
            session,
            actor,
            hashes[0],
            started.reveal_id,
            seconds=5000,
            blurred=False,
            greyscale=True,
            ended=True,
        )
    with store.reading() as session:
        reveal = session.get_one(MediaReveal, started.reveal_id)
        close = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "media.reveal.close")
        ).one()
    assert 90 <= reveal.seconds_on_screen <= 95
    assert (reveal.blurred, reveal.greyscale) == (False, True)
    assert json.loads(close.details)["seconds_on_screen"] == reveal.seconds_on_screen
    assert meter.reveals_today == 1
    assert meter.minutes_today == round(reveal.seconds_on_screen / 60, 1)
    with store.reading() as session, pytest.raises(NotFound):
        reveal_media(session, actor, hashes[0], started.reveal_id)
    with store.transaction() as session, pytest.raises(UsageError):
        report_seconds(
            session,
            actor,
            hashes[0],
            started.reveal_id,
            seconds=1,
            blurred=True,
            greyscale=True,
            ended=True,
        )


def test_known_material_is_not_revealed_unless_asked_for(triaged) -> None:
    store, actor, hashes = triaged
    file = _file(store, hashes[1])
    with store.transaction() as session:
        bank = HashSet(name="known", kind="alert", format="list")
        session.add(bank)
        session.flush()
        entry = HashEntry(hash_set_id=bank.id, sha256=hashes[1], category="1")
        session.add(entry)
        session.flush()
        session.add(
            Match(file_id=file.id, hash_entry_id=entry.id, hash_set_id=bank.id, kind="exact")
        )
    with store.transaction() as session, pytest.raises(UsageError, match="needs no viewing"):
        start_reveal(session, actor, file)
    with store.transaction() as session:
        started = start_reveal(session, actor, file, view_known=True)
    assert started.reveal_id > 0


def test_threshold_suggests_a_break_and_tells_the_supervisor(triaged) -> None:
    store, actor, hashes = triaged
    with store.transaction() as session:
        set_threshold(session, actor, reveals_per_day=2, minutes_per_day=60)
    for sha in hashes:
        with store.transaction() as session:
            started = start_reveal(session, actor, _file(store, sha))
        with store.transaction() as session:
            meter = report_seconds(
                session,
                actor,
                sha,
                started.reveal_id,
                seconds=0,
                blurred=True,
                greyscale=True,
                ended=True,
            )
        assert meter.over_threshold is (sha == hashes[-1])
    with store.reading() as session:
        staff = agency_exposure(session, actor)
        passed = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "welfare.threshold_passed")
        ).all()
    assert [(m.username, m.reveals_today, m.over_threshold) for m in staff] == [("admin", 2, True)]
    assert len(passed) == 1
    with store.transaction() as session, pytest.raises(UsageError):
        set_threshold(session, actor, reveals_per_day=0, minutes_per_day=10)


def test_the_meter_counts_today_and_this_week_only(triaged) -> None:
    store, actor, hashes = triaged
    now = utcnow()
    with store.transaction() as session:
        file = _file(store, hashes[0])
        for days_ago, seconds in ((0, 120.0), (8, 600.0)):
            session.add(
                MediaReveal(
                    user_id=actor.user_id,
                    file_id=file.id,
                    revealed_at=now - timedelta(days=days_ago),
                    seconds_on_screen=seconds,
                )
            )
    with store.reading() as session:
        meter = my_exposure(session, actor, now=now)
    assert (meter.reveals_today, meter.minutes_today) == (1, 2.0)
    assert (meter.reveals_week, meter.minutes_week) == (1, 2.0)
