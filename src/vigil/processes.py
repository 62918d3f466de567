"""Worker processes for hashing, triage and parsing: one way to start them.

Forking is the fast start: the worker inherits every module already imported, where a fresh
interpreter spends most of a second importing them again. But a fork copies each lock as it
stands at that instant, and a lock held by another thread stays held in the child for good,
since that thread does not exist there: a worker that needs it (inside libxml2, OpenSSL, a
decoder or the allocator of a C library) hangs. A command runs its work on the main thread,
with nothing beside it but the progress bar's refresher, so it forks. A job does not: the
server runs jobs on its own threads next to request threads, and every job (in the server or
in `vigil worker`) has a heartbeat thread renewing its lease. A job's workers come from a
fork server instead, a clean single-threaded process started once and kept.

Either way a worker dies with the process that started its pool (``die_with_parent``), so a
``kill -9`` leaves no worker behind, and keeps the memory it frees for the next file
(``keep_freed_memory``).
"""

from __future__ import annotations

import contextvars
import multiprocessing
import os
import select
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

_Argument = TypeVar("_Argument")
_Result = TypeVar("_Result")

_beside_other_threads = contextvars.ContextVar("beside_other_threads", default=False)


@contextmanager
def not_forking() -> Iterator[None]:
    """Pools started in this block come from the fork server (a job, with its heartbeat)."""
    token = _beside_other_threads.set(True)
    try:
        yield
    finally:
        _beside_other_threads.reset(token)


def start_method() -> str:
    """``fork`` on the main thread outside a job, where the platform has it; else the fork
    server (or, where there is none, a fresh interpreter)."""
    available = multiprocessing.get_all_start_methods()
    on_main = threading.current_thread() is threading.main_thread()
    if on_main and not _beside_other_threads.get() and "fork" in available:
        return "fork"
    return "forkserver" if "forkserver" in available else "spawn"


def process_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` processes, started the safe way for the caller (above)."""
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(start_method()),
        initializer=start_worker,
        initargs=(os.getpid(),),
    )


def in_own_process(function: Callable[[_Argument], _Result], argument: _Argument) -> _Result:
    """``function(argument)`` in a fresh process of its own, so that a native fault there
    names its input and harms nothing else: ``BrokenProcessPool`` says the process died."""
    with process_pool(1) as alone:
        return alone.submit(function, argument).result()


def start_worker(owner_pid: int) -> None:
    """Process-pool initializer: ``die_with_parent``, then ``keep_freed_memory``."""
    die_with_parent(owner_pid)
    keep_freed_memory()


# glibc's mallopt parameters (malloc.h)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
# Blocks under this come from the heap, not a mapping of their own; the largest glibc takes.
WORKER_MMAP_THRESHOLD_BYTES = 32 << 20
# Free memory a worker keeps at the top of its heap before handing it back.
WORKER_TRIM_THRESHOLD_BYTES = 64 << 20


def keep_freed_memory() -> None:
    """Let this worker reuse the memory it frees instead of handing it back to the kernel.

    A worker hashes one file after another, and each decode and PDQ pass allocates and frees
    the same few buffers, of hundreds of kilobytes to a few megabytes. glibc maps each such
    block on its own (or trims it off the heap) and unmaps it when freed, so the next file
    pays a page fault for every page again: half of pdqhash's time on a 228x171 image (its
    luma conversion), 1.1 ms where 0.55 ms is the work. Keeping up to
    ``WORKER_TRIM_THRESHOLD_BYTES`` free costs a worker at most that much resident memory.
    Elsewhere than glibc (musl, macOS) this does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # a C library without mallopt
        return
    mallopt(_M_MMAP_THRESHOLD, WORKER_MMAP_THRESHOLD_BYTES)
    mallopt(_M_TRIM_THRESHOLD, WORKER_TRIM_THRESHOLD_BYTES)


def die_with_parent(owner_pid: int) -> None:
    """Process-pool initializer: this worker ends when ``owner_pid``, the process that
    started the pool, does.

    Without it a ``kill -9`` of ``vigil triage --jobs N`` leaves N workers blocked on their
    queue forever, and every interrupted run adds N more. A forked worker asks the kernel to
    kill it with its parent (Linux ``PR_SET_PDEATHSIG``). A fork server's worker cannot: its
    parent is the fork server, which outlives the owner (each worker holds the pipe it
    watches for the owner's end), so the worker watches the owner itself, through a pidfd
    on a thread of its own. Other systems keep the executor's own shutdown only.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == owner_pid:
        return  # forked by the owner: the kernel does the rest
    try:  # a fork server's worker, or a forked one whose owner has already gone
        owner = os.pidfd_open(owner_pid)
    except ProcessLookupError:
        os._exit(1)
    threading.Thread(target=_exit_when_ended, args=(owner,), daemon=True).start()


def _exit_when_ended(owner: int) -> None:
    select.select([owner], [], [])  # readable once that process has ended
    os._exit(1)
