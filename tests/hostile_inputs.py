"""Hostile and dirty inputs for every source format, shared by the hostile-corpus test, the
fuzzing test and ``benchmarks/bench_fuzz.py`` (docs/reliability.md).

Each generator writes one document and returns its path. The strategies combine the shape
of a sound record with values a hostile or careless source holds: dates that overflow when
moved to UTC, integers beyond the store's range, deep nesting, unpaired surrogates, NUL,
raw line-separator characters, very long names and wrong JSON types.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from hypothesis import strategies as st

from tests.test_ingest_support import board_statements

HOSTILE_TEXT = [
    "none",
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udce9y",
    "\u2028",
    "\u2029",
    "\x85",
    "\r",
    "A" * 5000,
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-01:00",
    "2006-03-14T21:00:00",
    "not-a-date",
    "999.999.999.999",
    "::ffff:1.2.3.4",
    "'; DROP TABLE source; --",
    "<x>&amp;</x>",
    "%s%s%n",
]
HOSTILE_JSON = [
    *HOSTILE_TEXT,
    None,
    True,
    0,
    -1,
    10**30,
    1e308,
    [],
    {},
    {"a": [1, {"b": None}]},
    ["x", 1],
]

text_values = st.one_of(st.sampled_from(HOSTILE_TEXT), st.text(max_size=40))
json_values = st.one_of(
    st.sampled_from(HOSTILE_JSON), st.text(max_size=20), st.integers(), st.none()
)


@st.composite
def chat_jsonl(draw: st.DrawFn) -> bytes:
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        record = {
            "platform": "NightChat",
            "room": "lobby",
            "ts": "2006-03-14T21:00:00+00:00",
            "sender": "kit",
            "text": "night all",
        }
        for key in draw(
            st.lists(
                st.sampled_from([*record, "sender_ip", "recipients", "attachments", "sender_id"]),
                max_size=3,
            )
        ):
            record[key] = draw(json_values)
        if draw(st.booleans()):
            record["attachments"] = [
                {"name": draw(json_values), "size": draw(json_values), "md5": "0" * 32}
            ]
        lines.append(json.dumps(record, ensure_ascii=draw(st.booleans())))
    if draw(st.booleans()):
        lines.append("[" * draw(st.sampled_from([10, 5000, 100000])))
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@st.composite
def irc_log(draw: st.DrawFn) -> bytes:
    nick = draw(text_values).replace("\n", "")
    size = draw(st.sampled_from(["10", "0", str(10**30)]))
    lines = [
        "--- Log opened Tue Mar 14 21:00:00 2006",
        f"21:04 -!- {nick} [~u@{draw(text_values)}] has joined #room",
        f"21:05 < {nick}> {draw(text_values)}",
        f"21:06 -!- DCC SEND from {nick} [1.2.3.4 port 5000]: a.jpg [{size} bytes]",
    ]
    return "\n".join(lines).encode("utf-8", "surrogatepass")


ISP_HEADER = (
    "ip,start_utc,end_utc,isp,subscriber_name,subscriber_email,subscriber_phone,street,city,"
    "region,country,account_id,request_ref"
)


@st.composite
def isp_csv(draw: st.DrawFn) -> bytes:
    def cell() -> str:
        return '"' + draw(text_values).replace('"', '""') + '"'

    row = [
        draw(st.sampled_from(["24.114.0.10", "999.1.1.1", ""])),
        draw(st.sampled_from(["2006-03-01T00:00:00Z", "0001-01-01T00:00:00+01:00", "x"])),
        "",
        cell(), cell(), cell(), cell(), cell(), cell(), cell(),
        draw(st.sampled_from(["CA", "", "ZZZ"])),
        cell(), cell(),
    ]  # fmt: skip
    return (ISP_HEADER + "\n" + ",".join(row) + "\n").encode("utf-8", "surrogatepass")


@st.composite
def cybertip_xml(draw: st.DrawFn) -> bytes:
    def xml_text() -> str:
        value = draw(text_values)
        return (
            value.replace("&", "&amp;")
            .replace("<", "&lt;")
            .encode("utf-8", "surrogatepass")
            .decode("utf-8", "replace")
        )

    when = draw(st.sampled_from(["2006-03-14T21:00:00Z", "0001-01-01T00:00:00+01:00", "x"]))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<report><incidentSummary><incidentType>Apparent prohibited media (synthetic test
data)</incidentType><incidentDateTime>{when}</incidentDateTime></incidentSummary>
<reporter><reportingPerson><email>{xml_text()}</email></reportingPerson></reporter>
<personOrUserReported><espService>{xml_text()}</espService><screenName>{xml_text()}</screenName>
<personOrUserReportedPerson><email>{xml_text()}</email><phone>{xml_text()}</phone>
</personOrUserReportedPerson><ipCaptureEvent><ipAddress>{xml_text()}</ipAddress>
<dateTime>{when}</dateTime></ipCaptureEvent></personOrUserReported></report>
""".encode()


# SQLite is typed by value, not by column: a seized database can hold any of these anywhere.
SQL_VALUES = st.one_of(
    st.sampled_from([*HOSTILE_TEXT, str(10**30), -1, 0, 2**63 - 1, -(2**63), 1e308, b"\xff\xfe"]),
    st.text(max_size=20),
    st.integers(-(2**63), 2**63 - 1),
    st.binary(max_size=8),
)


def sql_value(value: object) -> object:
    """What sqlite3 can bind: text with unpaired surrogates goes in as its bytes (a BLOB)."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return value.encode("utf-8", "surrogatepass")
    return value


def database_bytes(draw: st.DrawFn, statements: list[str], cells: dict[str, list[str]]) -> bytes:
    """A SQLite database made of ``statements``, then a few cells set to hostile values and
    now and then a table dropped, serialised to the bytes of its file."""
    connection = sqlite3.connect(":memory:")
    for statement in statements:
        connection.execute(statement)
    for _ in range(draw(st.integers(1, 4))):
        table = draw(st.sampled_from(sorted(cells)))
        column = draw(st.sampled_from(cells[table]))
        value = sql_value(draw(SQL_VALUES))
        connection.execute(
            f"UPDATE {table} SET {column} = ? WHERE rowid = (SELECT min(rowid) FROM {table})",
            (value,),
        )
    if draw(st.integers(0, 9)) == 0:
        connection.execute(f"DROP TABLE {draw(st.sampled_from(sorted(cells)))}")
    connection.commit()
    data = connection.serialize()
    connection.close()
    return data


PHPBB_CELLS = {
    "phpbb_config": ["config_value"],
    "phpbb_users": ["username", "user_email", "user_ip", "user_regdate", "user_type", "group_id"],
    "phpbb_forums": ["forum_name"],
    "phpbb_topics": ["forum_id", "topic_title"],
    "phpbb_posts": ["topic_id", "forum_id", "poster_id", "poster_ip", "post_time", "post_text"],
    "phpbb_attachments": [
        "post_msg_id", "poster_id", "real_filename", "filesize", "mimetype", "filetime", "sha256",
    ],
}  # fmt: skip


@st.composite
def phpbb_board(draw: st.DrawFn) -> bytes:
    # Constraints off: a hostile board has NULLs where its schema says NOT NULL.
    statements = [s.replace(" NOT NULL", "") for s in board_statements()]
    return database_bytes(draw, statements, PHPBB_CELLS)


GENERATORS = {
    "chat-jsonl": (chat_jsonl(), "chat.jsonl"),
    "irc": (irc_log(), "#room.log"),
    "isp": (isp_csv(), "returns.csv"),
    "cybertip": (cybertip_xml(), "report.xml"),
    "phpbb": (phpbb_board(), "board.sqlite"),
}


def write(tmp: Path, name: str, data: bytes) -> Path:
    path = tmp / name
    path.write_bytes(data)
    return path


def jsonl(*records: object) -> bytes:
    return "\n".join(json.dumps(r) if not isinstance(r, str) else r for r in records).encode(
        "utf-8", "surrogatepass"
    )


# Hash-set formats: the same hostile values in the fields of each.
@st.composite
def vics_json(draw: st.DrawFn) -> bytes:
    media = {"MediaID": draw(json_values), "Category": draw(json_values), "MD5": "0" * 32}
    for key in draw(
        st.lists(
            st.sampled_from(
                [
                    "MD5",
                    "SHA1",
                    "MediaSize",
                    "IsDistributed",
                    "VictimIdentified",
                    "Series",
                    "Tags",
                    "AlternativeHashes",
                    "MediaFiles",
                ]
            ),
            max_size=3,
        )
    ):
        media[key] = draw(json_values)
    root = {"@odata.context": "http://github.com/ICMEC/ProjectVic/DataModels/2.0.xml/$metadata#Media",
            "value": [media]}  # fmt: skip
    text = json.dumps(root, ensure_ascii=draw(st.booleans()))
    if draw(st.booleans()):
        text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8", "surrogatepass")


@st.composite
def hashdeep_txt(draw: st.DrawFn) -> bytes:
    size = draw(st.sampled_from(["4", "-1", str(10**30), "x"]))
    name = draw(text_values).replace("\n", "")
    body = (
        f"%%%% HASHDEEP-1.0\n%%%% size,md5,sha256,filename\n{size},{'a' * 32},{'b' * 64},{name}\n"
    )
    return body.encode("utf-8", "surrogatepass")


@st.composite
def icse_csv(draw: st.DrawFn) -> bytes:
    flag = draw(st.sampled_from(["Yes", "perhaps", "", "1"]))
    name, series = (draw(text_values).replace("\n", "") for _ in range(2))
    cells = [draw(st.sampled_from(["0" * 32, "xyz", ""])), "", "", name, flag, flag, flag, series]
    header = "MD5;SHA1;PhotoDNA;Image ID;Is distributed;Victim identified;Offender identified;"
    return (header + "Series name\n" + ";".join(cells) + "\n").encode("utf-8", "surrogatepass")


@st.composite
def hash_list(draw: st.DrawFn) -> bytes:
    lines = draw(st.lists(st.one_of(st.sampled_from(["0" * 32, "1" * 40, "g" * 32]), text_values),
                          min_size=1, max_size=4))  # fmt: skip
    return "\n".join(line.replace("\n", "") for line in lines).encode("utf-8", "surrogatepass")


NSRL_RDS = [
    "CREATE TABLE FILE (sha256, sha1, md5, file_name, file_size, package_id)",
    f"INSERT INTO FILE VALUES ('{'a' * 64}', '{'b' * 40}', '{'c' * 32}', 'icon.png', 10, 7)",
    f"INSERT INTO FILE VALUES ('{'d' * 64}', NULL, NULL, 'readme.txt', 20, NULL)",
]
NSRL_LEGACY_HEADER = (
    '"SHA-1","MD5","CRC32","FileName","FileSize","ProductCode","OpSystemCode","SpecialCode"'
)


@st.composite
def nsrl_set(draw: st.DrawFn) -> bytes:
    if draw(st.booleans()):
        columns = ["sha256", "sha1", "md5", "file_name", "file_size", "package_id"]
        return database_bytes(draw, NSRL_RDS, {"FILE": columns})

    def cell() -> str:
        return '"' + draw(text_values).replace('"', '""') + '"'

    size = draw(st.sampled_from(["10", "-1", str(10**30), "x", ""]))
    sha1 = draw(st.sampled_from(["B" * 40, "xyz", ""]))
    row = f'"{sha1}","{"C" * 32}",{cell()},{cell()},{size},{cell()},{cell()},{cell()}'
    return f"{NSRL_LEGACY_HEADER}\n{row}\n".encode("utf-8", "surrogatepass")


HASHSET_GENERATORS = {
    "nsrl": (nsrl_set(), "nsrl.db"),
    "vics": (vics_json(), "set.json"),
    "hashdeep": (hashdeep_txt(), "set.txt"),
    "icse": (icse_csv(), "set.csv"),
    "list": (hash_list(), "set.txt"),
}
