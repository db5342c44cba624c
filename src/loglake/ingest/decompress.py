"""Plain, gzip (one or many members) and zstd objects, recognised by their magic bytes, not their names."""

from __future__ import annotations

import io

import zstandard
from isal import isal_zlib  # ISA-L inflate: same API and output as zlib, about twice as fast

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def decompress(raw: bytes, name: str) -> tuple[bytes, str | None]:
    """(the decompressed bytes, an error when the stream is damaged).

    A truncated or corrupt stream still returns what could be read before the damage, so the complete
    records in it are kept; the error names the object so the summary can report it.
    """
    if raw.startswith(GZIP_MAGIC):
        return _gunzip(raw, name)
    if raw.startswith(ZSTD_MAGIC):
        return _unzstd(raw, name)
    return raw, None


def _gunzip(raw: bytes, name: str) -> tuple[bytes, str | None]:
    out = []
    data = raw
    while data:
        inflater = isal_zlib.decompressobj(wbits=31)
        try:
            out.append(inflater.decompress(data))
        except isal_zlib.error as error:
            return b"".join(out), f"{name}: corrupt gzip stream ({error})"
        if not inflater.eof:
            return b"".join(out), f"{name}: truncated gzip (the file ends before the end of the compressed stream)"
        data = inflater.unused_data.lstrip(b"\x00")  # members may be followed by padding
        if data and not data.startswith(GZIP_MAGIC):
            return b"".join(out), f"{name}: trailing garbage after the gzip stream"
    return b"".join(out), None


def _unzstd(raw: bytes, name: str) -> tuple[bytes, str | None]:
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True)
    out = io.BytesIO()
    try:
        while chunk := reader.read(1 << 20):
            out.write(chunk)
    except zstandard.ZstdError as error:
        return out.getvalue(), f"{name}: corrupt or truncated zstd stream ({error})"
    return out.getvalue(), None
