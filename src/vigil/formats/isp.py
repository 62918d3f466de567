"""ISP subscriber returns (docs/formats.md "Subscriber returns"): who held an IP address, and when.

Each row is one subscriber record: a Sighting of the IP selector whose ``extra["subscriber"]``
holds the subscriber's fields (name, email, phone, address, ``country``, ISP account id,
request reference) and whose ``extra["window"]`` holds ``start_utc``/``end_utc``. The
subscriber's email and phone are sighted too, pointing back at the IP, so identity resolution
can link a subscriber to the accounts that used the same email or phone. The phone is read
in the row's ``country``. A dirty value in a sound row (an email reading ``none``, a country
that is not ISO 3166-1 such as ``ZZ``) is a warning, kept verbatim in the sighting's
``extra["dirty"]``: never a selector, never the subscriber's country.
The header must be exactly the one in docs/formats.md; the file must be
UTF-8; times without an offset are UTC (the columns say so).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any, ClassVar

from vigil.country_codes import iso_country
from vigil.errors import BadInput, UnsupportedFormat
from vigil.formats.registry import SOURCE_FORMATS
from vigil.formats.source_common import (
    decode_text,
    file_documents,
    parse_iso_datetime,
    read_bytes,
    required_selector,
    selector,
)
from vigil.formats.source_records import (
    DIRTY_KEY,
    ROLE_SUBSCRIBER,
    ParsedSource,
    ParseOptions,
    SourceDocument,
    storable,
)

HEADER = [
    "ip",
    "start_utc",
    "end_utc",
    "isp",
    "subscriber_name",
    "subscriber_email",
    "subscriber_phone",
    "street",
    "city",
    "region",
    "country",
    "account_id",
    "request_ref",
]


@SOURCE_FORMATS.register("isp")
class IspReturnParser:
    name: ClassVar[str] = "isp"

    def documents(self, location: str) -> Iterator[SourceDocument]:
        return file_documents(location, (".csv",))

    def parse(self, document: SourceDocument, options: ParseOptions) -> ParsedSource:
        parsed = ParsedSource(kind=self.name, name=document.name)
        text, _ = decode_text(read_bytes(document), document.name)
        reader = csv.reader(io.StringIO(text, newline=""))
        try:
            header = [cell.strip() for cell in next(reader)]
        except StopIteration:
            raise UnsupportedFormat("empty file", source=document.name) from None
        if header != HEADER:
            raise UnsupportedFormat(
                f"header is not the subscriber-return header ({','.join(HEADER)})",
                source=document.name,
                location="line 1",
            )
        try:
            for row in reader:
                location = f"line {reader.line_num}"
                if not any(cell.strip() for cell in row):
                    continue
                if len(row) != len(HEADER):
                    raise BadInput(
                        f"{len(row)} columns, expected {len(HEADER)}",
                        source=document.name,
                        location=location,
                    )
                self._row(
                    parsed, dict(zip(HEADER, (c.strip() for c in row), strict=True)), location
                )
                parsed.records += 1
        except csv.Error as exc:
            raise BadInput(
                f"broken CSV: {exc}", source=document.name, location=f"line {reader.line_num}"
            ) from exc
        return parsed

    def _row(self, parsed: ParsedSource, row: dict[str, str], location: str) -> None:
        source = parsed.name
        ip = required_selector(parsed, "ip", row["ip"], location)
        start = parse_iso_datetime(row["start_utc"], source, location, naive_is_utc=True)
        end = (
            parse_iso_datetime(row["end_utc"], source, location, naive_is_utc=True)
            if row["end_utc"]
            else None
        )
        if end is not None and end < start:
            raise BadInput("end_utc is before start_utc", source=source, location=location)
        country = iso_country(row["country"])
        if country is None and row["country"]:  # ZZ, 1A: kept, never a basis for a country
            parsed.note_dirty(
                location,
                "country",
                storable(row["country"]),
                f"not an ISO 3166-1 alpha-2 code: {row['country']!r}",
            )
        email = (
            selector(parsed, "email", row["subscriber_email"], location)
            if row["subscriber_email"]
            else None
        )
        phone = (
            selector(parsed, "phone", row["subscriber_phone"], location, region=country)
            if row["subscriber_phone"]
            else None
        )
        subscriber = {
            "ip": ip.value,
            "isp": row["isp"] or None,
            "name": row["subscriber_name"] or None,
            "email": email.value if email else None,
            "phone": phone.value if phone else None,
            "street": row["street"] or None,
            "city": row["city"] or None,
            "region": row["region"] or None,
            "country": country,
            "account_id": row["account_id"] or None,
            "request_ref": row["request_ref"] or None,
        }
        window = {"start_utc": start.isoformat(), "end_utc": end.isoformat() if end else None}
        context = f"isp subscriber return {row['isp']} {row['request_ref']}".strip()
        extra: dict[str, Any] = {"subscriber": subscriber, "window": window}
        if dirty := parsed.take_dirty():  # the row's dirty values, verbatim, on its sighting
            extra[DIRTY_KEY] = dirty
        parsed.seen(ip, None, start, context, role=ROLE_SUBSCRIBER, extra=extra)
        for linked in (email, phone):
            if linked is not None:
                parsed.seen(
                    linked,
                    None,
                    start,
                    context,
                    role=ROLE_SUBSCRIBER,
                    extra={**extra, "of_ip": ip.value},
                )
