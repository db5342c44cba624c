"""What every collector gets (the region's clients and the account) and how it records a call that failed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from loglake.inventory.aws import Aws, describe_error, optional

T = TypeVar("T")


@dataclass
class Ctx:
    aws: Aws
    account: str
    partition: str
    region: str

    def client(self, service: str, region: str | None = None):
        return self.aws.client(service, region)


def attempt(resource: dict[str, Any], label: str, call: Callable[[], T]) -> T | None:
    """One per-resource read: None when not configured; on a real failure, None and a note on the resource."""
    try:
        return optional(call)
    except ClientError as error:
        resource["errors"].append(f"{label}: {describe_error(error)}")
        return None


def paginate(client, operation: str, key: str, **kwargs) -> list[dict[str, Any]]:
    if client.can_paginate(operation):
        items: list[dict[str, Any]] = []
        for page in client.get_paginator(operation).paginate(**kwargs):
            items.extend(page.get(key, []) or [])
        return items
    return list(getattr(client, operation)(**kwargs).get(key, []) or [])


def chunks(items: list[T], size: int) -> list[list[T]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
