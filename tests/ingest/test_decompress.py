"""Objects are decompressed by their magic bytes; a damaged stream keeps what could be read and names the object."""

from __future__ import annotations

import gzip
import zlib

import zstandard

from loglake.ingest.decompress import decompress

BODY = b"".join(b'{"eventName":"GetObject","n":%d}\n' % i for i in range(20000))


def test_gzip_members_padding_and_plain_read_as_zlib_reads_them():
    members = gzip.compress(BODY[:1000]) + b"\x00\x00" + gzip.compress(BODY[1000:])
    assert decompress(members, "a.gz") == (BODY, None)
    assert zlib.decompress(gzip.compress(BODY), 31) == decompress(gzip.compress(BODY), "b.gz")[0]
    assert decompress(BODY, "plain.json") == (BODY, None)
    assert decompress(zstandard.ZstdCompressor().compress(BODY), "c.zst") == (BODY, None)


def test_damaged_gzip_keeps_what_could_be_read_and_names_the_object():
    whole = gzip.compress(BODY)
    data, error = decompress(whole[: len(whole) // 2], "half.gz")
    assert error == "half.gz: truncated gzip (the file ends before the end of the compressed stream)"
    assert 0 < len(data) < len(BODY) and BODY.startswith(data)
    data, error = decompress(whole[:10] + b"\x07" + b"\xff" * 64, "bad.gz")  # an invalid deflate block type
    assert error.startswith("bad.gz: corrupt gzip stream")
    assert decompress(whole + b"junk", "tail.gz") == (BODY, "tail.gz: trailing garbage after the gzip stream")
