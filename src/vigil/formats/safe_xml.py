"""Reading untrusted XML: one lxml configuration, and small helpers over elements.

Provider reports arrive from outside; the parser never resolves entities, never touches the
network, keeps lxml's limits on huge documents (``huge_tree=False``) and refuses any DTD
(internal entity declarations, external entities), so billion-laughs and XXE documents fail
with one line of ``BadInput`` instead of expanding or reading files.
"""

from __future__ import annotations

import codecs
from typing import Any

from lxml import etree

from vigil.errors import BadInput, UnsupportedFormat

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "huge_tree": False,
    "load_dtd": False,
}
_NAMESPACED = etree.XPath("descendant-or-self::*[namespace-uri() != '']")
_READ_AS_UTF8 = {"UTF-8", "UTF8", "US-ASCII", "ASCII"}  # ``docinfo.encoding``, upper case


def parse_xml(data: bytes, source: str, roots: tuple[str, ...]) -> etree._Element:
    """The root element, namespaces stripped; refuses DTDs, entities and other roots."""
    parser = etree.XMLParser(**_PARSER_OPTIONS)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        # libxml2's own words: lxml's ``msg`` repeats the place, which the location gives
        last = exc.error_log.last_error if exc.error_log else None
        line, column = exc.position if exc.position else (0, 0)
        raise BadInput(
            f"malformed XML: {last.message if last is not None and last.message else exc.msg}",
            source=source,
            location=f"line {line}, column {column}" if line else None,
        ) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.doctype or docinfo.system_url:
        raise BadInput(
            "XML with a DTD is refused (entity expansion and external entities are not read)",
            source=source,
        )
    # The two searches below visit every element and cost about a tenth of a report's parse.
    # In UTF-8, what they look for cannot be there unless its bytes are: an entity
    # reference starts with "&"; an element is in a namespace only if one is declared
    # ("xmlns") or it is "xml:" (an undeclared prefix is a syntax error).
    plain = _read_as_utf8(data, docinfo.encoding)
    if not plain or b"&" in data:
        # A second line of defence (without a DTD, libxml2 already refuses an undeclared
        # entity). Found by libxml2 in C: walking every element from Python cost more.
        for entity in root.iter(etree.Entity):
            raise BadInput(
                "XML entity references are refused",
                source=source,
                location=f"line {entity.sourceline}",
            )
    if not plain or b"xmlns" in data or b"xml:" in data:
        for element in _NAMESPACED(root):
            element.tag = element.tag.split("}", 1)[1]
    if root.tag not in roots:
        wanted = " or ".join(f"<{tag}>" for tag in roots)
        raise UnsupportedFormat(f"root element <{root.tag}> is not {wanted}", source=source)
    return root


def _read_as_utf8(data: bytes, declared: str | None) -> bool:
    """Whether libxml2 read ``data`` as UTF-8: declared so (lxml names an undeclared encoding
    UTF-8), and not spelled in UTF-16, UTF-32 or EBCDIC, whose first bytes are never ``<``
    then a byte other than NUL. (``docinfo.encoding`` alone says UTF-8 for an undeclared
    UTF-16 document with a BOM.)"""
    start = data[3:5] if data.startswith(codecs.BOM_UTF8) else data[:2]
    return (
        (declared or "").upper() in _READ_AS_UTF8
        and start[:1] == b"<"
        and start[1:2] not in (b"", b"\0")
    )


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


def children(element: etree._Element | None) -> dict[str, list[etree._Element]]:
    """Each child element by tag, in document order: one walk, then dict lookups.

    ``find``/``findall``/``findtext`` go through lxml's ElementPath for every call, and a
    walk over the children per field made them the parser's hottest code.
    """
    found: dict[str, list[etree._Element]] = {}
    if element is None:
        return found
    for child in element:
        tag = child.tag
        if isinstance(tag, str):
            group = found.get(tag)
            if group is None:
                found[tag] = [child]
            else:
                group.append(child)
    return found


def first_text(group: list[etree._Element] | None) -> str | None:
    """The stripped text of the first element of a group (``findtext`` of one child)."""
    if not group:
        return None
    value = group[0].text
    return (value.strip() or None) if value else None


def first(group: list[etree._Element] | None) -> etree._Element | None:
    return group[0] if group else None


def path_text(group: list[etree._Element] | None, tag: str) -> str | None:
    """``findtext("parent/tag")`` over a group of parents: the first ``tag`` child of any."""
    for parent in group or ():
        for child in parent:
            if child.tag == tag:
                value = child.text
                return (value.strip() or None) if value else None
    return None


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


def unknown_children(groups: dict[str, list[etree._Element]], known: set[str]) -> dict[str, Any]:
    """The children (from ``children``) whose tags are not ``known``, as plain data."""
    if groups.keys() <= known:  # the usual case, answered in C
        return {}
    return {
        tag: [to_data(child) for child in group]
        for tag, group in groups.items()
        if tag not in known
    }
