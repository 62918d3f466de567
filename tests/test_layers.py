"""The layers keep their promises: nothing below the interfaces reads the environment.

Workflows and engines take what they need as arguments (the acting user, the index root, the
admin password), so the CLI and the server can each supply it; see docs/architecture.md.
"""

from __future__ import annotations

import re
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "src" / "vigil"
INTERFACES = {"cli", "server"}
# Spark's JVM is told to stay on loopback: a setting for the child process, not a read.
ALLOWED = {"identity/spark.py": "SPARK_LOCAL_IP"}
READS = re.compile(r"os\.environ(?!\.setdefault)|os\.getenv")


def test_nothing_below_the_interfaces_reads_the_environment() -> None:
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.split("/")[0] in INTERFACES:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if READS.search(line) and ALLOWED.get(relative, "\0") not in line:
                offenders.append(f"{relative}:{number}: {line.strip()}")
    assert offenders == []
