"""Writing and verifying a referral package: a directory a foreign agency can trust.

The package holds ``manifest.json`` (subjects, accounts, selectors, the evidence summary,
the sources with their SHA-256), ``summary.pdf`` for people, and ``files.csv`` (every file by
its hashes, for the receiving unit's own hash tools). The manifest lists the SHA-256 and size
of every other file, and the manifest's own SHA-256 is what Vigil records for the referral,
so one hash vouches for the whole package. Verification recomputes all of it and also
refuses any media: a package carries hashes and metadata, never images or video.
"""

from __future__ import annotations

import base64
import csv
import dataclasses
import hashlib
import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.errors import BadInput, UsageError
from vigil.referral.model import PackageContent
from vigil.referral.pdf import render_summary_pdf

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
FILES_CSV_NAME = "files.csv"
SUMMARY_NAME = "summary.pdf"
SIGNATURE_NAME = "manifest.sig"  # the node's Ed25519 signature over manifest.json's bytes

# Leading bytes of image and video containers (offset, signature).
MEDIA_SIGNATURES: tuple[tuple[int, bytes], ...] = (
    (0, b"\xff\xd8\xff"),  # JPEG
    (0, b"\x89PNG\r\n\x1a\n"),
    (0, b"GIF87a"),
    (0, b"GIF89a"),
    (0, b"BM"),  # BMP
    (0, b"II*\x00"),  # TIFF
    (0, b"MM\x00*"),
    (0, b"\x1aE\xdf\xa3"),  # Matroska / WebM
    (4, b"ftyp"),  # MP4, MOV, HEIC
    (0, b"\x00\x00\x01\xba"),  # MPEG-PS
    (0, b"FLV"),
)
RIFF_MEDIA = (b"WEBP", b"AVI ")


@dataclass(frozen=True)
class PackageResult:
    directory: Path
    manifest_sha256: str
    files: list[str]


@dataclass(frozen=True)
class VerifyReport:
    directory: Path
    manifest_sha256: str | None
    checked_files: int
    problems: list[str]

    @property
    def ok(self) -> bool:
        return not self.problems


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(dataclasses.asdict(value), default=str))


def _files_csv(content: PackageContent) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["sha256", "md5", "sha1", "size_bytes", "status", "category", "series"])
    for f in content.files:
        writer.writerow(
            [
                f.sha256 or "",
                f.md5 or "",
                f.sha1 or "",
                f.size_bytes or "",
                f.status,
                f.category or "",
                f.series or "",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def manifest_body(content: PackageContent) -> dict[str, Any]:
    body = _jsonable(content)
    known = sum(1 for f in content.files if f.status == "known-alert")
    new = sum(1 for f in content.files if f.status == "new")
    return {
        "vigil_referral_manifest": MANIFEST_VERSION,
        "reference": content.reference,
        "country": content.country,
        "sending_agency": content.sending_agency,
        "prepared_by": content.prepared_by,
        "prepared_at": content.prepared_at.isoformat(),
        "cases": content.cases,
        "subjects": body["subjects"],
        "evidence": {
            "files": body["files"],
            "file_counts": {"total": len(content.files), "known_alert": known, "new": new},
            "event_counts": content.event_counts,
            "first_event": content.first_event.isoformat() if content.first_event else None,
            "last_event": content.last_event.isoformat() if content.last_event else None,
        },
        "sources": body["sources"],
        "media_included": False,
    }


def write_package(
    content: PackageContent, directory: Path, signer: PackageSigner | None = None
) -> PackageResult:
    """Write the package into an empty (or new) ``directory``; returns the manifest hash.

    Written into a staging folder beside it and renamed into place once complete, so a full
    disk leaves no half-written package (``BadInput``, the staging folder removed). With a
    ``signer`` the manifest's bytes are signed (``SIGNATURE_NAME``).
    """
    if directory.exists() and any(directory.iterdir()):
        raise UsageError(f"referral package directory is not empty: {directory}")
    payloads = {
        SUMMARY_NAME: render_summary_pdf(content),
        FILES_CSV_NAME: _files_csv(content),
    }
    for name, data in payloads.items():
        problem = media_problem(name, data)
        if problem:  # a bug, never user data: refuse rather than ship media
            raise BadInput(problem, source=str(directory))
    manifest = manifest_body(content)
    manifest["package_files"] = [
        {"name": name, "sha256": _sha256(data), "size_bytes": len(data)}
        for name, data in sorted(payloads.items())
    ]
    manifest_bytes = (json.dumps(manifest, indent=2, ensure_ascii=False) + "\n").encode()
    written = {**payloads, MANIFEST_NAME: manifest_bytes}
    if signer is not None:
        signature = {
            "public_key": signer.public_key,
            "signature": base64.b64encode(signer.sign(manifest_bytes)).decode("ascii"),
        }
        written[SIGNATURE_NAME] = (json.dumps(signature, indent=2) + "\n").encode()
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{directory.name}.", dir=directory.parent))
    try:
        for name, data in written.items():
            with (staging / name).open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        staging.chmod(0o755)
        staging.replace(directory)  # an empty target folder is replaced too
    except OSError as exc:
        raise BadInput(f"cannot write: {exc.strerror or exc}", source=str(directory)) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return PackageResult(directory, _sha256(manifest_bytes), sorted(written))


@dataclass(frozen=True)
class PackageSigner:
    """Who signs a package: the node key's public half (``ed25519:...``) and its signing."""

    public_key: str
    sign: Callable[[bytes], bytes]


def package_signature(directory: Path) -> tuple[str, bytes] | None:
    """The public key and signature a package carries, or None when it is unsigned."""
    path = directory / SIGNATURE_NAME
    if not path.is_file():
        return None
    try:
        body = json.loads(path.read_bytes())
        return str(body["public_key"]), base64.b64decode(body["signature"], validate=True)
    except (ValueError, KeyError, TypeError):
        return "", b""


def media_problem(name: str, data: bytes) -> str | None:
    """Why ``data`` looks like (or embeds) media, or None."""
    for offset, signature in MEDIA_SIGNATURES:
        if data[offset : offset + len(signature)] == signature:
            return f"{name} is media ({signature!r} signature)"
    if data[:4] == b"RIFF" and data[8:12] in RIFF_MEDIA:
        return f"{name} is media (RIFF {data[8:12]!r})"
    if name.endswith(".pdf") and b"/Subtype /Image" in data:
        return f"{name} embeds an image"
    return None


def verify_package(directory: Path, expected_manifest_sha256: str | None = None) -> VerifyReport:
    """Recompute every hash the manifest lists; any difference, extra file or media fails."""
    manifest_path = directory / MANIFEST_NAME
    if not manifest_path.is_file():
        return VerifyReport(directory, None, 0, [f"no {MANIFEST_NAME} in {directory}"])
    manifest_bytes = manifest_path.read_bytes()
    manifest_sha = _sha256(manifest_bytes)
    problems: list[str] = []
    if expected_manifest_sha256 and manifest_sha != expected_manifest_sha256:
        problems.append(
            f"{MANIFEST_NAME} SHA-256 is {manifest_sha}, the referral recorded "
            f"{expected_manifest_sha256}"
        )
    try:
        manifest = json.loads(manifest_bytes)
        listed = {item["name"]: item for item in manifest["package_files"]}
    except (ValueError, KeyError, TypeError) as exc:
        return VerifyReport(directory, manifest_sha, 0, [f"{MANIFEST_NAME} unreadable: {exc}"])
    present = {p.name for p in directory.iterdir()} - {MANIFEST_NAME, SIGNATURE_NAME}
    for extra in sorted(present - set(listed)):
        problems.append(f"{extra} is not listed in the manifest")
        if (directory / extra).is_file():
            problem = media_problem(extra, (directory / extra).read_bytes())
            if problem:
                problems.append(problem)
    checked = 0
    for name, item in sorted(listed.items()):
        path = directory / name
        if Path(name).name != name or not path.is_file():
            problems.append(f"{name} is listed but missing")
            continue
        data = path.read_bytes()
        checked += 1
        if _sha256(data) != item.get("sha256"):
            problems.append(f"{name} does not match its SHA-256 in the manifest")
        if len(data) != item.get("size_bytes"):
            problems.append(
                f"{name} is {len(data)} bytes, the manifest says {item.get('size_bytes')}"
            )
        problem = media_problem(name, data)
        if problem:
            problems.append(problem)
    if manifest.get("media_included") is not False:
        problems.append("the manifest does not state that no media is included")
    return VerifyReport(directory, manifest_sha, checked, problems)
