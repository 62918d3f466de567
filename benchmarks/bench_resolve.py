"""Identity resolution at 100,000 and 1,000,000 accounts, and one new account against them.

Profiles are generated directly as plain data (ingesting a million accounts through the store
would measure ingest, not resolution): invented people with 1-4 accounts each, aliases that
drift across platforms, emails, phones, devices and timed IPs, plus shared addresses and
common handles that must not merge strangers. Pairwise F1 against that generator's truth is
printed with every timing.

Profiles are held pickled and compressed and unpacked on each pass (``PackedProfiles``), so
that ten million fit beside the run. Peak resident memory is printed.

Anchor for a full run: splink alone on the same accounts in the same run, on the feature
columns the candidate built (its ``AccountTable``, run after it): its training calls (random
sampling for u, EM on the two training blocks) and ``predict`` over the blocked pairs with the
model so learned, collecting the pairs over the threshold; against Vigil end to end
(features and frequencies from the profiles, the same learning and splink run, clustering
under constraints, reasons for every link). A naive deterministic resolver (union-find over
exact emails and phones) is printed for quality only.
Anchor for one new account: the same question asked through splink's ``predict_between``
(DuckDB) against the whole population. Wall and CPU seconds are both printed, with the load
average: on the shared development machine the CPU figure is the one that travels.

    .venv/bin/python -m benchmarks.bench_resolve --accounts 100000 --accounts 1000000
    .venv/bin/python -m benchmarks.bench_resolve --accounts 1000000 --engine spark --queries 0
"""

from __future__ import annotations

import argparse
import gc
import pickle
import random
import resource
import statistics
import subprocess
import time
import zlib
from collections.abc import Collection, Iterator
from datetime import UTC, datetime, timedelta

import numpy as np

from benchmarks.common import Timing, report
from vigil.collector import collector_paused
from vigil.identity.account_table import AccountTable
from vigil.identity.clusters import Constraints
from vigil.identity.features import Population, account_columns
from vigil.identity.learning import learn
from vigil.identity.linkage import Linkage, open_linkage
from vigil.identity.model import LINK_THRESHOLD, Model
from vigil.identity.profiles import AccountProfile, IpSighting
from vigil.identity.resolution import resolve
from vigil.identity.scoring import SubjectIndex

START = datetime(2006, 1, 1, tzinfo=UTC)
PLATFORMS = ["forum", "irc", "parley", "murmur", "picnook", "boxhaven", "chirpline"]
COUNTRIES = [f"{a}{b}" for a in "ABCDEFG" for b in "ABCDE"]  # 35 invented codes
COUNTRY_SETS = {country: frozenset({country}) for country in COUNTRIES}
_SYLLABLES = [c + v for c in "bdfghjklmnprstvz" for v in ("a", "e", "i", "o", "u", "ai", "ou")]


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.choice([2, 2, 3])))


def _drift(rng: random.Random, words: list[str], number: str) -> str:
    sep = rng.choice(["_", ".", "", "-"])
    text = sep.join(w.capitalize() if rng.random() < 0.4 else w for w in words)
    if rng.random() < 0.2:
        text = text.replace("o", "0").replace("e", "3")
    roll = rng.random()
    suffix = number if roll < 0.7 else (str(rng.randint(1, 99)) if roll < 0.9 else "")
    return text + suffix


def _generated(accounts: int, seed: int) -> Iterator[tuple[AccountProfile, int]]:
    """``accounts`` profiles, each with its person, in account id order."""
    rng = random.Random(seed)
    made = 0
    shared_ips = [f"100.{rng.randint(64, 127)}.{rng.randint(0, 255)}.1" for _ in range(200)]
    person = 0
    while made < accounts:
        person += 1
        words = [_word(rng) for _ in range(rng.choice([1, 2, 2]))]
        number = str(rng.randint(1, 999)) if len(words) == 1 or rng.random() < 0.4 else ""
        home = [
            f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}."
            f"{rng.randint(1, 254)}"
            for _ in range(rng.choice([1, 1, 2]))
        ]
        if rng.random() < 0.02:
            home.append(rng.choice(shared_ips))
        email = f"{''.join(words)}{number or rng.randint(1, 99)}@mail{rng.randint(1, 9)}.example"
        phone = f"+1555{rng.randint(0, 9_999_999):07d}" if rng.random() < 0.3 else None
        country = rng.choice(COUNTRIES)
        # one set per person, shared by its accounts: at 10M accounts, sets made per account
        # would hold gigabytes the resolver never needed
        emails, phones = frozenset({email}), frozenset({phone}) if phone else frozenset()
        for platform in rng.sample(PLATFORMS, rng.choice([1, 2, 2, 3, 4])):
            if made >= accounts:
                break
            made += 1
            account_id = made
            seen = START + timedelta(hours=rng.randint(0, 24 * 60))
            ips = tuple(
                IpSighting(rng.choice(home), seen + timedelta(hours=rng.randint(0, 24 * 10)))
                for _ in range(rng.randint(1, 4))
            )
            has_email = platform in ("forum", "picnook", "boxhaven") and rng.random() < 0.8
            yield (
                AccountProfile(
                    account_id,
                    platform,
                    _drift(rng, words, number),
                    emails=emails if has_email else frozenset(),
                    phones=phones if platform == "picnook" else frozenset(),
                    ips=ips,
                    countries=COUNTRY_SETS[country],
                ),
                person,
            )


def generate(accounts: int, seed: int = 7) -> tuple[list[AccountProfile], dict[int, int]]:
    """About ``accounts`` profiles and the truth: account id -> person."""
    profiles: list[AccountProfile] = []
    person_of: dict[int, int] = {}
    for profile, person in _generated(accounts, seed):
        profiles.append(profile)
        person_of[profile.account_id] = person
    return profiles, person_of


class PackedProfiles(Collection[AccountProfile]):
    """Generated profiles held pickled and compressed, a chunk at a time, and unpacked on
    each pass: at ten million accounts the profiles as Python objects (about 1.6 KB each)
    would take most of the machine before resolution starts. ``resolve`` reads its input
    twice (counts, then columns), as it would read a store."""

    CHUNK = 50_000

    def __init__(self, accounts: int, seed: int = 7):
        self.chunks: list[bytes] = []
        self.person = np.zeros(accounts + 1, np.int64)  # account id -> person (0: none)
        chunk: list[AccountProfile] = []
        for profile, person in _generated(accounts, seed):
            self.person[profile.account_id] = person
            chunk.append(profile)
            if len(chunk) == self.CHUNK:
                self._pack(chunk)
                chunk = []
        if chunk:
            self._pack(chunk)
        self.count = accounts

    def _pack(self, chunk: list[AccountProfile]) -> None:
        self.chunks.append(zlib.compress(pickle.dumps(chunk, pickle.HIGHEST_PROTOCOL), 1))

    def __iter__(self) -> Iterator[AccountProfile]:
        for packed in self.chunks:
            yield from pickle.loads(zlib.decompress(packed))

    def __len__(self) -> int:
        return self.count

    def __contains__(self, item: object) -> bool:
        return any(item == p for p in self)


def _pairs_within(labels: np.ndarray) -> int:
    _values, sizes = np.unique(labels, return_counts=True)
    return int((sizes * (sizes - 1) // 2).sum())


def pairwise_f1(person_of: np.ndarray, subject_of: np.ndarray) -> tuple[float, float, float]:
    """Pairwise precision, recall and F1 over the accounts ``person_of`` knows (both indexed
    by account id; person 0 means no such account)."""
    ids = np.flatnonzero(person_of)
    persons, subjects = person_of[ids], subject_of[ids]
    true_pos = _pairs_within(subjects * (int(persons.max(initial=0)) + 1) + persons)
    predicted = _pairs_within(subjects)
    actual = _pairs_within(persons)
    precision = true_pos / predicted if predicted else 1.0
    recall = true_pos / actual if actual else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall)


def naive_resolve(profiles: Collection[AccountProfile]) -> np.ndarray:
    """The anchor: exact emails and phones only, union-find, no model. Each account's
    group, indexed by account id."""
    parent: dict[int, int] = {}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    owner: dict[str, int] = {}
    for profile in profiles:
        parent[profile.account_id] = profile.account_id
        for key in [*profile.emails, *profile.phones]:
            if key in owner:
                parent[find(profile.account_id)] = find(owner[key])
            else:
                owner[key] = profile.account_id
    groups = np.zeros(max(parent, default=0) + 1, np.int64)
    for account in parent:
        groups[account] = find(account)
    return groups


def _load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def _peak_gib() -> float:
    """The process's peak resident memory so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _splink_alone(
    columns: AccountTable, engine: str, master: str | None
) -> tuple[float, float, float]:
    """Wall and CPU seconds of splink's training and predict on the feature columns the
    candidate built (the same table, so the same data), and the wall seconds of the training
    alone."""
    gc.disable()  # as resolve does for itself, so the anchor is not charged for collections
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        model = learn(columns, threads=2)
        trained = time.perf_counter() - wall
        linkage = open_linkage(engine, 2, master, model)
        try:
            linkage.score_all(columns, LINK_THRESHOLD)
            return time.perf_counter() - wall, time.process_time() - cpu, trained
        finally:
            linkage.close()
    finally:
        gc.enable()


# up to this size the profiles are held as a list, as a store's reader would hand them over
# (unpacking costs the candidate about 30 us an account and pass), and the naive anchor's
# union-find, which holds every account in dicts, is printed
LIST_MAX_ACCOUNTS = 2_000_000


def bench_full(
    accounts: int, repeats: int, engine: str = "duckdb", master: str = "local[*]"
) -> tuple[Timing, np.ndarray, Model]:
    started = time.perf_counter()
    profiles = PackedProfiles(accounts)
    print(
        f"generated {accounts:,} accounts in {time.perf_counter() - started:.0f} s "
        f"({sum(map(len, profiles.chunks)) / 2**20:.0f} MiB packed)",
        flush=True,
    )
    sample = profiles.chunks[:20]
    accounts_in: Collection[AccountProfile] = profiles
    if accounts <= LIST_MAX_ACCOUNTS:
        accounts_in = list(profiles)
    started = time.perf_counter()
    with collector_paused():  # as inside resolve
        for packed in sample:
            pickle.loads(zlib.decompress(packed))
    unpack = (time.perf_counter() - started) / max(1, min(accounts, 20 * profiles.CHUNK))
    print(
        f"input     unpacking the profiles takes {unpack * 1e6:.1f} us per account and pass"
        + (
            "; held as a list at this size"
            if accounts <= LIST_MAX_ACCOUNTS
            else f"; resolve reads them twice, {2 * unpack * accounts:.0f} s of the candidate's "
            "time that reading a store would take instead"
        ),
        flush=True,
    )
    print(f"load      before: {_load()}", flush=True)
    master_arg = master if engine == "spark" else None
    cand_wall: list[float] = []
    anchor_wall: list[float] = []
    cand_cpu: list[float] = []
    anchor_cpu: list[float] = []
    training: list[float] = []
    subject_of = np.zeros(accounts + 1, np.int64)
    for _ in range(repeats):  # interleaved, so that load drift hits both alike
        started_wall, started_cpu = time.perf_counter(), time.process_time()
        outcome = resolve(
            accounts_in, Constraints(), threads=2, engine=engine, spark_master=master_arg
        )
        cand_wall.append(time.perf_counter() - started_wall)
        cand_cpu.append(time.process_time() - started_cpu)
        print(f"memory    peak resident after the candidate: {_peak_gib():.1f} GiB", flush=True)
        for number, group in enumerate(outcome.clusters, 1):
            subject_of[group.members] = number
        compared, subjects, model = outcome.compared_pairs, len(outcome.clusters), outcome.model
        assert isinstance(outcome.columns, AccountTable)
        columns = outcome.columns
        del outcome  # the anchor runs beside the table only, not beside the subjects too
        wall, cpu, trained = _splink_alone(columns, engine, master_arg)
        del columns
        anchor_wall.append(wall)
        anchor_cpu.append(cpu)
        training.append(trained)
    where = f"Spark {master}" if engine == "spark" else "DuckDB, 2 threads"
    candidate = Timing(
        f"vigil resolve end to end ({where}): features, splink, clusters, reasons",
        cand_wall,
        accounts,
        "accounts",
    )
    anchor = Timing(
        f"splink alone ({where}): training and predict on the same columns",
        anchor_wall,
        accounts,
        "accounts",
    )
    report(f"Identity resolution, {accounts:,} accounts, {where}", candidate, anchor)
    p, r, f1 = pairwise_f1(profiles.person, subject_of)
    naive = "naive union-find not run above 2M accounts"
    if accounts <= LIST_MAX_ACCOUNTS:
        np_, nr, nf1 = pairwise_f1(profiles.person, naive_resolve(accounts_in))
        naive = (
            f"naive exact email/phone union-find precision {np_:.4f} recall {nr:.4f} F1 {nf1:.4f}"
        )
    print(
        f"quality   candidate precision {p:.4f} recall {r:.4f} F1 {f1:.4f}; {naive}; "
        f"{compared:,} pairs compared, {subjects:,} subjects",
        flush=True,
    )
    print(
        f"cpu       end to end {statistics.median(cand_cpu):.1f} s, splink alone "
        f"{statistics.median(anchor_cpu):.1f} s of CPU (this process, all its threads; "
        f"Spark executors run in a JVM and are not counted)",
        flush=True,
    )
    print(
        f"model     learning (splink training on DuckDB) took {statistics.median(training):.1f} s "
        f"of the anchor's wall time; {'; '.join(model.notes)}",
        flush=True,
    )
    print(f"memory    peak resident of the whole run: {_peak_gib():.1f} GiB", flush=True)
    print(f"load      after: {_load()}", flush=True)
    return candidate, subject_of, model


def bench_one_account(accounts: int, subjects: np.ndarray, queries: int, model: Model) -> None:
    profiles, _ = generate(accounts)
    newcomers, _ = generate(queries, seed=99)
    newcomers = [
        AccountProfile(
            accounts + i + 1,
            p.platform,
            p.username,
            emails=p.emails,
            phones=p.phones,
            ips=p.ips,
            countries=p.countries,
        )
        for i, p in enumerate(newcomers)
    ]
    # half the queries reuse an existing account's handle and email: they must find a subject
    for i in range(0, queries, 2):
        old = profiles[(i * 7919) % accounts]
        newcomers[i] = AccountProfile(
            accounts + i + 1,
            "newsite",
            old.username + "_x",
            emails=old.emails,
            ips=old.ips,
            countries=old.countries,
        )
    subject_of = {a: int(subjects[a]) for a in range(1, accounts + 1)}
    started = time.perf_counter()
    population = Population.of(profiles)
    index = SubjectIndex(
        (account_columns(p, population) for p in profiles), subject_of, population, model
    )
    build_seconds = time.perf_counter() - started
    seconds = []
    found = 0
    for newcomer in newcomers:
        t0 = time.perf_counter()
        matches = index.score_account(newcomer)
        seconds.append(time.perf_counter() - t0)
        found += bool(matches and matches[0].probability >= LINK_THRESHOLD)
    candidate = Timing(
        f"one new account via in-memory index and the learned model ({accounts:,} accounts)",
        seconds,
        1,
        "queries",
    )
    columns = list(index.columns.values())
    linkage = Linkage(threads=2)
    anchor_seconds = []
    try:
        old_df = linkage._register(columns, "existing")
        from splink import Linker

        from vigil.identity.linkage import settings

        linker = Linker(old_df, settings(model=model), log_level=None)
        for i, newcomer in enumerate(newcomers[:3]):
            new_df = linkage._register([account_columns(newcomer, population)], f"new{i}")
            t0 = time.perf_counter()
            linker.inference.predict_between(old_df, new_df, warning_mode="never")
            anchor_seconds.append(time.perf_counter() - t0)
    finally:
        linkage.close()
    anchor = Timing(
        "the same question through splink predict_between", anchor_seconds, 1, "queries"
    )
    report(f"Scoring one new account against {accounts:,} accounts", candidate, anchor)
    print(
        f"detail    median {statistics.median(seconds) * 1000:.2f} ms, "
        f"p95 {sorted(seconds)[int(len(seconds) * 0.95) - 1] * 1000:.2f} ms per account; "
        f"index built in {build_seconds:.1f} s; {found}/{queries} found a subject "
        f"(half were made to)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--accounts", type=int, action="append")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--engine", choices=("duckdb", "spark"), default="duckdb")
    parser.add_argument("--spark-master", default="local[*]")
    args = parser.parse_args()
    for accounts in args.accounts or [100_000]:
        _timing, subject_of, model = bench_full(
            accounts, args.repeats, args.engine, args.spark_master
        )
        if args.queries:
            bench_one_account(accounts, subject_of, args.queries, model)


if __name__ == "__main__":
    main()
