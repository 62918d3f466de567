"""A hand-made network for the graph engine tests: who did what is known by construction.

Subject 1 (admin) runs the forum room and sends the most; 2 and 3 distribute to many; 4-9
collect; 10 produces: the series files 900-902 are on its device and it sends them first;
11 is a victim and is never ranked.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from vigil.graph.model import (
    AccountInfo,
    FileFacts,
    Holding,
    Interaction,
    NetworkInput,
    SubjectInfo,
)

T0 = datetime(2006, 3, 14, 21, 0, tzinfo=UTC)


def fixture_network() -> NetworkInput:
    subjects = [SubjectInfo(i, f"subject-{i}") for i in range(1, 11)]
    subjects.append(SubjectInfo(11, "victim-11", role="victim"))
    # Account ids: 100 + subject (forum), 200 + subject (irc); subject 1 has a chat account too.
    accounts = [AccountInfo(100 + i, "forum", f"user{i}", i) for i in range(1, 11)]
    accounts += [AccountInfo(200 + i, "irc", f"nick{i}", i) for i in range(1, 11)]
    accounts.append(AccountInfo(301, "chat", "boss", 1))
    accounts.append(AccountInfo(311, "chat", "kid", 11))
    accounts.append(AccountInfo(399, "chat", "stranger", None))
    files = [FileFacts(id=n, sha256=f"{n:064x}", alert=True, category="1") for n in range(1, 21)]
    files += [FileFacts(id=n, sha256=f"{n:064x}", new=True, series="S01") for n in (900, 901, 902)]
    interactions: list[Interaction] = []
    t = T0
    collectors = [204, 205, 206, 207, 208, 209]
    # The admin posts in the forum and sends known files to everyone in the IRC room.
    for n in range(1, 11):
        t += timedelta(minutes=1)
        interactions.append(
            Interaction("file_transfer", 101, (), "forum/board", n, t, is_send=True)
        )
        interactions.append(
            Interaction(
                "file_transfer", 201, tuple(200 + i for i in range(2, 11)), "irc/#r", n, t, True
            )
        )
    # Distributors 2 and 3 send DMs to every collector.
    for sender in (202, 203):
        for n in range(11, 16):
            for target in collectors:
                t += timedelta(minutes=1)
                interactions.append(
                    Interaction("file_transfer", sender, (target,), None, n, t, True)
                )
    # Collectors chat a little.
    for i in range(4, 10):
        t += timedelta(minutes=1)
        interactions.append(Interaction("message", 100 + i, (), "forum/board", None, t))
        interactions.append(Interaction("message", 200 + i, (201,), None, None, t))
    # The producer sends series files to distributor 2 first; 2 passes one on.
    for n in (900, 901, 902):
        t += timedelta(minutes=1)
        interactions.append(Interaction("file_transfer", 210, (202,), None, n, t, True))
    t += timedelta(minutes=1)
    interactions.append(Interaction("file_transfer", 202, (204,), None, 900, t, True))
    # A stranger with no subject writes once to the admin's chat account.
    interactions.append(Interaction("message", 399, (301,), None, None, t))
    holdings = [Holding(10, n) for n in (900, 901, 902)] + [Holding(1, n) for n in range(1, 21)]
    return NetworkInput(
        subjects=subjects,
        accounts=accounts,
        files=files,
        interactions=interactions,
        holdings=holdings,
        contact_indicators={10: 1},
        platform_roles={1: ["forum founder", "irc #r operator"]},
    )
