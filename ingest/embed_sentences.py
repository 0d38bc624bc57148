"""Haystack component that embeds each document chunk's sentence windows
(``kb.search.sentences``)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from haystack import Document, component

from ingest.embed import CachedDocumentEmbedder
from kb.embedders import embed_with_cache
from kb.search.sentences import SENTENCE_META, sentence_texts


@component
class SentenceEmbedder(CachedDocumentEmbedder):
    """Sets ``meta["sentence_embeddings"]`` on document chunks of two or more sentences.

    The sentence windows of a chunk (``kb.search.sentences.sentence_texts``; none for FAQ entries)
    are embedded as passages through the same persistent cache as the chunks, so an
    unchanged chunk of a re-indexed article costs nothing. ``computed`` counts the vectors
    actually computed. The index writer stores the vectors apart from the chunk.
    """

    @component.output_types(documents=list[Document], computed=int)
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """New Documents with their sentence vectors (as lists), and the count computed."""
        self.warm_up()
        per_doc = [sentence_texts(d.content or "", str(d.meta.get("type", ""))) for d in documents]
        texts = [t for texts in per_doc for t in texts]
        if not texts:
            return {"documents": list(documents), "computed": 0}
        vectors, computed = embed_with_cache(
            self._get_backend(),
            self._cache,
            texts,
            self.batch_size,
            self.progress,
            stage="embedding sentences",
        )
        out, start = [], 0
        for doc, texts in zip(documents, per_doc, strict=True):
            if texts:
                block = vectors[start : start + len(texts)].tolist()
                doc = replace(doc, meta={**doc.meta, SENTENCE_META: block})
                start += len(texts)
            out.append(doc)
        return {"documents": out, "computed": computed}
