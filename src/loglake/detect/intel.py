"""Threat intel: indicators (IPs, CIDRs, domains) read from feeds and kept in the lake table `intel_indicators`.

Feeds come as plain lists (one indicator a line, `#` comments, hosts-file and `addr ; comment` lines too), CSV
files (the indicator column found by its name, else the first column) or STIX 2.1 bundles (indicator objects
with STIX patterns). Every value is normalised the way the `intel.indicator_match` rule compares it: IPs as
Python's `ipaddress` writes them (IPv6 compressed, lower case), networks as their network address and prefix,
domains in lower case without a trailing dot; a URL stands for its host. What cannot be read is reported with
its line number and skipped, so one bad line never loses a feed.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import ipaddress
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pyarrow as pa
import pyarrow.compute as pc
from pyiceberg.catalog import Catalog
from pyiceberg.exceptions import NoSuchTableError
from pyiceberg.table import Table

from loglake.lake import catalog as lake_catalog
from loglake.lake.columns import TIMESTAMP

TABLE = "intel_indicators"
SCHEMA = pa.schema(
    [
        pa.field("indicator", pa.string()),
        pa.field("kind", pa.string()),  # ip | cidr | domain
        pa.field("source", pa.string()),  # the feed: --source, the file's own source column or STIX identity
        pa.field("description", pa.string()),
        pa.field("added_at", TIMESTAMP),
    ]
)
KINDS = ("ip", "cidr", "domain")
# A network broader than this would match a large part of the internet: a feed's typo, not an indicator
MIN_PREFIX = {4: 8, 6: 16}
# Header names of the indicator column, most specific first; a header matches when one of its words is one
INDICATOR_COLUMNS = ("indicator", "ioc", "observable", "value", "ip", "domain", "url", "cidr", "host", "address")
DESCRIPTION_COLUMNS = ("description", "desc", "comment", "comments", "note", "notes", "threat", "malware")
SOURCE_COLUMNS = ("source", "feed", "provider", "reporter")
# Ways feeds "defang" indicators so they are not clickable: evil[.]com, hxxp://, 1.2.3[.]4
_DEFANG = (("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("[:]", ":"), ("hxxp", "http"))
_DOMAIN = re.compile(r"^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
_HOST_PORT = re.compile(r"^([^:\s]+):\d{1,5}$")  # evil.com:8080, 1.2.3.4:443 (one colon: not IPv6)
_SINK_ADDRESSES = {"0.0.0.0", "127.0.0.1", "::", "::1"}  # hosts-file blocklists: "0.0.0.0 evil.com"
_STIX_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'")
_STIX_OPERATORS = {"=", "IN", "ISSUBSET"}  # negations, LIKE and MATCHES name no exact value to look for
_STIX_VALUE_PATHS = {
    "ipv4-addr": (["value"],),
    "ipv6-addr": (["value"],),
    "domain-name": (["value"],),
    "url": (["value"],),
    "network-traffic": (["src_ref", "value"], ["dst_ref", "value"]),
}


class IntelError(Exception):
    """A feed that cannot be used at all (unreadable, no indicators); the message names the file."""


@dataclass(frozen=True)
class Indicator:
    indicator: str  # normalised value
    kind: str  # ip | cidr | domain
    description: str = ""
    source: str | None = None  # what the feed itself says (a CSV column, a STIX identity); None: the default


@dataclass(frozen=True)
class Problem:
    where: str  # "line 7", or a STIX object's id
    text: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.text!r} {self.reason}"


@dataclass
class Feed:
    """What a file holds: its indicators, what could not be read, and what STIX says is no longer valid."""

    indicators: list[Indicator] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    expired: int = 0
    revoked: int = 0


@dataclass(frozen=True)
class Added:
    path: Path
    feed: Feed
    added: int  # new (indicator, source) pairs written
    present: int  # pairs the table already held (a feed added again)


# -- normalising one value ------------------------------------------------------------------------------------------


def classify(text: str) -> Indicator | str:
    """The normalised indicator in `text`, or why it is not one (a phrase for the problem report)."""
    value = _refang(text.strip()).strip().strip("\"'<>`")
    if not value:
        return "is empty"
    if "://" in value:
        try:
            host = urlsplit(value).hostname
        except ValueError:
            host = None
        if not host:
            return "is a URL without a host"
        value = host
    value = value.strip("[]")  # [2001:db8::1] as URLs write IPv6 hosts
    port = _HOST_PORT.match(value)
    if port:
        value = port.group(1)
    if "/" in value:
        return _network(value)
    try:
        return Indicator(str(ipaddress.ip_address(value)), "ip")
    except ValueError:
        pass
    return _domain(value)


def _refang(text: str) -> str:
    for defanged, plain in _DEFANG:
        text = text.replace(defanged, plain).replace(defanged.upper(), plain)
    return text


def _network(value: str) -> Indicator | str:
    try:
        network = ipaddress.ip_network(value, strict=False)  # 10.0.0.5/24 means the /24 it lies in
    except ValueError:
        return "is not an IP network"
    if network.prefixlen == network.max_prefixlen:
        return Indicator(str(network.network_address), "ip")
    if network.prefixlen < MIN_PREFIX[network.version]:
        return f"is broader than /{MIN_PREFIX[network.version]}: it would match a large part of the internet"
    return Indicator(str(network), "cidr")


def _domain(value: str) -> Indicator | str:
    name = value.lower().rstrip(".")
    name = name.removeprefix("*.")  # a wildcard: the rule matches subdomains anyway
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")  # DNS logs write internationalised names as xn--
        except UnicodeError:
            return "is not a valid domain name"
    if not _DOMAIN.match(name):
        return "is not an IP, CIDR, domain or URL"
    return Indicator(name, "domain")


# -- reading feeds ---------------------------------------------------------------------------------------------------


def read_feed(path: Path, now: dt.datetime | None = None) -> Feed:
    """The indicators in a plain list, CSV file or STIX 2.1 bundle (told apart by content, then by suffix)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise IntelError(f"{path}: not a text file (a list, CSV or STIX JSON is expected)") from None
    if text.lstrip().startswith("{"):
        try:
            return read_stix(_json(text), now or dt.datetime.now(dt.UTC))
        except IntelError as error:
            raise IntelError(f"{path}: {error}") from None
    if path.suffix.lower() in (".csv", ".tsv") or _looks_like_csv(text):
        return read_csv(text, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
    return read_list(text)


def _json(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as error:
        raise IntelError(f"not valid JSON ({error})") from None


def _looks_like_csv(text: str) -> bool:
    lines = (_uncommented(line) for line in text.splitlines())
    first = next((line for line in lines if line), "")
    return "," in first and "://" not in first.split(",", 1)[0]


def _uncommented(line: str) -> str:
    return re.split(r"(?:^|\s)#", line, maxsplit=1)[0].strip()


def read_list(text: str) -> Feed:
    """One indicator a line; `#` starts a comment, text after the indicator (or after `;`) describes it."""
    feed = Feed()
    for number, raw in enumerate(text.splitlines(), 1):
        line = _uncommented(raw)
        if not line:
            continue
        value, _, rest = line.partition(";")  # Spamhaus DROP style: "192.0.2.0/24 ; SBL123"
        words = value.split()
        if len(words) >= 2 and words[0] in _SINK_ADDRESSES:  # hosts file: the name after the sink address
            words = words[1:]
        if not words:
            feed.problems.append(Problem(f"line {number}", raw.strip(), "has no indicator before ';'"))
            continue
        description = " ".join([*words[1:], rest.strip()]).strip()
        _add(feed, words[0], f"line {number}", description=description, shown=raw.strip())
    return feed


def read_csv(text: str, delimiter: str = ",") -> Feed:
    """Rows of a CSV file; the header may be the last `#` comment line (abuse.ch feeds write it so)."""
    feed = Feed()
    rows = [
        (number, row)
        for number, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter), 1)
        if any(cell.strip() for cell in row)
    ]
    header, data = _header(rows)
    columns = _columns(header)
    for number, row in data:
        if row[0].lstrip().startswith("#"):
            continue
        cell = row[columns.indicator].strip() if columns.indicator < len(row) else ""
        description = _cell(row, columns.description)
        _add(feed, cell, f"line {number}", description=description, source=_cell(row, columns.source) or None)
    return feed


@dataclass(frozen=True)
class _Columns:
    indicator: int = 0
    description: int | None = None
    source: int | None = None


def _header(rows: list[tuple[int, list[str]]]) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    comments = []
    for index, (_, row) in enumerate(rows):
        if row[0].lstrip().startswith("#"):
            comments.append(row)
            continue
        if not any(isinstance(classify(cell), Indicator) for cell in row):
            return row, rows[index + 1 :]  # a first row without any indicator is the header
        if comments and len(comments[-1]) > 1:
            return [comments[-1][0].lstrip("# "), *comments[-1][1:]], rows[index:]
        return None, rows[index:]
    return None, []


def _columns(header: list[str] | None) -> _Columns:
    if header is None:
        return _Columns(description=1)  # no names to go by: the value, then what it is
    words = [set(re.split(r"[^a-z0-9]+", name.strip().lower())) for name in header]

    def find(names: tuple[str, ...], taken: set[int]) -> int | None:
        for name in names:
            for index, found in enumerate(words):
                if name in found and index not in taken:
                    return index
        return None

    description = find(DESCRIPTION_COLUMNS, set())
    source = find(SOURCE_COLUMNS, {description} - {None})
    indicator = find(INDICATOR_COLUMNS, {description, source} - {None})
    return _Columns(0 if indicator is None else indicator, description, source)


def _cell(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def read_stix(data: Any, now: dt.datetime) -> Feed:
    """Indicators of a STIX 2.1 bundle whose pattern names IPs, networks, domains or URLs; revoked and expired
    ones are counted, not loaded. A pattern's other conditions (ports, AND-ed observations) are not kept: the
    lake rule matches the addresses and names alone."""
    if not isinstance(data, dict):
        raise IntelError("the JSON is not a STIX 2.1 bundle (an object with type 'bundle' and 'objects')")
    if data.get("type") == "indicator":
        objects = [data]
    elif data.get("type") == "bundle" or ("type" not in data and isinstance(data.get("objects"), list)):
        objects = data.get("objects") or []  # a bundle, or a TAXII 2.1 envelope saved from a collection
    else:
        raise IntelError("the JSON is not a STIX 2.1 bundle (an object with type 'bundle' and 'objects')")
    identities = {o.get("id"): o.get("name") for o in objects if isinstance(o, dict) and o.get("type") == "identity"}
    feed = Feed()
    for obj in objects:
        if isinstance(obj, dict) and obj.get("type") == "indicator":
            _stix_indicator(feed, obj, identities, now)
    return feed


def _stix_indicator(feed: Feed, obj: dict, identities: dict, now: dt.datetime) -> None:
    where = str(obj.get("id", "indicator"))
    if obj.get("revoked"):
        feed.revoked += 1
        return
    until = _stix_time(obj.get("valid_until"))
    if until is not None and until <= now:
        feed.expired += 1
        return
    pattern = str(obj.get("pattern", ""))
    if obj.get("pattern_type", "stix") != "stix":
        feed.problems.append(Problem(where, pattern, f"is a {obj.get('pattern_type')} pattern, not a STIX one"))
        return
    from stix2patterns.exceptions import ParseException  # imported on use: the ANTLR parser is slow to load
    from stix2patterns.pattern import Pattern

    try:
        comparisons = Pattern(pattern).inspect().comparisons
    except (ParseException, ValueError) as error:
        feed.problems.append(Problem(where, pattern, f"is not a valid STIX pattern ({error})"))
        return
    values = stix_values(comparisons)
    if not values:
        feed.problems.append(Problem(where, pattern, "names no IP address, network, domain or URL"))
    description = str(obj.get("name") or obj.get("description") or "")
    for value in values:
        _add(feed, value, where, description=description, source=identities.get(obj.get("created_by_ref")))


def stix_values(comparisons: dict[str, list[tuple[list, str, str]]]) -> list[str]:
    """The literal values a pattern compares addresses, domains and URLs with (`=`, `IN`, `ISSUBSET`)."""
    values = []
    for object_type, paths in _STIX_VALUE_PATHS.items():
        for path, operator, literal in comparisons.get(object_type, []):
            if path in paths and operator in _STIX_OPERATORS:
                values.extend(re.sub(r"\\(.)", r"\1", m) for m in _STIX_STRING.findall(literal))
    return values


def _stix_time(value: Any) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _add(
    feed: Feed, text: str, where: str, *, description: str = "", source: str | None = None, shown: str | None = None
) -> None:
    found = classify(text)
    if isinstance(found, str):
        feed.problems.append(Problem(where, shown or text, found))
        return
    feed.indicators.append(Indicator(found.indicator, found.kind, description, source))


# -- the lake table --------------------------------------------------------------------------------------------------


def intel_table(catalog: Catalog) -> Table:
    """The indicators table, created on first use; not partitioned: it has no lake_time, a feed is small, and
    the rule reads all of it every time."""
    return lake_catalog.ensure_table(catalog, TABLE, SCHEMA, partitioned=False)


def add_feed(lake: Path, path: Path, source: str | None = None, now: dt.datetime | None = None) -> Added:
    """Read a feed and add its indicators the table lacks; the same feed added again adds nothing.

    The source of each indicator is `source` when given, else what the feed says (a CSV source column, the
    STIX identity that created it), else the file's name.
    """
    now = now or dt.datetime.now(dt.UTC)
    feed = read_feed(path, now)
    if not feed.indicators:
        reason = f"; first problem: {feed.problems[0]}" if feed.problems else ""
        raise IntelError(f"{path}: no IP, CIDR or domain indicators found{reason}")
    rows = {(i.indicator, source or i.source or path.name): i for i in feed.indicators}  # first description wins
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake), create=True)
    table = intel_table(catalog)
    present = _present(table)
    new = {key: i for key, i in rows.items() if key not in present}
    if new:
        table.append(_rows(new, now))
    return Added(path=path, feed=feed, added=len(new), present=len(rows) - len(new))


def _present(table: Table) -> set[tuple[str, str]]:
    existing = table.scan(selected_fields=("indicator", "source")).to_arrow()
    return set(zip(existing["indicator"].to_pylist(), existing["source"].to_pylist(), strict=True))


def _rows(indicators: dict[tuple[str, str], Indicator], now: dt.datetime) -> pa.Table:
    return pa.Table.from_pylist(
        [
            {"indicator": value, "kind": i.kind, "source": source, "description": i.description, "added_at": now}
            for (value, source), i in indicators.items()
        ],
        schema=SCHEMA,
    )


def intel_summary(lake: Path) -> pa.Table:
    """Indicators per source and kind, with when each source last added some."""
    catalog = lake_catalog.open_catalog(lake_catalog.LakeLocation(lake))
    try:
        rows = catalog.load_table(f"{lake_catalog.NAMESPACE}.{TABLE}").scan().to_arrow()
    except NoSuchTableError:
        rows = SCHEMA.empty_table()
    counts = rows.group_by(["source", "kind"]).aggregate([("indicator", "count"), ("added_at", "max")])
    counts = counts.rename_columns(["source", "kind", "indicators", "last_added"])
    return counts.take(pc.sort_indices(counts, [("source", "ascending"), ("kind", "ascending")]))
