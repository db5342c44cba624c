"""The demo generator's output for one day, generated once and shared by the demo tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from loglake.demo import DemoManifest, generate_raw_logs

END = dt.datetime(2024, 3, 7, tzinfo=dt.UTC)  # so the one generated day is Wednesday 2024-03-06
SCALE = 0.2


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoManifest]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_raw_logs(out, days=1, seed=7, end=END, scale=SCALE, workers=2)
