"""The ``local`` search store: FAISS + bm25s index versions under ``index_dir``.

``LocalSearchIndex`` is the ``kb.search.store.SearchIndex`` of one machine: its views are
the loaded ``kb.search.index.IndexSnapshot`` versions (reloaded when ``CURRENT`` changes,
``kb.search.index.IndexReader``), and ``apply`` writes a new version and serves it at once.
"""

from __future__ import annotations

from kb.search.index import IndexReader
from kb.search.store import IndexUpdate


class LocalSearchIndex(IndexReader):
    """Today's index files behind the search-store interface (no behaviour change)."""

    kind = "local"

    def current_version(self) -> str | None:
        """The live version's name (``CURRENT``), or None before the first build."""
        return self.store.current_version()

    def apply(self, update: IndexUpdate) -> str:
        """Write a new version with ``update`` applied and serve it; the live version."""
        result = self.store.write_version(
            update.chunks,
            model_id=update.model_id,
            dim=update.dim,
            remove_article_ids=update.remove_article_ids,
            full=update.full,
            base=self.held(),
        )
        if result.snapshot is not None:
            self.adopt(result.snapshot)
        return result.version
