"""Rendering the report: Jinja2 templates shipped inside the package, autoescaped.

The page carries a Content-Security-Policy that forbids every external load, so even a
mistake in a template cannot make the browser reach the network.
"""

from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from vigil.report.charts import countries_chart, network_core_picture
from vigil.report.model import ReportData


def render_report(data: ReportData) -> str:
    environment = Environment(
        loader=PackageLoader("vigil.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    template = environment.get_template("report.html.j2")
    return template.render(
        data=data,
        figures=data.figures,
        countries_chart=countries_chart(data.countries),
        core_picture=network_core_picture(data.core_nodes, data.core_edges),
    )
