"""The person an investigator links and a careless resolver splits.

``xXColdRiverXx`` on IRC, ``cold.river`` on one chat platform, ``cold_river1990`` on another:
one person, each account dressed differently, all three seen from the same residential
address but weeks apart, and nothing else in common (no email, phone or device on any of
them). An investigator links them from the alias core and the address; a resolver that only
counts exact identifiers, or only trusts addresses shared within a day, leaves them apart.

These persons are chosen among collectors that no false friend involves, so the false
friends (common aliases, CGNAT addresses, family computers) stay exactly as hard as before.
Their accounts are active in short windows three weeks apart (``Account.active_days``),
which may reach past the operation's main traffic period, as a slow-moving user's would.
"""

from __future__ import annotations

import random
from typing import Protocol

from vigil.synth.model import Account, FalseFriend, Person
from vigil.synth.names import ALIAS_WORDS


class AliasBook(Protocol):
    bases: set[str]

    def claim(self, platform: str, username: str) -> bool: ...

    def release(self, platform: str, username: str) -> None: ...


# Three activity windows, three weeks apart, each a few days long.
WINDOW_STARTS_DAYS = (0, 21, 42)
WINDOW_LENGTH_DAYS = 3


def _dressings(rng: random.Random, words: list[str], year: str) -> list[str]:
    """Three ways one person writes one alias core on three platforms."""
    camel = "".join(w.capitalize() for w in words)
    irc = rng.choice([f"xX{camel}Xx", f"xx{camel}xx", f"{camel}{year[-2:]}", f"xX_{camel}_Xx"])
    dotted = rng.choice([".".join(words), "_".join(words), "".join(words)])
    with_year = rng.choice(["_".join(words) + year, "".join(words) + year, camel + year])
    return [irc, dotted, with_year]


def split_personas(
    rng: random.Random,
    book: AliasBook,
    persons: list[Person],
    false_friends: list[FalseFriend],
    count: int,
    irc_platform: str,
    chat_platforms: list[str],
) -> list[str]:
    """Turn ``count`` collectors into the hard case; returns their person ids."""
    involved = {pid for friend in false_friends for pid in friend.persons}
    pool = [p for p in persons if p.role == "collector" and p.id not in involved and p.ips]
    chosen = rng.sample(pool, min(count, len(pool)))
    for person in chosen:
        for _ in range(200):
            words = rng.sample(ALIAS_WORDS, 2)
            if "".join(words) not in book.bases:
                break
        book.bases.add("".join(words))
        year = str(rng.randint(1965, 2004))
        home = person.ips[0]
        person.ips = [home]
        person.emails, person.phones, person.device_ids = [], [], []
        for account in person.accounts:
            book.release(account.platform, account.username)
        person.accounts = []
        platforms = [irc_platform, *chat_platforms[:2]]
        starts = list(WINDOW_STARTS_DAYS)
        rng.shuffle(starts)
        for platform, written, start in zip(
            platforms, _dressings(rng, words, year), starts, strict=True
        ):
            username = written
            suffix = 0
            while not book.claim(platform, username):
                suffix += 1
                username = f"{written}{suffix}"
            account_id = None if platform == irc_platform else str(rng.randint(10**8, 10**9 - 1))
            account = Account(platform, username, account_id, ip=home)
            account.active_days = (start, start + WINDOW_LENGTH_DAYS)
            person.accounts.append(account)
    return [p.id for p in chosen]
