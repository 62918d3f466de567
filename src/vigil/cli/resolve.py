"""`vigil resolve`, `vigil subjects`, `vigil link confirm|reject`, `vigil links review`,
`vigil subject split|merge`.

Accounts are named ``platform:username`` (split at the first colon, case-insensitive), as
``vigil subjects --json`` prints them, e.g. ``"Lantern Board:Son_of_god"``.
"""

from __future__ import annotations

import typer

from vigil.cli.app import state
from vigil.cli.output import err_console, print_json, print_note, print_table

# Workflows are imported inside each command, so `vigil --help` does not load DuckDB, pyarrow
# and the identity engine.

link_app = typer.Typer(
    help="Analyst decisions on links between two accounts.", no_args_is_help=True
)
links_app = typer.Typer(help="The links the model is unsure of.", no_args_is_help=True)
subject_app = typer.Typer(help="Split or merge subjects by hand.", no_args_is_help=True)

ACCOUNT_HELP = "An account as platform:username, e.g. 'Lantern Board:Son_of_god'."


def resolve_command(
    ctx: typer.Context,
    full: bool = typer.Option(
        False, "--full", help="Score every pair again, not only new accounts."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the run's counts as JSON."),
    engine: str = typer.Option(
        "duckdb",
        "--engine",
        help="Where pairs are scored: duckdb (in-process) or spark (pip install 'vigil[spark]').",
    ),
    spark_master: str | None = typer.Option(
        None,
        "--spark-master",
        help="Spark master URL for --engine spark: local[*] (default), spark://HOST:7077, yarn.",
    ),
) -> None:
    """Link accounts and selectors into subjects (incremental once subjects exist)."""
    from vigil.workflows.identity.resolve import resolve

    with err_console.status("resolving identities..."):
        result = resolve(
            state(ctx).store(),
            state(ctx).actor(),
            full=full,
            engine=engine,
            spark_master=spark_master,
        )
    if json_out:
        print_json(result)
        return
    typer.echo(
        f"{result.mode} resolve: {result.accounts} accounts ({result.rescored_accounts} scored), "
        f"{result.compared_pairs} pairs compared, {result.links} links; "
        f"{result.subjects} subjects ({result.victims} victims), {result.created} new, "
        f"{result.retired} retired"
    )


def subjects_command(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable, with every link."),
) -> None:
    """List subjects with their accounts, selectors and the reasons for each link."""
    from vigil.workflows.identity.subjects import list_subjects
    from vigil.workflows.network.refresh import what_to_run_first

    store = state(ctx).store()
    if hint := what_to_run_first(store):
        print_note(hint)
    subjects = list_subjects(store)
    if json_out:
        print_json(subjects)
        return
    rows = [
        [
            s["id"],
            s["label"],
            s["role"],
            s["country"] or "",
            ", ".join(f"{a['platform']}:{a['username']}" for a in s["accounts"]),
            len(s["selectors"]),
            min((link["probability"] for link in s["links"]), default=""),
        ]
        for s in subjects
    ]
    print_table(
        "Subjects",
        ["id", "label", "role", "country", "accounts", "selectors", "weakest link"],
        rows,
    )


@link_app.command("confirm")
def link_confirm(
    ctx: typer.Context,
    a: str = typer.Argument(..., help=ACCOUNT_HELP),
    b: str = typer.Argument(..., help=ACCOUNT_HELP),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Two accounts are one person: subjects are re-resolved now, and every later resolve
    joins them."""
    from vigil.workflows.identity.decisions import decide_link

    result = decide_link(state(ctx).store(), state(ctx).actor(), a, b, "confirm", note)
    verb = "confirmed" if result.changed else "already confirmed"
    applied = " (applied: subjects re-resolved)" if result.changed else ""
    typer.echo(f"{verb}: {result.a} ~ {result.b}{applied}")


@link_app.command("reject")
def link_reject(
    ctx: typer.Context,
    a: str = typer.Argument(..., help=ACCOUNT_HELP),
    b: str = typer.Argument(..., help=ACCOUNT_HELP),
    note: str | None = typer.Option(None, "--note"),
) -> None:
    """Two accounts are different people: subjects are re-resolved now, and no later
    resolve puts them in one subject."""
    from vigil.workflows.identity.decisions import decide_link

    result = decide_link(state(ctx).store(), state(ctx).actor(), a, b, "reject", note)
    verb = "rejected" if result.changed else "already rejected"
    applied = " (applied: subjects re-resolved)" if result.changed else ""
    typer.echo(f"{verb}: {result.a} ~ {result.b}{applied}")


@links_app.command("review")
def links_review(
    ctx: typer.Context,
    json_out: bool = typer.Option(False, "--json", help="Machine-readable, with the evidence."),
    limit: int = typer.Option(50, "--limit", min=1, help="How many pairs to list."),
) -> None:
    """Pairs the model is unsure of, the most valuable decision first; answer each with
    `vigil link confirm` or `vigil link reject`."""
    from vigil.workflows.identity.review import review_links

    with err_console.status("scoring pairs..."):
        items = review_links(state(ctx).store(), limit)
    if json_out:
        print_json(items)
        return
    rows = [
        [
            f"{item['expected_value']:.2f}",
            f"{item['probability']:.3f}",
            "linked" if item["linked"] else "apart",
            item["a"],
            item["b"],
            "; ".join(item["reasons"][:3]),
        ]
        for item in items
    ]
    print_table("Review queue", ["value", "p", "now", "a", "b", "reasons"], rows)


@subject_app.command("split")
def subject_split(
    ctx: typer.Context,
    subject: int = typer.Argument(..., help="Subject id."),
    accounts: list[str] = typer.Argument(..., help="Accounts to move out: " + ACCOUNT_HELP),
) -> None:
    """Move accounts out of a subject into a new one; later resolves keep them apart."""
    from vigil.workflows.identity.decisions import split_subject

    result = split_subject(state(ctx).store(), state(ctx).actor(), subject, accounts)
    typer.echo(
        f"split subject {result.subject_id}: {', '.join(result.moved)} "
        f"now subject {result.new_subject_id}"
    )


@subject_app.command("merge")
def subject_merge(
    ctx: typer.Context,
    first: int = typer.Argument(..., help="Subject that stays."),
    second: int = typer.Argument(..., help="Subject merged into the first."),
) -> None:
    """Merge two subjects; later resolves keep them together."""
    from vigil.workflows.identity.decisions import merge_subjects

    kept = merge_subjects(state(ctx).store(), state(ctx).actor(), first, second)
    typer.echo(f"merged subject {second} into {kept}")


def register(app: typer.Typer) -> None:
    app.command("resolve")(resolve_command)
    app.command("subjects")(subjects_command)
    app.add_typer(link_app, name="link")
    app.add_typer(links_app, name="links")
    app.add_typer(subject_app, name="subject")
