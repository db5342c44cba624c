"""What AWS delivery keys say about their objects."""

from __future__ import annotations

import datetime as dt

import pytest

from loglake.ingest.keylayout import KeyFacts, facts_from_key

DAY = dt.date(2024, 5, 1)


@pytest.mark.parametrize(
    ("key", "facts"),
    [
        (
            "s3://b/p/AWSLogs/111122223333/CloudTrail/eu-west-1/2024/05/01/f.json.gz",
            KeyFacts("111122223333", "CloudTrail", "eu-west-1", DAY),
        ),
        (
            "AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2024/05/01/f.json.gz",
            KeyFacts("111122223333", "CloudTrail", "us-east-1", DAY),
        ),
        (
            "AWSLogs/111122223333/WAFLogs/us-east-1/web-acl/2024/05/01/10/05/f.log.gz",
            KeyFacts("111122223333", "WAFLogs", "us-east-1", DAY),
        ),
        (
            "AWSLogs/111122223333/vpcdnsquerylogs/vpc-0abc/2024/05/01/f.log.gz",
            KeyFacts("111122223333", "vpcdnsquerylogs", None, DAY),
        ),
        (
            "AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2024/month=05/day=01/f",
            KeyFacts("111122223333", "vpcflowlogs", "us-east-1", DAY),
        ),
        ("logs/2024-05-01-10-00-00-ABCDEF", KeyFacts()),
    ],
)
def test_facts_from_key(key, facts):
    assert facts_from_key(key) == facts
