"""CyberTipline report XML (docs/formats.md "Provider reports"), element names of NCMEC's API.

A document is one ``<report>``, a ``<reports>`` wrapper around many, and a directory holds
any number of either (each file is its own source). What is kept:

- the reported person: an account (platform = ``espService``, username = ``screenName``, else
  ``espIdentifier``; stable id = ``espIdentifier``) and everything seen on it: emails, phones
  (read in ``estimatedLocation/countryCode``), ``deviceId``, ``profileUrl``, IP capture
  events (with ``possibleProxy``); the report's summary, reporter, internet details, name,
  country and unknown elements go in that account's sighting ``extra``;
- ``intendedRecipient``: the same, with role ``recipient``;
- ``victim``: the same, with role ``victim`` and never as an actor, so resolve makes victim
  subjects and never merges them with suspects;
- ``fileDetails``: one ``upload`` event per file, with a File named by its
  ``originalFileHash`` (MD5, SHA-1 or SHA-256; the type from ``@hashType`` or the length).

Security: the XML is parsed by lxml with ``resolve_entities=False``, ``no_network=True`` and
``huge_tree=False``; any DTD (internal entity declarations, external entities) is refused as
bad input. Times without an offset are read as UTC, with a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from lxml import etree

from vigil.errors import BadInput
from vigil.formats.registry import SOURCE_FORMATS
from vigil.formats.safe_xml import (
    children,
    first,
    first_text,
    parse_xml,
    path_text,
    texts,
    to_data,
    unknown_children,
)
from vigil.formats.source_common import (
    clean_hash,
    file_documents,
    parse_iso_datetime,
    read_bytes,
    selector,
)
from vigil.formats.source_records import (
    DIRTY_KEY,
    ROLE_RECIPIENT,
    ROLE_REPORTED,
    ROLE_VICTIM,
    AccountRef,
    EventRecord,
    FileRef,
    ParsedSource,
    ParseOptions,
    SelectorRef,
    SourceDocument,
)

_PERSON_KNOWN = {
    "personOrUserReportedPerson",
    "espIdentifier",
    "espService",
    "screenName",
    "displayName",
    "profileUrl",
    "ipCaptureEvent",
    "deviceId",
    "estimatedLocation",
}
_REPORT_KNOWN = {
    "incidentSummary",
    "internetDetails",
    "reporter",
    "personOrUserReported",
    "intendedRecipient",
    "victim",
    "fileDetails",
    "reportId",
}
_FILE_KNOWN = {
    "fileId",
    "originalFileName",
    "originalFileHash",
    "ipCaptureEvent",
    "fileAnnotations",
    "industryClassification",
}
_HASH_TYPES = {"md5": 32, "sha1": 40, "sha-1": 40, "sha256": 64, "sha-256": 64}
_HASH_NAMES = {32: "md5", 40: "sha1", 64: "sha256"}


@SOURCE_FORMATS.register("cybertip")
class CyberTipParser:
    name: ClassVar[str] = "cybertip"

    def documents(self, location: str) -> Iterator[SourceDocument]:
        return file_documents(location, (".xml",))

    def parse(self, document: SourceDocument, options: ParseOptions) -> ParsedSource:
        parsed = ParsedSource(kind=self.name, name=document.name)
        root = parse_xml(read_bytes(document), document.name, ("report", "reports"))
        reports = [root] if root.tag == "report" else [c for c in root if c.tag == "report"]
        providers: set[str] = set()
        for index, report in enumerate(reports, start=1):
            _ReportReader(parsed, report, index, options, providers).read()
            parsed.records += 1
        parsed.extra = {"reports": parsed.records, "services": sorted(providers)}
        return parsed


class _ReportReader:
    """One report, read in one walk per element: each element's children are grouped by tag
    once (``children``) and every field is a dict lookup after that."""

    def __init__(
        self,
        parsed: ParsedSource,
        report: etree._Element,
        index: int,
        options: ParseOptions,
        providers: set[str],
    ):
        self.parsed = parsed
        self.report = report
        self.fields = children(report)
        self.options = options
        self.providers = providers
        self.report_id = first_text(self.fields.get("reportId")) or report.get("id") or str(index)
        self.where = f"report {self.report_id} (line {report.sourceline})"

    def _time(self, raw: str | None) -> datetime | None:
        if raw is None:
            return None
        if not raw.rstrip().endswith(("Z", "z")) and "+" not in raw[10:] and "-" not in raw[10:]:
            self.parsed.warnings.append(f"{self.where}: time {raw!r} has no offset; read as UTC")
        return parse_iso_datetime(raw, self.parsed.name, self.where, naive_is_utc=True)

    def read(self) -> None:
        fields = self.fields
        incident = texts(first(fields.get("incidentSummary")))
        incident_at = self._time(incident.get("incidentDateTime"))
        summary = {
            "report_id": self.report_id,
            "incident_type": incident.get("incidentType"),
            "incident_at": incident_at.isoformat() if incident_at else None,
        }
        reporter = first(fields.get("reporter"))
        if reporter is not None:
            summary["reporter"] = to_data(reporter)
        internet = first(fields.get("internetDetails"))
        if internet is not None:
            summary["internet_details"] = to_data(internet)
        unknown = unknown_children(fields, _REPORT_KNOWN)
        if unknown:  # the person's own unknown elements go in "unknown"
            summary["report_unknown"] = unknown
        reported = [
            self._person(p, ROLE_REPORTED, incident_at, None, summary)
            for p in fields.get("personOrUserReported", ())
        ]
        actor, ip = reported[0] if reported else (None, None)
        main_service = actor.platform if actor else self.options.platform
        recipients = [
            self._person(
                p, ROLE_RECIPIENT, incident_at, main_service, {"report_id": self.report_id}
            )[0]
            for p in fields.get("intendedRecipient", ())
        ]
        for number, victim in enumerate(fields.get("victim", ()), start=1):
            self._person(
                victim,
                ROLE_VICTIM,
                incident_at,
                main_service,
                {"report_id": self.report_id, "victim_index": number},
            )
        if actor is None and not reported:
            self.parsed.extra.setdefault("reports_without_reported_person", []).append(summary)
        for number, details in enumerate(fields.get("fileDetails", ()), start=1):
            self._file(details, number, actor, ip, incident_at, recipients)

    def _person(
        self,
        element: etree._Element,
        role: str,
        when: datetime | None,
        default_service: str | None,
        context_extra: dict[str, Any],
    ) -> tuple[AccountRef | None, SelectorRef | None]:
        parsed, where = self.parsed, self.where
        fields = children(element)
        service = first_text(fields.get("espService")) or default_service or self.options.platform
        if service and role == ROLE_REPORTED:
            self.providers.add(service)
        esp_id = first_text(fields.get("espIdentifier"))
        username = first_text(fields.get("screenName")) or esp_id
        country = path_text(fields.get("estimatedLocation"), "countryCode")
        person = children(first(fields.get("personOrUserReportedPerson")))
        names = [first_text(person.get("firstName")), first_text(person.get("lastName"))]
        extra: dict[str, Any] = {**context_extra, "role": role}
        if any(names):
            extra["name"] = " ".join(n for n in names if n)
        if country:
            extra["country"] = country.upper()
        if display := first_text(fields.get("displayName")):
            extra["display_name"] = display
        if (address := first(person.get("address"))) is not None:
            extra["address"] = to_data(address)
        unknown = unknown_children(fields, _PERSON_KNOWN)
        if unknown:
            extra["unknown"] = unknown
        account = None
        context = f"cybertip {role} {self.report_id}"
        start = len(parsed.sightings)
        if username:
            account = parsed.account(
                AccountRef(service or "cybertip", username, esp_id),
                when,
                context,
                role=role,
                extra=extra,
            )
        selector_extra = {"report_id": self.report_id, "role": role}
        if account is None:  # victims and others known only by their details
            selector_extra.update(extra)

        def seen(ref: SelectorRef | None, at: datetime | None = when, **more: Any) -> None:
            parsed.seen(ref, account, at, context, role=role, extra={**selector_extra, **more})

        for email in person.get("email", ()):
            if email.text and email.text.strip():
                seen(selector(parsed, "email", email.text, where))
        for phone in person.get("phone", ()):
            if phone.text and phone.text.strip():
                raw = phone.text.strip()
                calling = phone.get("countryCallingCode") or phone.get("countryCode")
                if calling and not raw.startswith("+") and calling.isdigit():
                    raw = f"+{calling}{raw}"
                seen(selector(parsed, "phone", raw, where, region=country))
        for device in fields.get("deviceId", ()):
            if device.text and device.text.strip():
                seen(selector(parsed, "device", device.text, where))
        if profile := first_text(fields.get("profileUrl")):
            seen(selector(parsed, "url", profile, where))
        last_ip = None
        for capture in fields.get("ipCaptureEvent", ()):
            captured = self._capture(texts(capture), account, role, context, selector_extra)
            last_ip = captured or last_ip
        # With an account, each dirty value went on a sighting of it (``seen``). A person known
        # only by their details has no account: their dirty values go on each of their
        # sightings, and on the source only if nothing else was read of them.
        placed = parsed.sightings[start:] if account is None else []
        if placed and (dirty := parsed.take_dirty()):
            for record in placed:
                record.extra = {**(record.extra or {}), DIRTY_KEY: dirty}
        return account, last_ip

    def _capture(
        self,
        fields: dict[str, str | None],
        account: AccountRef | None,
        role: str,
        context: str,
        selector_extra: dict[str, Any],
    ) -> SelectorRef | None:
        """One ``ipCaptureEvent`` (its children's ``texts``)."""
        raw = fields.get("ipAddress")
        if raw is None:
            return None
        ip = selector(self.parsed, "ip", raw, self.where)
        at = self._time(fields.get("dateTime"))
        if ip is None:  # a dirty address: a warning, kept on the account's sighting; no capture
            self.parsed.seen(None, account, at, context, role=role, extra=selector_extra)
            return None
        proxy_text = (fields.get("possibleProxy") or "").lower()
        proxy = True if proxy_text == "true" else False if proxy_text == "false" else None
        event_name = fields.get("eventName")
        more = {"possible_proxy": proxy, "event_name": event_name}
        self.parsed.seen(ip, account, at, context, role=role, extra={**selector_extra, **more})
        if role != ROLE_VICTIM:
            self.parsed.events.append(
                EventRecord(
                    "ip_capture", at, account, ip=ip, extra={"report_id": self.report_id, **more}
                )
            )
        return ip

    def _file(
        self,
        details: etree._Element,
        number: int,
        actor: AccountRef | None,
        ip: SelectorRef | None,
        when: datetime | None,
        recipients: list[AccountRef | None],
    ) -> None:
        where = f"{self.where} fileDetails {number}"
        fields = children(details)
        hashes: dict[str, str] = {}
        other_hashes: dict[str, str] = {}
        for element in fields.get("originalFileHash", ()):
            value = (element.text or "").strip()
            if not value:
                continue
            kind = (element.get("hashType") or "").lower().replace("_", "-")
            length = _HASH_TYPES.get(kind) or (len(value) if not kind else None)
            if length is None:
                other_hashes[element.get("hashType") or "unknown"] = value
                continue
            name = _HASH_NAMES.get(length)
            if name is None:
                raise BadInput(
                    f"hash of unknown type: {value!r}", source=self.parsed.name, location=where
                )
            hashes[name] = clean_hash(value, length, self.parsed.name, where) or ""
        capture = first(fields.get("ipCaptureEvent"))
        if capture is not None:
            capture_fields = texts(capture)
            ip = (
                self._capture(
                    capture_fields,
                    actor,
                    ROLE_REPORTED,
                    f"cybertip file {self.report_id}",
                    {"report_id": self.report_id},
                )
                or ip
            )
            when = self._time(capture_fields.get("dateTime")) or when
        file_name = first_text(fields.get("originalFileName"))
        file = (
            FileRef(hashes.get("md5"), hashes.get("sha1"), hashes.get("sha256"), name=file_name)
            if hashes
            else None
        )
        extra: dict[str, Any] = {
            "report_id": self.report_id,
            "file_id": first_text(fields.get("fileId")),
            "file_name": file_name,
            "intended_recipients": [r.username for r in recipients if r is not None],
        }
        for tag in ("fileAnnotations", "industryClassification"):
            element = first(fields.get(tag))
            if element is not None:
                extra[tag] = to_data(element)
        if other_hashes:
            extra["other_hashes"] = other_hashes
        unknown = unknown_children(fields, _FILE_KNOWN)
        if unknown:
            extra["unknown"] = unknown
        self.parsed.events.append(
            EventRecord(
                "upload",
                when,
                actor,
                file=file,
                ip=ip,
                send_key=f"{self.report_id}:{number}",
                extra=extra,
            )
        )
