"""Seized phpBB 3 forum databases (docs/formats.md "Forum"), read through any SQLAlchemy URL.

PATH is a SQLite file or a URL (``sqlite:///…``, ``mysql+pymysql://…``, ``postgresql://…``).
A SQLite file is opened ``mode=ro&immutable=1``: no lock, no ``-shm``/``-wal`` file appears
next to the evidence. If a ``-wal`` file is already there (pages not yet checkpointed), the
database and its WAL are copied to a temporary folder and the copy is read, so those pages
count and the evidence folder is still untouched.
Tables (prefix configurable, default ``phpbb_``): ``users``, ``posts``, ``topics``,
``attachments`` (with an optional ``sha256`` column that forensic exports add), and, when
present, ``config`` (``sitename``) and ``forums`` (``forum_name``). A missing required
table is bad input naming the database and the table.

Every user is an account (platform = ``--platform``, else ``sitename``, else ``forum``;
stable id = ``user_id``) with its email and registration IP; ``user_type`` and ``group_id``,
where the table has them, go in the account sighting's extra data (founder, administrators).
Each post is a ``post`` event from ``poster_ip``; each attachment is a ``file_transfer`` (a
file send with no recipients, docs/formats.md) in the post's topic.

Provenance digest: a SQLite file's SHA-256 is that of its bytes. A server database has no
file, so its digest is the SHA-256 of a canonical dump of exactly the rows read: for each
table in the order users, topics, posts, attachments, config, forums, one line
``table<TAB>json(row)`` per row in primary-key order, where ``json`` is
``json.dumps(list_of_values, default=str, separators=(",", ":"))`` over the columns read in
the order listed in this module. The same rows give the same digest on any server.

SQLAlchemy is imported by the functions that open a database, not with the module: the CLI
loads every format at start-up to list them, and SQLAlchemy took a third of a second of that.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from vigil.errors import BadInput, UnsupportedFormat
from vigil.formats.registry import SOURCE_FORMATS
from vigil.formats.source_common import clean_hash, selector
from vigil.formats.source_records import (
    DIRTY_KEY,
    MAX_SIZE_BYTES,
    AccountRef,
    EventRecord,
    FileRef,
    ParsedSource,
    ParseOptions,
    SourceDocument,
)

if TYPE_CHECKING:
    from sqlalchemy import ColumnClause, Engine

COLUMNS = {
    "users": ("user_id", "username", "username_clean", "user_email", "user_ip", "user_regdate"),
    "topics": ("topic_id", "forum_id", "topic_title", "topic_poster"),
    "posts": (
        "post_id",
        "topic_id",
        "forum_id",
        "poster_id",
        "poster_ip",
        "post_time",
        "post_subject",
        "post_text",
    ),
    "attachments": (
        "attach_id",
        "post_msg_id",
        "poster_id",
        "real_filename",
        "filesize",
        "mimetype",
        "filetime",
    ),
}
OPTIONAL_COLUMNS = {"config": ("config_name", "config_value"), "forums": ("forum_id", "forum_name")}
# Read when present: who runs the board (user_type 3 = founder, group_id 5 = administrators).
OPTIONAL_USER_COLUMNS = ("user_type", "group_id")


def sqlalchemy_url(location: str) -> tuple[str, Path | None]:
    """The URL to read and, for a SQLite file, its path (whose bytes are the digest)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    if "://" not in location:
        path = Path(location)
        if not path.is_file():
            raise BadInput("no such SQLite file", source=location)
        return f"sqlite:///file:{path.resolve()}?mode=ro&immutable=1&uri=true", path
    try:
        url = make_url(location)
    except ArgumentError as exc:
        raise BadInput("not a database URL", source=location) from exc
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return sqlalchemy_url(url.database)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False), None


@SOURCE_FORMATS.register("phpbb")
class PhpbbParser:
    name: ClassVar[str] = "phpbb"

    def documents(self, location: str) -> Iterator[SourceDocument]:
        from sqlalchemy.engine import make_url

        url, path = sqlalchemy_url(location)
        name = path.name if path else make_url(url).render_as_string(hide_password=True)
        yield SourceDocument(name=name, path=path, url=url)

    def parse(self, document: SourceDocument, options: ParseOptions) -> ParsedSource:
        assert document.url is not None
        wal = Path(f"{document.path}-wal") if document.path is not None else None
        if wal is not None and wal.is_file() and document.path is not None:
            with tempfile.TemporaryDirectory(prefix="vigil-phpbb-") as folder:
                copy = Path(folder) / "board.sqlite"
                shutil.copyfile(document.path, copy)
                shutil.copyfile(wal, Path(f"{copy}-wal"))
                return self._parse_url(document, f"sqlite:///{copy}", options)
        return self._parse_url(document, document.url, options)

    def _parse_url(self, document: SourceDocument, url: str, options: ParseOptions) -> ParsedSource:
        from sqlalchemy import create_engine
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        try:
            engine = create_engine(url)
        except (ArgumentError, ModuleNotFoundError) as exc:
            raise BadInput(f"cannot use this database URL: {exc}", source=document.name) from exc
        try:
            rows = _read_tables(engine, document.name, options.table_prefix)
        except SQLAlchemyError as exc:
            message = str(getattr(exc, "orig", None) or exc).splitlines()[0]
            raise BadInput(f"cannot read the database: {message}", source=document.name) from exc
        finally:
            engine.dispose()
        parsed = _Board(document.name, rows, options).read()
        if document.path is None:
            dump = _canonical_dump(rows)
            parsed.sha256 = hashlib.sha256(dump).hexdigest()
            parsed.size_bytes = len(dump)
        return parsed


def _read_tables(engine: Engine, name: str, prefix: str) -> dict[str, list[tuple[Any, ...]]]:
    from sqlalchemy import column, inspect, select, table

    inspector = inspect(engine)
    present = set(inspector.get_table_names())
    rows: dict[str, list[tuple[Any, ...]]] = {}
    wanted = {**COLUMNS, **OPTIONAL_COLUMNS}
    with engine.connect() as connection:
        for short, columns in wanted.items():
            full = f"{prefix}{short}"
            if full not in present:
                if short in COLUMNS:
                    error = UnsupportedFormat if short == "users" else BadInput
                    raise error(
                        f"no table {full} (not a phpBB 3 database, or another prefix?)", source=name
                    )
                continue
            have = {c["name"] for c in inspector.get_columns(full)}
            names = list(columns)
            if short == "attachments" and "sha256" in have:
                names.append("sha256")
            if short == "users":
                names.extend(c for c in OPTIONAL_USER_COLUMNS if c in have)
            missing = [c for c in names if c not in have]
            if missing:
                raise BadInput(f"table {full} lacks column(s) {', '.join(missing)}", source=name)
            columns_read: list[ColumnClause[Any]] = [column(c) for c in names]
            result = connection.execute(
                select(*columns_read).select_from(table(full)).order_by(columns_read[0])
            )
            rows[short] = [tuple(r) for r in result]
            if short == "attachments" and "sha256" not in have:
                rows[short] = [(*r, None) for r in rows[short]]
            if short == "users":  # always (..., user_type, group_id), None where absent
                present_optional = [c for c in OPTIONAL_USER_COLUMNS if c in have]
                rows[short] = [
                    (
                        *r[: len(columns)],
                        *(
                            r[len(columns) + present_optional.index(c)]
                            if c in present_optional
                            else None
                            for c in OPTIONAL_USER_COLUMNS
                        ),
                    )
                    for r in rows[short]
                ]
    return rows


def _canonical_dump(rows: dict[str, list[tuple[Any, ...]]]) -> bytes:
    lines = []
    for short in (*COLUMNS, *OPTIONAL_COLUMNS):
        for row in rows.get(short, []):
            values = [v.decode("latin-1") if isinstance(v, bytes) else v for v in row]
            lines.append(f"{short}\t{json.dumps(values, default=str, separators=(',', ':'))}")
    return ("\n".join(lines) + "\n").encode()


def _when(value: Any, source: str, location: str) -> datetime | None:
    if value in (None, "", 0):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError) as exc:
        raise BadInput(f"invalid unix time {value!r}", source=source, location=location) from exc


def _int(value: Any, source: str, location: str, what: str) -> int | None:
    """An integer cell as a Python int: None when empty. A seized SQLite board can hold text,
    a float or a BLOB in any column; anything that is not an integer within the store's
    64-bit range is a hostile value, ``BadInput`` naming the row."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    else:
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        if not text.strip().lstrip("+-").isascii() or not text.strip().lstrip("+-").isdigit():
            raise BadInput(f"{what} is not an integer: {value!r}", source=source, location=location)
        number = int(text)
    if not -MAX_SIZE_BYTES - 1 <= number <= MAX_SIZE_BYTES:
        raise BadInput(f"{what} out of range: {number}", source=source, location=location)
    return number


def _str(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    text = str(value).strip()
    return text or None


class _Board:
    def __init__(self, name: str, rows: dict[str, list[tuple[Any, ...]]], options: ParseOptions):
        self.parsed = ParsedSource(kind="phpbb", name=name)
        self.rows = rows
        self.prefix = options.table_prefix
        config = {_str(k): _str(v) for k, v in rows.get("config", [])}
        self.sitename = config.get("sitename")
        self.platform = options.platform or self.sitename or "forum"
        self.accounts: dict[int, AccountRef] = {}

    def read(self) -> ParsedSource:
        parsed = self.parsed
        for user_id, username, _clean, email, ip, regdate, user_type, group_id in self.rows[
            "users"
        ]:
            where = f"{self.prefix}users user_id {user_id}"
            number = _int(user_id, parsed.name, where, "user_id")
            name = _str(username)
            if name is None:
                raise BadInput("user without a username", source=parsed.name, location=where)
            when = _when(regdate, parsed.name, where)
            standing = {
                key: int(value)
                for key, value in (("user_type", user_type), ("group_id", group_id))
                if value is not None
                and str(value).strip().lstrip("-").isascii()
                and str(value).strip().lstrip("-").isdigit()
            }
            account = parsed.account(
                AccountRef(self.platform, name, str(number)),
                when,
                "phpbb user",
                extra=standing or None,
            )
            if number is not None:
                self.accounts[number] = account
            if email_text := _str(email):
                parsed.seen(
                    selector(parsed, "email", email_text, where), account, when, "phpbb user email"
                )
            if ip_text := _str(ip):
                parsed.seen(
                    selector(parsed, "ip", ip_text, where), account, when, "phpbb registration ip"
                )
            parsed.records += 1
        source, prefix = parsed.name, self.prefix
        forums = {
            _int(f, source, f"{prefix}forums forum_id {f}", "forum_id"): _str(n)
            for f, n in self.rows.get("forums", [])
        }
        topics = {
            _int(t, source, f"{prefix}topics topic_id {t}", "topic_id"): (
                _int(f, source, f"{prefix}topics topic_id {t}", "forum_id"),
                _str(title),
            )
            for t, f, title, _poster in self.rows["topics"]
        }
        post_rooms: dict[int, str] = {}
        for (
            post_id,
            topic_id,
            forum_id,
            poster_id,
            poster_ip,
            post_time,
            subject,
            text,
        ) in self.rows["posts"]:
            where = f"{self.prefix}posts post_id {post_id}"
            post_id = _int(post_id, source, where, "post_id")
            topic_id = _int(topic_id, source, where, "topic_id")
            forum_id = _int(forum_id, source, where, "forum_id")
            forum, title = topics.get(topic_id, (forum_id, None))
            forum = forum if forum is not None else forum_id
            room = f"{forums.get(forum) or f'forum {forum}'} / {title or f'topic {topic_id}'}"
            if post_id is not None:
                post_rooms[post_id] = room
            when = _when(post_time, parsed.name, where)
            poster = _int(poster_id, source, where, "poster_id")
            actor = self.accounts.get(poster) if poster is not None else None
            ip = selector(parsed, "ip", ip_text, where) if (ip_text := _str(poster_ip)) else None
            if actor is not None:  # a dirty address goes on the poster's sighting
                parsed.seen(ip, actor, when, "phpbb post ip")
            post_extra: dict[str, Any] = {
                "post_id": post_id,
                "topic_id": topic_id,
                "forum_id": forum,
                "subject": _str(subject),
            }
            if dirty := parsed.take_dirty():  # a post without a known poster keeps it itself
                post_extra[DIRTY_KEY] = dirty
            parsed.events.append(
                EventRecord(
                    "post",
                    when,
                    actor,
                    room=room,
                    ip=ip,
                    text=_str(text),
                    extra=post_extra,
                )
            )
            parsed.records += 1
        self._attachments(post_rooms)
        parsed.extra = {
            "sitename": self.sitename,
            "platform": self.platform,
            "table_prefix": self.prefix,
        }
        return parsed

    def _attachments(self, post_rooms: dict[int, str]) -> None:
        parsed = self.parsed
        for attach_id, post_id, poster_id, filename, size, mimetype, filetime, sha256 in self.rows[
            "attachments"
        ]:
            where = f"{self.prefix}attachments attach_id {attach_id}"
            attach_id = _int(attach_id, parsed.name, where, "attach_id")
            post_id = _int(post_id, parsed.name, where, "post_msg_id")
            poster = _int(poster_id, parsed.name, where, "poster_id")
            digest = clean_hash(_str(sha256), 64, parsed.name, where)
            name = _str(filename)
            size_bytes = _int(size, parsed.name, where, "filesize")
            if size_bytes is not None and size_bytes < 0:
                raise BadInput(
                    f"negative filesize {size_bytes}", source=parsed.name, location=where
                )
            parsed.events.append(
                EventRecord(
                    "file_transfer",
                    _when(filetime, parsed.name, where),
                    self.accounts.get(poster) if poster is not None else None,
                    room=post_rooms.get(post_id) if post_id is not None else None,
                    file=FileRef(sha256=digest, size_bytes=size_bytes, name=name)
                    if digest
                    else None,
                    send_key=f"attach {attach_id}",
                    extra={
                        "attach_id": attach_id,
                        "post_id": post_id,
                        "file_name": name,
                        "mimetype": _str(mimetype),
                    },
                )
            )
            parsed.records += 1
