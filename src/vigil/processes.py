"""Worker processes for hashing, triage and parsing: one way to start them.

Forking is the fast start: the worker inherits every module already imported, where a fresh
interpreter spends most of a second importing them again. But a fork copies each lock as it
stands at that instant, and a lock held by another thread stays held in the child for good,
since that thread does not exist there: a worker that needs it (inside libxml2, a decoder or
the allocator of a C library) hangs. The command line runs its work on the main thread, with
nothing beside it but the progress bar's refresher, so it forks. The server runs ingests and
triages as jobs on its own threads, next to request threads that may be inside those same
libraries; a job's workers come from a fork server instead, a clean single-threaded process
started once and kept. Either way the kernel kills a worker whose parent dies
(``die_with_parent``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import threading
from concurrent.futures import ProcessPoolExecutor


def start_method() -> str:
    """``fork`` on the main thread where the platform has it; the fork server elsewhere."""
    available = multiprocessing.get_all_start_methods()
    if threading.current_thread() is threading.main_thread() and "fork" in available:
        return "fork"
    return "forkserver" if "forkserver" in available else "spawn"


def process_pool(workers: int) -> ProcessPoolExecutor:
    """``workers`` processes, started the safe way for the calling thread (above)."""
    method = start_method()
    return ProcessPoolExecutor(
        workers,
        mp_context=multiprocessing.get_context(method),
        initializer=die_with_parent,
        # a forked worker's parent is this process; a fork server's child has the server
        initargs=(os.getpid() if method == "fork" else None,),
    )


def die_with_parent(parent_pid: int | None) -> None:
    """Process-pool initializer: the kernel kills this worker when its parent dies.

    Without it a ``kill -9`` of ``vigil triage --jobs N`` leaves N workers blocked on their
    queue forever, and every interrupted run adds N more (Linux ``PR_SET_PDEATHSIG``; other
    systems keep the executor's own shutdown only). A fork server's workers die with the
    fork server, which ends when the process that started it does.
    """
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1
    libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if parent_pid is not None and os.getppid() != parent_pid:  # it died before the call
        os._exit(1)
