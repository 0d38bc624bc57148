"""Reading text files whatever their encoding: UTF-8 (with or without BOM), GB18030/GBK, Big5.

A file that is valid UTF-8 is UTF-8. Otherwise it is one of the legacy Chinese
encodings or it is refused; nothing is ever imported as mojibake:

1. Both Chinese candidates are decoded strictly: GB18030 (a superset of GBK and
   GB2312, mainland documents) and Big5 (as Windows code page 950, Traditional
   Chinese documents). Each decoding is scored by how much of it is common Chinese
   text (``chinese_score``): the bytes of one encoding read as the other give rare
   characters, kana or symbols. The better decoding wins if it scores at least
   ``MIN_CHINESE_SCORE`` (GB18030 on a tie).
2. A winning decoding with private-use characters or U+FFFD is refused: those are the
   marks of a wrong guess (GB18030 maps undefined codes to the private-use area).
3. Anything else (Shift-JIS Japanese, Latin-1, ...) is refused, and the error names
   the encoding charset-normalizer detects, so the editor knows what to convert from.

Why not take charset-normalizer's answer for Chinese too: on short texts (a title and
a line or two, common in FAQ and notice files) it often reads GBK as Big5 or as Korean
cp949 (measured: 7 of 30 short policy lines decoded wrong, against 0 of 30 here;
``benchmarks/encoding_detection.py``), which character frequency settles reliably. Known
limit: short Korean EUC-KR text, and EUC-JP Japanese without kana, are valid GB2312 made
of common characters, so they would be read as Chinese.

A file with NUL bytes is binary, and one larger than the limit is refused before it
is read. UTF-16 and UTF-32 text (Excel's "Unicode text", Windows Notepad's "Unicode")
has NUL bytes too: it is refused by name, with a byte-order mark or when every other
byte is NUL, so the editor is not told a text file is binary.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
from pathlib import Path

from kb.errors import InvalidInput
from kb.text import to_simplified

BINARY_SNIFF_BYTES = 8192
#: The legacy encodings kb reads, by the name given in messages.
CHINESE_ENCODINGS = {"gb18030": "GB18030/GBK", "cp950": "Big5"}
#: The least share of common Chinese text a legacy decoding must have to be accepted.
MIN_CHINESE_SCORE = 0.75
#: Characters at most scored (a long file's encoding is clear from its start).
SCORE_SAMPLE_CHARS = 20_000

_SUSPICIOUS = re.compile("[\ufffd\ue000-\uf8ff\U000f0000-\U0010ffff]")
_NEUTRAL = re.compile(r"[\x00-\x7f\u2000-\u206f\u3000-\u303f\uff00-\uffef]")
_GB2312_LEVEL1 = range(0xB0, 0xD8)  # lead bytes of the 3,755 most common characters
_GB2312_LEVEL2 = range(0xD8, 0xF8)  # lead bytes of the 3,008 less common ones
#: Byte-order marks of the wide Unicode encodings (UTF-32 first: its LE mark starts
#: with UTF-16's).
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)


def read_bytes(path: Path, max_bytes: int) -> bytes:
    """Read a regular file, refusing one over ``max_bytes`` before reading it.

    InvalidInput naming the file when it is missing, unreadable or not a regular file
    (a directory, a device such as /dev/zero, a pipe): never more than ``max_bytes`` read.
    """
    try:
        # non-blocking: opening a pipe nobody writes to must not hang
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(descriptor, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise InvalidInput(f"{path}: not a regular file")
            size = status.st_size
            if size > max_bytes:
                raise InvalidInput(
                    f"{path}: file is {size:,} bytes, over the limit of {max_bytes:,}"
                )
            data = handle.read(max_bytes + 1)
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > max_bytes:  # it grew while being read
        raise InvalidInput(f"{path}: file is over the limit of {max_bytes:,} bytes")
    return data


def _character_weight(char: str) -> float:
    """1 for a common Chinese character, 0.5 for a less common one, 0 for anything else."""
    try:
        encoded = char.encode("gb2312")
    except UnicodeEncodeError:
        return 0.0
    if len(encoded) != 2:
        return 0.0
    if encoded[0] in _GB2312_LEVEL1:
        return 1.0
    return 0.5 if encoded[0] in _GB2312_LEVEL2 else 0.0


def chinese_score(text: str) -> float:
    """How much of ``text`` is common Chinese (0..1), ignoring ASCII and punctuation.

    Traditional characters count through their Simplified form. Text with nothing to
    score (pure ASCII) scores 1.
    """
    sample = _NEUTRAL.sub("", text[:SCORE_SAMPLE_CHARS])
    if not sample:
        return 1.0
    simplified = to_simplified(sample)
    return sum(_character_weight(c) for c in simplified) / len(simplified)


def _chinese_decodings(data: bytes) -> list[tuple[float, str, str]]:
    """(score, encoding, text) of every Chinese encoding that decodes ``data``, best first."""
    found = []
    for rank, encoding in enumerate(CHINESE_ENCODINGS):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        found.append((chinese_score(text), -rank, encoding, text))
    found.sort(reverse=True)
    return [(score, encoding, text) for score, _rank, encoding, text in found]


def detected_encoding(data: bytes) -> str | None:
    """The encoding charset-normalizer finds most plausible, or None if none fits."""
    from charset_normalizer import from_bytes

    best = from_bytes(data[:SCORE_SAMPLE_CHARS]).best()
    return best.encoding if best is not None else None


def _refuse_unsupported(data: bytes, name: str) -> InvalidInput:
    """The error for text in an encoding kb does not read."""
    detected = detected_encoding(data)
    looks = f" (best guess: {detected})" if detected else " (no encoding fits)"
    return InvalidInput(
        f"{name}: not UTF-8, GB18030/GBK or Big5 text{looks}; save it as UTF-8 and import again"
    )


def _decode_legacy(data: bytes, name: str) -> str:
    """Decode non-UTF-8 text as GB18030 or Big5, or refuse it (see the module docstring)."""
    candidates = _chinese_decodings(data)
    if not candidates or candidates[0][0] < MIN_CHINESE_SCORE:
        raise _refuse_unsupported(data, name)
    _score, encoding, text = candidates[0]
    bad = _SUSPICIOUS.search(text)
    if bad:
        line = text.count("\n", 0, bad.start()) + 1
        raise InvalidInput(
            f"{name}: read as {CHINESE_ENCODINGS[encoding]}, line {line} has an undefined "
            f"character (U+{ord(bad.group()):04X}); the file is damaged or in another "
            "encoding: save it as UTF-8 and import again"
        )
    return text


def _wide_encoding(sniff: bytes) -> str | None:
    """ "UTF-16"/"UTF-32" when ``sniff`` starts with their byte-order mark, "UTF-16" when
    it has none but every other byte is NUL (ASCII text in UTF-16), else None."""
    for bom, encoding in _WIDE_BOMS:
        if sniff.startswith(bom):
            return encoding
    even, odd = sniff[0::2].count(0), sniff[1::2].count(0)
    if len(sniff) >= 4 and min(even, odd) == 0 and max(even, odd) * 4 >= len(sniff):
        return "UTF-16"
    return None


def decode_text(data: bytes, name: str) -> str:
    """Decode text as UTF-8 (with or without BOM), GB18030/GBK or Big5; refuse the rest.

    Line ends become ``\\n``. Raises ``InvalidInput`` naming ``name`` for binary data,
    for text in another encoding and for a legacy decoding with undefined characters.
    """
    sniff = data[:BINARY_SNIFF_BYTES]
    wide = _wide_encoding(sniff)
    if wide:
        raise InvalidInput(f"{name}: {wide} text, not read here; save it as UTF-8 and import again")
    if b"\x00" in sniff:
        raise InvalidInput(f"{name}: binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = _decode_legacy(data, name)
    return text.replace("\r\n", "\n").replace("\r", "\n")


def read_text(path: Path, max_bytes: int) -> str:
    """Read and decode a text file (see ``decode_text``)."""
    return decode_text(read_bytes(path, max_bytes), str(path))
