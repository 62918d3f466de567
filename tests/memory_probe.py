"""What a spawned worker imports to measure its allocator: NumPy and nothing of Vigil's, so a
fresh interpreter starts it in a fraction of a second (tests/test_process_hygiene.py)."""

from __future__ import annotations


def page_faults_per_file() -> float:
    """Minor page faults per round of what hashing one picture does to memory: several
    buffers of half a megabyte each, allocated together and freed together."""
    import resource

    import numpy as np

    def one_file() -> None:
        buffers = [np.ones(1 << 16) for _ in range(8)]  # 8 x 512 KiB
        del buffers

    one_file()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    rounds = 20
    for _ in range(rounds):
        one_file()
    return (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / rounds
