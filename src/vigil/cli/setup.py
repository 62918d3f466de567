"""`vigil init`, `vigil case`, `vigil audit`."""

from __future__ import annotations

import os
from pathlib import Path

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


KEYS_OPTION = typer.Option(
    None, "--keys", envvar="VIGIL_KEYS", help="Folder of the node's signing key (outside the DB)."
)


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    anchor: Path | None = typer.Option(
        None, "--anchor", help="An anchor from `vigil audit anchor`: catches a cut or rewrite."
    ),
    keys: Path | None = KEYS_OPTION,
) -> None:
    """Walk the hash chain and the signed checkpoints; name the first thing that fails."""
    from vigil.workflows.operation.audit import read_anchor, verify_audit

    kept = read_anchor(anchor) if anchor is not None else None
    report = verify_audit(state(ctx).store(), kept, keys)
    chain = report.chain
    if not chain.ok:
        raise IntegrityViolation(
            f"audit chain broken at entry {chain.first_broken_id}: {chain.reason} "
            f"({chain.entries} entries verified before it)"
        )
    if report.anchors.problem:
        raise IntegrityViolation(f"audit chain does not verify: {report.anchors.problem}")
    signed = f", {report.anchors.checkpoints} signed checkpoint(s)"
    typer.echo(
        f"audit chain intact: {chain.entries} entries{signed}"
        + (", anchor holds" if kept is not None else "")
    )


@audit_app.command("anchor")
def audit_anchor(
    ctx: typer.Context,
    output: Path | None = typer.Option(
        None, "-o", "--output", help="Write the signed head here for an auditor to keep."
    ),
    keys: Path | None = KEYS_OPTION,
) -> None:
    """Sign the audit chain's head with the node key and record it as a checkpoint."""
    from vigil.cli.output import to_json
    from vigil.outputs import check_output_path, write_atomically
    from vigil.workflows.operation.audit import anchor_audit

    if output is not None:
        check_output_path(output)
    anchor = anchor_audit(state(ctx).store(), state(ctx).actor(), keys)
    text = to_json(anchor) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        write_atomically(output, text)
        typer.echo(f"anchored entry {anchor['head_id']} ({anchor['entries']} entries) to {output}")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(case_app, name="case")
    app.add_typer(audit_app, name="audit")
