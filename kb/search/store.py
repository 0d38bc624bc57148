"""The search-store seam: what retrieval, FAQ matching, answering and ingest need of an index.

Two levels, both ``Protocol`` classes (structural: an implementation does not inherit):

- ``SearchView``: one consistent, read-only version of the index, taken by a request at
  its start and read by every query component (retrievers, FAQ matcher, confidence, the
  API's audience guard). Filters travel as data (``kb.search.filters.SearchFilters``:
  audience, types, tags, language, as-of date), never as Python callables, so a store can
  push them down (the ``postgres`` store turns them into SQL).
- ``SearchIndex``: the store itself: the live view, and ``apply`` to change what it
  serves (``IndexUpdate``: chunks of articles to (re)index, articles to remove).

Implementations: ``kb.search.local.LocalSearchIndex`` (FAISS + bm25s files under
``index_dir``, the default on one machine; its view is ``kb.search.index.IndexSnapshot``)
and ``kb.search.postgres.PostgresSearchIndex`` (chunks, vectors and terms in PostgreSQL
with pgvector). ``open_search_index`` picks one by the ``search_store`` setting.
Hybrid fusion, confidence and answers are computed in kb, the same for both stores.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np
from haystack import Document

from kb.search.filters import SearchFilters

if TYPE_CHECKING:
    from kb.config import Config
    from kb.search.bm25 import ChineseTokenizer
    from kb.search.index import IndexSnapshot
    from kb.search.resources import SearchResources

#: The values of the ``search_store`` setting.
STORES = ("local", "postgres")

Hit = tuple[Document, float]


@runtime_checkable
class SearchView(Protocol):
    """One read-only version of the search index (what a request is served from)."""

    @property
    def version(self) -> str:
        """The version's name (changes whenever what is served changes)."""
        ...

    @property
    def identity(self) -> str:
        """Which store this view is of (caches key on it with ``version``)."""
        ...

    @property
    def bm25_tokenizer(self) -> ChineseTokenizer:
        """The tokenizer lexical queries of this view go through."""
        ...

    def __len__(self) -> int:
        """How many chunks the version holds."""
        ...

    def dense_search(
        self,
        query_embedding: Sequence[float] | np.ndarray,
        top_k: int,
        *,
        filters: SearchFilters | None = None,
        sentence_weight: float = 0.0,
    ) -> list[Hit]:
        """The ``top_k`` chunks nearest the query vector among those ``filters`` allow,
        best first; ``sentence_weight`` blends in each chunk's best sentence cosine."""
        ...

    def lexical_search(
        self, query_text: str, top_k: int, *, filters: SearchFilters | None = None
    ) -> list[Hit]:
        """The ``top_k`` best BM25 matches (score > 0) among those ``filters`` allow."""
        ...

    def chunk(self, chunk_id: str) -> Document:
        """The chunk with this id (``NotFound`` if the version has none)."""
        ...

    def article_chunks(self, article_id: str) -> list[Document]:
        """The chunks of one article, in chunk order."""
        ...

    def articles(self) -> dict[str, int]:
        """``{article_id: version}`` of every article served."""
        ...

    def article_audiences(self) -> dict[str, str]:
        """``{article_id: audience}`` as recorded in the index (``internal`` unless every
        chunk of the article says ``public``): the API's audience guard reads it."""
        ...

    def documents(self) -> Iterator[Document]:
        """Every chunk (without embeddings): FAQ questions are collected from them."""
        ...

    def served(self, chunk_ids: Iterable[str], filters: SearchFilters) -> set[str]:
        """Those of ``chunk_ids`` served now that pass ``filters``: candidates taken from
        the view's own chunks (FAQ questions) are checked with it before they are returned."""
        ...

    def embeddings(self, chunk_ids: Iterable[str]) -> dict[str, np.ndarray]:
        """The stored vectors of those chunk ids that are present."""
        ...

    def main_language(self) -> str:
        """The language most chunks are in (``""`` when empty)."""
        ...

    def language_basis(self) -> np.ndarray:
        """The language direction(s) of the chunks (``kb.search.crosslang``)."""
        ...

    def language_along(self, chunk_ids: Sequence[str]) -> np.ndarray:
        """These chunks' coordinates along ``language_basis``."""
        ...

    def materialize(self) -> IndexSnapshot:
        """This version as an in-memory ``IndexSnapshot`` (the hit test and the golden
        check lay a draft over it and score in bulk)."""
        ...


@dataclass(frozen=True)
class IndexUpdate:
    """A change to what the index serves: embedded chunks of the articles to (re)index
    (each article's chunks replace all its previous ones) and articles to remove."""

    chunks: Sequence[Document] = ()
    remove_article_ids: Sequence[str] = ()
    model_id: str = ""
    dim: int | None = None
    full: bool = False

    def touched(self) -> set[str]:
        """Every article this update replaces or removes."""
        return {str(d.meta.get("article_id")) for d in self.chunks} | set(self.remove_article_ids)


@runtime_checkable
class SearchIndex(Protocol):
    """A search store: its live view and the writes that change it."""

    kind: str

    def snapshot(self) -> SearchView:
        """The live view (``NotReady`` while nothing was indexed)."""
        ...

    def held(self) -> SearchView | None:
        """The view served now, without checking for a newer one (None before the first)."""
        ...

    def current_version(self) -> str | None:
        """The live version's name, or None when nothing was indexed."""
        ...

    def refresh(self) -> bool:
        """Take up the live version if it changed; True when a new view is served."""
        ...

    def on_new_view(self, preparer: Callable[[Any], None]) -> None:
        """Run ``preparer(view)`` on each new view before it is served
        (``kb.search.preparing``)."""
        ...

    def apply(self, update: IndexUpdate) -> str:
        """Make the store serve ``update``; returns the live version afterwards."""
        ...


def open_search_index(
    config: Config, database: Any = None, resources: SearchResources | None = None
) -> SearchIndex:
    """The search store ``config.search_store`` names.

    ``local``: the reader of ``index_dir`` in ``resources.readers`` (the process's pool,
    ``kb.search.snapshot.ReaderPool``; default: a new reader); ``postgres``: the store in
    ``database`` (a ``kb.store.db.Database``; default: one opened on
    ``config.effective_database_url``), which must be PostgreSQL with pgvector. Either takes
    its BM25 tokenizer from ``resources.tokenizers``.
    """
    if resources is None:
        from kb.search.resources import SearchResources

        resources = SearchResources()
    if config.search_store == "postgres":
        from kb.search.postgres import PostgresSearchIndex

        return PostgresSearchIndex.from_config(config, database, resources.tokenizers)
    return resources.readers.get(config)
