"""Deterministic randomness and AWS-shaped identifiers for the demo generator.

Every stream of randomness is derived from the seed and a name (`derive(seed, "vpcflow", region)`), so each
source and region can be generated on its own, in any order or process, and still give the same bytes.
"""

from __future__ import annotations

import hashlib
import random
import string
import time

BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"  # the alphabet of IAM key and principal ids
ALNUM = string.ascii_letters + string.digits


def derive(seed: int, *parts: object) -> random.Random:
    """A random stream named by `parts`; str seeds are hashed with SHA-512, stable across runs and hosts."""
    return random.Random(":".join(map(str, (seed, *parts))))


def hex_id(rng: random.Random, prefix: str, digits: int = 17) -> str:
    """`vpc-`, `eni-`, `i-`, `sg-`, `subnet-`, `fl-` ids: a prefix and 17 lower-case hex digits."""
    return f"{prefix}{rng.getrandbits(4 * digits):0{digits}x}"


def iam_id(rng: random.Random, prefix: str, length: int) -> str:
    """`AKIA...`/`ASIA...` (20 chars) and `AIDA...`/`AROA...` (21 chars) ids in IAM's base32 alphabet."""
    return prefix + "".join(rng.choices(BASE32, k=length - len(prefix)))


def hashed_iam_id(prefix: str, length: int, *parts: object) -> str:
    """Like `iam_id` but a pure function of `parts`: a session key that rotates without consuming randomness."""
    digest = hashlib.blake2b(":".join(map(str, parts)).encode(), digest_size=32).digest()
    return prefix + "".join(BASE32[b & 31] for b in digest[: length - len(prefix)])


def alnum(rng: random.Random, n: int) -> str:
    return "".join(rng.choices(ALNUM, k=n))


def uuid4(rng: random.Random) -> str:
    """A version-4 UUID string, about 3x faster than `str(uuid.UUID(int=...))`."""
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:]}"


class IsoClock:
    """`2024-03-05T14:01:02Z` strings for epoch seconds, caching the per-minute prefix (the hot path)."""

    def __init__(self) -> None:
        self._minutes: dict[int, str] = {}

    def __call__(self, t: int) -> str:
        minute, sec = divmod(t, 60)
        prefix = self._minutes.get(minute)
        if prefix is None:
            prefix = time.strftime("%Y-%m-%dT%H:%M:", time.gmtime(minute * 60))
            if len(self._minutes) > 4096:
                self._minutes.clear()
            self._minutes[minute] = prefix
        return f"{prefix}{sec:02d}Z"


def stamp(t: int, fmt: str = "%Y%m%dT%H%MZ") -> str:
    """A UTC time in a file-name format (`20240305T1405Z` by default)."""
    return time.strftime(fmt, time.gmtime(t))


def day_path(t: int) -> str:
    """The `YYYY/MM/DD` folder of the AWS key layout for a delivery time."""
    return time.strftime("%Y/%m/%d", time.gmtime(t))
