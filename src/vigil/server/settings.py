"""What a running server is configured with; the CLI fills it from flags and the environment."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vigil.workflows.media.triage import TriageProbes

DEFAULT_UPLOAD_LIMIT = 512 * 1024 * 1024


@dataclass(frozen=True)
class ServerSettings:
    """``evidence_root``: the only directory triage may read evidence from by path.

    ``upload_dir`` holds uploaded sources (kept as the received original); ``referral_dir``
    receives referral packages, one folder per agency. ``secure_cookies`` marks the session
    cookie Secure; turn it on behind TLS. ``run_jobs`` runs queued jobs inside the server
    process (SQLite's only option; on PostgreSQL ``vigil worker`` processes may do it
    instead). ``hashing_processes`` is how many processes a triage job hashes with when it
    names none: one by default, so that the server still answers while it hashes.
    ``triage_probes`` are the triage workflow's test hooks, passed through from `vigil
    serve`'s environment.
    """

    evidence_root: Path | None = None
    upload_dir: Path = field(default_factory=lambda: Path("vigil-uploads"))
    referral_dir: Path = field(default_factory=lambda: Path("vigil-referrals"))
    upload_limit_bytes: int = DEFAULT_UPLOAD_LIMIT
    session_lifetime: timedelta = timedelta(hours=8)
    secure_cookies: bool = False
    run_jobs: bool = True
    login_failures_before_delay: int = 3
    login_failures_before_refusal: int = 6
    login_failure_window: timedelta = timedelta(minutes=15)
    login_delay_seconds: float = 1.0
    job_lease: timedelta = timedelta(seconds=30)
    job_poll_seconds: float = 2.0
    hashing_processes: int = 1
    triage_probes: TriageProbes | None = None
