"""The invented people of one operation: roles, countries, accounts, selectors, false friends."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field

import phonenumbers

from vigil.synth.hard_cases import split_personas
from vigil.synth.ipspace import sample_ip
from vigil.synth.model import Account, FalseFriend, Person
from vigil.synth.names import (
    COMMON_ALIAS_BASES,
    base_alias,
    drift,
    email_for,
    invented_full_name,
    invented_word,
)

# Weighted like an international operation: many in a few countries, a long tail elsewhere.
COUNTRIES = [
    "US",
    "CA",
    "GB",
    "AU",
    "DE",
    "FR",
    "NL",
    "BR",
    "ES",
    "IT",
    "SE",
    "PL",
    "MX",
    "NZ",
    "IE",
    "BE",
    "PT",
    "NO",
    "DK",
    "FI",
    "CZ",
    "AT",
    "CH",
    "AR",
    "CL",
    "CO",
    "ZA",
    "IN",
    "JP",
    "KR",
    "PH",
    "TH",
    "ID",
    "TR",
    "RO",
    "HU",
    "GR",
    "IL",
    "MY",
    "SG",
]
_COUNTRY_WEIGHT = [12, 8, 8, 5, 5, 4, 3, 3, 3, 3] + [2] * 10 + [1] * 20

FORUM_PLATFORM = "Lantern Board"
IRC_PLATFORM = "NightNet"
IRC_NICK = re.compile(r"[A-Za-z\[\]\\`_^{|}][A-Za-z0-9\[\]\\`_^{|}-]{0,29}")
CHAT_PLATFORMS = ["Parley", "Murmur"]
ESP_PLATFORMS = ["PicNook", "BoxHaven", "ChirpLine"]


@dataclass(frozen=True)
class Scale:
    name: str
    suspects: int
    countries: int
    distributors: int
    producers: int
    victims: int
    devices: int
    esp_providers: int
    irc_rooms: int
    common_alias_pairs: int
    cgnat_groups: int
    families: int
    known_images: int
    near_duplicates: int
    unknown_images: int
    series_images: int
    traffic_days: int
    split_personas: int = 0  # persons linked only by alias core and home address (hard_cases)


@dataclass
class World:
    persons: list[Person]
    false_friends: list[FalseFriend]
    esp_platforms: list[str]
    isps: dict[str, str]  # country -> ISP name
    ips_taken: set[str] = field(default_factory=set)

    def by_id(self) -> dict[str, Person]:
        return {p.id: p for p in self.persons}

    def suspects(self) -> list[Person]:
        return [p for p in self.persons if p.role != "victim"]


def _phone(rng: random.Random, country: str) -> str:
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    if example is None:
        raise ValueError(f"no mobile numbering plan known for {country}")
    digits = str(example.national_number)
    keep = max(2, len(digits) - 6)
    for _ in range(50):
        candidate = digits[:keep] + "".join(str(rng.randint(0, 9)) for _ in digits[keep:])
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def _device_id(rng: random.Random) -> str:
    kind = rng.choice(["imei", "android", "pc"])
    if kind == "imei":
        return "35" + "".join(str(rng.randint(0, 9)) for _ in range(13))
    if kind == "android":
        return "android-" + "".join(rng.choice("0123456789abcdef") for _ in range(16))
    return "PC-" + "".join(rng.choice("0123456789ABCDEF") for _ in range(8))


class _AliasBook:
    """Usernames are unique per platform, case-insensitively (docs/formats.md compares that way)."""

    def __init__(self) -> None:
        self.used: set[tuple[str, str]] = set()
        self.bases: set[str] = set()

    def claim(self, platform: str, username: str) -> bool:
        key = (platform, username.casefold())
        if key in self.used or len(username) < 3:
            return False
        if platform == IRC_PLATFORM and not IRC_NICK.fullmatch(username):
            return False  # no dots, no leading digit: what an IRC server accepts
        self.used.add(key)
        return True

    def release(self, platform: str, username: str) -> None:
        self.used.discard((platform, username.casefold()))


def _roles(rng: random.Random, scale: Scale) -> list[str]:
    roles = ["admin"] + ["distributor"] * scale.distributors + ["producer"] * scale.producers
    # about the scale's size, never exactly: consumers must read counts from truth.json
    suspects = scale.suspects + rng.randint(-scale.suspects // 20, scale.suspects // 20)
    roles += ["collector"] * (suspects - len(roles))
    return roles


def _platforms_for(rng: random.Random, role: str) -> list[str]:
    if role == "admin":
        return [FORUM_PLATFORM, IRC_PLATFORM, CHAT_PLATFORMS[0]]
    if role == "distributor":
        chosen = [IRC_PLATFORM, FORUM_PLATFORM, rng.choice(CHAT_PLATFORMS)]
        if rng.random() < 0.5:
            chosen.append(next(c for c in CHAT_PLATFORMS if c not in chosen))
        return chosen
    if role == "producer":
        return [FORUM_PLATFORM, rng.choice(CHAT_PLATFORMS)] + (
            [IRC_PLATFORM] if rng.random() < 0.5 else []
        )
    pool = [FORUM_PLATFORM, IRC_PLATFORM, *CHAT_PLATFORMS]
    count = rng.choices([1, 2, 3], weights=[4, 4, 2])[0]
    return sorted(rng.sample(pool, count), key=pool.index)


def build_world(seed: int, scale: Scale) -> World:
    rng = random.Random(f"{seed}:world")
    countries = COUNTRIES[: scale.countries]
    weights = _COUNTRY_WEIGHT[: scale.countries]
    isps = {
        cc: f"{invented_word(rng, 2)} {rng.choice(['Telecom', 'Broadband', 'Net', 'Cable'])}"
        for cc in countries
    }
    esp_platforms = ESP_PLATFORMS[: scale.esp_providers]
    book = _AliasBook()
    taken_ips: set[str] = set()
    persons: list[Person] = []
    roles = _roles(rng, scale)
    # Every country gets someone; the rest follow the weights.
    person_countries = list(countries) + rng.choices(
        countries, weights, k=len(roles) - len(countries)
    )
    rng.shuffle(person_countries)
    for index, role in enumerate(roles):
        country = person_countries[index]
        person = Person(
            id=f"P{index + 1:04d}",
            role=role,
            country=country,
            name=invented_full_name(rng),
            isp=isps[country],
        )
        words, number = base_alias(rng)
        while "".join(words) in book.bases:
            words, number = base_alias(rng)
        book.bases.add("".join(words))  # only false friends share a core
        person.ips = [sample_ip(rng, country, taken_ips) for _ in range(rng.choice([1, 1, 2]))]
        person.emails = [email_for(rng, words, number) for _ in range(rng.choice([1, 1, 2]))]
        if rng.random() < 0.6:
            person.phones = [_phone(rng, country)]
        if rng.random() < 0.5:
            person.device_ids = [_device_id(rng)]
        platforms = _platforms_for(rng, role)
        if rng.random() < 0.35 or role in ("distributor", "producer"):
            platforms.append(rng.choice(esp_platforms))
        for platform in platforms:
            _add_account(rng, book, person, platform, words, number)
        persons.append(person)
    false_friends = _common_aliases(rng, book, persons, scale)
    false_friends += _cgnat(rng, persons, scale, taken_ips)
    false_friends += _families(rng, book, persons, scale, esp_platforms)
    split_personas(
        rng, book, persons, false_friends, scale.split_personas, IRC_PLATFORM, CHAT_PLATFORMS
    )
    persons += _victims(rng, book, scale, esp_platforms, len(persons))
    return World(persons, false_friends, esp_platforms, isps, taken_ips)


def _account_id(rng: random.Random, platform: str) -> str | None:
    if platform == IRC_PLATFORM:
        return None
    if platform in ESP_PLATFORMS:
        return f"{platform[:2].upper()}-{rng.randint(100000, 999999)}"
    if platform == FORUM_PLATFORM:
        return None  # assigned as the phpBB user_id when the board is written
    return str(rng.randint(10**8, 10**9 - 1))


def _add_account(
    rng: random.Random,
    book: _AliasBook,
    person: Person,
    platform: str,
    words: list[str],
    number: str,
) -> Account:
    attempt = 0
    while True:
        username = drift(rng, words, number)
        if attempt > 20:
            username = f"{words[0]}{rng.randint(2, 99999)}"
        if book.claim(platform, username):
            break
        attempt += 1
    account = Account(
        platform,
        username,
        _account_id(rng, platform),
        ip=rng.choice(person.ips) if person.ips else None,
        email=rng.choice(person.emails) if person.emails else None,
        device_id=person.device_ids[0] if person.device_ids else None,
    )
    person.accounts.append(account)
    return account


def _common_aliases(
    rng: random.Random, book: _AliasBook, persons: list[Person], scale: Scale
) -> list[FalseFriend]:
    """Different people who both picked an everyday alias such as john123 / John_123."""
    friends = []
    collectors = [p for p in persons if p.role == "collector"]
    pairs = rng.sample(collectors, 2 * scale.common_alias_pairs)
    for index in range(scale.common_alias_pairs):
        first, second = pairs[2 * index], pairs[2 * index + 1]
        base = COMMON_ALIAS_BASES[index % len(COMMON_ALIAS_BASES)]
        number = str(rng.choice([123, 1, 69 + 2, 99, 2000, 12]))
        written = [f"{base}{number}", f"{base.capitalize()}_{number}"]
        for person, username in zip((first, second), written, strict=True):
            account = person.accounts[0]
            for candidate in (username, username + "x"):
                if book.claim(account.platform, candidate):
                    account.username = candidate
                    break
        friends.append(FalseFriend("common_alias", f"{base}{number}", (first.id, second.id)))
    return friends


def _cgnat(
    rng: random.Random, persons: list[Person], scale: Scale, taken: set[str]
) -> list[FalseFriend]:
    """Strangers in one country behind one carrier-grade NAT address."""
    friends = []
    by_country: dict[str, list[Person]] = {}
    for person in persons:
        if person.role == "collector":
            by_country.setdefault(person.country, []).append(person)
    candidates = [cc for cc in sorted(by_country) if len(by_country[cc]) >= 3]
    for country in rng.sample(candidates, min(scale.cgnat_groups, len(candidates))):
        group = rng.sample(by_country[country], rng.choice([2, 3]))
        ip = sample_ip(rng, country, taken)
        for person in group:
            person.ips.append(ip)
            person.accounts[0].ip = ip
        friends.append(FalseFriend("cgnat_ip", ip, tuple(sorted(p.id for p in group))))
    return friends


def _families(
    rng: random.Random,
    book: _AliasBook,
    persons: list[Person],
    scale: Scale,
    esp_platforms: list[str],
) -> list[FalseFriend]:
    """Two people of one household sharing a computer: same device id, different persons."""
    friends = []
    used: set[str] = set()
    collectors = [p for p in persons if p.role == "collector"]
    for _ in range(scale.families):
        first = rng.choice([p for p in collectors if p.id not in used])
        pool = [
            p
            for p in collectors
            if p.country == first.country and p.id not in used and p is not first
        ]
        if not pool:
            continue
        second = rng.choice(pool)
        used.update({first.id, second.id})
        device = "PC-" + "".join(rng.choice("0123456789ABCDEF") for _ in range(8))
        for person in (first, second):
            person.device_ids.append(device)
            esp = [a for a in person.accounts if a.platform in esp_platforms]
            account = (
                esp[0]
                if esp
                else _add_account(rng, book, person, rng.choice(esp_platforms), *base_alias(rng))
            )
            account.device_id = device
        second.name = f"{invented_word(rng, 2)} {first.name.split()[-1]}" if first.name else None
        friends.append(FalseFriend("family_computer", device, tuple(sorted([first.id, second.id]))))
    return friends


def _victims(
    rng: random.Random, book: _AliasBook, scale: Scale, esp_platforms: list[str], offset: int
) -> list[Person]:
    victims = []
    for index in range(scale.victims):
        platform = esp_platforms[index % len(esp_platforms)]
        person = Person(
            id=f"P{offset + index + 1:04d}", role="victim", country=COUNTRIES[index % 5], name=None
        )
        username = drift(rng, *base_alias(rng))
        while not book.claim(platform, username):
            username = drift(rng, *base_alias(rng))
        person.accounts.append(Account(platform, username, None))
        victims.append(person)
    return victims
