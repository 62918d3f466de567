"""`vigil demo`: the story end to end on a synthetic operation.

Synth writes an operation; the pipeline runs over it exactly as a unit would run it over real
sources; every country gets its referral package; the operation report is written. The demo
folder holds everything it made, so a second run starts clean only inside a folder that a
demo made (marked by ``.vigil-demo``); any other non-empty folder is refused.
"""

from __future__ import annotations

import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import UsageError
from vigil.report.model import ReportData
from vigil.store.db import Store
from vigil.synth.generate import generate
from vigil.workflows.operation.accounts import add_user
from vigil.workflows.operation.pipeline import OperationResult, StepCallback, run_operation
from vigil.workflows.operation.report import write_report
from vigil.workflows.operation.setup import find_actor, init_store, open_case
from vigil.workflows.referral.refer import ReferralInfo, refer

DEMO_MARKER = ".vigil-demo"
DEMO_CASE = "OP-DEMO"
DEMO_AGENCY = "DEMO"
DEMO_INVESTIGATOR = "investigator"


@dataclass(frozen=True)
class DemoPaths:
    root: Path

    @property
    def operation(self) -> Path:
        return self.root / "operation"

    @property
    def database(self) -> Path:
        return self.root / "vigil.db"

    @property
    def referrals(self) -> Path:
        return self.root / "referrals"

    @property
    def report(self) -> Path:
        return self.root / "report.html"


@dataclass(frozen=True)
class DemoResult:
    paths: DemoPaths
    operation: OperationResult
    referrals: list[ReferralInfo]
    report: ReportData
    seconds: float
    db_url: str
    investigator_password: str
    """The demo investigator's sign-in for `vigil serve` (agency ``DEMO_AGENCY``)."""


def prepare_demo_folder(root: Path) -> DemoPaths:
    """Empty a folder an earlier demo made; refuse to touch anything else."""
    if root.exists():
        if not root.is_dir():
            raise UsageError(f"{root} exists and is not a folder")
        if any(root.iterdir()):
            if not (root / DEMO_MARKER).exists():
                raise UsageError(f"{root} is not empty and was not made by `vigil demo`")
            shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / DEMO_MARKER).write_text("made by vigil demo; deleted by the next run\n")
    return DemoPaths(root)


def run_demo(
    root: Path,
    *,
    seed: int = 1,
    scale: str = "seed",
    db_url: str | None = None,
    jobs: int = 2,
    step: StepCallback | None = None,
) -> DemoResult:
    started = time.perf_counter()
    announce = step or (lambda _name: None)
    paths = prepare_demo_folder(root)
    announce(f"synth: a {scale}-scale operation, seed {seed}")
    generate(paths.operation, seed=seed, scale=scale)
    store = Store(db_url or f"sqlite:///{paths.database}")
    try:
        announce("init")
        init_store(store, DEMO_AGENCY, "Demonstration unit", "CA")
        actor = find_actor(store, f"{DEMO_AGENCY}/admin")
        password = secrets.token_urlsafe(12)
        add_user(store, actor, DEMO_INVESTIGATOR, "investigator", password)
        open_case(store, actor, DEMO_CASE, "Synthetic operation")
        operation = run_operation(
            store, actor, paths.operation, DEMO_CASE, jobs=jobs, step=announce
        )
        announce("referral packages")
        referrals = refer(store, actor, paths.referrals)
        announce("operation report")
        report = write_report(store, actor, paths.report)
    finally:
        store.dispose()
    return DemoResult(
        paths,
        operation,
        referrals,
        report,
        time.perf_counter() - started,
        store.safe_url,
        password,
    )
