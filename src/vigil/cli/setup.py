"""`vigil init`, `vigil case`, `vigil audit`."""

from __future__ import annotations

import os

import typer

from vigil.cli.app import state
from vigil.cli.output import err_console
from vigil.errors import IntegrityViolation

case_app = typer.Typer(help="Investigations.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def init(
    ctx: typer.Context,
    agency: str = typer.Option(..., "--agency", help="Agency code, e.g. TPS-CES."),
    agency_name: str | None = typer.Option(None, "--agency-name"),
    country: str | None = typer.Option(None, "--country", help="ISO 3166 alpha-2."),
) -> None:
    """Create or migrate the schema, the agency and its local admin."""
    from vigil.workflows.operation.setup import init_store

    result = init_store(
        state(ctx).store(), agency, agency_name, country, os.environ.get("VIGIL_ADMIN_PASSWORD")
    )
    if result.created:
        typer.echo(f"initialised {state(ctx).store().safe_url} for agency {result.agency_code}")
        err_console.print(
            f"local admin: {result.admin_username} password: {result.admin_password} "
            "(shown once; set VIGIL_ADMIN_PASSWORD to choose it)"
        )
    else:
        typer.echo(f"schema up to date; agency {result.agency_code} already exists")


@case_app.command("open")
def case_open(
    ctx: typer.Context,
    reference: str = typer.Argument(..., help="Case reference, e.g. OP-2006-001."),
    title: str | None = typer.Option(None, "--title"),
) -> None:
    """Open a case (or show the existing one with that reference)."""
    from vigil.workflows.operation.setup import open_case

    case = open_case(state(ctx).store(), state(ctx).actor(), reference, title)
    verb = "opened" if case.created else "exists:"
    typer.echo(f"{verb} case {case.reference} (id {case.id})")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Walk the hash chain and name the first entry that does not verify."""
    from vigil.workflows.operation.audit import verify_audit

    report = verify_audit(state(ctx).store())
    if not report.ok:
        raise IntegrityViolation(
            f"audit chain broken at entry {report.first_broken_id}: {report.reason} "
            f"({report.entries} entries verified before it)"
        )
    typer.echo(f"audit chain intact: {report.entries} entries")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(case_app, name="case")
    app.add_typer(audit_app, name="audit")
