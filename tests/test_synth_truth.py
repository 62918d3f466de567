"""truth.json of a synthetic operation agrees with the documents written beside it."""

from __future__ import annotations

import csv
import ipaddress
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import phonenumbers
import pytest
from iptocc import country_code

from tests.synth_cache import synth_operation
from tests.synth_readers import COUNT_KEYS, read_operation

TOP_KEYS = [
    "seed",
    "scale",
    "sources",
    "hashsets",
    "persons",
    "false_friends",
    "devices",
    "series",
    "dirty_values",
]
PERSON_KEYS = {
    "id",
    "role",
    "country",
    "name",
    "accounts",
    "selectors",
    "files_sent",
    "distinct_files_sent",
    "recipients",
    "devices",
}


@pytest.fixture(scope="session")
def operation() -> Path:
    """Seed 1 at small scale, generated once per test process (shared with other areas)."""
    return synth_operation(1)


@pytest.fixture(scope="module")
def truth(operation: Path) -> dict[str, Any]:
    return json.loads((operation / "truth.json").read_text(encoding="utf-8"))


def test_truth_has_every_contract_key(truth: dict[str, Any]) -> None:
    assert list(truth) == TOP_KEYS
    assert truth["seed"] == 1 and truth["scale"] == "small"
    assert all(set(p) == PERSON_KEYS for p in truth["persons"])
    assert all(list(d["expected"]) == list(COUNT_KEYS) for d in truth["devices"])
    assert {s["format"] for s in truth["sources"]} == {
        "cybertip",
        "irc",
        "chat-jsonl",
        "phpbb",
        "isp",
    }
    assert {(h["format"], h["kind"]) for h in truth["hashsets"]} == {
        ("vics", "alert"),
        ("nsrl", "ignorable"),
        ("icse", "alert"),
    }
    assert {f["kind"] for f in truth["false_friends"]} == {
        "cgnat_ip",
        "common_alias",
        "family_computer",
    }


def test_roles_and_scale(truth: dict[str, Any]) -> None:
    roles = Counter(p["role"] for p in truth["persons"])
    assert roles["admin"] == 1
    assert 2 <= roles["distributor"] <= 6 and 1 <= roles["producer"] <= 4
    assert roles["victim"] >= 2
    suspects = sum(n for role, n in roles.items() if role != "victim")
    assert 50 <= suspects <= 70
    assert 3 <= len(truth["devices"]) <= 6
    for person in truth["persons"]:
        assert re.fullmatch(r"[A-Z]{2}", person["country"])
        assert 1 <= len(person["accounts"]) <= 6


def test_every_ip_geolocates_to_its_persons_country(truth: dict[str, Any]) -> None:
    checked = 0
    for person in truth["persons"]:
        for selector in person["selectors"]:
            if selector["kind"] == "ip":
                assert ipaddress.ip_address(selector["value"]).is_global, selector
                assert country_code(selector["value"]) == person["country"], (
                    person["id"],
                    selector,
                )
                checked += 1
    assert checked >= 50


def test_ips_seen_in_documents_belong_to_the_accounts_country(
    operation: Path,
    truth: dict[str, Any],
) -> None:
    observed = read_operation(operation, truth)
    country = {
        (a["platform"], a["username"].casefold()): p["country"]
        for p in truth["persons"]
        for a in p["accounts"]
    }
    assert observed.ips
    for account, ips in observed.ips.items():
        for ip in ips:
            assert country_code(ip) == country[account], (account, ip)


def test_selectors_are_normalised(truth: dict[str, Any]) -> None:
    kinds = Counter()
    for person in truth["persons"]:
        for selector in person["selectors"]:
            kind, value = selector["kind"], selector["value"]
            kinds[kind] += 1
            assert value == value.strip()
            if kind == "email":
                assert value == value.casefold() and re.search(r"\.(example|test)$", value)
            elif kind == "phone":
                number = phonenumbers.parse(value)
                assert phonenumbers.is_valid_number(number)
                assert value == phonenumbers.format_number(
                    number, phonenumbers.PhoneNumberFormat.E164
                )
                assert phonenumbers.region_code_for_number(number) == person["country"]
            elif kind == "ip":
                assert value == ipaddress.ip_address(value).compressed
    assert {"email", "phone", "ip", "device", "camera"} <= set(kinds)


def test_every_account_appears_in_a_source(
    operation: Path,
    truth: dict[str, Any],
) -> None:
    observed = read_operation(operation, truth)
    accounts = {
        (a["platform"], a["username"].casefold()) for p in truth["persons"] for a in p["accounts"]
    }
    assert accounts - observed.accounts == set()
    # and nothing in the documents is an account nobody owns
    assert observed.accounts - accounts == set()


def test_accounts_are_unique_per_platform_case_insensitively(truth: dict[str, Any]) -> None:
    keys = [
        (a["platform"], a["username"].casefold()) for p in truth["persons"] for a in p["accounts"]
    ]
    assert len(keys) == len(set(keys))


def test_victims_appear_only_as_victims(
    operation: Path,
    truth: dict[str, Any],
) -> None:
    observed = read_operation(operation, truth)
    victims = [p for p in truth["persons"] if p["role"] == "victim"]
    assert victims
    for person in victims:
        assert person["selectors"] == [] and person["files_sent"] == 0
        assert person["name"] is None
        for account in person["accounts"]:
            assert (account["platform"], account["username"].casefold()) in observed.victims


def test_files_sent_and_recipients_match_the_documents(
    operation: Path,
    truth: dict[str, Any],
) -> None:
    observed = read_operation(operation, truth)
    owner = {
        (a["platform"], a["username"].casefold()): p["id"]
        for p in truth["persons"]
        for a in p["accounts"]
    }
    sent: dict[str, list[str]] = {}
    recipients: dict[str, set[tuple[str, str]]] = {}
    for send in observed.sends:
        person = owner[(send.platform, send.sender)]
        sent.setdefault(person, []).append(send.sha256)
        recipients.setdefault(person, set()).update((send.platform, r) for r in send.recipients)
    for person in truth["persons"]:
        files = sent.get(person["id"], [])
        assert person["files_sent"] == len(files), person["id"]
        assert person["distinct_files_sent"] == len(set(files)), person["id"]
        written = {(r["platform"], r["username"].casefold()) for r in person["recipients"]}
        assert written == recipients.get(person["id"], set()), person["id"]
    top = sorted(truth["persons"], key=lambda p: len(p["recipients"]), reverse=True)[:3]
    assert {p["role"] for p in top} <= {"distributor", "admin", "producer"}


def test_false_friends_are_different_people_sharing_something(
    operation: Path,
    truth: dict[str, Any],
) -> None:
    persons = {p["id"]: p for p in truth["persons"]}
    for friend in truth["false_friends"]:
        assert len(set(friend["persons"])) >= 2
        members = [persons[i] for i in friend["persons"]]
        if friend["kind"] == "cgnat_ip":
            assert len({p["country"] for p in members}) == 1
            for person in members:
                assert {"kind": "ip", "value": friend["value"]} in person["selectors"]
            rows = []
            for path in (operation / "isp").glob("*.csv"):
                rows += [r for r in csv.DictReader(path.open()) if r["ip"] == friend["value"]]
            assert len(rows) == len(members)
        elif friend["kind"] == "family_computer":
            for person in members:
                assert {"kind": "device", "value": friend["value"]} in person["selectors"]
        else:
            squashed = set()
            for person in members:
                names = [a["username"] for a in person["accounts"]]
                match = [n for n in names if re.sub(r"[^a-z0-9]", "", n.lower()) == friend["value"]]
                assert match, (friend, names)
                squashed.add(match[0])
            assert len(squashed) == len(members)  # written differently


def test_accounts_of_one_person_share_identifiers(truth: dict[str, Any]) -> None:
    """Linking is possible: multi-account suspects carry shared emails/IPs across sources."""
    multi = [p for p in truth["persons"] if p["role"] != "victim" and len(p["accounts"]) >= 2]
    assert len(multi) >= 20
    assert all(any(s["kind"] == "ip" for s in p["selectors"]) for p in multi)


def test_series_truth_points_at_the_producers(truth: dict[str, Any]) -> None:
    persons = {p["id"]: p for p in truth["persons"]}
    assert truth["series"]
    for series in truth["series"]:
        producer = persons[series["producer"]]
        assert producer["role"] == "producer" and producer["devices"]
        assert len(series["sha256"]) >= 5 and len(set(series["sha256"])) == len(series["sha256"])
        assert any(
            s["kind"] == "camera" and series["camera_serial"] in s["value"]
            for s in producer["selectors"]
        )


def _core(username: str) -> str:
    """An alias without case, separators, leetspeak or numbers."""
    plain = re.sub(r"[\d_.\-]+$", "", username).lower().translate(str.maketrans("01345", "oieas"))
    return re.sub(r"[^a-z]", "", plain)


def test_aliases_drift_across_platforms(truth: dict[str, Any]) -> None:
    multi = [p for p in truth["persons"] if len(p["accounts"]) >= 2]
    sharing_core, written_differently = 0, 0
    for person in multi:
        names = [a["username"] for a in person["accounts"]]
        cores = Counter(_core(n) for n in names)
        sharing_core += cores.most_common(1)[0][1] >= 2
        written_differently += len(set(names)) > 1
    assert sharing_core >= 0.7 * len(multi)
    assert written_differently >= 0.6 * len(multi)
    styles = " ".join(a["username"] for p in multi for a in p["accounts"])
    assert re.search(r"[a-z]_[a-z]", styles, re.I) and re.search(r"[a-z]\.[a-z]", styles, re.I)
    assert re.search(r"[a-z][0-9][a-z]", styles, re.I)  # leetspeak
    assert re.search(r"[a-z][A-Z]", styles)  # CamelCase
