"""Sentence-level dense vectors: a chunk's best sentence lifts it in the dense ranking.

A 300-character chunk of a long scraped page covers several topics, and its one embedding
is an average of them: a question that paraphrases one sentence of the chunk lands far
from it. Ingest therefore also embeds each *sentence window* of a document chunk: its text
in matching form (``kb.text.normalize_for_matching``, which also folds line ends into
spaces) split after 。！？；;!?, short pieces merged with the next until at least
``MIN_WINDOW_CHARS`` characters; without the title prefix (measured: the prefix made
every sentence of a page look alike).
At query time a chunk's dense score is ``(1 - w) * cosine(chunk) + w * max cosine(its
sentences)``; chunks without sentence vectors (FAQ entries, one-sentence chunks) keep
their chunk cosine. Citations do not change: the result is still the chunk, its passage
and its character span.

On disk each index version stores the vectors in ``sentences.npz``: ``vectors`` (m x dim,
float32, unit length) and ``rows`` (m, the chunk row each sentence belongs to, ascending).
A version without the file (built before this existed) simply has no sentence vectors.
Measured on the dev sets (``docs/benchmarks.md``, Retrieval): the weight ``w`` is
``SENTENCE_WEIGHT`` in ``kb.retrieval``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.text import normalize_for_matching

SENTENCE_VECTORS_FILE = "sentences.npz"
#: Meta key that carries a chunk's sentence vectors from ingest to the index writer.
SENTENCE_META = "sentence_embeddings"
#: Sentence pieces shorter than this are merged with the next one.
MIN_WINDOW_CHARS = 20
_BOUNDARY = re.compile(r"(?<=[。！？；;!?])")


def split_windows(text: str, min_chars: int = MIN_WINDOW_CHARS) -> list[str]:
    """``text`` cut into sentence windows of at least ``min_chars`` (the last may be shorter)."""
    windows: list[str] = []
    buffer = ""
    for piece in _BOUNDARY.split(text):
        buffer += piece.strip()
        if len(buffer) >= min_chars:
            windows.append(buffer)
            buffer = ""
    if buffer:
        windows.append(buffer)
    return windows


def sentence_texts(content: str, article_type: str) -> list[str]:
    """The texts embedded for one chunk's sentences: none for FAQ or one-window chunks."""
    if article_type == "faq":
        return []
    windows = split_windows(normalize_for_matching(content))
    return windows if len(windows) > 1 else []


class SentenceVectors:
    """The sentence vectors of one index version and the chunk row each belongs to."""

    def __init__(self, vectors: np.ndarray, rows: np.ndarray) -> None:
        """``vectors``: (m, dim) float32; ``rows``: (m,) chunk rows in ascending order."""
        if len(vectors) != len(rows):
            raise ValueError("sentence vectors and their rows differ in length")
        self.vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.rows = np.asarray(rows, dtype=np.int64)
        self._starts, self._owners = _groups(self.rows)

    @classmethod
    def empty(cls, dim: int) -> SentenceVectors:
        """No sentence vectors."""
        return cls(np.zeros((0, dim), dtype=np.float32), np.zeros(0, dtype=np.int64))

    @classmethod
    def from_chunks(cls, per_chunk: Sequence[np.ndarray | None], dim: int) -> SentenceVectors:
        """From each chunk's (k, dim) sentence matrix, in chunk row order (None: no sentences)."""
        parts = [(row, m) for row, m in enumerate(per_chunk) if m is not None and len(m)]
        if not parts:
            return cls.empty(dim)
        vectors = np.concatenate([m for _, m in parts]).astype(np.float32)
        rows = np.concatenate([np.full(len(m), row) for row, m in parts])
        return cls(vectors, rows)

    @classmethod
    def load(cls, path: Path, dim: int) -> SentenceVectors:
        """The vectors stored at ``path``; none when the file does not exist."""
        if not path.exists():
            return cls.empty(dim)
        with np.load(path) as data:
            return cls(data["vectors"], data["rows"])

    def save(self, path: Path) -> None:
        """Write ``vectors`` and ``rows`` to ``path`` (uncompressed ``.npz``)."""
        with path.open("wb") as f:
            np.savez(f, vectors=self.vectors, rows=self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def kept(self, keep: Sequence[int]) -> SentenceVectors:
        """The sentences of chunk rows ``keep`` (ascending), renumbered to 0..len(keep)-1."""
        new_row = np.full(int(self.rows.max(initial=-1)) + 1, -1, dtype=np.int64)
        known = [r for r in keep if r < len(new_row)]
        new_row[known] = [i for i, r in enumerate(keep) if r < len(new_row)]
        mapped = new_row[self.rows] if len(self.rows) else self.rows
        mask = mapped >= 0
        return SentenceVectors(self.vectors[mask], mapped[mask])

    def appended(self, other: SentenceVectors, offset: int) -> SentenceVectors:
        """These sentences followed by ``other``'s, its rows shifted by ``offset``."""
        vectors = np.concatenate([self.vectors, other.vectors])
        return SentenceVectors(vectors, np.concatenate([self.rows, other.rows + offset]))

    def pooled(self, chunk_scores: np.ndarray, query: np.ndarray, weight: float) -> np.ndarray:
        """``chunk_scores`` with each chunk that has sentences blended with its best one."""
        if not len(self.rows) or weight <= 0:
            return chunk_scores
        best = np.maximum.reduceat(self.vectors @ query, self._starts)
        out = chunk_scores.astype(np.float32, copy=True)
        out[self._owners] = (1 - weight) * out[self._owners] + weight * best
        return out


def _groups(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets of each run of equal rows, and the row of each run."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if np.any(np.diff(rows) < 0):
        raise ValueError("sentence rows must be in ascending order")
    starts = np.flatnonzero(np.r_[True, np.diff(rows) != 0])
    return starts, rows[starts]
