"""The EXIF facts an investigation uses: which camera, when, and where.

A camera's make, model and body serial tie a series of new images to one device; the
original time and GPS position place them. Values are read from the already opened Pillow
image, so no second parse of the file is needed, and a malformed tag costs that tag only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from PIL import ExifTags, Image


@dataclass(frozen=True)
class ExifInfo:
    make: str | None
    model: str | None
    serial: str | None  # BodySerialNumber
    # DateTimeOriginal. EXIF stores the camera's local clock; with OffsetTimeOriginal it is
    # converted to UTC, without it the clock reading is taken as UTC.
    taken_at: datetime | None
    gps_lat: float | None  # decimal degrees, south negative
    gps_lon: float | None  # decimal degrees, west negative

    @property
    def is_empty(self) -> bool:
        return all(
            value is None
            for value in (
                self.make,
                self.model,
                self.serial,
                self.taken_at,
                self.gps_lat,
                self.gps_lon,
            )
        )


def exif_from_image(image: Image.Image) -> ExifInfo | None:
    """EXIF facts of an opened image, or None when it carries none of them."""
    try:
        exif = image.getexif()
        details = exif.get_ifd(ExifTags.IFD.Exif)
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # Pillow raises many types on malformed EXIF; the image still hashes
        return None
    info = ExifInfo(
        make=_text(exif.get(ExifTags.Base.Make)),
        model=_text(exif.get(ExifTags.Base.Model)),
        serial=_text(details.get(ExifTags.Base.BodySerialNumber)),
        taken_at=_taken_at(
            details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime),
            details.get(ExifTags.Base.OffsetTimeOriginal),
        ),
        gps_lat=_degrees(gps.get(ExifTags.GPS.GPSLatitude), gps.get(ExifTags.GPS.GPSLatitudeRef)),
        gps_lon=_degrees(gps.get(ExifTags.GPS.GPSLongitude), gps.get(ExifTags.GPS.GPSLongitudeRef)),
    )
    return None if info.is_empty else info


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    value = value.replace("\x00", "").strip()
    return value or None


def _taken_at(value: Any, offset: Any) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        local = datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    zone = _offset(_text(offset))
    return local.replace(tzinfo=zone).astimezone(UTC)


def _offset(text: str | None) -> timezone:
    if not text or len(text) < 6 or text[0] not in "+-":
        return UTC
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return UTC
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _degrees(dms: Any, ref: Any) -> float | None:
    """Degrees, minutes, seconds (rationals) and a hemisphere letter to signed degrees."""
    try:
        degrees, minutes, seconds = (float(part) for part in dms)
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60 + seconds / 3600
    if not math.isfinite(value) or value > 180:
        return None
    hemisphere = _text(ref)
    if hemisphere and hemisphere.upper()[0] in "SW":
        value = -value
    return round(value, 7)
