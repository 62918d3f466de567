"""Writing output files so that a reader never finds half of one.

Every file Vigil writes for a person (a summary, a report, an export, a referral package)
goes to a temporary name in the same folder and is renamed over its final name only once it
is complete and flushed to disk. A full disk or a crash leaves the old file (or none), never a
truncated one, and the temporary file is removed. Output paths are checked before the work
starts (``check_output_path``), so a wrong path fails in a second, not after an hour.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from vigil.errors import BadInput, UsageError


def check_output_path(path: Path, *, directory: bool = False) -> None:
    """UsageError now, when ``path`` could not be written later."""
    path = Path(path)
    if directory:  # made with its missing parents, like ``mkdir -p``: check the nearest one
        if path.exists() and not path.is_dir():
            raise UsageError(f"not a folder: {path}")
        parent = path
        while not parent.exists() and parent != parent.parent:
            parent = parent.parent
    else:
        if path.is_dir():
            raise UsageError(f"is a folder, not a file: {path}")
        parent = path.parent
    parent = parent if str(parent) else Path(".")
    if not parent.is_dir():
        raise UsageError(f"no such folder for the output: {parent}")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UsageError(f"cannot write in folder: {parent}")


@contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; renamed over it when the block ends without error."""
    path = Path(path)
    handle, name = tempfile.mkstemp(dir=path.parent or Path("."), prefix=f".{path.name}.")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        with temporary.open("rb") as written:
            os.fsync(written.fileno())
        os.chmod(temporary, 0o644)
        temporary.replace(path)
    except OSError as exc:
        raise BadInput(f"cannot write: {exc.strerror or exc}", source=str(path)) from exc
    finally:
        temporary.unlink(missing_ok=True)


def write_atomically(path: Path, data: str | bytes) -> None:
    with atomic_path(path) as temporary:
        if isinstance(data, str):
            temporary.write_text(data, encoding="utf-8")
        else:
            temporary.write_bytes(data)
