"""The SparkSession loglake runs in, and the one place pyspark is imported (lazily: the rest works without it).

On a cluster `spark-submit` has already built the session (master, memory, executors); `session()` then only
adds the settings loglake's results depend on. Run locally it starts `local[*]` with small memory.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import warnings
from typing import TYPE_CHECKING

from loglake.query.engine import QueryError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Settings results depend on: event times are UTC as in DuckDB; Arrow moves rows between Spark and Python.
SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
LOCAL_SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.driver.memory": os.environ.get("LOGLAKE_SPARK_MEMORY", "1g"),
    "spark.sql.shuffle.partitions": "4",  # the default 200 makes every small group-by 200 tasks
}


class SparkUnavailableError(QueryError):
    """pyspark or Java is missing; the message says what to install."""


def require_spark() -> None:
    """Fail with the fix when pyspark or a Java runtime is missing, before anything slow starts."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise SparkUnavailableError("pyspark is not installed: pip install 'loglake[spark]'") from None
    if not os.environ.get("JAVA_HOME") and shutil.which("java") is None:
        raise SparkUnavailableError(
            "Spark needs Java 17 or later: install a JRE (e.g. apt-get install default-jre-headless)"
        )


def session(master: str | None = None) -> SparkSession:
    """The active session (spark-submit's), else a new one on `master` (default: LOGLAKE_SPARK_MASTER or local)."""
    require_spark()
    # pyspark warns on every Arrow call under pandas 3, which loglake's Arrow-only use does not touch
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        builder = SparkSession.builder.appName("loglake")
        if master or not _submitted():
            builder = builder.master(master or os.environ.get("LOGLAKE_SPARK_MASTER", "local[*]"))
            # Python workers run `python3` from PATH unless told: use this interpreter, which has loglake's packages
            os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
            for key, value in LOCAL_SETTINGS.items():
                builder = builder.config(key, value)
        active = builder.getOrCreate()
        _quiet()
        active.sparkContext.setLogLevel("FATAL")
    for key, value in SETTINGS.items():
        active.conf.set(key, value)
    return active


def _submitted() -> bool:
    """Whether spark-submit started this process (it then holds the master and the resources to use)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def _quiet() -> None:
    """Failures reach the user as one line (SparkQueryError), not as Spark's logged JSON with a Java stack."""
    from pyspark.logger import PySparkLogger

    for name in ("SQLQueryContextLogger", "DataFrameQueryContextLogger"):
        PySparkLogger.getLogger(name).setLevel(logging.CRITICAL)
