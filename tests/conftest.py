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
    import subprocess
    import sys

    from tests.servers import _wait_for_port, free_port

    if os.environ.get("LOGLAKE_TEST_MOTO_ENDPOINT"):
        yield os.environ["LOGLAKE_TEST_MOTO_ENDPOINT"]
        return
    port = free_port()
    binary = Path(sys.executable).with_name("moto_server")
    process = subprocess.Popen(
        [str(binary), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
