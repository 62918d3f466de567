"""Project VIC VICS JSON: 1.x (``odata.metadata``) and 2.0 (``@odata.context``), in the
``#Media`` shape (``value[]`` is media) and the ``#Cases`` shape (``value[i].Media[]``).

Files can hold millions of media, so they are parsed as a stream with ijson: one media object
is built at a time, and a case's ``Media`` array is never held whole. Flags may be booleans or
strings, hex either case, and a UTF-8 BOM is skipped. Vigil carries PDQ in
``AlternativeHashes`` as ``{"HashName": "PDQ"}`` (and SHA-256 as ``"SHA256"``, video frame
PDQs as a comma-separated ``"vPDQ"``); PhotoDNA is kept, never computed. What Vigil does not
model is kept in ``extra`` and written back on export, so an export re-imports identically.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import ijson  # type: ignore[import-untyped]

from vigil.errors import BadInput
from vigil.formats.hashrecord import (
    UTF8_BOM,
    UTF16_BOMS,
    HashRecord,
    HashSetFormat,
    clean_hex,
    open_binary,
    optional_text,
    parse_flag,
    parse_size,
)
from vigil.formats.registry import HASHSET_FORMATS

CONTEXT_V2 = "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/2.0.xml/US/$metadata"
CONTEXT_KEYS = {"odata.metadata": "1.x", "@odata.context": "2.0"}
READ_CHUNK_BYTES = 16 * 1024  # small chunks keep "near line N" in error messages close

_MODELLED = {
    "MediaID",
    "Category",
    "MD5",
    "SHA1",
    "SHA256",
    "PhotoDNA",
    "MediaSize",
    "VictimIdentified",
    "OffenderIdentified",
    "IsDistributed",
    "Series",
    "AlternativeHashes",
    "MediaFiles",
    "Tags",
    "Comments",
    "Vigil",
}


class _LineCounter:
    """A file wrapper that counts newlines handed to the parser, to place syntax errors."""

    def __init__(self, raw: BinaryIO):
        self.raw = raw
        self.lines = 1

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.lines += data.count(b"\n")
        return data


@dataclass
class VicsCase:
    """One case of a ``#Cases`` export: triage writes a case's files this way."""

    case_id: str
    name: str | None = None
    media: Iterable[HashRecord] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@HASHSET_FORMATS.register("vics")
class VicsFormat(HashSetFormat):
    name = "vics"
    can_write = True

    def read(self, path: Path, *, hash_type: str | None = None) -> Iterator[HashRecord]:
        source = str(path)
        for number, media in enumerate(_media_objects(path), start=1):
            yield media_record(media, source=source, location=f"media record {number}")

    def write(self, records: Iterable[HashRecord], path: Path) -> int:
        """A VICS 2.0 ``#Media`` file, written to a temporary name and then renamed."""
        count = 0

        def body(out: Any) -> None:
            nonlocal count
            out.write('{"@odata.context": ' + json.dumps(CONTEXT_V2 + "#Media") + ',"value": [')
            for record in records:
                out.write(("\n" if count == 0 else ",\n") + json.dumps(media_json(record)))
                count += 1
            out.write("\n]}\n")

        _write_atomically(path, body)
        return count


def write_vics_cases(path: Path, cases: Iterable[VicsCase]) -> int:
    """A VICS 2.0 ``#Cases`` file; returns the number of media written."""
    count = 0

    def body(out: Any) -> None:
        nonlocal count
        out.write('{"@odata.context": ' + json.dumps(CONTEXT_V2 + "#Cases") + ',"value": [')
        for number, case in enumerate(cases):
            head = {"CaseID": case.case_id, **({"CaseName": case.name} if case.name else {})}
            head.update(case.extra)
            out.write(("\n" if number == 0 else ",\n") + json.dumps(head)[:-1] + ',"Media": [')
            for index, record in enumerate(case.media):
                out.write(("\n" if index == 0 else ",\n") + json.dumps(media_json(record)))
                count += 1
            out.write("\n]}")
        out.write("\n]}\n")

    _write_atomically(path, body)
    return count


def _write_atomically(path: Path, body: Any) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("w", encoding="utf-8") as out:
            body(out)
        os.replace(temporary, path)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise BadInput(f"cannot write: {exc.strerror or exc}", source=str(path)) from exc
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


# --- reading ------------------------------------------------------------------------------


def _media_objects(path: Path) -> Iterator[dict[str, Any]]:
    """Yield each media object, whichever version and shape.

    A first, short pass reads events only up to the first item of ``value[]`` to check the
    root and learn the shape; the second pass lets ijson's C backend build each media object
    (at ``value.item`` or ``value.item.Media.item``), which is many times faster than
    assembling objects from events in Python.
    """
    source = str(path)
    with open_binary(path) as raw:
        head = raw.read(3)
        if head.startswith(UTF16_BOMS):
            raise BadInput("is UTF-16; VICS JSON must be UTF-8", source=source, location="line 1")
        if head != UTF8_BOM:
            raw.seek(0)
        _expect_object(raw, source)
        start = raw.tell()
        counter = _LineCounter(raw)
        try:
            items_prefix = _scan_shape(counter, source)
            raw.seek(start)
            counter.lines = 1
            yield from ijson.items(counter, items_prefix, buf_size=READ_CHUNK_BYTES, use_float=True)
        except ijson.JSONError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else "malformed"
            raise BadInput(
                f"not valid JSON ({reason})", source=source, location=f"near line {counter.lines}"
            ) from exc
        except UnicodeDecodeError as exc:
            raise BadInput(
                f"not UTF-8 ({exc.reason})", source=source, location=f"near line {counter.lines}"
            ) from exc


def _expect_object(raw: BinaryIO, source: str) -> None:
    """Fail at once, on the right line, on XML or other non-JSON: "not my format"."""
    start = raw.tell()
    lead = raw.read(4096)
    stripped = lead.lstrip()
    if stripped and not stripped.startswith(b"{"):
        line = 1 + lead[: len(lead) - len(stripped)].count(b"\n")
        looks = " (looks like XML)" if stripped.startswith(b"<") else ""
        raise BadInput(
            f"not a VICS file: the root must be a JSON object{looks}",
            source=source,
            location=f"line {line}",
        )
    raw.seek(start)


def _scan_shape(handle: _LineCounter, source: str) -> str:
    """Check the root up to the first item; return the ijson prefix of media objects."""
    version: str | None = None
    saw_value = False
    shape = "value.item"
    events = ijson.parse(handle, buf_size=READ_CHUNK_BYTES)
    for prefix, event, value in events:
        if prefix == "":
            if event == "end_map":
                break
            continue
        if prefix in CONTEXT_KEYS and event == "string":
            version = CONTEXT_KEYS[prefix]
        elif prefix == "value":
            if event == "start_array":
                saw_value = True
            elif event == "end_array":
                break
            else:
                raise BadInput("not a VICS file: value must be an array", source=source)
        elif prefix == "value.item":
            if event == "map_key":
                if value == "Media":
                    shape = "value.item.Media.item"
                    break
            elif event == "end_map":
                break
            elif event != "start_map":
                raise BadInput("not a VICS file: value[] must hold objects", source=source)
    if not saw_value:
        raise BadInput("not a VICS file: no value[] array", source=source)
    if version is None:  # OData puts its context first, so it is known by now
        raise BadInput("not a VICS file: no odata.metadata or @odata.context", source=source)
    return shape


def media_record(media: Any, *, source: str, location: str) -> HashRecord:
    """One VICS media object as a HashRecord; anything unmodelled is kept in ``extra``."""
    if not isinstance(media, dict):
        raise BadInput("a media entry must be a JSON object", source=source, location=location)
    where = {"source": source, "location": location}
    vigil_extra = media.get("Vigil") or {}
    listed = media.get("AlternativeHashes") or []
    if not isinstance(vigil_extra, dict) or not isinstance(listed, list):
        raise BadInput("Vigil must be an object and AlternativeHashes a list", **where)
    extra: dict[str, Any] = dict(vigil_extra)
    pdq, sha256, video = None, media.get("SHA256"), None
    alternatives = []
    for alternative in listed:
        if not isinstance(alternative, dict):
            raise BadInput("AlternativeHashes entries must be objects", **where)
        label = str(alternative.get("HashName", "")).strip().lower().replace("-", "")
        hash_value = alternative.get("HashValue")
        if label == "pdq":
            pdq = hash_value
        elif label == "sha256" and not sha256:
            sha256 = hash_value
        elif label == "vpdq":
            frames = str(hash_value or "").split(",")
            video = [clean_hex(frame, "pdq", **where) for frame in frames if frame.strip()]
        else:
            alternatives.append(alternative)
    if alternatives:
        extra["alternative_hashes"] = alternatives
    if video:
        extra["video_pdq"] = video
    files = media.get("MediaFiles") or []
    if not isinstance(files, list) or not all(isinstance(f, dict) for f in files):
        raise BadInput("MediaFiles must be a list of objects", **where)
    if files and files != [{"FileName": files[0].get("FileName")}]:
        extra["media_files"] = files
    for key, name in (("Tags", "tags"), ("Comments", "comments")):
        if media.get(key) not in (None, "", []):
            extra[name] = media[key]
    unmodelled = {k: v for k, v in media.items() if k not in _MODELLED}
    if unmodelled:
        extra["vics"] = unmodelled
    record = HashRecord(
        md5=clean_hex(media.get("MD5"), "md5", **where),
        sha1=clean_hex(media.get("SHA1"), "sha1", **where),
        sha256=clean_hex(sha256, "sha256", **where),
        pdq=clean_hex(pdq, "pdq", **where),
        photodna=optional_text(media.get("PhotoDNA")),
        media_id=_scalar_text(media.get("MediaID")),
        category=_scalar_text(media.get("Category")),
        series=optional_text(media.get("Series")),
        victim_identified=parse_flag(media.get("VictimIdentified"), "VictimIdentified", **where),
        offender_identified=parse_flag(
            media.get("OffenderIdentified"), "OffenderIdentified", **where
        ),
        distributed=parse_flag(media.get("IsDistributed"), "IsDistributed", **where),
        size_bytes=parse_size(media.get("MediaSize"), **where),
        file_name=optional_text(files[0].get("FileName")) if files else None,
        extra=extra,
        location=location,
    )
    if not record.has_hash():
        raise BadInput("media entry has no MD5, SHA1, PDQ or PhotoDNA", **where)
    return record


def _scalar_text(value: Any) -> str | None:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return optional_text(value)


# --- writing ------------------------------------------------------------------------------


def _number_if_plain(text: str | None) -> int | str | None:
    if text is not None and text.isdigit() and (text == "0" or not text.startswith("0")):
        return int(text)
    return text


def media_json(record: HashRecord) -> dict[str, Any]:
    """A HashRecord as a VICS 2.0 media object (the inverse of ``media_record``)."""
    extra = dict(record.extra)
    media: dict[str, Any] = dict(extra.pop("vics", {}))
    fields = {
        "MediaID": _number_if_plain(record.media_id),
        "Category": _number_if_plain(record.category),
        "MD5": record.md5,
        "SHA1": record.sha1,
        "PhotoDNA": record.photodna,
        "MediaSize": record.size_bytes,
        "VictimIdentified": record.victim_identified,
        "OffenderIdentified": record.offender_identified,
        "IsDistributed": record.distributed,
        "Series": record.series,
        "Tags": extra.pop("tags", None),
        "Comments": extra.pop("comments", None),
    }
    media.update({k: v for k, v in fields.items() if v is not None})
    alternatives = list(extra.pop("alternative_hashes", []))
    if record.pdq:
        alternatives.append({"HashName": "PDQ", "HashValue": record.pdq})
    if record.sha256:
        alternatives.append({"HashName": "SHA256", "HashValue": record.sha256})
    video = extra.pop("video_pdq", None)
    if video:
        alternatives.append({"HashName": "vPDQ", "HashValue": ",".join(video)})
    if alternatives:
        media["AlternativeHashes"] = alternatives
    files = extra.pop("media_files", None)
    if files:
        media["MediaFiles"] = files
    elif record.file_name:
        media["MediaFiles"] = [{"FileName": record.file_name}]
    if extra:
        media["Vigil"] = extra
    return media
