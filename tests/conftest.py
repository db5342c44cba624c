"""Shared fixtures: a fresh lake per test, and the real servers tests talk to (rclone S3, moto_server)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def lake(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    from tests.servers import rclone_s3

    with rclone_s3(tmp_path_factory.mktemp("s3root")) as server:
        yield server


@pytest.fixture(scope="session")
def moto_server():
    """A moto_server on 127.0.0.1 (real HTTP): LOGLAKE_TEST_MOTO_ENDPOINT if set (.ci/run starts one), else our own."""
    import os

    from loglake.demo.moto import moto_server as local_moto_server

    if os.environ.get("LOGLAKE_TEST_MOTO_ENDPOINT"):
        yield os.environ["LOGLAKE_TEST_MOTO_ENDPOINT"]
        return
    with local_moto_server() as endpoint:  # the demo's: a free port, waited for, always stopped
        yield endpoint
