"""Pausing Python's cyclic garbage collector around bulk work.

A bulk run (an ingest, a resolution) allocates millions of small dicts, tuples and records
that are never cyclic and live until the run writes them. The collector scans every live
container each time allocations pile up, so over such a run its scans cost a fifth or more
of the time and find nothing to free. Reference counting still frees everything acyclic at
once; the few cycles made meanwhile are collected after the run, when the collector resumes.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off for the block, back on after it if it was on before (nesting is
    safe: an inner block leaves it off for the outer one)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
