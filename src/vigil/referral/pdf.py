"""The referral summary as a PDF, with reportlab: text and tables only, never an image.

reportlab installs from PyPI alone, so a fresh, offline machine can produce the PDF without
system libraries. ``invariant`` keeps the bytes reproducible for the same content.
"""

from __future__ import annotations

import io
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from vigil.referral.model import PackageContent

MAX_FILES_LISTED = 60

_TABLE_STYLE = TableStyle(
    [
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 8),
        ("FONT", (0, 1), (-1, -1), "Helvetica", 7.5),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde3ea")),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
)


def _p(text: str, style: object) -> Paragraph:
    return Paragraph(escape(text), style)


def render_summary_pdf(content: PackageContent) -> bytes:
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=7.5, leading=9)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=f"Referral {content.reference}",
        author=content.sending_agency,
        invariant=1,
    )
    story: list[object] = [
        _p(f"Referral {content.reference} to {content.country}", styles["Title"]),
        _p(
            f"From {content.sending_agency}, prepared by {content.prepared_by} on "
            f"{content.prepared_at:%Y-%m-%d %H:%M} UTC. Cases: {', '.join(content.cases) or '-'}.",
            styles["BodyText"],
        ),
        _p(
            "This package carries hashes and metadata only. It contains no images or video. "
            "Every file in it is listed with its SHA-256 in manifest.json.",
            styles["BodyText"],
        ),
        Spacer(1, 4 * mm),
        _p(f"Subjects ({len(content.subjects)})", styles["Heading2"]),
    ]
    rows: list[list[object]] = [
        ["Id", "Label", "Priority", "Accounts", "Selectors", "Country basis"]
    ]
    for s in content.subjects:
        accounts = "; ".join(f"{a['platform']}/{a['username']}" for a in s.accounts)
        selectors = "; ".join(f"{x['kind']}: {x['value']}" for x in s.selectors[:8])
        if len(s.selectors) > 8:
            selectors += f"; and {len(s.selectors) - 8} more"
        rows.append(
            [
                str(s.id),
                _p(s.label, small),
                "" if s.priority is None else f"{s.priority:.1f}",
                _p(accounts, small),
                _p(selectors, small),
                _p(s.country_basis or "", small),
            ]
        )
    story.append(
        Table(
            rows,
            colWidths=[10 * mm, 28 * mm, 14 * mm, 42 * mm, 42 * mm, 44 * mm],
            style=_TABLE_STYLE,
            repeatRows=1,
        )
    )
    known = sum(1 for f in content.files if f.status == "known-alert")
    new = sum(1 for f in content.files if f.status == "new")
    first = f"{content.first_event:%Y-%m-%d}" if content.first_event else "-"
    last = f"{content.last_event:%Y-%m-%d}" if content.last_event else "-"
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(content.event_counts.items())) or "none"
    story += [
        Spacer(1, 4 * mm),
        _p("Evidence summary", styles["Heading2"]),
        _p(
            f"{len(content.files)} files ({known} known alert material, {new} new). "
            f"Events: {counts}, from {first} to {last}.",
            styles["BodyText"],
        ),
    ]
    file_rows: list[list[object]] = [["SHA-256", "MD5", "Status", "Category", "Series"]]
    for f in content.files[:MAX_FILES_LISTED]:
        file_rows.append(
            [_p(f.sha256 or "-", small), f.md5 or "-", f.status, f.category or "", f.series or ""]
        )
    story.append(
        Table(
            file_rows,
            colWidths=[70 * mm, 50 * mm, 20 * mm, 20 * mm, 20 * mm],
            style=_TABLE_STYLE,
            repeatRows=1,
        )
    )
    if len(content.files) > MAX_FILES_LISTED:
        story.append(
            _p(f"... and {len(content.files) - MAX_FILES_LISTED} more in files.csv.", small)
        )
    story += [Spacer(1, 4 * mm), _p("Sources", styles["Heading2"])]
    source_rows: list[list[object]] = [["Id", "Kind", "Name", "SHA-256"]]
    for source in content.sources:
        source_rows.append(
            [str(source.id), source.kind, _p(source.name, small), _p(source.sha256, small)]
        )
    story.append(
        Table(
            source_rows,
            colWidths=[10 * mm, 20 * mm, 60 * mm, 90 * mm],
            style=_TABLE_STYLE,
            repeatRows=1,
        )
    )
    doc.build(story)
    return buffer.getvalue()
