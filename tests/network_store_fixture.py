"""A small operation written straight into a store as ingest and resolve write it.

Subjects, by construction:
- "admin" (CA by an ISP subscriber return) sends known files by DM to both collectors and
  offers files by DCC in an IRC room to everyone there;
- "distributor" (GB by a CyberTipline estimatedLocation) sends known files to collectors;
- "collector-de" (DE by IP majority: two German IPs, one French);
- "collector-x" (unknown: only a private address);
- "producer" (AU by subscriber return) holds two new series files on a seized device and is
  the first to send one of them;
- "victim" (role victim, never ranked or referred).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from vigil.store.db import Store
from vigil.store.models import (
    Case,
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

T0 = datetime(2006, 3, 14, 21, 0, tzinfo=UTC)


@dataclass
class Ids:
    subjects: dict[str, int]
    accounts: dict[str, int]
    files: dict[str, int]


def populate(store: Store) -> Ids:
    with store.transaction() as session:
        case = session.query(Case).first()
        assert case is not None
        agency_id, user_id = case.agency_id, case.lead_user_id

        def source(kind: str, name: str, extra: dict | None = None) -> Source:
            row = Source(
                kind=kind,
                original_name=name,
                sha256=hashlib.sha256(name.encode()).hexdigest(),
                size_bytes=100,
                case_id=case.id,
                agency_id=agency_id,
                user_id=user_id,
                extra=extra,
            )
            session.add(row)
            session.flush()
            return row

        chat = source("chat-jsonl", "chat/parley.jsonl")
        irc = source("irc", "irc/nightnet/#lobby.log")
        isp = source("isp", "isp/telecom.csv")
        tip = source("cybertip", "cybertip/report-1.xml")
        device = source("device", "devices/D01", {"device": "PC-PRODUCER"})

        def selector(kind: str, value: str, platform: str = "") -> Selector:
            row = Selector(kind=kind, platform=platform, value=value.casefold(), display=value)
            session.add(row)
            session.flush()
            return row

        def sight(
            sel: Selector,
            account: Selector | None,
            src: Source,
            extra: dict | None = None,
            context: str = "seen",
        ) -> None:
            session.add(
                Sighting(
                    selector_id=sel.id,
                    account_id=account.id if account else None,
                    source_id=src.id,
                    case_id=case.id,
                    agency_id=agency_id,
                    seen_at=T0,
                    context=context,
                    extra=extra,
                )
            )

        names = ["admin", "distributor", "collector-de", "collector-x", "producer", "victim"]
        subjects = {}
        for name in names:
            row = Subject(label=name, role="victim" if name == "victim" else "suspect")
            session.add(row)
            session.flush()
            subjects[name] = row

        accounts: dict[str, Selector] = {}

        def account(key: str, platform: str, username: str, owner: str, src: Source) -> Selector:
            sel = selector("username", username, platform)
            accounts[key] = sel
            sight(sel, sel, src)
            session.add(
                SubjectSelector(
                    subject_id=subjects[owner].id,
                    selector_id=sel.id,
                    confidence=0.95,
                    reasons="fixture",
                )
            )
            return sel

        admin = account("admin", "Parley", "Son_of_god", "admin", chat)
        admin_irc = account("admin_irc", "NightNet", "s0n_0f_g0d", "admin", irc)
        sight(admin_irc, admin_irc, irc, {"modes": "@", "channel": "#lobby"})  # as ingest writes
        dist = account("dist", "Parley", "Fanout", "distributor", chat)
        dist_tip = account("dist_tip", "PicNook", "fanout77", "distributor", tip)
        c_de = account("c_de", "NightNet", "quiet_one", "collector-de", irc)
        c_x = account("c_x", "Parley", "lurker", "collector-x", chat)
        prod = account("prod", "Parley", "lens_man", "producer", chat)
        vic = account("vic", "PicNook", "kid_account", "victim", tip)

        # Country evidence.
        ip_admin = selector("ip", "24.48.0.1")
        sight(ip_admin, admin, chat)
        sight(
            ip_admin,
            None,
            isp,
            {
                "role": "subscriber",
                "subscriber": {
                    "ip": "24.48.0.1",
                    "isp": "Maple Net",
                    "country": "CA",
                    "request_ref": "REQ-1",
                },
            },
        )
        sight(
            dist_tip,
            dist_tip,
            tip,
            {
                "role": "reported",
                "country": "GB",
                "report_id": "R1",
                "incident_type": "Child Pornography (possession)",
            },
        )
        ip_dist = selector("ip", "5.9.0.1")  # DE by registry, but the provider says GB
        sight(ip_dist, dist, chat)
        for value in ("5.9.0.1", "5.9.0.2", "90.0.0.1"):
            ip = ip_dist if value == "5.9.0.1" else selector("ip", value)
            sight(ip, c_de, irc)
        sight(selector("ip", "192.168.1.20"), c_x, chat)
        ip_prod = selector("ip", "1.1.1.1")
        sight(ip_prod, prod, chat)
        sight(
            ip_prod,
            None,
            isp,
            {
                "role": "subscriber",
                "subscriber": {
                    "ip": "1.1.1.1",
                    "isp": "Roo Broadband",
                    "country": "AU",
                    "request_ref": "REQ-2",
                },
            },
        )
        sight(selector("device", "PC-PRODUCER"), prod, chat)
        session.add(
            SubjectSelector(
                subject_id=subjects["producer"].id,
                selector_id=session.query(Selector).filter_by(kind="device").one().id,
            )
        )
        sight(vic, vic, tip, {"role": "victim", "country": "US", "report_id": "R1"})

        # Files: four known alert, two new (a series on the producer's device).
        alert_set = HashSet(name="known", kind="alert", format="vics")
        session.add(alert_set)
        session.flush()
        files: dict[str, File] = {}
        for n in range(1, 7):
            row = File(sha256=f"{n:064x}", md5=f"{n:032x}", size_bytes=1000 + n, mime="image/jpeg")
            session.add(row)
            session.flush()
            files[f"f{n}"] = row
            if n <= 4:
                entry = HashEntry(hash_set_id=alert_set.id, sha256=row.sha256, category="1")
                session.add(entry)
                session.flush()
                session.add(
                    Match(
                        file_id=row.id,
                        hash_entry_id=entry.id,
                        hash_set_id=alert_set.id,
                        kind="exact",
                    )
                )
        series = Series(label="S-1", case_id=case.id, camera_serial="CAM123")
        session.add(series)
        session.flush()
        for key in ("f5", "f6"):
            session.add(SeriesFile(series_id=series.id, file_id=files[key].id))
            session.add(
                FileInstance(file_id=files[key].id, source_id=device.id, path=f"DCIM/{key}.jpg")
            )

        t = T0

        def event(
            kind: str,
            actor: Selector,
            src: Source,
            *,
            target: Selector | None = None,
            room: str | None = None,
            file: File | None = None,
            recipients: list[Selector] | None = None,
        ) -> None:
            nonlocal t
            t += timedelta(minutes=5)
            session.add(
                Event(
                    kind=kind,
                    occurred_at=t,
                    actor_id=actor.id,
                    target_id=target.id if target else None,
                    room=room,
                    file_id=file.id if file else None,
                    source_id=src.id,
                    case_id=case.id,
                    agency_id=agency_id,
                    extra={"recipients": [r.id for r in recipients]} if recipients else None,
                )
            )

        for key in ("f1", "f2", "f3"):
            for target in (c_x, prod, dist):
                event("file_transfer", admin, chat, target=target, file=files[key])
        for key in ("f1", "f4"):
            event(
                "file_transfer", admin_irc, irc, room="#lobby", file=files[key], recipients=[c_de]
            )
        for key in ("f2", "f4"):
            for target in (c_x, prod):
                event("file_transfer", dist, chat, target=target, file=files[key])
        event("file_transfer", prod, chat, target=dist, file=files["f5"])
        event("message", c_x, chat, target=admin)
        event("message", c_de, irc, room="#lobby")
        event("upload", dist_tip, tip, file=files["f3"])
    return Ids(
        subjects={name: row.id for name, row in subjects.items()},
        accounts={key: row.id for key, row in accounts.items()},
        files={key: row.id for key, row in files.items()},
    )
