"""Shadow indexes for ingest's consumers: one version's chunks over the live index, in memory.

``chunk_version`` runs the indexing pipeline without its writer (convert, clean, chunk,
normalise, embed chunks and their sentences through the persistent cache), so a version
is chunked exactly as publishing would chunk it; ``ShadowIndexer`` lays those chunks over a
live snapshot (``kb.search.overlay``) and is the ``kb.quality.golden_check.ShadowBuilder`` the
front ends
register.
"""

from __future__ import annotations

from pathlib import Path

from haystack import Document

from ingest.pipeline import build_indexing_pipeline
from kb.config import Config
from kb.model import ArticleContent
from kb.search.index import IndexSnapshot
from kb.search.overlay import overlay_snapshot
from kb.search.pipelines import run_haystack
from kb.search.resources import SearchResources


def chunk_version(
    config: Config,
    content: ArticleContent,
    version: int,
    cache_path: str | Path | None = None,
    resources: SearchResources | None = None,
) -> list[Document]:
    """The embedded chunks publishing ``content`` as ``version`` would index (embedded with
    the backend of ``resources``, the process's; default: a new set)."""
    pipeline = build_indexing_pipeline(config, cache_path=cache_path, resources=resources)
    pipeline.remove_component("writer")
    out = run_haystack(pipeline, {"converter": {"articles": [(content, version)]}})
    return list(out["sentences"]["documents"])


class ShadowIndexer:
    """Builds the shadow snapshot of one version over a live snapshot (in memory)."""

    def __init__(
        self,
        config: Config,
        cache_path: str | Path | None = None,
        resources: SearchResources | None = None,
    ) -> None:
        """Use ``config``'s chunking, embedder and jieba dictionary, loaded through
        ``resources`` (the process's, ``Runtime.resources``; default: a new set)."""
        self.config = config
        self.cache_path = cache_path
        self.resources = resources if resources is not None else SearchResources()

    def shadow(self, live: IndexSnapshot, content: ArticleContent, version: int) -> IndexSnapshot:
        """``live`` with ``content`` (as ``version``) in place of its article's chunks."""
        chunks = chunk_version(self.config, content, version, self.cache_path, self.resources)
        user_dict = str(self.config.jieba_user_dict or "")
        tokenizer = self.resources.tokenizers.get(None if user_dict in ("", ".") else user_dict)
        return overlay_snapshot(live, content.id, version, chunks, tokenizer)
