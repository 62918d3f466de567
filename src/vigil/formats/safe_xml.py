"""Reading untrusted XML: one lxml configuration, and small helpers over elements.

Provider reports arrive from outside; the parser never resolves entities, never touches the
network, keeps lxml's limits on huge documents (``huge_tree=False``) and refuses any DTD
(internal entity declarations, external entities), so billion-laughs and XXE documents fail
with one line of ``BadInput`` instead of expanding or reading files.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from vigil.errors import BadInput, UnsupportedFormat

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
}


def parse_xml(data: bytes, source: str, roots: tuple[str, ...]) -> etree._Element:
    """The root element, namespaces stripped; refuses DTDs, entities and other roots."""
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", None)
        raise BadInput(
            f"malformed XML: {exc.msg if hasattr(exc, 'msg') else exc}",
            source=source,
            location=f"line {line}" if line else None,
        ) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype or docinfo.system_url:
        raise BadInput(
            "XML with a DTD is refused (entity expansion and external entities are not read)",
            source=source,
        )
    for element in root.iter():
        if not isinstance(element.tag, str):
            if isinstance(element, etree._Entity):
                raise BadInput(
                    "XML entity references are refused",
                    source=source,
                    location=f"line {element.sourceline}",
                )
            continue
        if element.tag.startswith("{"):
            element.tag = element.tag.split("}", 1)[1]
    if root.tag not in roots:
        wanted = " or ".join(f"<{tag}>" for tag in roots)
        raise UnsupportedFormat(f"root element <{root.tag}> is not {wanted}", source=source)
    return root


def to_data(element: etree._Element) -> Any:
    """An element as plain JSON-able data: text for a leaf, else a dict of child lists."""
    children = [c for c in element if isinstance(c.tag, str)]
    attributes = dict(element.attrib)
    if not children:
        content = (element.text or "").strip()
        return {"@": attributes, "text": content} if attributes else content
    data: dict[str, Any] = {f"@{k}": v for k, v in attributes.items()}
    for child in children:
        data.setdefault(child.tag, []).append(to_data(child))
    return data


def texts(element: etree._Element | None) -> dict[str, str | None]:
    """The stripped text of each child, first occurrence of a tag wins: one pass, then dict
    lookups (``findtext`` per field was the parser's hottest line)."""
    found: dict[str, str | None] = {}
    if element is None:
        return found
    for child in element:
        tag = child.tag
        if isinstance(tag, str) and tag not in found:
            value = child.text
            found[tag] = (value.strip() or None) if value else None
    return found


def text(element: etree._Element | None, path: str) -> str | None:
    if element is None:
        return None
    found = element.findtext(path)
    return (found.strip() or None) if found else None


def unknown_children(element: etree._Element, known: set[str]) -> dict[str, Any]:
    unknown: dict[str, Any] = {}
    for child in element:
        if isinstance(child.tag, str) and child.tag not in known:
            unknown.setdefault(child.tag, []).append(to_data(child))
    return unknown
