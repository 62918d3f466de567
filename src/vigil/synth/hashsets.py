"""Hash sets: the known (alert) material in VICS 2.0, VICS 1.x and ICSE forms, and NSRL known-good.

VICS 1.x is written with a UTF-8 BOM, uppercase hex and "true"/"false" string flags, the way
some exporters do. PDQ travels in VICS AlternativeHashes with HashName "PDQ".
"""

from __future__ import annotations

import hashlib
import json
import random
import sqlite3
import zlib
from pathlib import Path

from vigil.synth.model import MediaFile

VICS2_CONTEXT = (
    "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/CUSTOM/$metadata#Media"
)
VICS1_CONTEXT = "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml/UK/$metadata#Cases"
ICSE_HEADER = [
    "MD5",
    "SHA1",
    "PhotoDNA",
    "Image ID",
    "Is distributed",
    "Victim identified",
    "Offender identified",
    "Series name",
    "Category",
]


def _vics_media(
    number: int, media: MediaFile, upper: bool, string_flags: bool
) -> dict[str, object]:
    def hexed(value: str) -> str:
        return value.upper() if upper else value

    def flag(value: bool) -> object:
        return ("true" if value else "false") if string_flags else value

    return {
        "MediaID": number,
        "Category": 1,
        "MD5": hexed(media.md5),
        "SHA1": hexed(media.sha1),
        "PhotoDNA": "",
        "MediaSize": media.size_bytes,
        "VictimIdentified": flag(number % 3 == 0),
        "OffenderIdentified": flag(False),
        "IsDistributed": flag(True),
        "Series": "",
        "Tags": "",
        "Comments": "synthetic test entry",
        "AlternativeHashes": [
            {"HashName": "PDQ", "HashValue": media.pdq or ""},
            {"HashName": "SHA256", "HashValue": hexed(media.sha256)},
        ],
        "MediaFiles": [{"FileName": media.name, "FilePath": f"evidence/{media.name}"}],
    }


def write_hashsets(
    out: Path,
    known: list[MediaFile],
    ignorable: list[MediaFile],
    seed: int,
    sources: list[dict[str, object]],
) -> None:
    folder = out / "hashsets"
    folder.mkdir(parents=True, exist_ok=True)
    vics2 = {
        "@odata.context": VICS2_CONTEXT,
        "value": [_vics_media(n, m, False, False) for n, m in enumerate(known, start=1)],
    }
    (folder / "known-vics2.json").write_text(json.dumps(vics2, indent=1), encoding="utf-8")
    vics1 = {
        "odata.metadata": VICS1_CONTEXT,
        "value": [
            {
                "CaseID": 1,
                "CaseNumber": "SYN-2006-001",
                "ContactName": "Case Officer",
                "Media": [_vics_media(n, m, True, True) for n, m in enumerate(known, start=1)],
            }
        ],
    }
    (folder / "known-vics1.json").write_bytes(
        b"\xef\xbb\xbf" + json.dumps(vics1, indent=1).encode()
    )
    _icse(folder / "icse-baseline.csv", known[: max(1, len(known) // 2)])
    decoys = _decoys(seed)
    _nsrl_sqlite(folder / "nsrl-rds.db", ignorable, decoys)
    _nsrl_text(folder / "NSRLFile.txt", ignorable, decoys)
    sources += [
        {
            "format": "vics",
            "path": "hashsets/known-vics2.json",
            "name": "vics-known",
            "kind": "alert",
        },
        {
            "format": "vics",
            "path": "hashsets/known-vics1.json",
            "name": "vics-cases",
            "kind": "alert",
        },
        {"format": "nsrl", "path": "hashsets/nsrl-rds.db", "name": "nsrl-rds", "kind": "ignorable"},
        {
            "format": "nsrl",
            "path": "hashsets/NSRLFile.txt",
            "name": "nsrl-legacy",
            "kind": "ignorable",
        },
        {
            "format": "icse",
            "path": "hashsets/icse-baseline.csv",
            "name": "icse-baseline",
            "kind": "alert",
        },
    ]


def _icse(path: Path, known: list[MediaFile]) -> None:
    lines = [";".join(ICSE_HEADER)]
    for number, media in enumerate(known, start=1):
        lines.append(
            ";".join(
                [
                    media.md5.upper(),
                    media.sha1.upper(),
                    "",
                    f"ICSE-{number:06d}",
                    "true",
                    "false",
                    "false",
                    "",
                    "1",
                ]
            )
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _decoys(seed: int) -> list[tuple[str, bytes]]:
    """Known-good entries for files that never appear in the evidence, as in the real NSRL."""
    rng = random.Random(f"{seed}:nsrl")
    return [
        (
            f"{rng.choice(['lib', 'app', 'res'])}{n}.{rng.choice(['dll', 'exe', 'txt'])}",
            rng.randbytes(rng.randint(64, 512)),
        )
        for n in range(40)
    ]


def _rows(ignorable: list[MediaFile], decoys: list[tuple[str, bytes]]) -> list[tuple]:
    rows = [
        (
            m.sha256.upper(),
            m.sha1.upper(),
            m.md5.upper(),
            f"{zlib.crc32(m.data):08X}",
            m.name,
            m.size_bytes,
        )
        for m in ignorable
    ]
    for name, data in decoys:
        rows.append(
            (
                hashlib.sha256(data).hexdigest().upper(),
                hashlib.sha1(data).hexdigest().upper(),
                hashlib.md5(data).hexdigest().upper(),
                f"{zlib.crc32(data):08X}",
                name,
                len(data),
            )
        )
    return rows


def _nsrl_sqlite(path: Path, ignorable: list[MediaFile], decoys: list[tuple[str, bytes]]) -> None:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    try:
        db.executescript("""
            CREATE TABLE VERSION (version TEXT, build_set TEXT, build_date TEXT,
                release_date TEXT, description TEXT);
            CREATE TABLE PKG (package_id INTEGER PRIMARY KEY, name TEXT, version TEXT,
                operating_system_id INTEGER, manufacturer_id INTEGER, language TEXT,
                application_type TEXT);
            CREATE TABLE FILE (sha256 TEXT NOT NULL, sha1 TEXT NOT NULL, md5 TEXT NOT NULL,
                crc32 TEXT NOT NULL, file_name TEXT NOT NULL, file_size INTEGER NOT NULL,
                package_id INTEGER NOT NULL);
            CREATE INDEX FILE_sha256 ON FILE (sha256);
        """)
        db.execute(
            "INSERT INTO VERSION VALUES ('2006.03.1', 'minimal', '2006-03-01', "
            "'2006-03-01', 'synthetic NSRL-style RDSv3 subset')"
        )
        db.executemany(
            "INSERT INTO PKG VALUES (?, ?, '1.0', 1, 1, 'English', 'Utility')",
            [(n, f"Sample Suite {n}") for n in range(1, 5)],
        )
        db.executemany(
            "INSERT INTO FILE VALUES (?, ?, ?, ?, ?, ?, ?)",
            [(*row, 1 + n % 4) for n, row in enumerate(_rows(ignorable, decoys))],
        )
        db.commit()
    finally:
        db.close()


def _nsrl_text(path: Path, ignorable: list[MediaFile], decoys: list[tuple[str, bytes]]) -> None:
    lines = [
        '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"'
    ]
    for n, (_, sha1, md5, crc, name, size) in enumerate(_rows(ignorable, decoys)):
        lines.append(f'"{sha1}","{md5}","{crc}","{name}",{size},{1 + n % 4},"358",""')
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
