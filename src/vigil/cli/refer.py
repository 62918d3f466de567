"""`vigil refer`, `vigil referrals`, `vigil referral verify`, `vigil outcome`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from vigil.cli.app import state
from vigil.cli.output import err_console, print_json, print_table
from vigil.errors import IntegrityViolation, UsageError
from vigil.store.constants import OUTCOME_KINDS

if TYPE_CHECKING:
    from vigil.store.db import Actor, Store
    from vigil.workflows.referral.refer import ReferralInfo

referral_app = typer.Typer(help="Referral packages.", no_args_is_help=True)


def refer_command(
    ctx: typer.Context,
    country: str | None = typer.Option(None, "--country", help="ISO 3166 alpha-2."),
    all_countries: bool = typer.Option(False, "--all", help="One package per country."),
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Directory for the packages (with --send: ./referrals)."
    ),
    send: bool = typer.Option(
        False, "--send", help="Sign and deliver each package to the peer serving its country."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Write one referral package per country: manifest, PDF summary, file hashes; no media."""
    from vigil.workflows.referral.refer import refer, referral_json

    if all_countries == (country is not None):
        raise UsageError("give exactly one of --country CC or --all")
    if output is None and not send:
        raise UsageError("give -o DIR for the packages (or --send)")
    store, actor = state(ctx).store(), state(ctx).actor()
    if send:
        from vigil.workflows.federation.exchange import check_sendable
        from vigil.workflows.operation.accounts import check_country

        check_sendable(store, actor, check_country(country))
    referrals = refer(store, actor, output or Path("referrals"), country=country, sending=send)
    if send:
        _send(store, actor, referrals)
    if as_json:
        print_json([referral_json(r) for r in referrals])
        return
    for r in referrals:
        typer.echo(
            f"referral {r.id} {r.country}: {len(r.subjects)} subjects -> {r.package} "
            f"(manifest sha256 {r.sha256})"
        )


def _send(store: Store, actor: Actor, referrals: list[ReferralInfo]) -> None:
    """Send each package to the peer serving its country. With ``--all`` a country may
    have none (the unit's own, always): its package stays prepared, and is named."""
    from vigil.federation.transport import HttpTransport
    from vigil.workflows.federation.exchange import send_referrals, served_countries

    served = served_countries(store, actor)
    unserved = sorted({r.country or "" for r in referrals if r.country not in served})
    if unserved:
        err_console.print(
            f"not sent, no peer serves {', '.join(unserved)}: "
            "those packages stay prepared (`vigil peer add ... --country CC`, then send again)"
        )
    sendable = [r.id for r in referrals if r.country in served]
    if not sendable:
        return
    result = send_referrals(store, actor, HttpTransport(), sendable)
    if not (result.delivered or result.pending or result.refused):
        err_console.print(
            "sent: nothing new; each package is already on its way or delivered "
            "(`vigil referrals --json` gives their status)"
        )
        return
    err_console.print(
        f"sent: {result.delivered} delivered, {result.pending} waiting in the outbox "
        f"(`vigil federation sync` retries), {result.refused} refused"
        + (f"; {result.errors[-1]}" if result.errors else "")
    )


def referrals_command(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List referrals with their subjects, status and package hash."""
    from vigil.workflows.referral.refer import list_referrals, referral_json

    referrals = list_referrals(state(ctx).store())
    if as_json:
        print_json([referral_json(r) for r in referrals])
        return
    print_table(
        "referrals",
        ["id", "country", "subjects", "status", "outcomes", "package"],
        [
            [r.id, r.country, len(r.subjects), r.status, len(r.outcomes), r.package]
            for r in referrals
        ],
    )


@referral_app.command("verify")
def verify_command(
    ctx: typer.Context,
    directory: Path = typer.Argument(..., help="A package directory written by `vigil refer`."),
) -> None:
    """Recompute every hash in a package's manifest; fails on any change or any media."""
    from vigil.workflows.referral.refer import verify_referral

    store = state(ctx).store()
    report = verify_referral(store, directory)
    if not report.ok:
        raise IntegrityViolation(f"{directory}: " + "; ".join(report.problems))
    typer.echo(
        f"package verifies: {report.checked_files} files match manifest "
        f"sha256 {report.manifest_sha256}"
    )


def outcome_command(
    ctx: typer.Context,
    subject: str = typer.Argument(..., help="Subject id, label or account username."),
    kind: str = typer.Argument(..., help=" | ".join(OUTCOME_KINDS)),
    on: str | None = typer.Option(None, "--date", help="YYYY-MM-DD (default today)."),
) -> None:
    """Record what came of a referral for one subject."""
    from vigil.workflows.referral.outcomes import record_outcome

    store, actor = state(ctx).store(), state(ctx).actor()
    info = record_outcome(store, actor, subject, kind, on)
    against = f"referral {info.referral_id}" if info.referral_id else "no referral"
    verb = "recorded" if info.created else "already recorded:"
    typer.echo(f"{verb} {info.kind} of subject {info.subject_id} on {info.date} ({against})")
    _report_to_referrers(store, actor)


def _report_to_referrers(store: Store, actor: Actor) -> None:
    """An outcome for a subject a peer referred is queued for that peer; deliver it now."""
    from vigil.federation.transport import HttpTransport
    from vigil.workflows.federation.exchange import deliver_pending, has_node

    if not has_node(store, actor):
        return
    result = deliver_pending(store, actor, HttpTransport())
    if result.delivered or result.pending:
        err_console.print(
            f"outcome reports: {result.delivered} delivered to referring agencies, "
            f"{result.pending} waiting in the outbox"
        )


def register(app: typer.Typer) -> None:
    app.command("refer")(refer_command)
    app.command("referrals")(referrals_command)
    app.add_typer(referral_app, name="referral")
    app.command("outcome")(outcome_command)
