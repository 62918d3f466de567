"""`vigil federation`, `vigil peer`, `vigil deconflict`, `vigil deconfliction`, `vigil inbox`."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from vigil.cli.app import state
from vigil.cli.output import print_json, print_table

if TYPE_CHECKING:
    from vigil.store.db import Store

federation_app = typer.Typer(help="This node's federation identity and keys.", no_args_is_help=True)
peer_app = typer.Typer(help="Other agencies' nodes.", no_args_is_help=True)
deconfliction_app = typer.Typer(help="Deconfliction hits.", no_args_is_help=True)
inbox_app = typer.Typer(help="Referral packages received from peers.")


def default_keys_dir(store: Store, agency: str) -> Path:
    """``VIGIL_KEYS``, else beside a SQLite file, else the user's data folder; per agency."""
    from sqlalchemy.engine import make_url

    configured = os.environ.get("VIGIL_KEYS")
    if configured:
        return Path(configured) / agency
    database = make_url(store.url).database if store.dialect == "sqlite" else None
    if database and database != ":memory:":
        return Path(database).expanduser().resolve().parent / "vigil-keys" / agency
    return Path.home() / ".local" / "share" / "vigil" / "keys" / agency


@federation_app.command("init")
def federation_init(
    ctx: typer.Context,
    url: str | None = typer.Option(None, "--url", help="Where peers reach this node."),
    contact: str | None = typer.Option(None, "--contact", help="Contact point told on hits."),
    keys_dir: Path | None = typer.Option(
        None,
        "--keys",
        help="Folder for a new node's private keys (default: beside the database); "
        "an existing node keeps its own.",
    ),
) -> None:
    """Make this node's Ed25519 signing key and its OPRF key (once); print its identity."""
    from vigil.workflows.federation.exchange import has_node
    from vigil.workflows.federation.node import init_node

    store = state(ctx).store()
    actor = state(ctx).actor()
    if keys_dir is None and not has_node(store, actor):
        keys_dir = default_keys_dir(store, actor.agency_code)
    found = init_node(store, actor, keys_dir, url=url, contact=contact)
    typer.echo(f"federation identity of {found.agency}: {found.public_key}")


@federation_app.command("identity")
def federation_identity(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Print {agency, country, url, public_key}: what a peer needs for `vigil peer add`."""
    from vigil.workflows.federation.node import identity

    store = state(ctx).store()
    found = identity(store, state(ctx).actor())
    shown = {
        "agency": found.agency,
        "country": found.country,
        "url": found.url,
        "public_key": found.public_key,
    }
    if as_json:
        print_json(shown)
        return
    for key, value in shown.items():
        typer.echo(f"{key}: {value}")


@federation_app.command("rotate-key")
def federation_rotate(ctx: typer.Context) -> None:
    """A new signing key; every peer learns it through a request signed by the old one."""
    from vigil.federation.transport import HttpTransport
    from vigil.workflows.federation.exchange import rotate_signing_key

    store = state(ctx).store()
    key = rotate_signing_key(store, state(ctx).actor(), HttpTransport())
    typer.echo(f"new signing key {key}; peers not reached get it on `vigil federation sync`")


@federation_app.command("sync")
def federation_sync(ctx: typer.Context) -> None:
    """Deliver what waits in the outbox (referrals, outcomes, key changes)."""
    from vigil.federation.transport import HttpTransport
    from vigil.workflows.federation.exchange import deliver_pending

    store = state(ctx).store()
    result = deliver_pending(store, state(ctx).actor(), HttpTransport())
    typer.echo(
        f"delivered {result.delivered}, still pending {result.pending}, refused {result.refused}"
    )


@federation_app.command("serve")
def federation_serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8100, "--port"),
) -> None:
    """Serve only the peer endpoints (/federation/v1) for this database."""
    import uvicorn

    from vigil.peer_api.app import create_peer_app

    store = state(ctx).store()
    store.require_initialised()
    uvicorn.run(create_peer_app(store), host=host, port=port, log_level="warning")


@peer_app.command("add")
def peer_add(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="The peer agency's code."),
    url: str = typer.Argument(..., help="The peer node's URL."),
    public_key: str = typer.Option(..., "--public-key", help="From its `federation identity`."),
    country: str | None = typer.Option(None, "--country", help="The country it serves."),
    selectors_per_hour: int | None = typer.Option(
        None, "--selectors-per-hour", help="How many of our selectors it may have evaluated."
    ),
) -> None:
    """Pin another agency's node and its signing key."""
    from vigil.workflows.federation.node import add_peer

    store = state(ctx).store()
    peer = add_peer(
        store,
        state(ctx).actor(),
        code,
        url,
        public_key,
        country=country,
        selectors_per_hour=selectors_per_hour,
    )
    typer.echo(f"peer {peer.code} ({peer.country or 'no country'}) at {peer.url}")


def _set_peer_status(ctx: typer.Context, code: str, status: str) -> None:
    from vigil.workflows.federation.node import set_peer_status

    peer = set_peer_status(state(ctx).store(), state(ctx).actor(), code, status)
    typer.echo(f"peer {peer.code} is {peer.status}")


@peer_app.command("disable")
def peer_disable(
    ctx: typer.Context, code: str = typer.Argument(..., help="The peer agency's code.")
) -> None:
    """Stop exchanging with a peer: its requests are refused and nothing more is sent to it."""
    _set_peer_status(ctx, code, "disabled")


@peer_app.command("enable")
def peer_enable(
    ctx: typer.Context, code: str = typer.Argument(..., help="The peer agency's code.")
) -> None:
    """Exchange with a disabled peer again."""
    _set_peer_status(ctx, code, "active")


@peer_app.command("list")
def peer_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """The pinned peers."""
    from vigil.workflows.federation.node import list_peers

    store = state(ctx).store()
    peers = list_peers(store, state(ctx).actor())
    if as_json:
        print_json(peers)
        return
    print_table(
        "peers",
        ["code", "country", "url", "status", "public_key"],
        [[p.code, p.country, p.url, p.status, p.public_key] for p in peers],
    )


def deconflict_command(
    ctx: typer.Context,
    purpose: str = typer.Option(..., "--purpose", help="Why: recorded on both sides."),
    case: str | None = typer.Option(None, "--case", help="Only this case's selectors."),
    peer: list[str] | None = typer.Option(None, "--peer", help="Ask only these peers."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Ask every peer whether it holds any of our selectors, without revealing them."""
    from vigil.federation.transport import HttpTransport
    from vigil.workflows.federation.deconflict import deconflict

    store = state(ctx).store()
    hits = deconflict(
        store, state(ctx).actor(), HttpTransport(), purpose=purpose, case=case, peers=peer or None
    )
    _print_hits(hits, as_json)


def _print_hits(hits: list, as_json: bool) -> None:  # type: ignore[type-arg]
    if as_json:
        from vigil.workflows.federation.deconflict import hit_json

        print_json([hit_json(h) for h in hits])
        return
    print_table(
        "deconfliction hits",
        ["direction", "peer", "kind", "subject", "case", "contact", "their reference"],
        [
            [h.direction, h.peer, h.kind, h.subject_id, h.case, h.contact, h.their_reference]
            for h in hits
        ],
    )


@deconfliction_app.command("hits")
def deconfliction_hits(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """The hits this agency made and received."""
    from vigil.workflows.federation.deconflict import list_hits

    store = state(ctx).store()
    _print_hits(list_hits(store, state(ctx).actor()), as_json)


@inbox_app.callback(invoke_without_command=True)
def inbox_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """Referral packages received from peers (subcommands accept or decline one)."""
    if ctx.invoked_subcommand is not None:
        return
    from vigil.workflows.federation.inbox import list_inbox

    store = state(ctx).store()
    rows = list_inbox(store, state(ctx).actor())
    if as_json:
        print_json(rows)
        return
    print_table(
        "inbox",
        ["id", "peer", "reference", "state", "subjects", "case", "manifest"],
        [[r.id, r.peer, r.reference, r.state, r.subjects, r.case, r.manifest_sha256] for r in rows],
    )


@inbox_app.command("accept")
def inbox_accept(
    ctx: typer.Context,
    inbox_id: int = typer.Argument(..., help="The inbox id."),
    case: str = typer.Option(..., "--case", help="Reference of the case to open."),
) -> None:
    """Verify signature and manifest, then open a case from the package."""
    from vigil.workflows.federation.inbox import accept, own_overlaps

    store = state(ctx).store()
    actor = state(ctx).actor()
    row = accept(store, actor, inbox_id, case)
    typer.echo(
        f"accepted {row.reference} from {row.peer} into case {row.case} "
        f"({row.subjects} subjects; manifest sha256 {row.manifest_sha256})"
    )
    for overlap in own_overlaps(store, actor, inbox_id):
        typer.echo(overlap.describe())


@inbox_app.command("decline")
def inbox_decline(
    ctx: typer.Context,
    inbox_id: int = typer.Argument(..., help="The inbox id."),
    reason: str | None = typer.Option(None, "--reason"),
) -> None:
    """Decline a received package; it stays listed as declined."""
    from vigil.workflows.federation.inbox import decline

    store = state(ctx).store()
    row = decline(store, state(ctx).actor(), inbox_id, reason)
    typer.echo(f"declined {row.reference} from {row.peer}")


def register(app: typer.Typer) -> None:
    app.add_typer(federation_app, name="federation")
    app.add_typer(peer_app, name="peer")
    app.command("deconflict")(deconflict_command)
    app.add_typer(deconfliction_app, name="deconfliction")
    app.add_typer(inbox_app, name="inbox")
