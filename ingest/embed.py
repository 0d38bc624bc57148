"""Haystack component that embeds chunks for the index, through the embedding cache."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from kb.config import Config
from kb.embedders import (
    BackendPool,
    EmbedderSpec,
    EmbeddingBackend,
    EmbeddingCache,
    UsesSharedBackend,
    create_backend,
    default_cache_path,
    embed_with_cache,
)
from kb.errors import InvalidInput

DEFAULT_TEXT_FIELDS = ("search_text",)


@component
class CachedDocumentEmbedder(UsesSharedBackend):
    """Sets ``embedding`` on every document, computing only vectors not cached yet.

    The text embedded for a document is the first non-empty string among
    ``meta[f] for f in text_fields``, else its ``content``. ``computed`` in the
    output counts the vectors actually computed (cache misses, each distinct text
    once); unchanged chunks of a re-indexed article cost nothing.
    """

    def __init__(
        self,
        spec: EmbedderSpec | dict[str, Any] | None = None,
        cache_path: str | None = None,
        progress: bool = False,
        text_fields: list[str] | None = None,
        backends: BackendPool | None = None,
    ) -> None:
        """Store and validate the embedder ``spec`` (its ``batch_size`` is the texts per
        batch); ``cache_path=None`` embeds without a cache; the backend comes from
        ``backends`` (the process's pool; default: one of this component's own)."""
        self.spec = EmbedderSpec.from_dict(spec)
        create_backend(self.spec)  # validates; loads nothing
        self.backends = backends if backends is not None else BackendPool()
        self.cache_path = None if cache_path is None else str(cache_path)
        self.progress = progress
        self.text_fields = list(DEFAULT_TEXT_FIELDS if text_fields is None else text_fields)
        self._backend: EmbeddingBackend | None = None
        self._cache: EmbeddingCache | None = None

    @classmethod
    def from_config(
        cls,
        config: Config,
        cache_path: str | None = "",
        progress: bool = False,
        backends: BackendPool | None = None,
    ) -> CachedDocumentEmbedder:
        """Built from ``config``; ``cache_path=""`` means the default ``<home>/cache/...``."""
        if cache_path == "":
            cache_path = str(default_cache_path(config))
        return cls(
            spec=EmbedderSpec.from_config(config),
            cache_path=cache_path,
            progress=progress,
            backends=backends,
        )

    @property
    def batch_size(self) -> int:
        """Texts embedded per batch (the spec's ``batch_size``)."""
        return self.spec.batch_size

    def warm_up(self) -> None:
        """Load the model and open the cache (idempotent)."""
        UsesSharedBackend.warm_up(self)  # @component re-creates the class: no bare super()
        if self._cache is None and self.cache_path is not None:
            self._cache = EmbeddingCache(self.cache_path)

    def text_of(self, document: Document) -> str:
        """The text embedded for ``document``."""
        for name in self.text_fields:
            value = document.meta.get(name)
            if isinstance(value, str) and value.strip():
                return value
        if document.content is None:
            raise InvalidInput(f"document {document.id!r} has no text to embed")
        return document.content

    @component.output_types(documents=list[Document], computed=int)
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """Embed the documents: new Document objects with ``embedding`` set, and the count."""
        self.warm_up()
        texts = [self.text_of(doc) for doc in documents]
        vectors, computed = embed_with_cache(
            self._get_backend(), self._cache, texts, self.batch_size, self.progress
        )
        embedded = [
            replace(doc, embedding=vector.tolist())
            for doc, vector in zip(documents, vectors, strict=True)
        ]
        return {"documents": embedded, "computed": computed}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(
            self,
            spec=self.spec.to_dict(),
            cache_path=self.cache_path,
            progress=self.progress,
            text_fields=list(self.text_fields),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CachedDocumentEmbedder:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)
