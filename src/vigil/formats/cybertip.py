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
from vigil.formats.safe_xml import parse_xml, text, texts, to_data, unknown_children
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
        self.options = options
        self.providers = providers
        self.report_id = text(report, "reportId") or report.get("id") or str(index)
        self.where = f"report {self.report_id} (line {report.sourceline})"

    def _time(self, raw: str | None) -> datetime | None:
        if raw is None:
            return None
        if not raw.rstrip().endswith(("Z", "z")) and "+" not in raw[10:] and "-" not in raw[10:]:
            self.parsed.warnings.append(f"{self.where}: time {raw!r} has no offset; read as UTC")
        return parse_iso_datetime(raw, self.parsed.name, self.where, naive_is_utc=True)

    def read(self) -> None:
        report = self.report
        incident = texts(report.find("incidentSummary"))
        incident_at = self._time(incident.get("incidentDateTime"))
        summary = {
            "report_id": self.report_id,
            "incident_type": incident.get("incidentType"),
            "incident_at": incident_at.isoformat() if incident_at else None,
        }
        reporter = report.find("reporter")
        if reporter is not None:
            summary["reporter"] = to_data(reporter)
        internet = report.find("internetDetails")
        if internet is not None:
            summary["internet_details"] = to_data(internet)
        unknown = unknown_children(report, _REPORT_KNOWN)
        if unknown:  # the person's own unknown elements go in "unknown"
            summary["report_unknown"] = unknown
        reported = [
            self._person(p, ROLE_REPORTED, incident_at, None, summary)
            for p in report.findall("personOrUserReported")
        ]
        actor, ip = reported[0] if reported else (None, None)
        main_service = actor.platform if actor else self.options.platform
        recipients = [
            self._person(
                p, ROLE_RECIPIENT, incident_at, main_service, {"report_id": self.report_id}
            )[0]
            for p in report.findall("intendedRecipient")
        ]
        for number, victim in enumerate(report.findall("victim"), start=1):
            self._person(
                victim,
                ROLE_VICTIM,
                incident_at,
                main_service,
                {"report_id": self.report_id, "victim_index": number},
            )
        if actor is None and not reported:
            self.parsed.extra.setdefault("reports_without_reported_person", []).append(summary)
        for number, details in enumerate(report.findall("fileDetails"), start=1):
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
        fields = texts(element)
        service = fields.get("espService") or default_service or self.options.platform
        if service and role == ROLE_REPORTED:
            self.providers.add(service)
        esp_id = fields.get("espIdentifier")
        username = fields.get("screenName") or esp_id
        country = text(element, "estimatedLocation/countryCode")
        person = element.find("personOrUserReportedPerson")
        person_fields = texts(person)
        names = [person_fields.get("firstName"), person_fields.get("lastName")]
        extra: dict[str, Any] = {**context_extra, "role": role}
        if any(names):
            extra["name"] = " ".join(n for n in names if n)
        if country:
            extra["country"] = country.upper()
        if display := fields.get("displayName"):
            extra["display_name"] = display
        if person is not None and (address := person.find("address")) is not None:
            extra["address"] = to_data(address)
        unknown = unknown_children(element, _PERSON_KNOWN)
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

        for email in person.findall("email") if person is not None else []:
            if email.text and email.text.strip():
                seen(selector(parsed, "email", email.text, where))
        for phone in person.findall("phone") if person is not None else []:
            if phone.text and phone.text.strip():
                raw = phone.text.strip()
                calling = phone.get("countryCallingCode") or phone.get("countryCode")
                if calling and not raw.startswith("+") and calling.isdigit():
                    raw = f"+{calling}{raw}"
                seen(selector(parsed, "phone", raw, where, region=country))
        for device in element.findall("deviceId"):
            if device.text and device.text.strip():
                seen(selector(parsed, "device", device.text, where))
        if profile := fields.get("profileUrl"):
            seen(selector(parsed, "url", profile, where))
        last_ip = None
        for capture in element.findall("ipCaptureEvent"):
            last_ip = self._capture(capture, account, role, context, selector_extra) or last_ip
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
        capture: etree._Element,
        account: AccountRef | None,
        role: str,
        context: str,
        selector_extra: dict[str, Any],
    ) -> SelectorRef | None:
        fields = texts(capture)
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
        fields = texts(details)
        hashes: dict[str, str] = {}
        other_hashes: dict[str, str] = {}
        for element in details.findall("originalFileHash"):
            value = (element.text or "").strip()
            if not value:
                continue
            kind = (element.get("hashType") or "").lower().replace("_", "-")
            length = _HASH_TYPES.get(kind) or (len(value) if not kind else None)
            if length is None:
                other_hashes[element.get("hashType") or "unknown"] = value
                continue
            name = {32: "md5", 40: "sha1", 64: "sha256"}.get(length)
            if name is None:
                raise BadInput(
                    f"hash of unknown type: {value!r}", source=self.parsed.name, location=where
                )
            hashes[name] = clean_hash(value, length, self.parsed.name, where) or ""
        capture = details.find("ipCaptureEvent")
        if capture is not None:
            ip = (
                self._capture(
                    capture,
                    actor,
                    ROLE_REPORTED,
                    f"cybertip file {self.report_id}",
                    {"report_id": self.report_id},
                )
                or ip
            )
            when = self._time(text(capture, "dateTime")) or when
        file = (
            FileRef(
                hashes.get("md5"),
                hashes.get("sha1"),
                hashes.get("sha256"),
                name=fields.get("originalFileName"),
            )
            if hashes
            else None
        )
        extra: dict[str, Any] = {
            "report_id": self.report_id,
            "file_id": fields.get("fileId"),
            "file_name": fields.get("originalFileName"),
            "intended_recipients": [r.username for r in recipients if r is not None],
        }
        for tag in ("fileAnnotations", "industryClassification"):
            element = details.find(tag)
            if element is not None:
                extra[tag] = to_data(element)
        if other_hashes:
            extra["other_hashes"] = other_hashes
        unknown = unknown_children(details, _FILE_KNOWN)
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
