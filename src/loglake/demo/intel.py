"""The demo's threat-intel feed: a CSV as a commercial or community feed would deliver it.

It names the command-and-control domain of the story and the address it resolves to, among indicators the
estate never contacts (so a match means something), in the columns most feeds use.
"""

from __future__ import annotations

import csv
from pathlib import Path

from loglake.demo.generate import DemoManifest

# Indicators the demo estate never touches (the feed is mostly about other people's incidents), from reserved
# documentation ranges the demo's own traffic does not use (it uses 192.0.2/24, 198.51.100/24, 203.0.113/24).
_DECOYS = [
    ("233.252.0.77", "ip", "SSH brute-force source"),
    ("233.252.0.128/28", "cidr", "bulletproof hosting range"),
    ("update-check.cdn-telemetry.example", "domain", "loader staging domain"),
    ("paste-drop.example", "domain", "exfiltration paste site"),
    ("3fff:0:dead::/48", "cidr", "IPv6 scanning infrastructure"),
]


def write_intel_feed(out: Path, manifest: DemoManifest) -> Path:
    """Write `intel/feed.csv` under `out` and return its path."""
    path = out / "intel" / "feed.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    c2_ip = manifest.facts.get("bad_domain_ip")
    rows = [(manifest.bad_domain, "domain", "command and control (kworker-themed implant)")]
    if c2_ip:
        rows.append((c2_ip, "ip", f"hosts {manifest.bad_domain}"))
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["indicator", "type", "description", "source"])
        for value, kind, description in [*rows, *_DECOYS]:
            writer.writerow([value, kind, description, "demo-feed"])
    return path
