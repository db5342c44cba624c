"""Shared fixtures: the sample corpus (real-shaped logs written by others) and a fresh lake per test."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT.parent / "shared" / "corpus"


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.exists():
        pytest.fail(f"the shared sample corpus is missing at {CORPUS}")
    return CORPUS


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    from tests.servers import rclone_s3

    with rclone_s3(tmp_path_factory.mktemp("s3root")) as server:
        yield server
