"""What this machine lets one process use, for engines that size themselves (Spark's heap,
DuckDB's memory limit, how many hashing or parsing processes to start) and would otherwise
assume the whole machine is theirs."""

from __future__ import annotations

import os

# where a container's memory limit is written (cgroup v2, then v1); "max" or a huge number
# means no limit
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")
# a container's CPU quota (cgroup v2): "max 100000" for none, "200000 100000" for two cores
_CGROUP_CPU_QUOTA = "/sys/fs/cgroup/cpu.max"


def memory_here() -> int | None:
    """The memory this process may use, in bytes: the machine's, or its container's limit if
    lower, or None where the platform cannot say. In a container the machine's figure is the
    host's, and an engine sized from it would be killed by the container rather than spill to
    disk."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not every platform names these
        return None
    for path in _CGROUP_LIMITS:
        try:
            with open(path, encoding="ascii") as limit_file:
                limit = limit_file.read().strip()
        except OSError:
            continue
        if limit.isdigit():
            total = min(total, int(limit))
        break
    return total


def cores_here() -> int:
    """The CPUs this process may run on: those it is pinned to (``taskset``, a job
    scheduler), fewer if its container's quota allows fewer, and at least one.
    ``os.cpu_count`` counts the host's, so a pool sized from it oversubscribes a container."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not on every platform
        cores = os.cpu_count() or 1
    try:
        with open(_CGROUP_CPU_QUOTA, encoding="ascii") as quota_file:
            quota, _, period = quota_file.read().partition(" ")
        if quota.isdigit() and period.strip().isdigit() and int(period) > 0:
            cores = min(cores, -(-int(quota) // int(period)))  # a part-core quota is one
    except OSError:
        pass
    return max(1, cores)
