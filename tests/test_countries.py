"""Country decisions: precedence, majority, unknown; and the store workflow on both databases."""

from __future__ import annotations

import json

from tests.cli_runner import run_cli
from tests.network_store_fixture import populate
from vigil.geo.countries import (
    CountryEvidence,
    ProviderLocation,
    SubscriberRecord,
    decide_country,
    geolocate,
)
from vigil.store.db import Store
from vigil.store.models import AuditEntry, Subject

# Registry countries of these addresses (iptocc, offline): DE, DE, FR, CA, AU.
DE1, DE2, FR1, CA1, AU1 = "5.9.0.1", "5.9.0.2", "90.0.0.1", "24.48.0.1", "1.1.1.1"


def test_geolocate_skips_private_and_malformed_addresses() -> None:
    located = geolocate([DE1, "192.168.0.1", "100.64.0.9", "not-an-ip", AU1])
    assert located == {
        DE1: "DE",
        "192.168.0.1": None,
        "100.64.0.9": None,
        "not-an-ip": None,
        AU1: "AU",
    }


def test_subscriber_return_beats_provider_and_ips() -> None:
    evidence = CountryEvidence(
        1,
        subscriber=[SubscriberRecord(CA1, "ca", "Maple Net", "REQ-9")],
        provider=[ProviderLocation("GB", "PicNook")],
        ips=[DE1, DE2, FR1],
    )
    decision = decide_country(evidence)
    assert (decision.country, decision.basis_kind) == ("CA", "subscriber")
    assert "REQ-9" in decision.basis


def test_provider_location_beats_ips() -> None:
    evidence = CountryEvidence(
        2,
        provider=[
            ProviderLocation("GB", "PicNook", "R1"),
            ProviderLocation("GB", "BoxHaven", "R2"),
            ProviderLocation("IE", "PicNook", "R3"),
        ],
        ips=[DE1],
    )
    decision = decide_country(evidence)
    assert (decision.country, decision.basis_kind) == ("GB", "provider")
    assert "2 of 3 reports" in decision.basis


def test_ip_majority_counts_distinct_addresses() -> None:
    # Three distinct German addresses outvote one French address seen many times.
    evidence = CountryEvidence(3, ips=[DE1, DE2, "5.9.0.3", FR1, FR1, FR1, FR1])
    decision = decide_country(evidence)
    assert (decision.country, decision.basis_kind) == ("DE", "ip-majority")
    assert decision.basis == "IP registry majority (iptocc): 3 of 4 geolocated IPs are in DE"


def test_even_split_and_no_evidence_are_unknown() -> None:
    split = decide_country(CountryEvidence(4, ips=[DE1, FR1]))
    assert (split.country, split.basis_kind) == (None, "unknown")
    assert "split" in split.basis
    nothing = decide_country(CountryEvidence(5, ips=["10.0.0.1"]))
    assert (nothing.country, nothing.basis_kind) == (None, "unknown")


def test_workflow_writes_country_and_basis(store: Store) -> None:
    ids = populate(store)
    result = run_cli("countries", "--json")
    assert result.exit_code == 0, result.stderr
    decided = {d["subject_id"]: d for d in json.loads(result.stdout)}
    expected = {
        "admin": ("CA", "subscriber"),
        "distributor": ("GB", "provider"),
        "collector-de": ("DE", "ip-majority"),
        "collector-x": (None, "unknown"),
        "producer": ("AU", "subscriber"),
    }
    for name, (country, basis) in expected.items():
        assert (
            decided[ids.subjects[name]]["country"],
            decided[ids.subjects[name]]["basis_kind"],
        ) == (country, basis)
    with store.reading() as session:
        stored = {s.label: (s.country, s.country_basis) for s in session.query(Subject)}
        assert stored["admin"][0] == "CA"
        assert stored["admin"][1].startswith("ISP subscriber return")
        audit = session.query(AuditEntry).filter_by(action="subject.countries").one()
        assert json.loads(audit.details)["by_basis"]["subscriber"] == 2
    again = run_cli("countries", "--json")
    assert json.loads(again.stdout) == json.loads(result.stdout)
