"""`vigil serve`: the shared server (JSON API and web pages) on uvicorn."""

from __future__ import annotations

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
    no_jobs: bool = typer.Option(
        False, "--no-jobs", help="Leave queued jobs to `vigil worker` processes (PostgreSQL)."
    ),
) -> None:
    """Serve the JSON API under /api and the web pages at /."""
    import uvicorn

    from vigil.server import ServerSettings, create_app

    settings = ServerSettings(
        evidence_root=evidence_root.resolve() if evidence_root else None,
        upload_dir=upload_dir.resolve(),
        upload_limit_bytes=upload_limit_mb * 1024 * 1024,
        secure_cookies=secure_cookies,
        run_jobs=not no_jobs,
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


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
