"""Parsers and writers, one module per format, each registered by name.

Two registries: ``HASHSET_FORMATS`` (vics, nsrl, icse, hashdeep, list) and ``SOURCE_FORMATS``
(cybertip, irc, chat-jsonl, phpbb, isp). The CLI's FORMAT choices are read from them; a module
registers itself when imported, and ``load_all`` imports every module in this package.
"""

from vigil.formats.registry import HASHSET_FORMATS, SOURCE_FORMATS, Registry, load_all

__all__ = ["HASHSET_FORMATS", "SOURCE_FORMATS", "Registry", "load_all"]
