"""A shadow index: the live snapshot with one article's change applied, in memory only.

The hit test and the golden-question check search "the knowledge base as it would be once
this version is published" without writing an index version: the overlay is the live
snapshot minus every chunk of the article plus the version's chunks (embedded by ingest),
built in memory from the live snapshot's stored vectors and BM25 tokens
(``kb.search.index.combine``).
Agents and bots never see it; nothing is written to disk.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from haystack import Document

from kb.search.bm25 import ChineseTokenizer
from kb.search.dense import VectorIndex
from kb.search.index import IndexSnapshot, combine, prepare_chunks


def overlay_name(
    live_version: str, article_id: str, version: int, chunks: Sequence[Document]
) -> str:
    """A version name unique to this change over this live version (caches key on it)."""
    digest = hashlib.sha256("\n".join(sorted(d.id for d in chunks)).encode()).hexdigest()[:10]
    return f"{live_version}+{article_id}@v{version}-{digest}"


def overlay_snapshot(
    live: IndexSnapshot,
    article_id: str,
    version: int,
    chunks: Sequence[Document],
    tokenizer: ChineseTokenizer,
) -> IndexSnapshot:
    """``live`` with article ``article_id`` replaced by ``chunks`` (embedded; none: removed)."""
    dim = int(live.manifest["dim"])
    new_docs, new_vectors, new_sentences = prepare_chunks(chunks, dim)
    docs, vectors, sentences, bm25, _removed = combine(
        live, {article_id}, new_docs, new_vectors, new_sentences, tokenizer
    )
    articles = {a: v for a, v in live.articles().items() if a != article_id}
    if new_docs:
        articles[article_id] = version
    manifest = {
        **live.manifest,
        "version": overlay_name(live.version, article_id, version, chunks),
        "chunk_count": len(docs),
        "article_count": len(articles),
        "articles": articles,
        "base_version": live.version,
        "overlay": True,
    }
    manifest["sentence_count"] = len(sentences)
    return IndexSnapshot(
        live.path, manifest, docs, VectorIndex.build(vectors, dim), bm25, sentences
    )
