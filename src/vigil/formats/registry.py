"""A name-to-class registry, the one extension point every format uses."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Generic, TypeVar

from vigil.errors import UsageError

T = TypeVar("T")


class Registry(Generic[T]):
    def __init__(self, what: str):
        self.what = what
        self._entries: dict[str, T] = {}

    def register(self, name: str) -> Callable[[T], T]:
        def decorate(entry: T) -> T:
            if name in self._entries and self._entries[name] is not entry:
                raise ValueError(f"{self.what} {name!r} registered twice")
            self._entries[name] = entry
            return entry

        return decorate

    def get(self, name: str) -> T:
        load_all()
        try:
            return self._entries[name]
        except KeyError:
            raise UsageError(
                f"unknown {self.what} {name!r}; choose one of: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        load_all()
        return sorted(self._entries)


HASHSET_FORMATS: Registry[object] = Registry("hash-set format")
SOURCE_FORMATS: Registry[object] = Registry("source format")

_loaded = False


def load_all() -> None:
    """Import every format module so that each registers itself."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import vigil.formats as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "registry":
            importlib.import_module(f"vigil.formats.{module.name}")
