"""boto3 sessions and clients from the standard credential chain, and the error handling collectors share.

Nothing here stores a credential: the session finds them (environment, profile, SSO, instance role) each run.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import boto3
import botocore.loaders
import botocore.session
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
)

from loglake.inventory.snapshot import InventoryError

T = TypeVar("T")

CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=10, read_timeout=60)
DEFAULT_REGION = "us-east-1"

# error codes that mean "this setting is not configured", not "this call failed"
MISSING_CODES = frozenset(
    {
        "NoSuchPublicAccessBlockConfiguration",
        "NoSuchBucketPolicy",
        "ServerSideEncryptionConfigurationNotFoundError",
        "NoSuchTagSet",
        "NoSuchTagSetError",
        "ResourceNotFoundException",
        "NotFoundException",
        "NoSuchEntity",
        "TrailNotFoundException",
    }
)


_LOADER = None
_LOADER_LOCK = threading.Lock()


def _shared_loader():
    """One botocore data loader per process: service models are read from disk once, not once per session.
    (Only the models are shared; each session still resolves its own credentials.)"""
    global _LOADER
    with _LOADER_LOCK:
        if _LOADER is None:
            _LOADER = botocore.loaders.create_loader()
        return _LOADER


def session(profile: str | None = None, region: str | None = None) -> boto3.Session:
    try:
        core = botocore.session.get_session()
        core.register_component("data_loader", _shared_loader())
        return boto3.Session(botocore_session=core, profile_name=profile, region_name=region)
    except ProfileNotFound:
        raise InventoryError(f"AWS profile {profile!r} is not configured; check --profile or ~/.aws/config") from None


@dataclass
class Aws:
    """Clients made lazily from one session, for a default region. Clients are thread-safe, a session is not:
    making one is done under a lock, so collectors in threads share the session and its loaded service models."""

    profile: str | None
    region: str
    endpoint_url: str | None = None
    _session: boto3.Session | None = None
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def for_region(self, region: str) -> Aws:
        """The same session and clients, another default region."""
        return _RegionView(self, region)  # type: ignore[return-value]

    def client(self, service: str, region: str | None = None):
        key = f"{service}@{region or self.region}"
        with self._lock:
            if key in self._clients:
                return self._clients[key]
            if self._session is None:
                self._session = session(self.profile, self.region)
            self._clients[key] = self._session.client(
                service, region_name=region or self.region, endpoint_url=self.endpoint_url, config=CLIENT_CONFIG
            )
            if service == "s3control" and self.endpoint_url:
                # s3control puts the account id in front of the host; a custom endpoint (moto, a proxy) has no such host
                self._clients[key].meta.events.register("before-sign.s3-control", _strip_account_host)
        return self._clients[key]


@dataclass
class _RegionView:
    shared: Aws
    region: str

    def client(self, service: str, region: str | None = None):
        return self.shared.client(service, region or self.region)


def _strip_account_host(request, **_: Any) -> None:
    request.url = re.sub(r"://\d{12}\.", "://", request.url, count=1)


def error_code(error: Exception) -> str:
    if isinstance(error, ClientError):
        return str(error.response.get("Error", {}).get("Code", "ClientError"))
    return type(error).__name__


def describe_error(error: Exception) -> str:
    """One line for the snapshot: the code and the first line of the message, never a traceback."""
    if isinstance(error, ClientError):
        message = str(error.response.get("Error", {}).get("Message", "")).strip().splitlines()
        text = message[0] if message else ""
        if text.startswith("<"):  # an HTML error page from an endpoint that lacks the operation
            text = "operation not supported by this endpoint"
        return f"{error_code(error)}: {text}"[:300] if text else error_code(error)
    return f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"[:300]


def optional(call: Callable[[], T], missing: frozenset[str] = MISSING_CODES) -> T | None:
    """The call's answer, or None when AWS says the thing is not configured (no policy, no block, no URL...)."""
    try:
        return call()
    except ClientError as error:
        if error_code(error) in missing:
            return None
        raise


def fatal_for_run(error: Exception) -> InventoryError | None:
    """Errors that stop the whole run (nothing would work): no credentials, no endpoint, no region."""
    if isinstance(error, NoCredentialsError | PartialCredentialsError):
        return InventoryError("no AWS credentials found; set AWS_PROFILE / --profile or the AWS_* environment")
    if isinstance(error, EndpointConnectionError):
        return InventoryError(f"cannot reach AWS at {error.kwargs.get('endpoint_url', '?')}; check --endpoint-url")
    if isinstance(error, NoRegionError):
        return InventoryError("no AWS region; pass --regions or set AWS_DEFAULT_REGION")
    if isinstance(error, ProfileNotFound):
        return InventoryError(str(error))
    return None


__all__ = [
    "Aws",
    "BotoCoreError",
    "ClientError",
    "describe_error",
    "error_code",
    "fatal_for_run",
    "optional",
    "session",
]
