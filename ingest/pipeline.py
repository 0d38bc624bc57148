"""The indexing pipeline, assembled in one function, and convenience runners.

``build_indexing_pipeline`` wires the ingest components into one Haystack pipeline::

    converter -> cleaner -> chunker -> normalizer -> embedder -> sentences -> writer

- ``converter``: ``ArticleConverter`` (stored article versions) or, with
  ``files=True``, ``FileConverter`` (article files indexed as they are);
- ``cleaner``: ``TextCleaner`` (scraped-site boilerplate; a no-op on clean Markdown);
- ``chunker``: ``ArticleChunker`` with the ``chunk_size`` / ``chunk_overlap`` settings;
- ``normalizer``: ``TextNormalizer`` writing ``meta['search_text']`` from the chunker's
  ``faq_text`` when present (an FAQ's question, similar questions and answer) and from
  the chunk text otherwise, with the article title and the section heading in front,
  so that short chunks match on their headings;
- ``embedder``: ``CachedDocumentEmbedder`` (embeds ``search_text``; only texts not in
  the persistent cache are computed; its ``computed`` output is a pipeline output);
- ``sentences``: ``SentenceEmbedder`` (the sentence windows of document chunks, through
  the same cache: a chunk's best sentence lifts it in the dense ranking, ``kb.search.sentences``);
- ``writer``: ``IndexWriter`` (a new index version, incremental unless ``full``).

Pipeline inputs: ``converter.articles`` (or ``converter.sources``),
``writer.remove_article_ids`` and ``writer.full``. The pipeline dumps to YAML
(``pipeline.dumps()``) and loads back with ``load_pipeline`` (Haystack 3.4 only
deserialises allow-listed modules; ``ALLOWED_MODULES`` lists ours).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

from haystack import Pipeline

from ingest.chunk import ArticleChunker
from ingest.clean import TextCleaner
from ingest.convert import ArticleConverter, ArticleItem, FileConverter, item_article_id
from ingest.embed import CachedDocumentEmbedder
from ingest.embed_sentences import SentenceEmbedder
from ingest.normalize import TextNormalizer
from ingest.unindexable import Unindexable, find_unindexable
from ingest.write import IndexWriter, StoreTarget, StoreWriter
from kb.config import Config
from kb.embedders import EmbedderSpec, default_cache_path
from kb.search.pipelines import run_haystack
from kb.search.resources import SearchResources

#: Module patterns ``Pipeline.loads`` must be allowed to import for our components.
ALLOWED_MODULES = ["ingest.*"]
#: The component names, in pipeline order.
STAGES = ("converter", "cleaner", "chunker", "normalizer", "embedder", "sentences", "writer")
#: Meta keys put before a chunk's text in its search text.
PREFIX_FIELDS = ["title", "section"]


@dataclass(frozen=True)
class IndexReport:
    """What one run of the indexing pipeline did."""

    documents: int  # article versions converted
    chunks: int  # chunks written into the new index version
    computed: int  # embeddings actually computed (cache misses), chunks and sentences
    removed: int  # chunks of the previous version dropped
    version: str  # the live index version afterwards
    seconds: float
    unindexable: list[Unindexable] = field(default_factory=list)  # converted, no chunk

    def as_dict(self) -> dict[str, Any]:
        """The report as a JSON-ready dict."""
        return asdict(self)


def _optional_path(value: Path | str) -> str:
    """A path setting as a string, '' when unset."""
    text = str(value)
    return "" if text in ("", ".") else text


def build_indexing_pipeline(
    config: Config,
    *,
    cache_path: str | Path | None = None,
    progress: bool = False,
    files: bool = False,
    resources: SearchResources | None = None,
) -> Pipeline:
    """The indexing pipeline for ``config`` (see the module docstring).

    :param config: the settings (index directory, chunking, embedder, jieba dictionary).
    :param cache_path: the embedding cache file; None: ``<home>/cache/embeddings.sqlite3``.
    :param progress: report the stages (reading, chunking, embedding, writing) on
        stderr: bars with rate and ETA on a terminal, plain lines otherwise (``kb.progress``).
    :param files: start with ``FileConverter`` (input ``sources``: paths) instead of
        ``ArticleConverter`` (input ``articles``).
    :param resources: the process's models, tokenizers and index readers
        (``Runtime.resources``; default: a new set for this pipeline).
    """
    resources = resources if resources is not None else SearchResources()
    cache = str(cache_path) if cache_path is not None else str(default_cache_path(config))
    spec = EmbedderSpec.from_config(config)  # one identity for both embedders and the writer
    embedder = CachedDocumentEmbedder(
        spec, cache_path=cache, progress=progress, backends=resources.backends
    )
    pipeline = Pipeline()
    converter = (
        FileConverter(
            max_bytes=config.import_max_bytes, max_chars=config.import_max_chars, progress=progress
        )
        if files
        else ArticleConverter(progress=progress)
    )
    pipeline.add_component("converter", converter)
    pipeline.add_component("cleaner", TextCleaner(keep_id=True))
    pipeline.add_component(
        "chunker",
        ArticleChunker(
            chunk_size=config.chunk_size, overlap=config.chunk_overlap, progress=progress
        ),
    )
    pipeline.add_component(
        "normalizer", TextNormalizer(text_field="faq_text", prefix_fields=PREFIX_FIELDS)
    )
    pipeline.add_component("embedder", embedder)
    sentences = SentenceEmbedder(
        spec, cache_path=cache, progress=progress, backends=resources.backends
    )
    pipeline.add_component("sentences", sentences)
    writer: IndexWriter | StoreWriter = IndexWriter(
        index_dir=str(config.effective_index_dir),
        model_id=embedder.model_id,
        jieba_user_dict=_optional_path(config.jieba_user_dict),
        progress=progress,
        readers=resources.readers,
    )
    if config.search_store != "local":  # run it with a StoreTarget (run_pipeline's target)
        writer = StoreWriter(model_id=embedder.model_id, progress=progress)
    pipeline.add_component("writer", writer)
    for source, target in pairwise(STAGES):
        pipeline.connect(f"{source}.documents", f"{target}.documents")
    return pipeline


def load_pipeline(text: str) -> Pipeline:
    """Load a pipeline dumped with ``Pipeline.dumps()`` (our modules allowed)."""
    return Pipeline.loads(text, allowed_modules=ALLOWED_MODULES)


def run_pipeline(
    pipeline: Pipeline,
    converter_input: dict[str, Any],
    *,
    full: bool,
    remove_article_ids: Iterable[str] = (),
    target: StoreTarget | None = None,
) -> IndexReport:
    """Run an indexing pipeline and report; a kb error inside a stage is raised as itself.

    The report lists the converted article versions that gave no chunk, with the reason
    (``ingest.unindexable``), so no article is ever dropped silently. ``target``: the
    store a ``StoreWriter`` writes to (``search_store`` other than ``local``).
    """
    started = time.perf_counter()
    data = {
        "converter": converter_input,
        "writer": {"full": full, "remove_article_ids": sorted(set(remove_article_ids))},
    }
    if target is not None:
        data["writer"]["target"] = target
    out = run_haystack(pipeline, data, include_outputs_from={"converter", "cleaner", "chunker"})
    converted = out["converter"]["documents"]
    return IndexReport(
        documents=len(converted),
        chunks=out["writer"]["written"],
        computed=out["embedder"]["computed"] + out["sentences"]["computed"],
        removed=out["writer"]["removed"],
        version=out["writer"]["version"],
        seconds=round(time.perf_counter() - started, 3),
        unindexable=find_unindexable(
            converted, out["cleaner"]["documents"], out["chunker"]["documents"]
        ),
    )


def index_articles(
    items: Sequence[ArticleItem],
    config: Config,
    *,
    full: bool,
    remove_article_ids: Iterable[str] = (),
    cache_path: str | Path | None = None,
    progress: bool = False,
    resources: SearchResources | None = None,
) -> IndexReport:
    """Index article versions: ``(ArticleContent, version)`` pairs, ``ArticleContent`` or dicts.

    ``full=True`` makes the new index version hold exactly these articles; otherwise they
    replace their own earlier chunks (all of them, even when a new version gives none),
    ``remove_article_ids`` are dropped and every other article is kept as it is.
    ``resources``: the process's models and index readers (``Runtime.resources``).
    """
    pipeline = build_indexing_pipeline(
        config, cache_path=cache_path, progress=progress, resources=resources
    )
    replaced = [item_article_id(item) for item in items]
    return run_pipeline(
        pipeline,
        {"articles": list(items)},
        full=full,
        remove_article_ids=[*remove_article_ids, *replaced],
    )


def index_files(
    paths: Sequence[str | Path],
    config: Config,
    *,
    full: bool = True,
    cache_path: str | Path | None = None,
    progress: bool = False,
    resources: SearchResources | None = None,
) -> IndexReport:
    """Index article files (or directories of them) as they are, without a database
    (``resources``: the process's models and index readers, ``Runtime.resources``)."""
    pipeline = build_indexing_pipeline(
        config, cache_path=cache_path, progress=progress, files=True, resources=resources
    )
    return run_pipeline(pipeline, {"sources": [str(p) for p in paths]}, full=full)
