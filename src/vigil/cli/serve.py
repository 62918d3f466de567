"""`vigil serve`: the shared server (JSON API and web pages) on uvicorn; `vigil worker`."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import typer

from vigil.cli.app import state
from vigil.errors import UsageError


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host"),
    port: int = typer.Option(8000, "--port", min=1, max=65535),
    evidence_root: Path | None = typer.Option(
        None, "--evidence-root", help="Triage reads evidence by path only under this folder."
    ),
    upload_dir: Path = typer.Option(
        Path("vigil-uploads"), "--upload-dir", help="Where uploaded sources are kept."
    ),
    upload_limit_mb: int = typer.Option(512, "--upload-limit-mb", min=1),
    secure_cookies: bool = typer.Option(
        False, "--secure-cookies", help="Mark the session cookie Secure (behind TLS)."
    ),
    referral_dir: Path = typer.Option(
        Path("vigil-referrals"), "--referral-dir", help="Where referral packages are written."
    ),
    no_jobs: bool = typer.Option(
        False, "--no-jobs", help="Leave queued jobs to `vigil worker` processes (PostgreSQL)."
    ),
    hashing_processes: int = typer.Option(
        1,
        "--hashing-processes",
        min=1,
        help="Processes a triage job hashes with (one keeps the server answering meanwhile).",
    ),
) -> None:
    """Serve the JSON API under /api and the web pages at /."""
    import uvicorn

    from vigil.server import ServerSettings, create_app
    from vigil.workflows.media.triage import TriageProbes

    settings = ServerSettings(
        evidence_root=evidence_root.resolve() if evidence_root else None,
        upload_dir=upload_dir.resolve(),
        referral_dir=referral_dir.resolve(),
        upload_limit_bytes=upload_limit_mb * 1024 * 1024,
        secure_cookies=secure_cookies,
        run_jobs=not no_jobs,
        hashing_processes=hashing_processes,
        triage_probes=TriageProbes.from_environment(os.environ),
    )
    app = create_app(state(ctx).store(), settings)
    listening = _listen(host, port)
    typer.echo(f"vigil serving {state(ctx).store().safe_url} at http://{host}:{port}/", err=True)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[listening])


def _listen(host: str, port: int) -> socket.socket:
    """Bind before saying so: from the banner on, connections queue instead of failing."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listening = socket.socket(family, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind((host, port))
    except OSError as exc:
        listening.close()
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    listening.listen(2048)
    return listening


def worker(
    ctx: typer.Context,
    exit_when_idle: bool = typer.Option(
        False, "--exit-when-idle", help="Stop once no job is left instead of waiting for more."
    ),
    lease_seconds: int = typer.Option(
        30, "--lease-seconds", min=1, help="How long a job stays ours without a heartbeat."
    ),
    hashing_processes: int | None = typer.Option(
        None,
        "--hashing-processes",
        min=1,
        help="Processes a triage job hashes with (default: one per CPU).",
    ),
) -> None:
    """Run queued jobs (triage, ingest, hash sets, resolve, refer) from the shared store.

    Several workers may run at once on PostgreSQL; each job goes to exactly one of them, and a
    job whose worker died is taken up again once its lease lapses.
    """
    from datetime import timedelta

    from vigil.machine import cores_here
    from vigil.workflows.media.triage import TriageProbes
    from vigil.workflows.operation.job_runner import JobRunner

    store = state(ctx).store()
    store.require_initialised()
    runner = JobRunner(
        store,
        lease=timedelta(seconds=lease_seconds),
        probes=TriageProbes.from_environment(os.environ),
        hashing_processes=hashing_processes or cores_here(),
    )
    typer.echo(f"vigil worker {runner.name} on {store.safe_url}", err=True)
    if exit_when_idle:
        ran = runner.run_until_idle()
        typer.echo(f"ran {ran} job(s); none left", err=True)
        return
    runner.loop()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
    app.command("worker")(worker)
