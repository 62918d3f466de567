"""Typed readings of the ``extra`` JSON that sightings and events carry.

The parsers put what a format says beyond the core columns into ``extra``: a CyberTipline
report's verified location, an IP capture's proxy flag, an ISP's subscriber record, a phpBB
user's standing, an IRC nick's channel modes. Every reader of those facts goes through the
classes here, so a key is spelt in one place and a dirty value (``"true"``, ``"3"``) is read
the same way everywhere. Unknown keys stay in ``other``, verbatim.

Keys (what writes them):
- ``role``: ``reported``, ``victim``, ``recipient``, ``subscriber`` (every source parser);
- ``report_id``, ``country`` (ISO alpha-2), ``incident_type``: a provider report (cybertip);
- ``possible_proxy`` (also the reference's ``possibleProxy``, or ``proxy``): an IP capture;
- ``subscriber`` (``ip``, ``country``, ``isp``, ``request_ref``, ...), ``window``: an ISP return;
- ``user_type``, ``group_id``: phpBB's standing of a user (2 = system account, 3 = founder);
- ``platform_role``: a venue role a format states outright (founder, administrator, ...);
- ``modes``/``mode``, ``channel``/``room``: IRC channel status;
- events: ``send`` (the send action), ``recipients`` (selector ids), ``possible_proxy``;
  a file named by a provider report or a message: ``report_id``, ``file_name``, ``file_id``
  (the provider's own reference), ``industryClassification`` (the provider's category) and
  ``intended_recipients`` (user names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from vigil.country_codes import iso_country

PHPBB_SYSTEM_USER_TYPE = 2  # USER_IGNORE: the anonymous user and the search-engine bots
PHPBB_FOUNDER_USER_TYPE = 3
PHPBB_ADMINISTRATORS_GROUP_ID = 5  # the ADMINISTRATORS group of a default phpBB 3 install
VENUE_ROLES = frozenset({"founder", "administrator", "admin", "owner", "operator"})
_PROXY_KEYS = ("possible_proxy", "possibleProxy", "proxy")
_TRUE_WORDS = frozenset({"true", "1", "yes", "y"})
_SIGHTING_KEYS = frozenset(
    {
        "role",
        "party",
        "victim",
        "report_id",
        "country",
        "incident_type",
        *_PROXY_KEYS,
        "subscriber",
        "user_type",
        "group_id",
        "platform_role",
        "modes",
        "mode",
        "channel",
        "room",
    }
)


def truthy(value: Any) -> bool:
    """A flag as formats write it: a JSON boolean, or text such as ``"true"``/``"1"``."""
    if isinstance(value, str):
        return value.strip().lower() in _TRUE_WORDS
    return bool(value)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip() if value is not None else ""
    return int(text) if text.lstrip("-").isdigit() else None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def country_code(value: Any) -> str | None:
    """An ISO 3166-1 alpha-2 code, or None for anything that is not one (``XX``, ``1A``)."""
    return iso_country(_text(value))


@dataclass(frozen=True)
class Subscriber:
    """One ISP subscriber-return row: who paid for the line behind ``ip``."""

    ip: str | None
    country: str | None
    isp: str | None = None
    request_ref: str | None = None


@dataclass(frozen=True)
class SightingExtra:
    """What a sighting's ``extra`` says, typed. ``other`` keeps every other key verbatim."""

    role: str | None = None
    victim_flag: bool = False
    report_id: str | None = None
    country: str | None = None
    incident_type: str | None = None
    possible_proxy: bool = False
    subscriber: Subscriber | None = None
    user_type: int | None = None
    group_id: int | None = None
    platform_role: str | None = None
    modes: str | None = None
    channel: str | None = None
    other: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, extra: Mapping[str, Any] | None) -> SightingExtra:
        if not extra:
            return _EMPTY
        role = _text(extra.get("role")) or _text(extra.get("party"))
        raw_subscriber = extra.get("subscriber")
        subscriber = None
        if isinstance(raw_subscriber, Mapping):
            subscriber = Subscriber(
                ip=_text(raw_subscriber.get("ip")),
                country=country_code(raw_subscriber.get("country")),
                isp=_text(raw_subscriber.get("isp")),
                request_ref=_text(raw_subscriber.get("request_ref")),
            )
        return cls(
            role=role.casefold() if role else None,
            victim_flag=truthy(extra.get("victim")),
            report_id=_text(extra.get("report_id")),
            country=country_code(extra.get("country")),
            incident_type=_text(extra.get("incident_type")),
            possible_proxy=any(truthy(extra.get(key)) for key in _PROXY_KEYS),
            subscriber=subscriber,
            user_type=_int(extra.get("user_type")),
            group_id=_int(extra.get("group_id")),
            platform_role=(_text(extra.get("platform_role")) or "").casefold() or None,
            modes=_text(extra.get("modes")) or _text(extra.get("mode")),
            channel=_text(extra.get("channel")) or _text(extra.get("room")),
            other={k: v for k, v in extra.items() if k not in _SIGHTING_KEYS},
        )

    @property
    def is_victim(self) -> bool:
        return self.victim_flag or self.role == "victim"

    @property
    def is_reported(self) -> bool:
        return self.role == "reported"

    @property
    def is_system_account(self) -> bool:
        """phpBB's anonymous user and search-engine bots: evidence of nothing."""
        return self.user_type == PHPBB_SYSTEM_USER_TYPE

    @property
    def venue_role(self) -> str | None:
        """The venue-running role this sighting records, if any.

        In order: ``platform_role``; phpBB's founder (``user_type`` 3) or administrators
        group (``group_id`` 5); an IRC channel operator (modes holding ``o`` or ``@``).
        """
        if self.platform_role in VENUE_ROLES:
            return "administrator" if self.platform_role == "admin" else self.platform_role
        if self.user_type == PHPBB_FOUNDER_USER_TYPE:
            return "founder"
        if self.group_id == PHPBB_ADMINISTRATORS_GROUP_ID:
            return "administrator"
        if self.modes and ("o" in self.modes or "@" in self.modes):
            return "operator"
        return None


_EMPTY = SightingExtra()


@dataclass(frozen=True)
class EventExtra:
    """What an event's ``extra`` says, typed."""

    send: str | None = None
    recipients: tuple[int, ...] = ()
    possible_proxy: bool = False
    report_id: str | None = None
    file_name: str | None = None
    provider_file_id: str | None = None
    provider_category: str | None = None
    intended_recipients: tuple[str, ...] = ()

    @classmethod
    def of(cls, extra: Mapping[str, Any] | None) -> EventExtra:
        if not extra:
            return _EMPTY_EVENT
        send = extra.get("send")
        values = extra.get("recipients") or ()
        named = extra.get("intended_recipients")
        named = named if isinstance(named, list) else [named] if named else []
        return cls(
            send=str(send) if send is not None else None,
            recipients=tuple(r for r in (_int(v) for v in values) if r is not None),
            possible_proxy=any(truthy(extra.get(key)) for key in _PROXY_KEYS),
            report_id=_text(extra.get("report_id")),
            file_name=_text(extra.get("file_name")),
            provider_file_id=_text(extra.get("file_id")),
            provider_category=_text(extra.get("industryClassification")),
            intended_recipients=tuple(text for text in map(_text, named) if text),
        )


_EMPTY_EVENT = EventExtra()
