"""A phpBB 3 board as a SQLite file: the tables and columns docs/formats.md names.

The admin registers first (user_id 2, as on a fresh board). Like every real board, it also
holds phpBB's system accounts (``user_type`` 2): the Anonymous user (user_id 1, the guest
account) and the search-engine bots, which are evidence of nothing. One member typed
``none`` as their email (``DIRTY_EMAIL``, ``_dirty_email_member``): a dirty value in a sound
record, as real boards hold.
The optional `sha256` column of phpbb_attachments is filled, as forensic exports do; each
attachment is one file send.
"""

from __future__ import annotations

import random
import sqlite3
from datetime import UTC, datetime, timedelta

from vigil.synth.ledger import FILLER, OPERATION_START, Traffic, accounts_on, moment
from vigil.synth.model import Account, Person, Send
from vigil.synth.world import FORUM_PLATFORM

ANONYMOUS_USER_ID = 1
PHPBB_SYSTEM_USER_TYPE = 2  # USER_IGNORE
GUESTS_GROUP_ID, BOTS_GROUP_ID = 1, 6
BOT_NAMES = ("AdsBot [Google]", "Baidu [Spider]", "Bing [Bot]", "Google [Bot]", "YandexBot [Bot]")

SCHEMA = """
CREATE TABLE phpbb_config (config_name TEXT PRIMARY KEY, config_value TEXT NOT NULL,
    is_dynamic INTEGER NOT NULL DEFAULT 0);
CREATE TABLE phpbb_users (user_id INTEGER PRIMARY KEY, user_type INTEGER NOT NULL DEFAULT 0,
    group_id INTEGER NOT NULL DEFAULT 2, username TEXT NOT NULL, username_clean TEXT NOT NULL,
    user_email TEXT NOT NULL DEFAULT '', user_ip TEXT NOT NULL DEFAULT '',
    user_regdate INTEGER NOT NULL DEFAULT 0, user_lastvisit INTEGER NOT NULL DEFAULT 0,
    user_posts INTEGER NOT NULL DEFAULT 0, user_timezone TEXT NOT NULL DEFAULT 'UTC');
CREATE TABLE phpbb_forums (forum_id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL DEFAULT 0,
    forum_name TEXT NOT NULL, forum_desc TEXT NOT NULL DEFAULT '');
CREATE TABLE phpbb_topics (topic_id INTEGER PRIMARY KEY, forum_id INTEGER NOT NULL,
    topic_title TEXT NOT NULL, topic_poster INTEGER NOT NULL, topic_time INTEGER NOT NULL,
    topic_first_post_id INTEGER NOT NULL DEFAULT 0, topic_replies INTEGER NOT NULL DEFAULT 0);
CREATE TABLE phpbb_posts (post_id INTEGER PRIMARY KEY, topic_id INTEGER NOT NULL,
    forum_id INTEGER NOT NULL, poster_id INTEGER NOT NULL, poster_ip TEXT NOT NULL,
    post_time INTEGER NOT NULL, post_subject TEXT NOT NULL, post_text TEXT NOT NULL,
    post_attachment INTEGER NOT NULL DEFAULT 0);
CREATE TABLE phpbb_attachments (attach_id INTEGER PRIMARY KEY, post_msg_id INTEGER NOT NULL,
    topic_id INTEGER NOT NULL, in_message INTEGER NOT NULL DEFAULT 0, poster_id INTEGER NOT NULL,
    is_orphan INTEGER NOT NULL DEFAULT 0, physical_filename TEXT NOT NULL,
    real_filename TEXT NOT NULL, download_count INTEGER NOT NULL DEFAULT 0,
    extension TEXT NOT NULL, mimetype TEXT NOT NULL, filesize INTEGER NOT NULL,
    filetime INTEGER NOT NULL, sha256 TEXT);
"""
FORUMS = ["Announcements", "General chat", "Photo exchange", "Requests", "Tech help"]
SITENAME = FORUM_PLATFORM
DIRTY_EMAIL = "none"


def write_phpbb(traffic: Traffic) -> None:
    out, ledger = traffic.out, traffic.ledger
    rng = traffic.rng("phpbb")
    path = out / "forum" / "phpbb.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    members = sorted(
        accounts_on(traffic.persons, FORUM_PLATFORM), key=lambda pa: pa[0].role != "admin"
    )
    db = sqlite3.connect(path)
    try:
        db.executescript(SCHEMA)
        db.executemany(
            "INSERT INTO phpbb_config VALUES (?, ?, 0)",
            [
                ("sitename", SITENAME),
                ("site_desc", "A place to talk about hobbies"),
                ("board_timezone", "UTC"),
                ("version", "3.0.4"),
            ],
        )
        db.executemany(
            "INSERT INTO phpbb_forums (forum_id, forum_name) VALUES (?, ?)",
            list(enumerate(FORUMS, start=1)),
        )
        users = []
        dirty = _dirty_email_member(members)
        for index, (person, account) in enumerate(members):
            user_id = index + 2
            account.account_id = str(user_id)
            registered = OPERATION_START.timestamp() - rng.randint(0, 200) * 86400
            email, written_email = account.email, account.email or ""
            if index == dirty:
                email, written_email = None, DIRTY_EMAIL
                ledger.dirty_value(str(path.relative_to(out)), "email", DIRTY_EMAIL)
            users.append(
                (
                    user_id,
                    3 if person.role == "admin" else 0,
                    5 if person.role == "admin" else 2,
                    account.username,
                    account.username.lower(),
                    written_email,
                    account.ip or "",
                    int(registered),
                )
            )
            ledger.account(account)
            ledger.selector(person, "email", email)
            ledger.selector(person, "ip", account.ip, datetime.fromtimestamp(registered, UTC))
        users += _system_users(len(members) + 2)
        db.executemany(
            "INSERT INTO phpbb_users (user_id, user_type, group_id, username, "
            "username_clean, user_email, user_ip, user_regdate) VALUES "
            "(?, ?, ?, ?, ?, ?, ?, ?)",
            users,
        )
        _posts(db, rng, members, traffic)
        db.commit()
    finally:
        db.close()
    ledger.source("phpbb", str(path.relative_to(out)), SITENAME)


def _dirty_email_member(members: list[tuple[Person, Account]]) -> int | None:
    """Which member typed ``none`` for their email: the last collector whose forum address
    no other writer uses (not on another of their accounts, and not the first address, which
    ISP returns give), so the dirt hides no evidence that links anyone. Truth loses only an
    address written nowhere else. None when no member qualifies."""
    for index in range(len(members) - 1, -1, -1):
        person, account = members[index]
        elsewhere = {a.email for a in person.accounts if a is not account}
        if (
            person.role == "collector"
            and account.email
            and account.email != person.emails[0]
            and account.email not in elsewhere
        ):
            return index
    return None


def _system_users(first_bot_id: int) -> list[tuple[int, int, int, str, str, str, str, int]]:
    """Anonymous (user_id 1, group GUESTS) and the bots (group BOTS), as phpBB installs them:
    ``user_type`` 2 (USER_IGNORE), no email, no IP."""
    installed = int(OPERATION_START.timestamp()) - 400 * 86400
    rows = [(ANONYMOUS_USER_ID, PHPBB_SYSTEM_USER_TYPE, GUESTS_GROUP_ID, "Anonymous")]
    rows += [
        (user_id, PHPBB_SYSTEM_USER_TYPE, BOTS_GROUP_ID, name)
        for user_id, name in enumerate(BOT_NAMES, start=first_bot_id)
    ]
    return [
        (i, kind, group, name, name.lower(), "", "", installed) for i, kind, group, name in rows
    ]


def _user_id(account: Account) -> int:
    """The phpBB user_id, assigned when the users table is written."""
    if account.account_id is None:
        raise ValueError(f"forum account {account.username} has no user_id yet")
    return int(account.account_id)


def _posts(
    db: sqlite3.Connection,
    rng: random.Random,
    members: list[tuple[Person, Account]],
    traffic: Traffic,
) -> None:
    ledger, days = traffic.ledger, traffic.days
    topics: list[list] = []
    posts: list[tuple] = []
    attachments: list[tuple] = []
    for person, account in members:
        own_topics = {"admin": 3, "distributor": 2, "producer": 1}.get(
            person.role, int(rng.random() < 0.3)
        )
        for _ in range(own_topics):
            topic_id = len(topics) + 1
            forum_id = 1 if person.role == "admin" else rng.randint(2, len(FORUMS))
            topics.append(
                [
                    topic_id,
                    forum_id,
                    f"{rng.choice(FILLER).capitalize()} ({topic_id})",
                    _user_id(account),
                    0,
                ]
            )
    thread_posts: list[tuple[datetime, int, int, Person, Account]] = []
    created: dict[int, datetime] = {}
    for topic in topics:
        author = next(pa for pa in members if pa[1].account_id == str(topic[3]))
        created[topic[0]] = moment(rng, days)
        thread_posts.append((created[topic[0]], topic[0], topic[1], *author))
        for person, account in rng.sample(members, min(len(members), rng.randint(1, 6))):
            reply_at = created[topic[0]] + timedelta(minutes=rng.randint(5, 3 * 24 * 60))
            thread_posts.append((reply_at, topic[0], topic[1], person, account))
    for person, account in members:  # everyone posts at least once
        topic = rng.choice(topics)
        reply_at = created[topic[0]] + timedelta(minutes=rng.randint(5, 5 * 24 * 60))
        thread_posts.append((reply_at, topic[0], topic[1], person, account))
    timed = sorted(
        ((item[0], index, item[1:]) for index, item in enumerate(thread_posts)),
        key=lambda t: (t[0], t[1]),
    )
    first_post: dict[int, int] = {}
    first_time: dict[int, int] = {}
    for post_id, (at, _, (topic_id, forum_id, person, account)) in enumerate(timed, start=1):
        first_post.setdefault(topic_id, post_id)
        first_time.setdefault(topic_id, int(at.timestamp()))
        ip = rng.choice(person.ips) if rng.random() < 0.2 else account.ip
        ledger.selector(person, "ip", ip, at)
        count = {"distributor": 0.5, "producer": 0.5}.get(person.role, 0.05)
        files = traffic.files_for(rng, person, rng.randint(1, 3) if rng.random() < count else 0)
        posts.append(
            (
                post_id,
                topic_id,
                forum_id,
                _user_id(account),
                ip,
                int(at.timestamp()),
                f"Re: topic {topic_id}",
                rng.choice(FILLER),
                int(bool(files)),
            )
        )
        for media in files:
            extension = media.name.rsplit(".", 1)[-1].lower()
            attachments.append(
                (
                    len(attachments) + 1,
                    post_id,
                    topic_id,
                    _user_id(account),
                    f"{_user_id(account)}_{rng.getrandbits(64):016x}",
                    media.name,
                    extension,
                    media.mime or "image/jpeg",
                    media.size_bytes,
                    int(at.timestamp()),
                    media.sha256,
                )
            )
            ledger.sends.append(Send(FORUM_PLATFORM, account.username, media.sha256, (), at))
    db.executemany(
        "INSERT INTO phpbb_topics (topic_id, forum_id, topic_title, topic_poster, "
        "topic_time, topic_first_post_id) VALUES (?, ?, ?, ?, ?, ?)",
        [
            (t[0], t[1], t[2], t[3], first_time.get(t[0], 0), first_post.get(t[0], 0))
            for t in topics
        ],
    )
    db.executemany("INSERT INTO phpbb_posts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", posts)
    db.executemany(
        "INSERT INTO phpbb_attachments (attach_id, post_msg_id, topic_id, poster_id, "
        "physical_filename, real_filename, extension, mimetype, filesize, filetime, "
        "sha256) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        attachments,
    )
