"""The same linkage on Apache Spark, for a unit that has outgrown one machine.

``SparkLinkage`` holds the population in a Spark session and runs splink's Spark backend with
exactly the settings the DuckDB engine uses (the levels' SQL written in Spark's dialect, the
same model, learned once on DuckDB, and the same rules), so the same accounts give the same
scored pairs and the same subjects.
Features are computed before the data reaches Spark and clustering happens after, on the
driver, so only the pairwise comparison, the expensive part, is distributed.

The master is a Spark URL: ``local[*]`` (every core of this machine, the default),
``local[N]``, ``spark://host:7077`` (a standalone cluster) or ``yarn``; docs/identity-spark.md
says how to run it on a cluster. On a ``local[...]`` master the executors live in the driver's
JVM, whose heap Spark caps at 1 GiB unless told otherwise: a million accounts' shuffle does not
fit in that, so Vigil gives it half this machine's memory unless ``SPARK_DRIVER_MEMORY`` says
otherwise. pyspark is the optional extra ``vigil[spark]`` and needs a
Java runtime.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from typing import Any

from vigil.errors import UsageError
from vigil.identity.dialects import SPARK
from vigil.identity.linkage import SplinkLinkage
from vigil.identity.model import PRIORS, Model
from vigil.machine import cores_here, memory_here

DEFAULT_MASTER = "local[*]"
_LOCAL = re.compile(r"^local(?:\[(\d+|\*)(?:,\d+)?\])?$")
# the master URLs Spark 4 accepts: this machine, a standalone cluster (one master or several
# for high availability), YARN, Kubernetes
_CLUSTER = re.compile(r"^(?:spark://[\w.-]+(?::\d+)?(?:,[\w.-]+(?::\d+)?)*|yarn|k8s://\S+)$")


def check_master(master: str) -> None:
    """A master URL Spark would refuse, refused before anything is read or started."""
    if not (_LOCAL.match(master) or _CLUSTER.match(master)):
        raise UsageError(
            f"--spark-master {master!r} is not a Spark master URL: use local[*], local[N], "
            "spark://HOST:PORT, yarn or k8s://HOST"
        )


def _local_cores(master: str) -> int | None:
    """The cores a ``local[...]`` master uses, or None for a cluster master."""
    found = _LOCAL.match(master)
    if not found:
        return None
    cores = found.group(1)
    if cores is None:
        return 1
    return cores_here() if cores == "*" else int(cores)


def half_this_machine() -> str | None:
    """Half the memory this process may use, in Spark's units (``11776m``), or None where the
    platform cannot say."""
    total = memory_here()
    if total is None:
        return None
    return f"{max(1, total // 2 // 2**20)}m"


def spark_session(master: str = DEFAULT_MASTER) -> Any:
    """A Spark session with splink's similarity functions (its bundled jar) loaded."""
    try:
        from pyspark.sql import SparkSession
        from splink.backends.spark import similarity_jar_location
    except ImportError as exc:
        raise UsageError(
            "the Spark engine needs pyspark: install vigil with the spark extra "
            "(pip install 'vigil[spark]') and a Java runtime"
        ) from exc
    builder = (
        SparkSession.builder.master(master)
        .appName("vigil-resolve")
        .config("spark.jars", similarity_jar_location())
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        # the scored pairs come back to the driver (this process's JVM, on any master): its
        # heap is the limit, not a second cap on results
        .config("spark.driver.maxResultSize", "0")
        # Spark SQL's default catalogue folder is ./spark-warehouse; Vigil creates no tables
        # there, so it stays out of the user's working directory
        .config("spark.sql.warehouse.dir", os.path.join(tempfile.gettempdir(), "vigil-spark"))
    )
    cores = _local_cores(master)
    if cores is not None:
        # one machine: stay on loopback, and one shuffle partition per core (Spark's default
        # of 200 is for clusters and costs seconds of scheduling on a handful of cores)
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.shuffle.partitions", str(cores))
            .config("spark.default.parallelism", str(cores))
        )
        if memory := half_this_machine():
            # Spark's launcher sizes the JVM's heap from this variable when getOrCreate below
            # starts it; a value the user set stands
            os.environ.setdefault("SPARK_DRIVER_MEMORY", memory)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j and Java start-up errors have no common base
        raise UsageError(f"could not start Spark at {master}: {exc}") from exc
    session.sparkContext.setLogLevel("ERROR")
    return session


class SparkLinkage(SplinkLinkage):
    """Scores candidate pairs on Spark with the DuckDB engine's settings."""

    dialect = SPARK

    def __init__(self, master: str = DEFAULT_MASTER, session: Any = None, model: Model = PRIORS):
        from splink.backends.spark import SparkAPI

        self.model = model
        self._spark = session or spark_session(master)
        self._own_session = session is None
        self._db = SparkAPI(spark_session=self._spark, break_lineage_method="persist")
        logging.getLogger("splink").setLevel(logging.ERROR)

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        # through Arrow: at a million accounts the scored pairs are millions of rows, which
        # Row-by-Row pickling (collect) takes minutes and gigabytes to bring back
        table = self._spark.sql(sql).toArrow()
        return list(zip(*(column.to_pylist() for column in table.columns), strict=True))

    def close(self) -> None:
        self._spark.catalog.clearCache()
        if self._own_session:
            self._spark.stop()
