"""A moto_server on 127.0.0.1 for the posture demo, and an AWS environment that can only reach it.

The demo must never read the user's AWS profile or reach AWS: the server gets a free local port, the demo account
gets keys from the server's own STS, and while the posture steps run, the standard credential chain sees only
those keys (no profile, no config file, no instance metadata) and every client's endpoint is the server.
"""

from __future__ import annotations

import functools
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DUMMY_KEY = "loglake-demo"  # moto accepts any key; this one only asks its STS for the demo account's keys
START_TIMEOUT = 30.0

# variables through which the standard chain could find real credentials or another endpoint
_CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "AWS_CONTAINER_AUTHORIZATION_TOKEN",
)


class MotoUnavailableError(RuntimeError):
    """moto (the dev extra) is not installed or its server would not start: the posture half of the demo is skipped."""


def moto_available() -> bool:
    try:
        import moto  # noqa: F401
    except ImportError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _server_command(port: int) -> list[str]:
    binary = Path(sys.executable).with_name("moto_server")  # the venv's entry point, next to its python
    if binary.exists():
        return [str(binary), "-H", "127.0.0.1", "-p", str(port)]
    return [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto_server on a free 127.0.0.1 port, yield its URL, and always stop it."""
    if not moto_available():
        raise MotoUnavailableError("it needs moto (pip install 'moto[server]')")
    port = free_port()
    # moto loads hundreds of default AMIs into each region's EC2 on first use: seconds the demo does not need
    environment = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false"}
    process = subprocess.Popen(
        _server_command(port), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment
    )
    try:
        _wait_for(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MotoUnavailableError(f"moto_server exited with code {process.returncode} before listening")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise MotoUnavailableError(f"moto_server did not listen on 127.0.0.1:{port} within {START_TIMEOUT:.0f} s")


@dataclass(frozen=True)
class MotoAccount:
    """One account inside the server: boto3 clients with its keys and the server as endpoint, nothing else."""

    endpoint: str
    account: str
    access_key: str
    secret_key: str
    session_token: str = ""

    def client(self, service: str, region: str) -> Any:
        return _client(self, service, region)

    def environment(self, region: str) -> dict[str, str]:
        """What the standard credential chain reads, pointing at this account and this server only."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_SESSION_TOKEN": self.session_token,
            "AWS_DEFAULT_REGION": region,
            "AWS_ENDPOINT_URL": self.endpoint,  # a client made without endpoint_url still lands here
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


@functools.lru_cache(maxsize=64)
def _client(account: MotoAccount, service: str, region: str) -> Any:
    """One client per (account, service, region): making a session and a client costs more than most calls."""
    from loglake.inventory.aws import session  # its sessions share the service models the inventory loads too

    return session(None, region).client(
        service,
        region_name=region,
        endpoint_url=account.endpoint,
        aws_access_key_id=account.access_key,
        aws_secret_access_key=account.secret_key,
        aws_session_token=account.session_token or None,
    )


@contextmanager
def moto_account(endpoint: str, account: str, region: str) -> Iterator[MotoAccount]:
    """Keys for `account` in the server (moto's STS hands out the account of the role assumed), and a process
    environment that names only them while the block runs; what was there before is put back after."""
    dummy = MotoAccount(endpoint, "", DUMMY_KEY, DUMMY_KEY)
    saved = {key: os.environ.get(key) for key in (*_CLEARED, *dummy.environment(region))}
    try:
        for key in _CLEARED:
            os.environ.pop(key, None)
        os.environ.update(dummy.environment(region))  # no profile or config file is read, even to assume the role
        found = dummy.client("sts", region).assume_role(
            RoleArn=f"arn:aws:iam::{account}:role/loglake-demo", RoleSessionName="loglake-demo"
        )
        keys = found["Credentials"]
        chosen = MotoAccount(endpoint, account, keys["AccessKeyId"], keys["SecretAccessKey"], keys["SessionToken"])
        os.environ.update(chosen.environment(region))
        yield chosen
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
