"""The chunks of one index version looked up by id and by article: what the local snapshot
and the postgres view share (both keep the version's chunks, without vectors, in memory)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator

from haystack import Document

from kb.errors import NotFound
from kb.language import base_language
from kb.search.filters import SearchFilters


class ChunkCatalog:
    """Lookups over ``_docs`` (the version's chunks in row order); subclasses have a
    ``version`` and call ``_catalog(docs)`` when they are built."""

    _docs: list[Document]
    _row: dict[str, int]
    _audiences: dict[str, str] | None
    _main_language: str | None

    def _catalog(self, docs: list[Document]) -> None:
        """Keep ``docs`` and index them by chunk id."""
        self._docs = docs
        self._row = {d.id: i for i, d in enumerate(docs)}
        self._audiences = None
        self._main_language = None

    def __len__(self) -> int:
        return len(self._docs)

    def __contains__(self, chunk_id: object) -> bool:
        return chunk_id in self._row

    def documents(self) -> Iterator[Document]:
        """Every chunk, in row order (without embeddings)."""
        return iter(self._docs)

    def chunk(self, chunk_id: str) -> Document:
        """The chunk with this id; ``NotFound`` if the version has none."""
        try:
            return self._docs[self._row[chunk_id]]
        except KeyError:
            version = getattr(self, "version", "")
            raise NotFound(f"chunk {chunk_id} is not in index version {version}") from None

    def article_chunks(self, article_id: str) -> list[Document]:
        """The chunks of one article, in chunk order."""
        docs = [d for d in self._docs if d.meta.get("article_id") == article_id]
        return sorted(docs, key=lambda d: d.meta.get("chunk_index", 0))

    def served(self, chunk_ids: Iterable[str], filters: SearchFilters) -> set[str]:
        """Those of ``chunk_ids`` this version holds whose chunk passes ``filters`` (a
        store whose searches read live tables checks them there instead)."""
        return {c for c in chunk_ids if c in self._row and filters.matches(self.chunk(c).meta)}

    def main_language(self) -> str:
        """The language most chunks are in (``""`` when empty), computed once per version
        (a suggestion asks for it: counting 100,000 chunks' languages takes ~0.8 s)."""
        if self._main_language is None:
            counts = Counter(base_language(d.meta.get("lang")) for d in self._docs)
            counts.pop("", None)
            self._main_language = counts.most_common(1)[0][0] if counts else ""
        return self._main_language

    def article_audiences(self) -> dict[str, str]:
        """``{article_id: audience}``: ``internal`` unless every chunk says ``public``
        (computed once per version)."""
        if self._audiences is not None:
            return self._audiences
        mapping: dict[str, str] = {}
        for doc in self._docs:
            article_id = doc.meta.get("article_id")
            if article_id and mapping.get(article_id) != "internal":
                mapping[article_id] = str(doc.meta.get("audience") or "internal")
        self._audiences = mapping
        return mapping
