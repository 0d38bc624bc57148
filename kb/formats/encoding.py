"""Reading text files whatever their encoding: UTF-8, UTF-8 with BOM, GBK/GB18030.

GBK is common in Chinese documents; GB18030 is its superset, so a file that is
not valid UTF-8 is decoded as GB18030. A file with NUL bytes is binary, and one
larger than the limit is refused before it is read.
"""

from __future__ import annotations

from pathlib import Path

from kb.errors import InvalidInput

BINARY_SNIFF_BYTES = 8192


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a file, refusing one over ``max_bytes`` before reading it."""
    size = path.stat().st_size
    if size > max_bytes:
        raise InvalidInput(f"{path}: file is {size:,} bytes, over the limit of {max_bytes:,}")
    return path.read_bytes()


def decode_text(data: bytes, name: str) -> str:
    """Decode text as UTF-8 (with or without BOM), else GB18030; refuse binary data."""
    if b"\x00" in data[:BINARY_SNIFF_BYTES]:
        raise InvalidInput(f"{name}: binary file, not text")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        return text.replace("\r\n", "\n").replace("\r", "\n")
    raise InvalidInput(f"{name}: not UTF-8 or GBK/GB18030 text")


def read_text(path: Path, max_bytes: int) -> str:
    """Read and decode a text file (see ``decode_text``)."""
    return decode_text(read_bytes(path, max_bytes), str(path))
