"""`vigil agency add`, `vigil user add|list|disable`: who may sign in to the shared server."""

from __future__ import annotations

import dataclasses
import os

import typer

from vigil.cli.app import state
from vigil.cli.output import print_json, print_table

agency_app = typer.Typer(help="Agencies hosted on this server.", no_args_is_help=True)
user_app = typer.Typer(help="User accounts and their roles.", no_args_is_help=True)


@agency_app.command("add")
def agency_add(
    ctx: typer.Context,
    code: str = typer.Argument(..., help="Agency code, e.g. GB-NCA."),
    name: str = typer.Option(..., "--name", help="The agency's full name."),
    country: str = typer.Option(..., "--country", help="ISO 3166 alpha-2."),
) -> None:
    """Host another agency on this server (a national centre hosting its regional units)."""
    from vigil.workflows.operation.accounts import add_agency

    store = state(ctx).store()
    info = add_agency(store, state(ctx).actor(), code, name, country)
    verb = "added" if info.created else "exists:"
    typer.echo(f"{verb} agency {info.code} ({info.name}, {info.country})")


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    role: str = typer.Option(
        ..., "--role", help="analyst | investigator | supervisor | auditor | admin"
    ),
    agency: str | None = typer.Option(None, "--agency", help="Agency code (default: yours)."),
) -> None:
    """Add a user. The password comes from VIGIL_PASSWORD or a prompt; stored as argon2id."""
    from vigil.workflows.operation.accounts import add_user, check_new_user

    check_new_user(username, role)  # a wrong role is said before the password is asked for
    password = os.environ.get("VIGIL_PASSWORD") or typer.prompt(
        "password", hide_input=True, confirmation_prompt=True
    )
    store = state(ctx).store()
    made = add_user(store, state(ctx).actor(), username, role, password, agency)
    typer.echo(f"added user {made.agency}/{made.username} ({made.role})")


@user_app.command("list")
def user_list(
    ctx: typer.Context,
    agency: str | None = typer.Option(None, "--agency", help="Only this agency's users."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Users with their agency, role and whether they are disabled."""
    from vigil.workflows.operation.accounts import list_users

    users = list_users(state(ctx).store(), agency)
    if as_json:
        print_json([dataclasses.asdict(u) for u in users])
        return
    print_table(
        "users",
        ["agency", "username", "role", "disabled"],
        [[u.agency, u.username, u.role, "yes" if u.disabled else ""] for u in users],
    )


@user_app.command("disable")
def user_disable(
    ctx: typer.Context,
    username: str = typer.Argument(...),
    agency: str | None = typer.Option(None, "--agency", help="Agency code (default: yours)."),
) -> None:
    """Disable a user: their sessions and tokens stop working at once."""
    from vigil.workflows.operation.accounts import disable_user

    store = state(ctx).store()
    info = disable_user(store, state(ctx).actor(), username, agency)
    typer.echo(f"disabled {info.agency}/{info.username}")


def register(app: typer.Typer) -> None:
    app.add_typer(agency_app, name="agency")
    app.add_typer(user_app, name="user")
