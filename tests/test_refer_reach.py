"""On a store that several agencies share, a referral package holds only what the referring
agency can reach (docs/server.md "Agency scoping"): another agency's suspects, and the
sources it saw them in, never leave in it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.server_support import Unit, served_unit
from vigil.errors import NotFound
from vigil.store.db import Actor, Store
from vigil.store.models import (
    Case,
    File,
    FileInstance,
    Selector,
    Series,
    SeriesFile,
    Sighting,
    Source,
    Subject,
    SubjectSelector,
)
from vigil.workflows.identity.subjects import list_subjects
from vigil.workflows.network.countries import assign_countries
from vigil.workflows.referral.refer import refer

GB_ADDRESS = "81.2.69.142"  # a British allocation (docs/formats.md: synthetic IPs are real ones)


def _package_text(folder: Path) -> str:
    """The package's manifest and lists (its PDF says the same)."""
    return "".join(
        path.read_text(errors="replace")
        for path in folder.rglob("*")
        if path.is_file() and path.suffix in (".json", ".csv")
    )


def _seen_in_gb(session: Session, username: str, source_name: str, **extra: object) -> None:
    """The account sighted with a British address in that source: evidence placing its
    subject in GB (the IP registry) within that source's agency's reach."""
    account = session.scalars(select(Selector).where(Selector.value == username)).one()
    address = session.scalars(select(Selector).where(Selector.value == GB_ADDRESS)).first()
    if address is None:
        address = Selector(kind="ip", value=GB_ADDRESS, display=GB_ADDRESS)
        session.add(address)
        session.flush()
    _sighted(session, address, source_name, account.id, extra or None)
    session.flush()


def _seized_phone(
    session: Session, investigator: Actor, subject_id: int, sha256: str
) -> tuple[Source, File]:
    """The suspect's phone, seized in TEST's case, with one picture on it."""
    case_id = session.scalars(select(Case.id).where(Case.reference == "TEST-CASE")).one()
    phone = Source(
        kind="evidence",
        original_name="phone of test",
        sha256="ab" * 32,
        size_bytes=1,
        case_id=case_id,
        agency_id=investigator.agency_id,
        user_id=investigator.user_id,
        extra={"subject_id": subject_id},
    )
    picture = File(sha256=sha256, size_bytes=3, mime="image/jpeg")
    session.add_all([phone, picture])
    session.flush()
    session.add(FileInstance(file_id=picture.id, source_id=phone.id, path="/DCIM/1.jpg"))
    return phone, picture


def _source(session: Session, name: str) -> Source:
    return session.scalars(select(Source).where(Source.original_name == name)).one()


def _manifest_subjects(referral_package: str) -> list[dict[str, object]]:
    manifest = json.loads((Path(referral_package) / "manifest.json").read_text())
    subjects: list[dict[str, object]] = manifest["subjects"]
    return subjects


def _sighted(
    session: Session,
    selector: Selector,
    source_name: str,
    account_id: int | None = None,
    extra: dict[str, object] | None = None,
) -> None:
    """A sighting of ``selector`` in that source (on that account, if any)."""
    source = _source(session, source_name)
    session.add(
        Sighting(
            selector_id=selector.id,
            account_id=account_id,
            source_id=source.id,
            case_id=source.case_id,
            agency_id=source.agency_id,
            extra=extra,
        )
    )


def _other_agency_saw(session: Session, selector: Selector, on_account: int | None) -> None:
    """A sighting of ``selector`` in OTHER's unshared source (on that account, if any)."""
    _sighted(session, selector, "other.jsonl", on_account)


@pytest.fixture
def unit(store: Store, tmp_path: Path) -> Iterator[Unit]:
    """Two agencies on one store, on both databases: the reach queries (unions, ``IN`` and
    ``NOT IN`` over subqueries) must say the same on each."""
    yield from served_unit(store, tmp_path, login_delay_seconds=0.0)


def test_each_agency_refers_only_the_suspects_it_reaches(unit: Unit, tmp_path: Path) -> None:
    ids = {agency: unit.objects[agency].subject_id for agency in ("TEST", "OTHER")}
    with unit.store.transaction() as session:
        _seen_in_gb(session, "test", "test.jsonl")
        _seen_in_gb(session, "other", "other.jsonl")
    for agency, other in (("TEST", "OTHER"), ("OTHER", "TEST")):
        actor = unit.actor(agency, "investigator")
        [referral] = refer(unit.store, actor, tmp_path / agency, country="GB")
        assert referral.subjects == [ids[agency]]
        package = _package_text(Path(referral.package))
        assert f"{agency.lower()}.jsonl" in package  # its own source, named
        assert f"{other.lower()}.jsonl" not in package and f"chat:{other.lower()}" not in package


def test_a_suspect_both_reach_is_referred_with_the_referrer_s_sources_only(
    unit: Unit, tmp_path: Path
) -> None:
    """OTHER saw TEST's suspect's account too: OTHER may refer that suspect, and its package
    names OTHER's source, not TEST's, though the suspect is also in TEST's case."""
    test_subject = unit.objects["TEST"].subject_id
    test_investigator = unit.actor("TEST", "investigator")
    with unit.store.transaction() as session:
        _seen_in_gb(session, "test", "test.jsonl")
        _seen_in_gb(session, "test", "other.jsonl")
        seen = session.scalars(select(Selector).where(Selector.value == "test")).one()
        _other_agency_saw(session, seen, None)
        # TEST seized the suspect's phone: a file on it is the suspect's, in TEST's case.
        _seized_phone(session, test_investigator, test_subject, "cd" * 32)
    [referral] = refer(
        unit.store, unit.actor("OTHER", "investigator"), tmp_path / "other", country="GB"
    )
    assert referral.subjects == [test_subject]
    package = _package_text(Path(referral.package))
    assert "other.jsonl" in package and "test.jsonl" not in package
    assert "cd" * 32 not in package and "phone of test" not in package
    [own] = refer(unit.store, unit.actor("TEST", "investigator"), tmp_path / "test", country="GB")
    assert "cd" * 32 in _package_text(Path(own.package))  # its own seizure: in its package


def test_what_only_another_agency_saw_of_a_suspect_stays_out_of_the_package(
    unit: Unit, tmp_path: Path
) -> None:
    """OTHER's case, not shared, saw TEST's suspect run a room and found an email of theirs.
    TEST's package neither names the email nor gives running the room as a reason (its
    priority comes from a ranking of TEST's reach); OTHER's package, whose case holds both,
    says both."""
    suspect = unit.objects["TEST"].subject_id
    with unit.store.transaction() as session:
        _seen_in_gb(session, "test", "test.jsonl")
        _seen_in_gb(session, "test", "other.jsonl")
        account = session.scalars(select(Selector).where(Selector.value == "test")).one()
        other_source = _source(session, "other.jsonl")
        email = Selector(kind="email", value="hidden@other.example", display="hidden@other.example")
        session.add(email)
        session.flush()
        session.add(SubjectSelector(subject_id=suspect, selector_id=email.id))
        place = {
            "source_id": other_source.id,
            "case_id": other_source.case_id,
            "agency_id": other_source.agency_id,
            "account_id": account.id,
        }
        session.add_all(
            [
                Sighting(
                    selector_id=account.id,
                    extra={"platform_role": "owner", "channel": "#hidden-room"},
                    **place,
                ),
                Sighting(selector_id=email.id, **place),
            ]
        )
    [own] = refer(unit.store, unit.actor("TEST", "investigator"), tmp_path / "test", country="GB")
    assert "hidden" not in _package_text(Path(own.package))
    [referred] = _manifest_subjects(own.package)
    assert referred["id"] == suspect
    assert not any("runs" in reason for reason in referred["reasons"])  # type: ignore[attr-defined]
    [theirs] = refer(
        unit.store, unit.actor("OTHER", "investigator"), tmp_path / "other", country="GB"
    )
    package = _package_text(Path(theirs.package))
    assert "hidden@other.example" in package and "#hidden-room" in package
    [seen_by_other] = _manifest_subjects(theirs.package)
    assert any("#hidden-room" in reason for reason in seen_by_other["reasons"])  # type: ignore[attr-defined]
    assert seen_by_other["priority"] > referred["priority"]  # type: ignore[operator]


def test_a_series_another_agency_found_is_not_named_in_the_package(
    unit: Unit, tmp_path: Path
) -> None:
    """A picture on the suspect's phone, seized by TEST, is also in a series OTHER's triage
    found (its label names OTHER's camera serial): TEST's package names TEST's own series of
    it, never OTHER's."""
    suspect = unit.objects["TEST"].subject_id
    investigator = unit.actor("TEST", "investigator")
    with unit.store.transaction() as session:
        _seen_in_gb(session, "test", "test.jsonl")
        other_source = _source(session, "other.jsonl")
        phone, picture = _seized_phone(session, investigator, suspect, "ef" * 32)
        for label, source in (
            ("camera SN-OWN: 2 images", phone),
            ("camera SN-HIDDEN: 2 images", other_source),
        ):
            series = Series(label=label, case_id=source.case_id, source_id=source.id)
            session.add(series)
            session.flush()
            session.add(SeriesFile(series_id=series.id, file_id=picture.id))
    [own] = refer(unit.store, investigator, tmp_path / "test", country="GB")
    package = _package_text(Path(own.package))
    assert "ef" * 32 in package and "SN-OWN" in package
    assert "SN-HIDDEN" not in package


def test_a_package_places_its_suspects_by_the_referrer_s_own_evidence(
    unit: Unit, tmp_path: Path
) -> None:
    """OTHER's case holds an ISP subscriber return for the suspect's address (its request
    reference a matter of OTHER's legal process): the store places the suspect by it, but
    TEST's package gives TEST's own basis (the IP registry); and a suspect only OTHER's
    evidence places is not TEST's to refer at all."""
    investigator = unit.actor("TEST", "investigator")
    subscriber = {
        "ip": GB_ADDRESS,
        "country": "GB",
        "isp": "Hidden ISP",
        "request_ref": "REQ-HIDDEN",
    }
    with unit.store.transaction() as session:
        _seen_in_gb(session, "test", "other.jsonl", subscriber=subscriber)
    assign_countries(unit.store, unit.actor("TEST", "admin"))
    with pytest.raises(NotFound, match="no suspects in GB"):
        refer(unit.store, investigator, tmp_path / "unplaced", country="GB")
    with unit.store.transaction() as session:
        _seen_in_gb(session, "test", "test.jsonl")
    assign_countries(unit.store, unit.actor("TEST", "admin"))
    [stored] = [s for s in list_subjects(unit.store) if s["id"] == unit.objects["TEST"].subject_id]
    assert stored["country"] == "GB" and "REQ-HIDDEN" in stored["country_basis"]
    [own] = refer(unit.store, investigator, tmp_path / "test", country="GB")
    package = _package_text(Path(own.package))
    assert "REQ-HIDDEN" not in package and "Hidden ISP" not in package
    [referred] = _manifest_subjects(own.package)
    assert referred["country"] == "GB"
    assert str(referred["country_basis"]).startswith("IP registry majority")


def test_a_link_only_another_agency_made_is_not_stated(unit: Unit, tmp_path: Path) -> None:
    """resolve tied an alias and an email to TEST's suspect through OTHER's source alone, and
    named the subject after the alias. TEST's own source lists the email, but on no account:
    TEST's package names neither, and labels the suspect by an account TEST saw."""
    suspect = unit.objects["TEST"].subject_id
    with unit.store.transaction() as session:
        _seen_in_gb(session, "test", "test.jsonl")
        account = session.scalars(select(Selector).where(Selector.value == "test")).one()
        alias = Selector(
            kind="username", platform="chat", value="hiddenalias", display="hiddenalias"
        )
        email = Selector(kind="email", value="linked@other.example", display="linked@other.example")
        session.add_all([alias, email])
        session.flush()
        _other_agency_saw(session, alias, alias.id)
        _other_agency_saw(session, email, account.id)
        _sighted(session, email, "test.jsonl")
        for selector in (alias, email):
            session.add(SubjectSelector(subject_id=suspect, selector_id=selector.id))
        session.get(Subject, suspect).label = "hiddenalias (chat)"  # type: ignore[union-attr]
    [own_referral] = refer(
        unit.store, unit.actor("TEST", "investigator"), tmp_path / "test", country="GB"
    )
    package = _package_text(Path(own_referral.package))
    assert "hiddenalias" not in package and "linked@other.example" not in package
    [referred] = _manifest_subjects(own_referral.package)
    assert referred["label"] == "test (chat)"


def test_an_address_only_another_agency_tied_to_the_suspect_does_not_place_them(
    unit: Unit, tmp_path: Path
) -> None:
    """OTHER saw the suspect's account use a British address; TEST holds the ISP's return
    for that address, on no account. Without OTHER's sighting, nothing TEST holds ties the
    return to the suspect: TEST's package does not place them by it."""
    with unit.store.transaction() as session:
        account = session.scalars(select(Selector).where(Selector.value == "test")).one()
        address = Selector(kind="ip", value=GB_ADDRESS, display=GB_ADDRESS)
        session.add(address)
        session.flush()
        _other_agency_saw(session, address, account.id)
        session.add(
            SubjectSelector(subject_id=unit.objects["TEST"].subject_id, selector_id=address.id)
        )
        isp_return = {"subscriber": {"ip": GB_ADDRESS, "country": "GB", "request_ref": "REQ-1"}}
        _sighted(session, address, "test.jsonl", extra=isp_return)
    with pytest.raises(NotFound, match="no suspects in GB"):
        refer(unit.store, unit.actor("TEST", "investigator"), tmp_path / "test", country="GB")
