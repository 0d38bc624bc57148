"""Dense vectors of the index: exact inner-product search with FAISS (``IndexFlatIP``).

Why faiss directly rather than faiss-haystack's ``FAISSDocumentStore`` (read in
``.venv/.../haystack_integrations/document_stores/faiss/document_store.py``, 3.0.0):

- its ``save`` writes a JSON sidecar holding every Document *with its embedding as text*
  (measured by ``benchmarks/index_size.py``: ~8 KB per 384-d chunk, against 1.5 KB here);
- it keeps each Document's embedding in memory next to FAISS's own copy;
- with the default ``"Flat"`` factory string the metric is L2 and the score is
  ``1 / (1 + squared distance)``, not the cosine the rest of kb reasons about;
- its filtered search fetches ``top_k * 10`` and filters afterwards, so a selective filter
  returns too few results.

What the store would add on top of a FAISS index (an id map and post-filtering) the index
snapshot does itself, with progressive over-fetching. The vectors are stored in FAISS's own
binary format (``faiss.write_index``), row ``i`` being chunk ``i`` of the version.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from kb.errors import InvalidInput

_NORM_TOLERANCE = 1e-3


def as_matrix(embeddings: Sequence[Any] | np.ndarray, dim: int) -> np.ndarray:
    """Stack embeddings into a float32 ``(n, dim)`` matrix with L2-normalised rows.

    Rows already of unit length (within 1e-3) are kept bit for bit; others are normalised.
    Raises ``InvalidInput`` for a wrong dimension, a zero vector or a non-finite value.
    """
    if len(embeddings) == 0:
        return np.zeros((0, dim), dtype=np.float32)
    try:
        matrix = np.asarray(embeddings, dtype=np.float32)
    except ValueError as exc:
        raise InvalidInput(f"embeddings do not all have {dim} dimensions") from exc
    if matrix.ndim != 2 or matrix.shape[1] != dim:
        raise InvalidInput(f"embeddings must have {dim} dimensions, got shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise InvalidInput("embeddings contain NaN or infinite values")
    norms = np.linalg.norm(matrix, axis=1)
    if (norms == 0).any():
        raise InvalidInput("embeddings contain a zero vector")
    off = np.abs(norms - 1) > _NORM_TOLERANCE
    if off.any():
        matrix = matrix.copy()
        matrix[off] /= norms[off, None]
    return np.ascontiguousarray(matrix)


#: From this many rows on, ``VectorIndex.candidates`` scans an 8-bit copy (issue 16).
QUANTIZED_SCAN_MIN_ROWS = 100_000
#: From this many rows on (below ``QUANTIZED_SCAN_MIN_ROWS``), ``VectorIndex.candidates``
#: finds its ``k`` rows through an 8-bit scan whose error bound proves them the nearest.
CERTIFIED_SCAN_MIN_ROWS = 20_000
#: How many more rows than asked that proven scan fetches and rescores (issue 16: at 4x
#: the bound proved the nearest 40 and 160 of 99,999 chunks for every sample question;
#: at 2x for 69 and 86 of 99; docs/benchmarks.md "faqspeed"), 4x as many again if not.
CERTIFIED_FETCH = 4
#: How many more rows than asked ``candidates`` returns from ``QUANTIZED_SCAN_MIN_ROWS``
#: rows on (issue 16: at 2x an 8-bit scan's rows held every exact top-k row, on the model's
#: vectors and on random ones; docs/benchmarks.md, "speed3").
QUANTIZED_FETCH = 2
#: How many more rows than ``candidates`` returns the 4-bit scan (``FastScanRows``) fetches
#: for exact rescoring (issue 16: at 3x the exact best 4k sentences of 214,265 were among
#: them for every sample question, k = 40 and 160; docs/benchmarks.md, "sentscan").
FAST_FETCH = 3
#: Rows sampled to place each dimension's 16 levels of the 4-bit copy.
_LEVEL_SAMPLE = 8192
#: Added to an 8-bit scan's error bound for float32 rounding in the two inner products
#: (at most ~2e-5 for 384 dimensions of unit vectors).
ROUNDING_SLACK = 1e-4
#: Rows decoded at a time to measure the 8-bit error (transient float32 copies of them:
#: 8,192 rows put `kb serve`'s peak at 100,000 chunks 24 MB higher, above 1.5 GB).
_DECODE_BLOCK = 2048


class CompressedRows:
    """A compressed copy of float32 rows in a FAISS index (``index``), scanned for the
    rows with the best approximate inner product."""

    index: faiss.Index

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def search(self, query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` best rows for a unit ``query`` by their approximate inner product,
        best first, and those approximate scores."""
        scores, rows = _search_one(self.index, query, k, int(self.index.d))
        found = rows >= 0
        return rows[found].astype(np.int64), scores[found]


class QuantizedRows(CompressedRows):
    """An 8-bit copy of float32 rows to scan, and a bound on the error of its scores.

    FAISS ``QT_8bit``: one byte per dimension, scaled by that dimension's range over the
    rows, a quarter of the bytes of the float32 rows. Built from the rows in blocks (no
    copy of them is made). With ``bounded``, each dimension's largest reconstruction error
    over the stored rows is measured while building (by decoding them), so that for a
    query ``q`` every row's 8-bit inner product is within ``bound(q)`` of its exact one: a
    caller that rescores the best rows exactly can prove that no other row beats them.
    """

    def __init__(
        self, blocks: Callable[[], Iterator[np.ndarray]], dim: int, bounded: bool = True
    ) -> None:
        """Quantise the rows ``blocks()`` yields (float32, ``dim`` columns; called twice);
        ``bounded``: measure the error ``bound`` needs (a decoding pass over the rows)."""
        index = faiss.IndexScalarQuantizer(
            dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT
        )
        low = np.full(dim, np.inf, dtype=np.float32)
        high = np.full(dim, -np.inf, dtype=np.float32)
        for block in blocks():  # each dimension's range over every row
            low, high = np.minimum(low, block.min(axis=0)), np.maximum(high, block.max(axis=0))
        index.train(np.stack([low, high]))  # QT_8bit's training: per-dimension min/max
        error = np.zeros(dim, dtype=np.float32)
        for block in blocks():
            block = np.ascontiguousarray(block, dtype=np.float32)
            index.add(block)
            for start in range(0, len(block) if bounded else 0, _DECODE_BLOCK):
                part = block[start : start + _DECODE_BLOCK]
                decoded = index.sa_decode(index.sa_encode(part))
                error = np.maximum(error, np.abs(decoded - part).max(axis=0))
        self.index = index
        self.error = error if bounded else None

    def bound(self, query: np.ndarray) -> float:
        """The largest difference between a row's 8-bit and exact inner product with
        ``query``: sum over dimensions of ``|q_d|`` x that dimension's largest error
        (``ValueError`` when built without ``bounded``)."""
        if self.error is None:
            raise ValueError("these 8-bit rows were built without their error bound")
        q = np.abs(np.asarray(query, dtype=np.float32).reshape(-1))
        return float(q.astype(np.float64) @ self.error.astype(np.float64)) + ROUNDING_SLACK


class FastScanRows(CompressedRows):
    """A 4-bit copy of float32 rows for a fast approximate scan (no error bound).

    FAISS ``IndexPQFastScan`` with one dimension per sub-quantizer: each value is replaced
    by the nearest of its dimension's 16 levels (the sixteenths' midpoints of a sample of
    the rows), half the bytes of ``QT_8bit``, and the query's products with the levels are
    looked up with SIMD shuffles instead of decoding every byte (issue 16: 214,265 x 384
    rows scanned 4-5x faster than with ``QT_8bit``; docs/benchmarks.md, "sentscan").
    """

    def __init__(self, blocks: Callable[[], Iterator[np.ndarray]], sample: np.ndarray) -> None:
        """Encode the rows ``blocks()`` yields (float32) with levels placed on ``sample``
        (some of those rows)."""
        dim = int(sample.shape[1])
        middles = (np.arange(16) + 0.5) / 16
        levels = np.quantile(sample, middles, axis=0).T.astype(np.float32)  # (dim, 16)
        self._cuts = (levels[:, 1:] + levels[:, :-1]) / 2  # nearest level: cuts below
        codes = faiss.IndexPQ(dim, dim, 4, faiss.METRIC_INNER_PRODUCT)
        faiss.copy_array_to_vector(np.ascontiguousarray(levels.reshape(-1)), codes.pq.centroids)
        codes.is_trained = True
        for block in blocks():
            for start in range(0, len(block), _DECODE_BLOCK):  # small transient arrays
                codes.add_sa_codes(self._encode(block[start : start + _DECODE_BLOCK]))
        self.index = faiss.IndexPQFastScan(codes)  # type: ignore[arg-type]  # packs the codes

    def _encode(self, block: np.ndarray) -> np.ndarray:
        """Each row's level numbers, two to a byte (the first in the low half), as
        ``faiss.IndexPQ`` stores 4-bit codes."""
        dim = self._cuts.shape[0]
        nearest = np.zeros((len(block), dim + dim % 2), dtype=np.uint8)  # whole bytes
        for cut in self._cuts.T:
            nearest[:, :dim] += block > cut
        return np.ascontiguousarray(nearest[:, 0::2] | (nearest[:, 1::2] << 4))


class VectorIndex:
    """Exact cosine search over unit vectors; row numbers are the caller's chunk rows.

    ``candidates`` finds rows for a caller that then scores them exactly (the pooled
    sentence search): from ``QUANTIZED_SCAN_MIN_ROWS`` rows on it scans a 4-bit copy of
    the vectors (``FastScanRows``: an eighth of the bytes of the float32 vectors; built by
    ``prepare_scans`` when an index version is loaded, else at its first use) and returns
    ``QUANTIZED_FETCH`` times as many rows, the exact best of what it found; below, from
    ``CERTIFIED_SCAN_MIN_ROWS``, an 8-bit copy (``QuantizedRows``) proves the nearest rows.
    The float32 vectors stay the reference for every score.
    """

    def __init__(self, index: faiss.IndexFlatIP) -> None:
        """Wrap a FAISS inner-product flat index (use ``build`` or ``load``)."""
        self._index = index
        self._coarse: QuantizedRows | None = None
        self._fast: FastScanRows | None = None
        self._coarse_lock = threading.Lock()

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int) -> VectorIndex:
        """Index the rows of ``vectors`` (float32, unit length; see ``as_matrix``)."""
        index = faiss.IndexFlatIP(dim)
        if len(vectors):
            index.add(np.ascontiguousarray(vectors, dtype=np.float32))
        return cls(index)

    def add(self, vectors: np.ndarray) -> None:
        """Append rows (float32, unit length), while the index is being built or loaded."""
        if len(vectors):
            self._index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    @classmethod
    def load(cls, path: str | Path) -> VectorIndex:
        """Read an index written by ``save``."""
        index = faiss.read_index(str(path))
        if not isinstance(index, faiss.IndexFlatIP):
            raise InvalidInput(f"{path} is not a FAISS IndexFlatIP")
        return cls(index)

    def save(self, path: str | Path) -> None:
        """Write the index in FAISS's binary format."""
        faiss.write_index(self._index, str(path))

    @property
    def dim(self) -> int:
        """The vector dimension."""
        return int(self._index.d)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def vectors(self, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """A copy of the stored vectors (all, or the given rows), bit-identical to the input."""
        if len(self) == 0:
            return np.zeros((0, self.dim), dtype=np.float32)
        matrix = self._stored()
        if rows is None:
            return matrix.copy()
        return matrix[np.asarray(rows, dtype=np.int64)]

    def _stored(self) -> np.ndarray:
        """FAISS's own float32 rows as a read-only view (no copy; only while ``self`` lives)."""
        all_rows = faiss.rev_swig_ptr(self._index.get_xb(), len(self) * self.dim)
        view = np.asarray(all_rows).reshape(len(self), self.dim)
        view.flags.writeable = False
        return view

    def search(self, query: Sequence[float] | np.ndarray, k: int) -> list[tuple[int, float]]:
        """The ``k`` nearest rows to ``query`` (normalised if needed) as ``(row, cosine)``."""
        return _one_query(self._index, query, k, self.dim)

    def prepare_scans(self) -> None:
        """Build the 4-bit or 8-bit copy now if ``candidates`` will use it (an index
        version being loaded: so that its first request does not pay for it)."""
        if len(self) >= QUANTIZED_SCAN_MIN_ROWS:
            self._fast_index()
        elif len(self) >= CERTIFIED_SCAN_MIN_ROWS:
            self._coarse_index()

    def candidates(self, query: Sequence[float] | np.ndarray, k: int) -> list[int]:
        """Rows among which are the ``k`` nearest to ``query``, for a caller that scores
        them exactly: ``search``'s ``k`` rows below ``QUANTIZED_SCAN_MIN_ROWS`` rows (from
        ``CERTIFIED_SCAN_MIN_ROWS`` on found by a proven 8-bit scan, ``nearest``), from
        there on ``rescored``'s ``QUANTIZED_FETCH`` x ``k`` rows."""
        if len(self) >= QUANTIZED_SCAN_MIN_ROWS:
            return self.rescored(query, QUANTIZED_FETCH * k, min(k, len(self)))
        if len(self) >= CERTIFIED_SCAN_MIN_ROWS:
            return self.nearest(query, k)
        return [row for row, _ in _one_query(self._index, query, k, self.dim)]

    def nearest(self, query: Sequence[float] | np.ndarray, k: int) -> list[int]:
        """The ``k`` rows nearest ``query``, best first (ties: the lower row first), as
        ``search`` finds them, through the 8-bit copy: its ``CERTIFIED_FETCH`` x ``k`` best
        rows are rescored exactly, and kept when every row it left out scores below the
        ``k``-th by its error bound (``QuantizedRows.bound``); else 4x as many, up to a
        float32 scan of every row."""
        q = as_matrix(np.asarray(query, dtype=np.float32).reshape(1, -1), self.dim)[0]
        scan, fetch = self._coarse_index(), CERTIFIED_FETCH * k
        while fetch < len(self):
            rows, approx = scan.search(q, fetch)
            exact = _dot(self._stored()[rows], q)
            best = np.lexsort((rows, -exact))[:k]
            if float(approx[-1]) + scan.bound(q) < float(exact[best[-1]]):
                return rows[best].tolist()
            fetch *= 4
        return [row for row, _ in _one_query(self._index, q, k, self.dim)]

    def rescored(self, query: Sequence[float] | np.ndarray, k: int, sure: int) -> list[int]:
        """The ``k`` rows nearest ``query`` (exact cosines, ties: the lower row first)
        among the best of the 4-bit scan (``FastScanRows``), first ``FAST_FETCH`` x ``k``
        of them, twice as many while a row left out could beat the ``sure``-th found by the
        largest error seen (4-bit against exact score) among the rows fetched: an estimate,
        not a proof (recall measured in docs/benchmarks.md, "sentscan")."""
        q = as_matrix(np.asarray(query, dtype=np.float32).reshape(1, -1), self.dim)[0]
        scan, fetch = self._fast_index(), FAST_FETCH * k
        while True:
            rows, approx = scan.search(q, fetch)
            exact = _dot(np.take(self._stored(), rows, axis=0), q)
            best = np.lexsort((rows, -exact))[:k]
            error = float(np.abs(exact - approx).max(initial=0.0))
            if fetch >= len(self) or float(approx[-1]) + error < float(exact[best[sure - 1]]):
                return rows[best].tolist()
            fetch *= 2

    def _fast_index(self) -> FastScanRows:
        """The 4-bit copy of the vectors, made at its first use (thread-safe), in blocks;
        its levels are placed on every n-th row (``_LEVEL_SAMPLE`` rows)."""
        with self._coarse_lock:
            if self._fast is None:
                sample = self._stored()[:: max(1, len(self) // _LEVEL_SAMPLE)]
                self._fast = FastScanRows(self._blocks, sample)
            return self._fast

    def _coarse_index(self) -> QuantizedRows:
        """The 8-bit copy of the vectors, made at its first use (thread-safe), in blocks:
        it reads the stored float32 rows in place (no copy of them is made)."""
        with self._coarse_lock:
            if self._coarse is None:
                self._coarse = QuantizedRows(self._blocks, self.dim)  # what ``nearest`` needs
            return self._coarse

    def _blocks(self) -> Iterator[np.ndarray]:
        """The float32 vectors, ``_SCAN_BLOCK`` rows at a time (views: no copies)."""
        if not len(self):
            return
        stored = self._stored()
        for start in range(0, len(self), _SCAN_BLOCK):
            yield stored[start : start + _SCAN_BLOCK]


_SCAN_BLOCK = 65_536


def _one_query(
    index: faiss.Index, query: Sequence[float] | np.ndarray, k: int, dim: int
) -> list[tuple[int, float]]:
    """The ``k`` best rows of ``index`` for one query (normalised if needed), one thread."""
    scores, rows = _search_one(index, query, k, dim)
    return [(r, s) for r, s in zip(rows.tolist(), scores.tolist(), strict=True) if r >= 0]


def _search_one(
    index: faiss.Index, query: Sequence[float] | np.ndarray, k: int, dim: int
) -> tuple[np.ndarray, np.ndarray]:
    """FAISS's ``(scores, rows)`` of the ``k`` best rows for one query (normalised if
    needed; rows -1 past the end), searched by one thread."""
    q = as_matrix(np.asarray(query, dtype=np.float32).reshape(1, -1), dim)
    k = min(k, int(index.ntotal))
    if k <= 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
    # One query: FAISS's OpenMP team only adds spin-waiting (measured on 2 busy cores:
    # 14 ms with 2 threads, 0.5 ms with 1, for 10,000 x 384). The setting is per thread.
    threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        scores, rows = index.search(q, k)
    finally:
        faiss.omp_set_num_threads(threads)
    return scores[0], rows[0]


def language_means(
    vectors: VectorIndex, labels: Sequence[str], block: int = 4096
) -> dict[str, np.ndarray]:
    """The mean vector of the rows of each label (row ``i`` has ``labels[i]``), read in
    blocks of ``block`` rows so that a large index is not copied at once."""
    if len(labels) != len(vectors):
        raise ValueError("one label per stored vector is needed")
    names = np.asarray(labels, dtype=object)
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for start in range(0, len(vectors), block):
        rows = np.arange(start, min(start + block, len(vectors)))
        matrix = vectors.vectors(rows)
        for name in set(names[rows].tolist()):
            mask = names[rows] == name
            total = sums.get(name, np.zeros(vectors.dim, dtype=np.float64))
            sums[name] = total + matrix[mask].sum(axis=0)
            counts[name] = counts.get(name, 0) + int(mask.sum())
    return {name: (sums[name] / counts[name]).astype(np.float32) for name in sums}


def _dot(matrix: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``matrix @ query`` without BLAS: for a few hundred rows its thread team costs more
    than the product on busy cores (each row's result does not depend on the others)."""
    return np.einsum("ij,j->i", matrix, query)
