"""One local Spark session for the Spark tests, and the demo day ingested twice: by the pipeline and by Spark.

Without pyspark or Java the tests skip, saying which is missing; CI sets LOGLAKE_REQUIRE_SPARK (.ci/run installs
Java), and then a missing one fails them instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from loglake.demo import DemoManifest
from loglake.ingest.pipeline import IngestOptions, ingest
from loglake.ingest.summary import Summary
from tests.demo.conftest import demo  # noqa: F401 - the demo day the demo tests use, a fixture here too

PANDAS_WARNING = "ignore:PySpark does not yet fully support pandas:FutureWarning"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.fspath).parents:
            item.add_marker(pytest.mark.slow)
            # pyspark's own warning under pandas 3 (loglake uses Arrow only); the session filters it, pytest resets
            item.add_marker(
                pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning")
            )


def _missing() -> str | None:
    from loglake.spark.session import SparkUnavailableError, require_spark

    try:
        require_spark()
    except SparkUnavailableError as error:
        return str(error)
    return None


@pytest.fixture(scope="session")
def spark():
    missing = _missing()
    if missing:
        if os.environ.get("LOGLAKE_REQUIRE_SPARK"):
            pytest.fail(f"LOGLAKE_REQUIRE_SPARK is set but {missing}")
        pytest.skip(missing)
    os.environ.setdefault("LOGLAKE_SPARK_MEMORY", "512m")
    from loglake.spark.session import session

    active = session("local[2]")
    yield active
    active.stop()


@pytest.fixture(scope="session")
def pipeline_lake(demo: tuple[Path, DemoManifest], tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """The demo day ingested by `loglake ingest`'s pipeline (DuckDB/pyiceberg)."""
    lake = tmp_path_factory.mktemp("pipeline") / "lake"
    ingest(IngestOptions(sources=[str(demo[0])], lake=lake, workers=2))
    return lake


@pytest.fixture(scope="session")
def spark_ingested(
    spark,
    demo: tuple[Path, DemoManifest],  # noqa: F811
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Summary]:
    """The same day ingested by `loglake spark ingest`."""
    from loglake.spark.ingest import spark_ingest

    lake = tmp_path_factory.mktemp("spark") / "lake"
    return lake, spark_ingest(IngestOptions(sources=[str(demo[0])], lake=lake), spark=spark)


@pytest.fixture
def lake_copy(pipeline_lake: Path, tmp_path: Path) -> Path:
    """A copy of the pipeline's lake a test may write to (detect state, alerts)."""
    copy = tmp_path / "lake"
    shutil.copytree(pipeline_lake, copy)
    return copy
