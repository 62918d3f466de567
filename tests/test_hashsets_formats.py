"""Every hash-set format on its sample files: good ones, each quirk, each kind of bad input.

These run without a database: a format is a plain parser yielding HashRecords.
"""

from __future__ import annotations

import json
import resource
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.errors import BadInput, UsageError
from vigil.formats.hashrecord import HashRecord
from vigil.formats.registry import HASHSET_FORMATS
from vigil.formats.vics import VicsCase, VicsFormat, write_vics_cases

DATA = Path(__file__).parent / "data" / "hashsets"
MD5_A = "0cc175b9c0f1b6a831c399e269772661"
MD5_B = "92eb5ffee6ae2fec3ad71c777531578f"
MD5_C = "4a8a08f09d37b73795649038408b5f33"
SHA1_A = "86f7e437faa5a7fce15d1ddcb9eaeaea377667b8"
SHA256_B = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
PDQ_A = "f8f8f0cee0f4a84f06370a22038f63f0b36e2ed596621e1d33e6b39c4e9c9b22"


def read(format_name: str, path: Path, **options: str) -> list[HashRecord]:
    reader = HASHSET_FORMATS.get(format_name)()  # type: ignore[operator]
    return list(reader.read(path, **options))


def test_registry_names_every_hash_set_format() -> None:
    assert HASHSET_FORMATS.names() == ["hashdeep", "icse", "list", "nsrl", "vics"]


# --- VICS ---------------------------------------------------------------------------------

VICS_SAMPLES = [
    "vics2-media.json",
    "vics2-media-bom.json",
    "vics1-media.json",
    "vics1-cases.json",
    "vics2-cases.json",
]


@pytest.mark.parametrize("name", VICS_SAMPLES)
def test_vics_versions_and_shapes_read_the_same_media(name: str) -> None:
    records = read("vics", DATA / name)
    assert [r.md5 for r in records] == [MD5_A, MD5_B, MD5_C]
    first, second, third = records
    assert first.sha1 == SHA1_A  # uppercase hex in the file
    assert first.pdq == PDQ_A  # from AlternativeHashes, HashName "PDQ"
    assert first.photodna == "AAECAwQFBgcICQ=="  # kept, never computed
    assert (first.media_id, first.category, first.series) == ("1", "1", "Sunset-01")
    assert (first.victim_identified, first.offender_identified, first.distributed) == (
        True,
        False,
        True,
    )
    assert first.size_bytes == 2048 and first.file_name == "gradient_001.jpg"
    assert first.extra["tags"] == ["synthetic"]
    assert first.extra["media_files"][0]["FilePath"].endswith("gradient_001.jpg")
    # string flags "false"/"true", SHA256 from AlternativeHashes, PDQ of all zeros
    assert (second.victim_identified, second.offender_identified, second.distributed) == (
        False,
        True,
        False,
    )
    assert second.sha256 == SHA256_B and second.pdq == "0" * 64 and second.sha1 is None
    assert second.file_name == "noise_002.png" and "media_files" not in second.extra
    assert (third.category, third.distributed, third.size_bytes) == ("0", False, 10)


@pytest.mark.parametrize(
    ("name", "message", "location"),
    [
        ("vics-truncated.json", "not valid JSON", "near line"),
        ("vics-wrong-root.json", "root must be a JSON object", "line 1"),
        ("vics-garbage.xml", "looks like XML", "line 1"),
        ("vics-no-context.json", "no odata.metadata or @odata.context", None),
        ("vics-utf16.json", "UTF-16", "line 1"),
        ("vics-bad-hash.json", "not a valid MD5 hash", "media record 2"),
        ("vics-bad-flag.json", "IsDistributed must be true or false", "media record 1"),
    ],
)
def test_vics_bad_input_is_one_clear_error(name: str, message: str, location: str | None) -> None:
    with pytest.raises(BadInput) as caught:
        read("vics", DATA / name)
    error = caught.value
    assert message in str(error)
    assert error.source == str(DATA / name)
    if location:
        assert error.location is not None and error.location.startswith(location)
    assert "\n" not in str(error)


def test_vics_export_reimports_identically(tmp_path: Path) -> None:
    original = read("vics", DATA / "vics2-media.json")
    out = tmp_path / "export.json"
    assert VicsFormat().write(original, out) == 3
    document = json.loads(out.read_text())
    assert document["@odata.context"].endswith("$metadata#Media")
    assert {"HashName": "PDQ", "HashValue": PDQ_A} in document["value"][0]["AlternativeHashes"]
    assert read("vics", out) == original


def test_vics_cases_writer_round_trips(tmp_path: Path) -> None:
    media = read("vics", DATA / "vics2-media.json")
    out = tmp_path / "cases.json"
    written = write_vics_cases(
        out, [VicsCase("CASE-1", "first", media[:2]), VicsCase("CASE-2", None, media[2:])]
    )
    assert written == 3
    document = json.loads(out.read_text())
    assert document["@odata.context"].endswith("#Cases")
    assert [case["CaseID"] for case in document["value"]] == ["CASE-1", "CASE-2"]
    assert read("vics", out) == media


def test_vics_video_frames_round_trip(tmp_path: Path) -> None:
    record = HashRecord(md5=MD5_A, extra={"video_pdq": [PDQ_A, "0" * 64]})
    out = tmp_path / "video.json"
    VicsFormat().write([record], out)
    assert read("vics", out) == [record]


def _vics_media_stream(path: Path, count: int) -> None:
    with path.open("w") as out:
        out.write('{"@odata.context": "x/$metadata#Media", "value": [')
        for number in range(count):
            media = {
                "MediaID": number,
                "Category": 1,
                "MD5": f"{number:032x}",
                "IsDistributed": "true",
                "AlternativeHashes": [{"HashName": "PDQ", "HashValue": f"{number:064x}"}],
            }
            out.write(("," if number else "") + json.dumps(media))
        out.write("]}")


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize()


def test_vics_parser_is_lazy(tmp_path: Path) -> None:
    """200k media stream through in bounded memory: resident memory grows by far less than
    the file (45 MB) or the records (hundreds of MB if they were all kept)."""
    path = tmp_path / "big.json"
    _vics_media_stream(path, 200_000)
    size_bytes = path.stat().st_size
    records = VicsFormat().read(path)
    first = next(records)
    baseline_bytes = peak_bytes = _rss_bytes()
    count, last = 1, first
    for count, last in enumerate(records, start=2):  # noqa: B007 (last is read below)
        if count % 20_000 == 0:
            peak_bytes = max(peak_bytes, _rss_bytes())
    assert (first.md5, last.md5, count) == (f"{0:032x}", f"{199_999:032x}", 200_000)
    assert peak_bytes - baseline_bytes < 20_000_000 < size_bytes, (peak_bytes, baseline_bytes)


def test_vics_reader_yields_before_reading_the_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "truncated-late.json"
    _vics_media_stream(path, 5_000)
    path.write_bytes(path.read_bytes()[:-200])
    records: Iterator[HashRecord] = VicsFormat().read(path)
    assert next(records).md5 == f"{0:032x}"  # the first media arrives before the bad tail
    with pytest.raises(BadInput, match="not valid JSON"):
        list(records)


# --- NSRL ---------------------------------------------------------------------------------


def make_rds(path: Path, rows: list[tuple[object, ...]], *, view: bool = True) -> Path:
    connection = sqlite3.connect(path)
    columns = "sha256 TEXT, sha1 TEXT, md5 TEXT, file_name TEXT, file_size INTEGER, package_id"
    if view:
        connection.execute(f"CREATE TABLE FILE_DATA ({columns}, extension TEXT)")
        connection.executemany("INSERT INTO FILE_DATA VALUES (?,?,?,?,?,?,'')", rows)
        connection.execute(
            "CREATE VIEW FILE AS SELECT sha256, sha1, md5, file_name, file_size, package_id "
            "FROM FILE_DATA"
        )
    else:
        connection.execute(f"CREATE TABLE FILE ({columns})")
        connection.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?)", rows)
    connection.commit()
    connection.close()
    return path


RDS_ROWS = [
    (SHA256_B.upper(), SHA1_A.upper(), MD5_A.upper(), "icon.png", 512, 190),
    ("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb", None, MD5_B,
     "readme.txt", 10, 191),
]  # fmt: skip


@pytest.mark.parametrize("view", [True, False])
def test_nsrl_rds_sqlite_table_or_view(tmp_path: Path, view: bool) -> None:
    records = read("nsrl", make_rds(tmp_path / "rds.db", RDS_ROWS, view=view))
    assert [(r.sha256, r.sha1, r.md5) for r in records] == [
        (SHA256_B, SHA1_A, MD5_A),
        ("ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb", None, MD5_B),
    ]
    assert records[0].file_name == "icon.png" and records[0].size_bytes == 512
    assert records[0].extra == {"package_id": 190}


def test_nsrl_sqlite_without_file_table_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE something (x)")
    connection.commit()
    connection.close()
    with pytest.raises(BadInput, match="not an NSRL RDSv3 database"):
        read("nsrl", path)


def test_nsrl_legacy_text() -> None:
    records = read("nsrl", DATA / "NSRLFile.txt")
    assert len(records) == 3
    first = records[0]
    assert first.sha1 == "0000002d9d62aebe1e0e9db6c4c4c7c16a163d2c"
    assert first.md5 == "1d6ebb5a789abd108ff578263e1f40f3"
    assert (first.file_name, first.size_bytes) == ("_sfx_0024._p", 4109)
    assert first.extra == {"crc32": "FFFFFFFF", "product_code": "1681", "op_system_code": "358"}
    assert records[2].file_name == "readme, first.txt"  # a quoted comma stays in the name


def test_nsrl_legacy_malformed_line_names_the_line() -> None:
    with pytest.raises(BadInput) as caught:
        read("nsrl", DATA / "NSRLFile-malformed.txt")
    assert caught.value.location == "line 3" and "SHA1" in str(caught.value)


def test_nsrl_legacy_writer_round_trips(tmp_path: Path) -> None:
    from vigil.formats.nsrl import write_legacy_text

    records = read("nsrl", DATA / "NSRLFile.txt")
    write_legacy_text(records, tmp_path / "NSRLFile.txt")
    assert read("nsrl", tmp_path / "NSRLFile.txt") == records


# --- ICSE, hashdeep, lists ----------------------------------------------------------------


def test_icse_baseline_csv() -> None:
    records = read("icse", DATA / "icse-baseline.csv")
    assert [r.media_id for r in records] == ["ICSE-0001", "ICSE-0002", "ICSE-0003"]
    first, second, third = records
    assert (first.md5, first.sha1, first.photodna) == (MD5_A, SHA1_A, "AAECAwQFBgcICQ==")
    assert (first.distributed, first.victim_identified, first.offender_identified) == (
        True,
        False,
        False,
    )
    assert first.series == "Sunset-01" and first.extra == {"icse": {"Baseline date": "2019-04-01"}}
    assert (second.distributed, second.offender_identified, second.series) == (True, True, None)
    assert (third.distributed, third.victim_identified, third.offender_identified) == (
        False,
        True,
        None,
    )


def test_icse_bad_flag_names_line() -> None:
    with pytest.raises(BadInput) as caught:
        read("icse", DATA / "icse-bad-flag.csv")
    assert caught.value.location == "line 2" and "Is distributed" in str(caught.value)


def test_icse_rejects_a_file_without_its_header() -> None:
    with pytest.raises(BadInput, match="not an ICSE baseline CSV"):
        read("icse", DATA / "list-md5-sha1.txt")


def test_hashdeep_reads_the_column_line() -> None:
    records = read("hashdeep", DATA / "hashdeep.txt")
    assert [(r.size_bytes, r.md5, r.file_name) for r in records] == [
        (2048, MD5_A, "/evidence/export/a.jpg"),
        (10, MD5_B, "/evidence/export/b, with comma.png"),
    ]
    assert records[1].sha256 == SHA256_B
    other = read("hashdeep", DATA / "hashdeep-sha1.txt")
    assert [(r.sha1, r.md5, r.file_name) for r in other] == [(SHA1_A, None, "a.txt")]


def test_hashdeep_bad_inputs() -> None:
    with pytest.raises(BadInput) as caught:
        read("hashdeep", DATA / "hashdeep-truncated-row.txt")
    assert caught.value.location == "line 3"
    with pytest.raises(BadInput, match=r"HASHDEEP-1\.0"):
        read("hashdeep", DATA / "NSRLFile.txt")


def test_list_infers_md5_and_sha1_and_skips_comments() -> None:
    records = read("list", DATA / "list-md5-sha1.txt")
    assert [(r.md5, r.sha1, r.file_name) for r in records] == [
        (MD5_A, None, None),
        (None, SHA1_A, "a.txt"),
        (MD5_B, None, "b.png"),
    ]


def test_list_of_64_hex_needs_a_named_type() -> None:
    with pytest.raises(BadInput, match="--hash-type") as caught:
        read("list", DATA / "list-sha256.txt")
    assert caught.value.location == "line 1"
    assert [r.sha256 for r in read("list", DATA / "list-sha256.txt", hash_type="sha256")] == [
        "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        SHA256_B,
    ]
    assert [r.pdq for r in read("list", DATA / "list-pdq.txt", hash_type="pdq")] == [
        PDQ_A,
        "0" * 64,
    ]
    with pytest.raises(UsageError):
        read("list", DATA / "list-pdq.txt", hash_type="crc32")


def test_list_named_type_must_fit_every_line() -> None:
    with pytest.raises(BadInput, match="SHA256") as caught:
        read("list", DATA / "list-md5-sha1.txt", hash_type="sha256")
    assert caught.value.location == "line 2"


@pytest.mark.parametrize(
    ("name", "location", "message"),
    [
        ("list-malformed.txt", "line 3", "not a hash"),
        ("list-latin1.txt", "line 1", "not UTF-8"),
        ("list-utf16.txt", "line 1", "UTF-16"),
        ("vics-garbage.xml", "line 1", "not a hash"),
    ],
)
def test_list_bad_lines_name_file_and_line(name: str, location: str, message: str) -> None:
    with pytest.raises(BadInput) as caught:
        read("list", DATA / name)
    assert caught.value.location == location and message in str(caught.value)
    assert str(caught.value).startswith(str(DATA / name))


def test_list_with_bom_and_crlf() -> None:
    assert [r.md5 for r in read("list", DATA / "list-bom.txt")] == [MD5_A, MD5_B]


def test_missing_file_is_bad_input(tmp_path: Path) -> None:
    for name in HASHSET_FORMATS.names():
        with pytest.raises(BadInput, match="cannot read"):
            read(name, tmp_path / "absent.txt")
