"""Where objects come from: files, folders (recursive) and S3 prefixes, read through one small interface."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError


class SourceError(Exception):
    """A source the user named cannot be read (missing path, bucket or credentials)."""


@dataclass(frozen=True)
class ObjectRef:
    uri: str  # file path (absolute) or s3://bucket/key: the object's identity in the ledger and in lake_file
    size: int
    etag: str | None = None  # S3's content fingerprint; local files are hashed when read
    # the content itself, for records handed over in memory (a Kinesis or Firehose record given to a Lambda)
    data: bytes | None = field(default=None, repr=False, compare=False)

    @property
    def is_s3(self) -> bool:
        return self.uri.startswith("s3://")


def list_objects(source: str, endpoint_url: str | None = None) -> Iterator[ObjectRef]:
    if source.startswith("s3://"):
        yield from _list_s3(source, endpoint_url)
        return
    path = Path(source).expanduser()
    if path.is_file():
        yield ObjectRef(str(path.resolve()), path.stat().st_size)
    elif path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                if name.startswith("."):
                    continue
                file = Path(root, name)
                yield ObjectRef(str(file.resolve()), file.stat().st_size)
    else:
        raise SourceError(f"no such file or folder: {source}")


def read_object(ref: ObjectRef, endpoint_url: str | None = None) -> bytes:
    if ref.data is not None:
        return ref.data
    if not ref.is_s3:
        return Path(ref.uri).read_bytes()
    bucket, key = split_s3_uri(ref.uri)
    try:
        return s3_client(endpoint_url).get_object(Bucket=bucket, Key=key)["Body"].read()
    except (BotoCoreError, ClientError) as error:
        raise SourceError(f"cannot read {ref.uri}: {error}") from error


def stat_object(uri: str, endpoint_url: str | None = None) -> ObjectRef:
    """An S3 object as it is now (size and ETag), e.g. for a notification that may describe an older version."""
    bucket, key = split_s3_uri(uri)
    try:
        head = s3_client(endpoint_url).head_object(Bucket=bucket, Key=key)
    except (BotoCoreError, ClientError) as error:
        raise SourceError(f"cannot read {uri}: {error}") from error
    return ObjectRef(uri, head["ContentLength"], head.get("ETag", "").strip('"') or None)


def split_s3_uri(uri: str) -> tuple[str, str]:
    rest = uri[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket:
        raise SourceError(f"not an S3 location: {uri} (expected s3://bucket/prefix)")
    return bucket, key


@cache
def s3_client(endpoint_url: str | None):
    """An S3 client from the standard credential chain (environment, profile, role); nothing is stored."""
    return boto3.session.Session().client(
        "s3", endpoint_url=endpoint_url, config=Config(retries={"max_attempts": 5, "mode": "adaptive"})
    )


def _list_s3(source: str, endpoint_url: str | None) -> Iterator[ObjectRef]:
    bucket, prefix = split_s3_uri(source)
    try:
        pages = s3_client(endpoint_url).get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                if item["Key"].endswith("/"):
                    continue
                yield ObjectRef(f"s3://{bucket}/{item['Key']}", item["Size"], item.get("ETag", "").strip('"') or None)
    except (BotoCoreError, ClientError) as error:
        raise SourceError(f"cannot list {source}: {error}") from error
