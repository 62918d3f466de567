"""What this machine lets one process use, for engines that size themselves (Spark's heap,
DuckDB's memory limit) and would otherwise assume the whole machine is theirs."""

from __future__ import annotations

import os

# where a container's memory limit is written (cgroup v2, then v1); "max" or a huge number
# means no limit
_CGROUP_LIMITS = ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes")


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
