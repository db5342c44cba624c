"""What the AWS delivery key layout says about an object: account, service, region and day."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

# AWSLogs/[o-org/]<account>/<service>/<region or vpc-id>/[<web ACL>/]YYYY/MM/DD/ ; VPC flow logs also have a
# Hive-style variant. WAF puts the web ACL's name before the date; Resolver query logs put the VPC id, not a region.
_PLAIN = re.compile(
    r"AWSLogs/(?:o-[a-z0-9]+/)?(?P<account>[A-Za-z0-9-]+)/(?P<service>[A-Za-z0-9-]+)/(?P<region>[^/]+)/"
    r"(?:[^/]+/)?(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
)
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d+")
_HIVE = re.compile(
    r"aws-account-id=(?P<account>[^/]+)/aws-service=(?P<service>[^/]+)/aws-region=(?P<region>[^/]+)/year=(?P<y>\d{4})/month=(?P<m>\d{2})/day=(?P<d>\d{2})/"
)


@dataclass(frozen=True)
class KeyFacts:
    account: str | None = None
    service: str | None = None
    region: str | None = None
    day: dt.date | None = None


def facts_from_key(key: str) -> KeyFacts:
    match = _PLAIN.search(key) or _HIVE.search(key)
    if not match:
        return KeyFacts()
    try:
        day = dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        day = None
    region = match["region"] if _REGION.fullmatch(match["region"]) else None
    return KeyFacts(match["account"], match["service"], region, day)
