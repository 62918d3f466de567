"""Writing hand-made accounts into a store as ingest does, for resolve tests."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.identity_data import people
from vigil.identity.profiles import AccountProfile
from vigil.store.db import Actor, Store
from vigil.store.models import Case, Selector, Sighting
from vigil.workflows.operation.setup import resolve_actor
from vigil.workflows.sources.provenance import SourceRef, digest_bytes, register_source


def named_source(session: Session, actor: Actor, name: str, case_id: int) -> SourceRef:
    """A chat-log source whose bytes are its name: a distinct source per name."""
    return register_source(
        session,
        actor,
        kind="chat-jsonl",
        original_name=name,
        digest=digest_bytes(name.encode()),
        case_id=case_id,
    )


def _selector(session, kind: str, value: str, platform: str = "", display: str | None = None):
    found = session.scalars(
        select(Selector).where(
            Selector.kind == kind, Selector.platform == platform, Selector.value == value
        )
    ).first()
    if found is None:
        found = Selector(kind=kind, platform=platform, value=value, display=display or value)
        session.add(found)
        session.flush()
    return found


def add_profiles(
    store: Store, profiles: list[AccountProfile], name: str = "batch"
) -> dict[int, int]:
    """Store each profile as an account with its sightings; return profile id -> selector id."""
    ids: dict[int, int] = {}
    with store.transaction() as session:
        actor = resolve_actor(session, "admin")
        case = session.scalars(select(Case).where(Case.reference == "CASE-1")).one()
        source = named_source(session, actor, name, case.id)

        def sight(selector_id: int, account_id: int, seen_at=None, extra=None) -> None:
            session.add(
                Sighting(
                    selector_id=selector_id,
                    account_id=account_id,
                    source_id=source.id,
                    case_id=case.id,
                    agency_id=actor.agency_id,
                    seen_at=seen_at,
                    extra=extra,
                )
            )

        for profile in profiles:
            account = _selector(
                session, "username", profile.username.casefold(), profile.platform, profile.username
            )
            ids[profile.account_id] = account.id
            sight(account.id, account.id, extra={"role": "victim"} if profile.victim else None)
            for kind, values in (
                ("email", profile.emails),
                ("phone", profile.phones),
                ("device", profile.devices),
                ("camera", profile.cameras),
            ):
                for value in sorted(values):
                    sight(_selector(session, kind, value).id, account.id)
            for seen in profile.ips:
                extra = {"possibleProxy": True} if seen.proxy else None
                sight(_selector(session, "ip", seen.ip).id, account.id, seen.seen_at, extra)
        session.flush()
    return ids


def add_people(store: Store) -> tuple[dict[int, int], dict[int, str]]:
    """The hand-made people of ``identity_data`` (without their files); truth by selector id."""
    profiles, truth = people()
    profiles = [p for p in profiles if not p.unknown_files]
    ids = add_profiles(store, profiles)
    return ids, {ids[p.account_id]: truth[p.account_id] for p in profiles}
