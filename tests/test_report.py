"""The operation report: its figures agree with the store, it is self-contained, and it opens
offline in a real Chromium, whose rendered DOM and screenshot are checked."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import lxml.html
from PIL import Image

from tests.chromium import chromium_path
from tests.cli_runner import run_cli
from tests.network_store_fixture import populate
from vigil.store.db import Store
from vigil.store.models import Referral, Subject

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-dev-shm-usage",
]


def _operation(store: Store, tmp_path: Path) -> Path:
    ids = populate(store)
    for args in (
        ("network", "rank"),
        ("countries",),
        ("refer", "--all", "-o", str(tmp_path / "referrals")),
        ("outcome", str(ids.subjects["admin"]), "arrest", "--date", "2007-02-01"),
    ):
        result = run_cli(*args)
        assert result.exit_code == 0, result.stderr
    report = tmp_path / "report.html"
    result = run_cli("report", "-o", str(report))
    assert result.exit_code == 0, result.stderr
    assert "5 suspects in 4 countries" in result.stdout
    return report


def _rows(page: lxml.html.HtmlElement, css_class: str) -> list[lxml.html.HtmlElement]:
    return page.xpath(f'//tr[@class="{css_class}"]')


def _store_figures(store: Store) -> dict[str, int]:
    with store.reading() as session:
        suspects = session.query(Subject).filter(Subject.role != "victim").all()
        return {
            "suspects": len(suspects),
            "countries": len({s.country for s in suspects if s.country}),
            "referrals": session.query(Referral).count(),
        }


def test_report_is_self_contained_and_matches_the_store(store: Store, tmp_path: Path) -> None:
    report = _operation(store, tmp_path)
    html = report.read_text()
    page = lxml.html.fromstring(html)
    expected = _store_figures(store)
    assert page.get_element_by_id("suspect-count").text_content() == str(expected["suspects"])
    assert page.get_element_by_id("country-count").text_content() == str(expected["countries"])
    assert len(_rows(page, "country-row")) == expected["countries"]
    assert len(_rows(page, "referral-row")) == expected["referrals"]
    assert [r.get("data-country") for r in _rows(page, "country-row")] == ["AU", "CA", "DE", "GB"]
    top = _rows(page, "distributor-row")[0].text_content()
    assert "admin" in top and "sent 11 files" in top
    assert "S-1" in page.get_element_by_id("series-table").text_content()
    # Nothing external, nothing executable, and the only pictures are our own charts.
    assert not page.xpath("//script | //link | //iframe | //object | //embed | //video | //audio")
    sources = [img.get("src") for img in page.xpath("//img")]
    assert len(sources) == 2 and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", html)
    assert "default-src 'none'" in html


def test_report_opens_offline_in_chromium(sqlite_store: Store, tmp_path: Path) -> None:
    browser = chromium_path()
    report = _operation(sqlite_store, tmp_path)
    url = report.resolve().as_uri()
    flags = [*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    page = lxml.html.fromstring(dom)
    expected = _store_figures(sqlite_store)
    assert page.get_element_by_id("suspect-count").text_content() == str(expected["suspects"])
    assert page.get_element_by_id("country-count").text_content() == str(expected["countries"])
    assert len(_rows(page, "country-row")) == expected["countries"]
    assert len(_rows(page, "referral-row")) == expected["referrals"]
    assert _rows(page, "outcome-row")[0].text_content().count("arrest") == 1

    shot = tmp_path / "report.png"
    subprocess.run(
        [browser, *flags, "--window-size=1280,2400", f"--screenshot={shot}", url],
        capture_output=True,
        timeout=120,
        check=True,
    )
    image = Image.open(io.BytesIO(shot.read_bytes()))
    assert image.size == (1280, 2400)
    # A rendered page, not a blank one: the header band, tables and charts give many colours.
    colours = image.convert("RGB").getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 200
    header_pixel = image.convert("RGB").getpixel((20, 20))
    assert header_pixel == (0x1D, 0x35, 0x57)
