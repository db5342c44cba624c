"""Discovery: Luhn-valid card numbers found and invalid ones not, keys in gzip and CSV, keywords near a match,
the byte budget per bucket; a restricted finding makes the bucket restricted (and contradicts a public label)."""

from __future__ import annotations

import gzip
import io
import json

import pyarrow as pa
import pyarrow.parquet as pq

from loglake.classify.detectors import scan_text
from loglake.classify.discover import Limits, scan_bucket
from tests.posture.conftest import bucket, run_cli

VALID_CARD = "4111 1111 1111 1111"  # Luhn-valid
INVALID_CARD = "4111 1111 1111 1112"  # one digit off: Luhn fails


def types(text: str, context: str = "") -> list[str]:
    return [m.type for m in scan_text(text, context=context)]


def test_detectors_validate_what_they_find():
    assert types(f"paid with {VALID_CARD}") == ["card_number"]
    assert types(f"paid with {INVALID_CARD}") == []
    assert types("5500-0000-0000-0004") == ["card_number"]
    assert types("order 20240101123456789 shipped") == []
    assert types("IBAN GB82 WEST 1234 5698 7654 32") == ["iban"]
    assert types("IBAN GB82 WEST 1234 5698 7654 33") == []
    assert types("ssn 536-22-1234") == ["us_ssn"]
    assert types("ssn 000-22-1234") == []  # area 000 is never issued
    assert types("id 536221234") == []  # nine digits need an SSN keyword nearby
    assert types("ssn: 536221234") == ["us_ssn"]
    assert types("AKIAIOSFODNN7EXAMPLE") == ["aws_access_key"]
    assert types("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == []  # a 40-char token needs a keyword
    assert types("aws_secret_access_key=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") == ["aws_secret_key"]
    assert types("-----BEGIN OPENSSH PRIVATE KEY-----") == ["private_key"]
    assert types("write to ops@example.com") == ["email"]


def test_keywords_near_a_match_and_column_names():
    far = "x" * 200
    assert next(scan_text(f"paid by visa: {VALID_CARD}")).keyword == "visa"
    assert next(scan_text(f"visa {far} {VALID_CARD}")).keyword is None
    assert next(scan_text(VALID_CARD, context="cc_number")).keyword == "cc_num"
    assert next(scan_text(VALID_CARD)).masked == "************1111"


def test_scan_finds_luhn_valid_cards_and_keys_in_csv_gzip_and_parquet(account):
    s3 = account.client("s3")
    name = bucket(account, account.name("exports"))
    s3.put_object(
        Bucket=name, Key="customers.csv", Body=f"name,card_number,email\nAnn,{VALID_CARD},ann@example.com\n".encode()
    )
    s3.put_object(Bucket=name, Key="refunds.csv", Body=f"name,card_number\nBob,{INVALID_CARD}\n".encode())
    config = json.dumps(
        {
            "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
            "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        }
    )
    s3.put_object(Bucket=name, Key="backup/config.json.gz", Body=gzip.compress(config.encode()))
    keys_csv = "user,access_key_id,created\nci-deploy,AKIAIOSFODNN7EXAMPLE,2024-01-02\n"
    s3.put_object(Bucket=name, Key="iam/keys.csv", Body=keys_csv.encode())
    s3.put_object(Bucket=name, Key="iam/keys-2023.csv.gz", Body=gzip.compress(keys_csv.encode()))
    table = pa.table({"iban": ["GB82WEST12345698765432"], "note": ["x"]})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    s3.put_object(Bucket=name, Key="ledger.parquet", Body=buffer.getvalue())

    found = scan_bucket(s3, name, Limits())
    by_type = {f["type"]: f for f in found["findings"]}
    assert by_type["card_number"]["count"] == 1 and by_type["card_number"]["objects"] == ["customers.csv"]
    assert by_type["card_number"]["keywords"] == ["card"]  # the CSV column name counts as a keyword
    assert sorted(by_type["aws_access_key"]["objects"]) == [
        "backup/config.json.gz",
        "iam/keys-2023.csv.gz",
        "iam/keys.csv",
    ]
    assert by_type["aws_access_key"]["keywords"]  # the access_key_id column, the JSON key
    assert by_type["aws_secret_key"]["objects"] == ["backup/config.json.gz"]
    assert by_type["iban"]["objects"] == ["ledger.parquet"]
    assert by_type["email"]["restricted"] is False
    assert found["sensitivity"] == "restricted"
    assert "4111" not in json.dumps(found).replace("************1111", "")  # only the last 4 digits are kept


def test_a_luhn_invalid_number_finds_nothing(account):
    s3 = account.client("s3")
    name = bucket(account, account.name("clean"))
    s3.put_object(Bucket=name, Key="refunds.csv", Body=f"name,card_number\nBob,{INVALID_CARD}\n".encode())
    found = scan_bucket(s3, name, Limits())
    assert found["findings"] == [] and found["sensitivity"] is None


def test_a_big_bucket_is_scanned_within_the_byte_budget(account):
    s3 = account.client("s3")
    name = bucket(account, account.name("big"))
    line = b"2024-01-01T00:00:00Z GET /index.html 200 user=alice\n"
    body = line * (6 * 1024 * 1024 // len(line))  # 6 MB objects
    for i in range(3):
        s3.put_object(Bucket=name, Key=f"logs/{i}.log", Body=body)
    for i in range(60):
        s3.put_object(Bucket=name, Key=f"small/{i:03}.log", Body=line * 200)
    limits = Limits(max_bytes_per_bucket=300_000, max_bytes_per_object=100_000, max_objects_per_bucket=20)
    found = scan_bucket(s3, name, limits)
    assert found["objects_listed"] == 63
    assert 0 < found["bytes_read"] <= 300_000
    assert found["objects_sampled"] <= 20


def test_a_1_gib_bucket_is_read_in_ranges_within_the_byte_budget(tmp_path, monkeypatch):
    """Four 256 MiB exports (sparse files served by a real S3 server: nothing of the 1 GiB is written or sent):
    every GET asks for a range, and the ranges add up to no more than the bucket's budget."""
    from tests.servers import rclone_s3

    folder = tmp_path / "s3" / "big-exports" / "exports"
    folder.mkdir(parents=True)
    head = b"customer,card_number,amount\n" + b"".join(
        f"c{i:05d},{VALID_CARD.replace(' ', '')},{i}.00\n".encode() for i in range(400)
    )
    for part in range(4):
        with (folder / f"part-{part}.csv").open("wb") as out:
            out.write(head)
            out.truncate(256 * 1024**2)
    monkeypatch.delenv("LOGLAKE_TEST_S3_ENDPOINT", raising=False)  # our own server, on this folder
    with rclone_s3(tmp_path / "s3") as server:
        s3 = server.client()
        ranges: list[bytes | str | None] = []
        s3.meta.events.register(
            "before-send.s3.GetObject", lambda request, **_: ranges.append(request.headers.get("Range"))
        )
        listed = sum(o["Size"] for o in s3.list_objects_v2(Bucket="big-exports")["Contents"])
        limits = Limits(max_bytes_per_bucket=1024 * 1024, max_bytes_per_object=300 * 1024)
        found = scan_bucket(s3, "big-exports", limits)
    assert listed == 1024**3
    assert ranges and all(r is not None for r in ranges), ranges  # never a whole object
    asked = 0
    for header in ranges:
        text = header.decode() if isinstance(header, bytes) else header
        start, end = text.removeprefix("bytes=").split("-")
        asked += int(end) - int(start) + 1
    assert found["bytes_read"] <= asked <= limits.max_bytes_per_bucket
    assert found["objects_sampled"] == 4
    assert {f["type"] for f in found["findings"]} == {"card_number"}
    assert found["sensitivity"] == "restricted"


def test_discover_command_then_classify_makes_the_bucket_restricted(account, capsys, tmp_path):
    s3 = account.client("s3")
    name = bucket(account, account.name("dev-pub-site"), {"Classification": "public"})
    s3.put_object(Bucket=name, Key="orders.csv", Body=f"id,card\n1,{VALID_CARD}\n".encode())
    snapshot = tmp_path / "inventory.json"
    code, _, err = run_cli(
        capsys, "inventory", "--endpoint-url", account.endpoint, "--services", "s3", "--out", str(snapshot)
    )
    assert code == 0, err
    code, out, err = run_cli(capsys, "discover", "-i", str(snapshot), "--format", "json")
    assert code == 0, err
    assert json.loads(out)[0]["sensitivity"] == "restricted"
    code, out, err = run_cli(capsys, "classify", "-i", str(snapshot), "--format", "json")
    row = next(r for r in json.loads(out) if r["name"] == name)
    assert (row["sensitivity"], row["level"]) == ("restricted", "full")
    assert "labelled public" in row["conflict"] and "card_number" in row["conflict"]
