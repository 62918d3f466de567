"""Long work started from a page form: re-linking after a decision, preparing referrals,
triage and upload.

Re-linking and referrals run in the request while the server has no job queue to hand them
to (they take seconds at seed scale); triage and upload wait for the queue, since a device
can take many minutes.
"""

from __future__ import annotations

from fastapi import Request

from vigil.errors import UsageError
from vigil.store.db import Actor
from vigil.workflows.identity.resolve import resolve
from vigil.workflows.referral.refer import refer


def _store_and_actor(request: Request, actor: Actor | None) -> tuple[object, Actor]:
    if actor is None:
        raise UsageError("sign in first")
    return request.app.state.store, actor


def relink(request: Request, actor: Actor | None) -> str:
    """Resolve again, so the subjects follow the decision just recorded."""
    store, who = _store_and_actor(request, actor)
    result = resolve(store, who)  # type: ignore[arg-type]
    return f"subjects re-linked ({result.subjects} subjects)"


def prepare_referrals(request: Request, actor: Actor | None, country: str | None) -> str:
    store, who = _store_and_actor(request, actor)
    folder = request.app.state.settings.upload_dir / "referrals"
    made = refer(store, who, folder, country=country)  # type: ignore[arg-type]
    return f"{len(made)} referral package{'s' if len(made) != 1 else ''} prepared"


async def enqueue_upload(request: Request, actor: Actor | None, reference: str) -> int:
    raise UsageError("uploads are ingested by the server's job queue, which is not running")


def enqueue_triage(
    request: Request, actor: Actor | None, reference: str, path: str, owner: str | None
) -> int:
    raise UsageError("triage runs in the server's job queue, which is not running")
