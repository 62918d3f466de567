"""Compose the world, the media pool and every writer into one operation on disk.

Written into a sibling `.partial` folder and moved into place at the end, so an interrupted
run never leaves a half-written operation where a test or an analyst would read it.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil.errors import BadInput
from vigil.synth.agencies import split
from vigil.synth.chatlog import write_chat
from vigil.synth.cybertip import write_cybertip
from vigil.synth.devices import (
    HashSets,
    choose_owners,
    expected_counts,
    plan_devices,
    write_devices,
)
from vigil.synth.hashsets import write_hashsets
from vigil.synth.irc import write_irc
from vigil.synth.isp import write_isp
from vigil.synth.ledger import Ledger, Traffic
from vigil.synth.phpbb import write_phpbb
from vigil.synth.pool import build_pool
from vigil.synth.truth import build_truth, write_truth
from vigil.synth.world import Scale, build_world

SCALES: dict[str, Scale] = {
    "small": Scale(
        "small",
        suspects=60,
        countries=8,
        distributors=3,
        producers=2,
        victims=3,
        devices=4,
        esp_providers=2,
        irc_rooms=2,
        common_alias_pairs=2,
        cgnat_groups=1,
        families=1,
        known_images=24,
        near_duplicates=16,
        unknown_images=30,
        series_images=8,
        traffic_days=14,
        split_personas=7,
    ),
    "seed": Scale(
        "seed",
        suspects=700,
        countries=35,
        distributors=20,
        producers=4,
        victims=12,
        devices=8,
        esp_providers=3,
        irc_rooms=5,
        common_alias_pairs=6,
        cgnat_groups=4,
        families=3,
        known_images=100,
        near_duplicates=60,
        unknown_images=160,
        series_images=10,
        traffic_days=60,
        split_personas=80,
    ),
    "large": Scale(
        "large",
        suspects=10000,
        countries=40,
        distributors=200,
        producers=8,
        victims=40,
        devices=10,
        esp_providers=3,
        irc_rooms=6,
        common_alias_pairs=30,
        cgnat_groups=20,
        families=15,
        known_images=200,
        near_duplicates=120,
        unknown_images=300,
        series_images=12,
        traffic_days=120,
        split_personas=1200,
    ),
}
STEPS = [
    "world",
    "media",
    "forum",
    "irc",
    "chat",
    "cybertip",
    "isp",
    "hashsets",
    "devices",
    "truth",
]


@dataclass(frozen=True)
class SynthResult:
    out: Path
    truth_path: Path
    persons: int
    devices: int
    sources: int
    seconds: float


def _prepare(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise BadInput(f"{out} is a file; give a folder for the synthetic operation")
    if out.exists() and any(out.iterdir()) and not (out / "truth.json").exists():
        raise BadInput(
            f"{out} is not empty and holds no earlier synthetic operation; "
            "choose an empty or new folder"
        )
    partial = out.parent / f".{out.name}.partial"
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    return partial


def generate(
    out: Path,
    seed: int = 1,
    scale: str = "small",
    step: Callable[[str], None] | None = None,
    agencies: list[str] | None = None,
) -> SynthResult:
    """Write a whole synthetic operation for `seed` at `scale` into `out`; with `agencies`,
    also split it between them (``vigil.synth.agencies``)."""
    if scale not in SCALES:
        raise BadInput(f"unknown scale {scale!r}; choose one of {', '.join(SCALES)}")
    started = time.perf_counter()
    announce = step or (lambda _name: None)
    settings = SCALES[scale]
    work = _prepare(out)
    ledger = Ledger()

    def report(name: str) -> None:
        ledger.phase = name
        announce(name)

    try:
        report("world")
        world = build_world(seed, settings)
        persons = world.persons
        report("media")
        producers = [p for p in persons if p.role == "producer"]
        pool = build_pool(seed, settings, producers)
        traffic = Traffic(
            work, persons, pool.circulating(), pool.series, seed, settings.traffic_days, ledger
        )
        report("forum")
        write_phpbb(traffic)
        report("irc")
        write_irc(traffic, settings.irc_rooms)
        report("chat")
        write_chat(traffic)
        report("cybertip")
        write_cybertip(traffic, world.esp_platforms)
        report("isp")
        write_isp(work, persons, world.isps, world.false_friends, seed, ledger)
        report("hashsets")
        hashset_entries: list[dict[str, object]] = []
        write_hashsets(work, pool.known, pool.ignorable, seed, hashset_entries)
        report("devices")
        plans = plan_devices(seed, pool, choose_owners(world.suspects(), settings.devices))
        write_devices(work, plans)
        sets = HashSets(
            alert={h for m in pool.known for h in (m.md5, m.sha1, m.sha256)},
            ignorable={h for m in pool.ignorable for h in (m.md5, m.sha1, m.sha256)},
            alert_pdqs=[m.pdq for m in pool.known if m.pdq],
        )
        media = pool.by_sha256()
        devices: list[dict[str, object]] = [
            {
                "id": plan.id,
                "person": plan.person.id,
                # The seizure record: the account investigators tied the device's owner to.
                "seized_from": {
                    "platform": plan.person.accounts[0].platform,
                    "username": plan.person.accounts[0].username,
                },
                "path": f"devices/{plan.id}",
                "expected": expected_counts(work / "devices" / plan.id, media, sets),
            }
            for plan in plans
        ]
        report("truth")
        truth = build_truth(
            seed,
            scale,
            persons,
            ledger,
            hashset_entries,
            world.false_friends,
            devices,
            pool.series_truth,
        )
        if agencies:
            cameras = {p.id: p.camera for p in persons if p.camera}
            truth.update(split(work, agencies, ledger, devices, cameras))
        write_truth(work, truth)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    work.rename(out)
    return SynthResult(
        out,
        out / "truth.json",
        len(persons),
        len(plans),
        len(ledger.sources),
        time.perf_counter() - started,
    )
