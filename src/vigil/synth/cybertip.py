"""CyberTipline reports (NCMEC reporting-API element names) from two or three invented providers.

Each provider's accounts are reported at least once; intended recipients are other accounts on
the same service; victims appear only as `victim` elements with a screen name. Files are listed
by hash (`fileDetails/originalFileHash[@hashType]`); reports are not file sends (docs/formats.md).
On each service, the first reported person with no phone had the provider's form say
``DIRTY_PHONE`` in its phone field: a dirty value in a sound report, as real reports hold.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime
from pathlib import Path

import phonenumbers
from lxml import etree

from vigil.synth.ledger import Ledger, Traffic, accounts_on, moment
from vigil.synth.model import Account, MediaFile, Person

INCIDENT_TYPE = "Apparent prohibited media (synthetic test data)"
DIRTY_PHONE = "on request"
SINGLE_REPORTS, REPORTS_PER_BATCH = 3, 10


def _sub(parent: etree._Element, tag: str, text: object = None, **attrs: str) -> etree._Element:
    element = etree.SubElement(parent, tag, **attrs)
    if text is not None:
        element.text = str(text)
    return element


def _stamp(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _written_phone(rng: random.Random, e164: str) -> str:
    number = phonenumbers.parse(e164)
    style = rng.choice(
        [phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL]
    )
    return phonenumbers.format_number(number, style)


def _person_block(
    rng: random.Random,
    parent: etree._Element,
    tag: str,
    person: Person,
    account: Account,
    service: str,
    ledger: Ledger,
    days: int,
    detailed: bool,
    dirty_phone: bool = False,
) -> None:
    block = _sub(parent, tag)
    ledger.account(account)
    if detailed:
        details = _sub(block, f"{tag}Person") if tag == "personOrUserReported" else block
        if tag == "personOrUserReported":
            if person.name and rng.random() < 0.3:
                first, last = person.name.split(" ", 1)
                _sub(details, "firstName", first)
                _sub(details, "lastName", last)
            if account.email:
                _sub(details, "email", account.email)
                ledger.selector(person, "email", account.email)
            if person.phones and rng.random() < 0.6:
                _sub(details, "phone", _written_phone(rng, person.phones[0]))
                ledger.selector(person, "phone", person.phones[0])
            if dirty_phone:
                _sub(details, "phone", DIRTY_PHONE)
    if account.account_id:
        _sub(block, "espIdentifier", account.account_id)
    _sub(block, "espService", service)
    _sub(block, "screenName", account.username)
    if not detailed:
        return
    if rng.random() < 0.3:
        url = f"https://{service.lower()}.example/u/{account.username}"
        _sub(block, "profileUrl", url)
        ledger.selector(person, "url", url)
    ips = [account.ip] + [ip for ip in person.ips if ip != account.ip and rng.random() < 0.5]
    for ip in ips:
        if not ip:
            continue
        event = _sub(block, "ipCaptureEvent")
        _sub(event, "ipAddress", ip)
        _sub(event, "eventName", rng.choice(["Login", "Upload", "Registration"]))
        captured = moment(rng, days)
        _sub(event, "dateTime", _stamp(captured))
        _sub(event, "possibleProxy", "false")
        ledger.selector(person, "ip", ip, captured)
    for device in person.device_ids:
        if device == account.device_id or rng.random() < 0.7:
            _sub(block, "deviceId", device)
            ledger.selector(person, "device", device)
    location = _sub(block, "estimatedLocation")
    _sub(location, "countryCode", person.country)


def _report(
    rng: random.Random,
    service: str,
    reported: tuple[Person, Account],
    recipients: list[tuple[Person, Account]],
    victims: list[tuple[Person, Account]],
    files: list[MediaFile],
    ledger: Ledger,
    days: int,
    dirty_phone: bool,
) -> etree._Element:
    report = etree.Element("report")
    summary = _sub(report, "incidentSummary")
    _sub(summary, "incidentType", INCIDENT_TYPE)
    _sub(summary, "incidentDateTime", _stamp(moment(rng, days)))
    internet = _sub(report, "internetDetails")
    if rng.random() < 0.5:
        chat = _sub(internet, "chatImIncident")
        _sub(chat, "chatClient", f"{service} Messenger")
    else:
        page = _sub(internet, "webPageIncident")
        _sub(page, "url", f"https://{service.lower()}.example/share/{rng.getrandbits(40):010x}")
    reporter = _sub(report, "reporter")
    contact = _sub(reporter, "reportingPerson")
    _sub(contact, "firstName", "Safety")
    _sub(contact, "lastName", "Team")
    _sub(contact, "email", f"safety@{service.lower()}.example")
    _person_block(
        rng, report, "personOrUserReported", *reported, service, ledger, days, True, dirty_phone
    )
    for person, account in recipients:
        _person_block(
            rng, report, "intendedRecipient", person, account, service, ledger, days, False
        )
    for person, account in victims:
        _person_block(rng, report, "victim", person, account, service, ledger, days, False)
    for number, media in enumerate(files, start=1):
        details = _sub(report, "fileDetails")
        _sub(details, "fileId", f"{number:04d}-{media.md5[:8]}")
        _sub(details, "originalFileName", media.name)
        _sub(
            details,
            "originalFileHash",
            media.md5.upper() if rng.random() < 0.3 else media.md5,
            hashType="MD5",
        )
        if rng.random() < 0.5:
            _sub(details, "originalFileHash", media.sha1, hashType="SHA1")
        if rng.random() < 0.5:
            _sub(details, "originalFileHash", media.sha256, hashType="SHA256")
        annotations = _sub(details, "fileAnnotations")
        _sub(annotations, "viewedByEsp", "false")
        _sub(details, "industryClassification", rng.choice(["A1", "B1"]))
    return report


def write_cybertip(traffic: Traffic, esp_platforms: list[str]) -> None:
    out, ledger, persons, days = traffic.out, traffic.ledger, traffic.persons, traffic.days
    folder = out / "cybertip"
    folder.mkdir(parents=True, exist_ok=True)
    suspects = [p for p in persons if p.role != "victim"]
    for service in esp_platforms:
        rng = traffic.rng(f"cybertip:{service}")
        accounts = accounts_on(suspects, service)
        victims = accounts_on([p for p in persons if p.role == "victim"], service)
        slug = service.lower()
        dirty = next((i for i, (person, _a) in enumerate(accounts) if not person.phones), None)
        if dirty is not None:
            written_in = _report_file(folder, slug, dirty).relative_to(out)
            ledger.dirty_value(str(written_in), "phone", DIRTY_PHONE)
        reports = []
        for index, reported in enumerate(accounts):
            others = [pa for pa in accounts if pa[1] is not reported[1]]
            recipients = rng.sample(others, min(len(others), rng.choice([0, 1, 1, 2])))
            named_victims = victims[index :: len(accounts)]
            files = traffic.files_for(rng, reported[0], rng.randint(1, 3))
            reports.append(
                _report(
                    rng,
                    service,
                    reported,
                    recipients,
                    named_victims,
                    files,
                    ledger,
                    days,
                    dirty_phone=index == dirty,
                )
            )
        for index, report in enumerate(reports[:SINGLE_REPORTS]):
            _write(_report_file(folder, slug, index), report, out, ledger)
        for start in range(SINGLE_REPORTS, len(reports), REPORTS_PER_BATCH):
            wrapper = etree.Element("reports")
            wrapper.extend(reports[start : start + REPORTS_PER_BATCH])
            _write(_report_file(folder, slug, start), wrapper, out, ledger)


def _report_file(folder: Path, slug: str, index: int) -> Path:
    """Where a service's report number ``index`` is written: the first few one per file, as
    single reports arrive, then batches in ``<reports>`` wrappers, as providers deliver them."""
    if index < SINGLE_REPORTS:
        return folder / f"{slug}-report-{index + 1:03d}.xml"
    return folder / f"{slug}-batch-{(index - SINGLE_REPORTS) // REPORTS_PER_BATCH + 1:03d}.xml"


def _write(path: Path, element: etree._Element, out: Path, ledger: Ledger) -> None:
    path.write_bytes(
        etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    )
    ledger.source("cybertip", str(path.relative_to(out)), None)
