"""The query pipeline: from a question to ranked, filtered, citable results.

One Haystack ``Pipeline``, built by ``build_query_pipeline`` (dumped to YAML with
``pipeline.dumps()``, loaded back with ``load_query_pipeline``)::

    query -> QueryNormalizer -> text ─┬─> LanguageDetector -> lang (dense, FAQ, fusion)
                                      ├─> BM25Retriever ───────────────┐
                                      ├─> QueryEmbedder -> embedding ─┬─> DenseRetriever ──┤
                                      └────────────────────────────────┴─> FaqMatcher ─────┤
                                                            RankFusion <─ (dense, lexical) ┘
                          └─> LanguagePreference -> NamedSourcePreference -> ArticleCollapser

- ``QueryNormalizer``: the normalisation ingest applies to indexed text
  (``kb.text.normalize_for_matching``: NFKC, pinyin annotations off, Traditional ->
  Simplified, lower case), so 退貨 finds 退货 and the reverse.
- ``BM25Retriever``: BM25 over jieba words + characters (``kb.search.bm25``), filters applied while
  walking the ranking.
- ``DenseRetriever``: exact cosine search (FAISS); the snapshot over-fetches until ``top_k``
  chunks pass the filters, so a selective filter still gets its ``top_k``. A document
  chunk's score is blended with its best sentence window's (``kb.search.sentences``), so a
  question that paraphrases one sentence of a long passage finds it.
- ``FaqMatcher``: the query against every FAQ question (``kb.search.faq``).
- ``LanguageDetector``: the question's language. Dense and FAQ cosines of texts in another
  language are language-neutral when the index holds several languages, and fusion does
  not hold a missing BM25 score against a chunk in another language (``kb.search.crosslang``).
- ``RankFusion``, ``LanguagePreference`` and ``ArticleCollapser``: ``kb.search.fusion``.
- ``NamedSourcePreference``: a candidate whose title's name (《…》) the question contains
  goes first; a question on the law gets the candidate regulation whose title is nearest
  it first (``kb.search.named``).

Each run reads one view of the search store (``kb.search.store.SearchView``: a local
snapshot or the PostgreSQL store), passed in with the filters as data
(``kb.search.filters``). ``Searcher`` wraps the pipeline for callers: it takes the view from
the configured store (``search_store``) and returns ``SearchResult`` objects.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from haystack import Document, Pipeline, component, default_from_dict, default_to_dict

from kb.config import Config
from kb.embedders import EmbedderSpec, default_cache_path
from kb.embedders.components import QueryEmbedder
from kb.errors import InvalidInput, NotReady
from kb.search.crosslang import (
    CROSS_LEXICAL,
    PREFER_UNLINKED,
    PREFER_WITHIN,
    LanguageDetector,
    neutral_query,
    neutral_scores,
    same_language,
)
from kb.search.faq import FaqMatcher
from kb.search.filters import SearchFilters
from kb.search.fusion import (
    DEFAULT_MODE,
    DEFAULT_RRF_K,
    ArticleCollapser,
    LanguagePreference,
    RankFusion,
)
from kb.search.named import NamedSourcePreference
from kb.search.pipelines import run_haystack
from kb.search.resources import SearchResources
from kb.search.snapshot import Ranked, SnapshotRef, lean_chunk
from kb.search.store import SearchIndex, SearchView, open_search_index
from kb.text import date_text, has_words, is_encodable, normalize_for_matching

#: Chunks each retriever passes to fusion, and FAQ chunks each FAQ ranking passes (tuned on
#: the dev sets with the fusion weights: min-max scaling depends on the depth; 20/10 was
#: as good as 30/30 and copies fewer Documents between components).
CANDIDATES = 20
FAQ_CANDIDATES = 10
#: Share of a document chunk's dense score that comes from its best sentence window
#: (``kb.search.sentences``); the rest is the chunk's own cosine. Chosen on the dev sets.
SENTENCE_WEIGHT = 0.5


@component
class QueryNormalizer:
    """The question in matching form, exactly as ingest normalises indexed text."""

    def __init__(self, max_chars: int = 1000) -> None:
        """``max_chars``: the longest question accepted (``api_max_question_chars``)."""
        self.max_chars = max_chars

    @component.output_types(text=str)
    def run(self, query: str) -> dict[str, str]:
        """``{"text": normalised query}``; an empty or overlong query is ``InvalidInput``.

        Empty means no letter or digit (``kb.text.has_words``): blanks, control or
        zero-width characters and punctuation alone are not a question. Text that is not
        Unicode (a lone surrogate, as JSON's ``\\ud800`` decodes) is refused too.
        """
        if not isinstance(query, str) or not has_words(query):
            raise InvalidInput("the question is empty (no letters or digits)")
        if not is_encodable(query):
            raise InvalidInput("the question is not valid text (an unpaired surrogate character)")
        if len(query) > self.max_chars:
            raise InvalidInput(f"the question is longer than {self.max_chars} characters")
        return {"text": normalize_for_matching(query)}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(self, max_chars=self.max_chars)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueryNormalizer:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


@component
class QueryVectorEmbedder(QueryEmbedder):
    """``QueryEmbedder`` whose output is a float32 numpy vector instead of a list.

    Haystack deep-copies every component input, and a list element by element, each one
    checked with ``isinstance`` against Protocol classes: the two copies of a 384-float
    list cost 20-40 ms per query here (profiled), an array copies in one call.
    """

    #: Query vectors kept from ``remember`` (a golden check searches each question twice).
    RECENT = 4096

    @component.output_types(embedding=np.ndarray)
    def run(self, text: str) -> dict[str, Any]:
        """Embed ``text`` as a query: ``{"embedding": float32 array}``, norm 1."""
        if not isinstance(text, str):
            raise TypeError(f"QueryVectorEmbedder expects a string, got {type(text).__name__}")
        known = self._known().get(text)
        if known is not None:
            return {"embedding": known}
        return {"embedding": self._get_backend().embed_query(text)}

    def remember(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Use these query vectors (of normalised texts, same model) instead of embedding
        the texts again; the newest ``RECENT`` are kept."""
        known = self._known()
        for text, vector in zip(texts, vectors, strict=True):
            known[text] = np.asarray(vector, dtype=np.float32)
            known.move_to_end(text)
        while len(known) > self.RECENT:
            known.popitem(last=False)

    def _known(self) -> OrderedDict[str, np.ndarray]:
        known = self.__dict__.get("_recent")
        if known is None:
            known = self.__dict__.setdefault("_recent", OrderedDict())
        return known


@component
class BM25Retriever:
    """The ``top_k`` best BM25 chunks of the snapshot that pass the filters."""

    def __init__(self, top_k: int = CANDIDATES) -> None:
        """``top_k``: chunks returned."""
        self.top_k = top_k

    @component.output_types(documents=Ranked)
    def run(self, text: str, snapshot: SnapshotRef, filters: SearchFilters) -> dict[str, Ranked]:
        """Chunks with their BM25 score, best first."""
        hits = snapshot.snapshot.lexical_search(text, self.top_k, filters=filters)
        return {"documents": Ranked(lean_chunk(doc, score) for doc, score in hits)}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(self, top_k=self.top_k)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BM25Retriever:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


@component
class DenseRetriever:
    """The ``top_k`` chunks nearest the query vector that pass the filters."""

    def __init__(
        self,
        top_k: int = CANDIDATES,
        sentence_weight: float = SENTENCE_WEIGHT,
        neutral: bool = True,
    ) -> None:
        """``top_k``: chunks returned (over-fetching until that many pass the filters);
        ``sentence_weight``: share of the best sentence's cosine in a chunk's score (0-1);
        ``neutral``: score language-neutral cosines when the index holds several languages
        (``kb.search.crosslang``)."""
        if not 0.0 <= sentence_weight <= 1.0:
            raise ValueError(f"sentence_weight must be between 0 and 1, got {sentence_weight}")
        self.top_k = top_k
        self.sentence_weight = sentence_weight
        self.neutral = neutral

    @component.output_types(documents=Ranked)
    def run(
        self,
        embedding: np.ndarray,
        snapshot: SnapshotRef,
        filters: SearchFilters,
        lang: str = "",
    ) -> dict[str, Ranked]:
        """Chunks with their cosine score, best first. With ``neutral`` and several languages
        in the index, chunks in another language than the question's ``lang`` (all chunks
        when it is unknown) score their language-neutral cosine; ``meta["cosine"]`` keeps
        the raw one (``kb.search.crosslang``)."""
        snap = snapshot.snapshot
        basis = snap.language_basis() if self.neutral else None
        if basis is None or not len(basis):
            hits = snap.dense_search(
                embedding, self.top_k, filters=filters, sentence_weight=self.sentence_weight
            )
            return {"documents": Ranked(lean_chunk(doc, score) for doc, score in hits)}
        query, _ = neutral_query(embedding, basis)
        found = snap.dense_search(
            query, 2 * self.top_k, filters=filters, sentence_weight=self.sentence_weight
        )
        along = snap.language_along([doc.id for doc, _ in found])
        scores = np.array([s for _, s in found], dtype=np.float32)
        neutral, raw = neutral_scores(scores, along, embedding, basis)
        own = np.array([bool(lang) and same_language(d.meta, lang) for d, _ in found], dtype=bool)
        neutral = np.where(own, raw, neutral)
        ranked = sorted(zip(found, neutral.tolist(), raw.tolist(), strict=True), key=_best)
        return {
            "documents": Ranked(
                lean_chunk(doc, score, cosine=round(cosine, 6))
                for (doc, _), score, cosine in ranked[: self.top_k]
            )
        }

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(
            self, top_k=self.top_k, sentence_weight=self.sentence_weight, neutral=self.neutral
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DenseRetriever:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


def _best(hit: tuple[tuple[Document, float], float, float]) -> tuple[float, str]:
    """Sort key: best (neutral) score first, then chunk id."""
    return (-hit[1], hit[0][0].id)


def build_query_pipeline(
    config: Config,
    *,
    fusion_mode: str = DEFAULT_MODE,
    weights: dict[str, float] | None = None,
    rrf_k: int = DEFAULT_RRF_K,
    candidates: int = CANDIDATES,
    faq_candidates: int = FAQ_CANDIDATES,
    sentence_weight: float = SENTENCE_WEIGHT,
    cache_path: str | None = "",
    neutral: bool = True,
    cross_lexical: float = CROSS_LEXICAL,
    prefer_within: float = PREFER_WITHIN,
    prefer_unlinked: bool = PREFER_UNLINKED,
    resources: SearchResources | None = None,
) -> Pipeline:
    """The query pipeline for ``config`` (see the module docstring).

    ``cache_path`` is the embedding cache for FAQ questions (``""``: the default under
    ``home``; None: no cache); ``neutral``, ``cross_lexical``, ``prefer_within`` and
    ``prefer_unlinked``:
    ``kb.search.crosslang``. Run it with ``query``, ``snapshot`` (a ``SnapshotRef``), ``filters``
    (``SearchFilters``), ``top_k`` and ``one_per_article``. The embedder and FAQ matcher take
    their backend, tokenizer and question indexes from ``resources`` (the process's,
    ``Runtime.resources``; default: a new set for this pipeline).
    """
    resources = resources if resources is not None else SearchResources()
    if cache_path == "":
        cache_path = str(default_cache_path(config))
    pipe = Pipeline()
    pipe.add_component("normalizer", QueryNormalizer(config.api_max_question_chars))
    pipe.add_component("language", LanguageDetector())
    spec = EmbedderSpec.from_config(config)
    pipe.add_component("embedder", QueryVectorEmbedder(spec, resources.backends))
    pipe.add_component("bm25", BM25Retriever(candidates))
    pipe.add_component("dense", DenseRetriever(candidates, sentence_weight, neutral))
    user_dict = str(config.jieba_user_dict or "")
    pipe.add_component(
        "faq",
        FaqMatcher(
            spec,
            cache_path=cache_path,
            top_k=faq_candidates,
            jieba_user_dict="" if user_dict == "." else user_dict,
            neutral=neutral,
            resources=resources,
        ),
    )
    fusion = RankFusion(
        fusion_mode, weights, rrf_k, top_k=2 * candidates, cross_lexical=cross_lexical
    )
    pipe.add_component("fusion", fusion)
    pipe.add_component("prefer", LanguagePreference(prefer_within, unlinked=prefer_unlinked))
    pipe.add_component("named", NamedSourcePreference(spec, resources.backends))
    pipe.add_component("collapse", ArticleCollapser(top_k=config.top_k))
    pipe.connect("normalizer.text", "embedder.text")
    pipe.connect("normalizer.text", "bm25.text")
    pipe.connect("normalizer.text", "faq.text")
    pipe.connect("normalizer.text", "language.query")
    pipe.connect("language.lang", "dense.lang")
    pipe.connect("language.lang", "faq.lang")
    pipe.connect("language.lang", "fusion.lang")
    pipe.connect("embedder.embedding", "dense.embedding")
    pipe.connect("embedder.embedding", "faq.embedding")
    pipe.connect("bm25.documents", "fusion.bm25")
    pipe.connect("dense.documents", "fusion.dense")
    pipe.connect("faq.dense", "fusion.faq_dense")
    pipe.connect("faq.lexical", "fusion.faq_lexical")
    pipe.connect("language.lang", "prefer.lang")
    pipe.connect("fusion.documents", "prefer.documents")
    pipe.connect("prefer.documents", "named.documents")
    pipe.connect("normalizer.text", "named.query")
    pipe.connect("embedder.embedding", "named.embedding")
    pipe.connect("named.documents", "collapse.documents")
    return pipe


#: Module patterns ``Pipeline.loads`` must be allowed to import for the query components.
ALLOWED_MODULES = ["kb.*"]


def load_query_pipeline(text: str) -> Pipeline:
    """Load a query pipeline dumped with ``Pipeline.dumps()`` (kb's modules allowed)."""
    return Pipeline.loads(text, allowed_modules=ALLOWED_MODULES)


@dataclass
class SearchResult:
    """One result: an article and its best-matching passage, with provenance."""

    rank: int
    article_id: str
    version: int | None
    title: str
    type: str
    section: str
    score: float
    passage: str
    char_start: int
    char_end: int
    chunk_id: str
    effective_from: str | None
    effective_to: str | None
    audience: str
    lang: str
    tags: list[str]
    matched_question: str | None = None
    retrieval: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_document(cls, rank: int, doc: Document) -> SearchResult:
        """Build a result from a fused chunk."""
        meta = doc.meta
        return cls(
            rank=rank,
            article_id=str(meta.get("article_id")),
            version=meta.get("version"),
            title=str(meta.get("title") or ""),
            type=str(meta.get("type") or ""),
            section=str(meta.get("section") or ""),
            score=round(float(doc.score or 0.0), 6),
            passage=doc.content or "",
            char_start=int(meta.get("char_start", 0)),
            char_end=int(meta.get("char_end", len(doc.content or ""))),
            chunk_id=doc.id,
            effective_from=date_text(meta.get("effective_from")),
            effective_to=date_text(meta.get("effective_to")),
            audience=str(meta.get("audience") or ""),
            lang=str(meta.get("lang") or ""),
            tags=[str(t) for t in meta.get("tags") or []],
            matched_question=meta.get("matched_question"),
            retrieval=dict(meta.get("retrieval") or {}),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


@dataclass
class SearchResponse:
    """The results of one search, the fused chunks behind them and how long it took."""

    query: str
    filters: SearchFilters
    results: list[SearchResult]
    chunks: list[Document]
    index_version: str
    latency_ms: float
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    query_embedding: np.ndarray | None = field(default=None, repr=False)
    snapshot: SearchView | None = field(default=None, repr=False)
    #: every fused chunk before the language preference (``LanguagePreference`` leaves the
    #: first article's linked translations out of ``chunks``; confidence reads them here)
    fused: list[Document] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (without the internal chunk list)."""
        return {
            "request_id": self.request_id,
            "query": self.query,
            "filters": self.filters.to_dict(),
            "index_version": self.index_version,
            "latency_ms": round(self.latency_ms, 1),
            "results": [r.to_dict() for r in self.results],
        }


class Searcher:
    """Runs the query pipeline against the live index: the entry point for search callers.

    Build one per process (it holds the pipeline and the models) and share it; ``search``
    is safe to call from several threads.
    """

    def __init__(
        self,
        config: Config,
        reader: SearchIndex | None = None,
        pipeline: Pipeline | None = None,
        resources: SearchResources | None = None,
    ) -> None:
        """Use the configured search store (``search_store``; or ``reader``) and the default
        pipeline (or ``pipeline``), built on ``resources`` (the process's models, readers
        and caches, ``Runtime.resources``; default: a new set for this searcher)."""
        self.config = config
        self.resources = resources if resources is not None else SearchResources()
        self.reader = reader or open_search_index(config, resources=self.resources)
        self.pipeline = pipeline or build_query_pipeline(config, resources=self.resources)
        self._warm = False
        self._model_id: str | None = None
        self.reader.on_new_view(self.prepare)

    def warm_up(self) -> None:
        """Load the models and the live index, and build its FAQ question index."""
        if not self._warm:
            self.pipeline.warm_up()
            self._warm = True
        snapshot = self.reader.snapshot()
        faq = self.pipeline.get_component("faq")
        if isinstance(faq, FaqMatcher):
            faq.question_index(snapshot)

    def prepare(self, view: SearchView) -> None:
        """Build what a search of ``view`` needs (its FAQ question index) before the reader
        serves it (``kb.search.preparing``); nothing before this searcher was warmed up."""
        if not self._warm:
            return
        faq = self.pipeline.get_component("faq")
        if isinstance(faq, FaqMatcher):
            faq.question_index(view)

    def remember_embeddings(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Query vectors already known for these normalised texts (``kb.text``), so that
        searching them does not embed them again (the golden check passes its own)."""
        embedder = self.pipeline.get_component("embedder")
        if isinstance(embedder, QueryVectorEmbedder):
            embedder.remember(texts, vectors)

    def _check_model(self, snap: SearchView) -> None:
        """NotReady when ``snap`` was built with another embedder than this pipeline's:
        its vectors and the query's would not be comparable."""
        if self._model_id is None:
            try:
                embedder = self.pipeline.get_component("embedder")
            except ValueError:  # a pipeline without one (tests, tools)
                embedder = None
            self._model_id = str(getattr(embedder, "model_id", ""))
        manifest = getattr(snap, "manifest", None) or {}  # a local version's; postgres checks
        built = manifest.get("model_id")  # the model when it writes
        if self._model_id and built and built != self._model_id:
            raise NotReady(
                f"the index was built with the embedder {built}, the embedder settings are "
                f"now {self._model_id}: rebuild it with `kb reindex --full` (or set them back)"
            )

    def snapshot(self) -> SearchView:
        """The live index snapshot (``NotReady`` when no index was built)."""
        return self.reader.snapshot()

    def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        top_k: int | None = None,
        one_per_article: bool = True,
        snapshot: SearchView | None = None,
    ) -> SearchResponse:
        """Ranked results for ``query`` (``top_k`` default: the ``top_k`` setting)."""
        started = time.perf_counter()
        filters = filters or SearchFilters()
        top_k = self.config.top_k if top_k is None else top_k
        if top_k < 1:
            raise InvalidInput("top_k must be at least 1")
        if not self._warm:
            self.warm_up()
        snap = snapshot or self.snapshot()
        if snap is None:
            raise NotReady("no search index; build one first")
        self._check_model(snap)
        out = run_haystack(
            self.pipeline,
            {
                "normalizer": {"query": query},
                "bm25": {"snapshot": SnapshotRef(snap), "filters": filters},
                "dense": {"snapshot": SnapshotRef(snap), "filters": filters},
                "faq": {"snapshot": SnapshotRef(snap), "filters": filters},
                "collapse": {"top_k": top_k, "one_per_article": one_per_article},
            },
            include_outputs_from={"embedder", "fusion"},
        )
        embedding = out["embedder"]["embedding"]
        fused = list((out.get("fusion") or {}).get("documents") or [])
        out = out["collapse"]
        results = [SearchResult.from_document(i, d) for i, d in enumerate(out["documents"], 1)]
        chunks = out["chunks"]
        latency = (time.perf_counter() - started) * 1000
        return SearchResponse(
            query,
            filters,
            results,
            chunks,
            snap.version,
            latency,
            query_embedding=embedding,
            snapshot=snap,
            fused=fused,
        )
