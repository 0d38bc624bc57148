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
``SENTENCE_WEIGHT`` in ``kb.search.retrieval``.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from kb.search.dense import VectorIndex
from kb.text import normalize_for_matching

SENTENCE_VECTORS_FILE = "sentences.npz"
#: Rows of sentence vectors read at a time when a version is loaded.
LOAD_BLOCK = 32_768
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
        """``vectors``: (m, dim) float32 unit rows; ``rows``: (m,) chunk rows, ascending."""
        if len(vectors) != len(rows):
            raise ValueError("sentence vectors and their rows differ in length")
        dim = vectors.shape[1] if vectors.ndim == 2 else 0
        self.index = VectorIndex.build(np.asarray(vectors, dtype=np.float32), dim)
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
        """The vectors stored at ``path``; none when the file does not exist.

        The vectors go into the FAISS index ``LOAD_BLOCK`` rows at a time, so loading
        never holds a second float32 copy of them all (issue 16: 330 MB at 100,000
        chunks, the peak of a server's start).
        """
        if not path.exists():
            return cls.empty(dim)
        with np.load(path) as data:
            rows = data["rows"]
        with zipfile.ZipFile(path) as archive, archive.open("vectors.npy") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            if fortran or len(shape) != 2 or dtype != np.float32:  # not as ``save`` writes
                return cls(np.load(path)["vectors"], rows)
            index = VectorIndex.build(np.zeros((0, shape[1]), dtype=np.float32), shape[1])
            for start in range(0, shape[0], LOAD_BLOCK):
                count = min(LOAD_BLOCK, shape[0] - start)
                block = np.frombuffer(f.read(count * shape[1] * 4), dtype="<f4")
                index.add(block.reshape(count, shape[1]))
        return cls._of(index, rows)

    @classmethod
    def _of(cls, index: VectorIndex, rows: np.ndarray) -> SentenceVectors:
        """Sentence vectors around an index already built (``rows``: as ``__init__``)."""
        if len(index) != len(rows):
            raise ValueError("sentence vectors and their rows differ in length")
        self = cls.__new__(cls)
        self.index = index
        self.rows = np.asarray(rows, dtype=np.int64)
        self._starts, self._owners = _groups(self.rows)
        return self

    def save(self, path: Path) -> None:
        """Write ``vectors`` and ``rows`` to ``path`` (uncompressed ``.npz``)."""
        with path.open("wb") as f:
            np.savez(f, vectors=self.index.vectors(), rows=self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def kept(self, keep: Sequence[int]) -> SentenceVectors:
        """The sentences of chunk rows ``keep`` (ascending), renumbered to 0..len(keep)-1."""
        new_row = np.full(int(self.rows.max(initial=-1)) + 1, -1, dtype=np.int64)
        known = [r for r in keep if r < len(new_row)]
        new_row[known] = [i for i, r in enumerate(keep) if r < len(new_row)]
        mapped = new_row[self.rows] if len(self.rows) else self.rows
        mask = mapped >= 0
        return SentenceVectors(self.index.vectors(np.flatnonzero(mask)), mapped[mask])

    def appended(self, other: SentenceVectors, offset: int) -> SentenceVectors:
        """These sentences followed by ``other``'s, its rows shifted by ``offset``."""
        vectors = np.concatenate([self.index.vectors(), other.index.vectors()])
        return SentenceVectors(vectors, np.concatenate([self.rows, other.rows + offset]))

    def best(self, chunk_rows: np.ndarray, query: np.ndarray) -> np.ndarray:
        """Each chunk row's best sentence cosine with ``query`` (NaN: it has no sentences)."""
        out = np.full(len(chunk_rows), np.nan, dtype=np.float32)
        if not len(self._owners):
            return out
        group = np.minimum(np.searchsorted(self._owners, chunk_rows), len(self._owners) - 1)
        has = self._owners[group] == chunk_rows
        if not has.any():
            return out
        ends = np.r_[self._starts[1:], len(self.rows)]
        sentence_rows, offsets = _spans(self._starts[group[has]], ends[group[has]])
        cosines = _dot(self.index.vectors(sentence_rows), query)
        out[has] = np.maximum.reduceat(cosines, offsets)
        return out


def best_many(
    sentences: SentenceVectors, chunk_rows: np.ndarray, queries: np.ndarray
) -> np.ndarray:
    """Each chunk row's best sentence cosine with each query: (queries x rows), NaN where a
    chunk has no sentences (``SentenceVectors.best`` for many queries at once)."""
    out = np.full((len(queries), len(chunk_rows)), np.nan, dtype=np.float32)
    owners = sentences._owners
    if not len(owners) or not len(chunk_rows):
        return out
    group = np.minimum(np.searchsorted(owners, chunk_rows), len(owners) - 1)
    has = owners[group] == chunk_rows
    if not has.any():
        return out
    ends = np.r_[sentences._starts[1:], len(sentences.rows)]
    sentence_rows, offsets = _spans(sentences._starts[group[has]], ends[group[has]])
    cosines = queries @ sentences.index.vectors(sentence_rows).T
    out[:, has] = np.maximum.reduceat(cosines, offsets, axis=1)
    return out


def pooled_scores(
    chunks: VectorIndex,
    sentences: SentenceVectors,
    queries: np.ndarray,
    rows: np.ndarray,
    weight: float,
) -> np.ndarray:
    """The pooled dense score (``pooled_search``'s) of chunk ``rows`` for each query, exactly:
    (queries x rows); chunks without sentences keep their own cosine."""
    own = queries @ chunks.vectors(rows).T
    if weight <= 0 or not len(sentences):
        return own
    best = best_many(sentences, rows, queries)
    return np.where(np.isnan(best), own, (1 - weight) * own + weight * best)


def pooled_search(
    chunks: VectorIndex, sentences: SentenceVectors, query: np.ndarray, k: int, weight: float
) -> list[tuple[int, float]]:
    """The ``k`` best chunk rows by ``(1 - weight) * cosine + weight * best sentence cosine``.

    Candidates are the ``k`` nearest chunks and the chunks of the ``4 k`` nearest sentences
    (two FAISS searches; from ``kb.search.dense.QUANTIZED_SCAN_MIN_ROWS`` rows on through a
    4-bit copy, ``VectorIndex.candidates``, which returns twice as many rows);
    each candidate is then scored exactly. A chunk outside both
    lists is behind ``k`` chunks on its own cosine and ``4 k`` sentences on its best one,
    so it could only enter the top ``k`` in a near tie; with ``k`` = every chunk (a
    selective filter) the ranking is exact.
    """
    near = np.asarray(chunks.candidates(query, k), dtype=np.int64)
    of_sentences = sentences.rows[np.asarray(sentences.index.candidates(query, 4 * k), np.int64)]
    rows = np.union1d(near, of_sentences).astype(np.int64)  # ascending, each once
    own = _dot(chunks.vectors(rows), query)
    best = sentences.best(rows, query)
    scores = np.where(np.isnan(best), own, (1 - weight) * own + weight * best)
    order = np.lexsort((rows, -scores))[:k]
    return [(int(rows[i]), float(scores[i])) for i in order]


def _spans(starts: np.ndarray, stops: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``starts[i]..stops[i] - 1`` of every (non-empty) span, concatenated, and
    where each span begins in that list: ``np.concatenate`` of the ``np.arange``s, without
    a Python loop over the spans (hundreds of candidate chunks per query, issue 16)."""
    lengths = stops - starts
    offsets = np.r_[0, np.cumsum(lengths)[:-1]].astype(np.int64)
    rows = np.arange(int(lengths.sum()), dtype=np.int64) - np.repeat(offsets - starts, lengths)
    return rows, offsets


def _groups(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start offsets of each run of equal rows, and the row of each run."""
    if not len(rows):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if np.any(np.diff(rows) < 0):
        raise ValueError("sentence rows must be in ascending order")
    starts = np.flatnonzero(np.r_[True, np.diff(rows) != 0])
    return starts, rows[starts]


def _dot(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``matrix @ query`` without BLAS: for a few hundred rows its thread team costs more
    than the product (measured: ~10 ms per search on two busy cores, 0.2 ms without)."""
    return np.einsum("ij,j->i", matrix, query)
