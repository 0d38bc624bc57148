"""FAQ matching: the question against every FAQ's standard question and each similar question.

An FAQ article is one chunk in the index (its answer), and its vector embeds the standard
question, the similar questions and the answer together. A customer's question, though, is
a paraphrase of *one* of those questions, so ``FaqMatcher`` compares it with each question
on its own, two ways:

- dense: cosine between the query vector and each question's vector. Questions are embedded
  the way queries are (e5's ``query:`` side: question-to-question similarity is symmetric),
  through the persistent embedding cache under a model id of their own, so each question is
  embedded once per model, ever; a new index version only embeds new questions.
- lexical: BM25 over the questions alone (jieba words + characters, ``kb.search.bm25``), so a
  short question is not drowned by the answer's words.

An FAQ's score is its best question's score; ``matched_question`` says which question won.
The per-snapshot question index is built on first use and kept for the next requests.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from haystack import Document, component, default_from_dict, default_to_dict

from kb.embedders import (
    EmbedderSpec,
    EmbeddingBackend,
    EmbeddingCache,
    create_backend,
    embed_with_cache,
)
from kb.language import base_language
from kb.search.bm25 import BM25Index, ChineseTokenizer
from kb.search.crosslang import (
    common_languages,
    language_along,
    language_basis,
    neutral_query,
    neutral_scores,
)
from kb.search.faq_questions import faq_questions as faq_questions  # re-exported
from kb.search.filters import SearchFilters
from kb.search.snapshot import Ranked, SnapshotRef, lean_chunk
from kb.search.store import SearchView
from kb.text import normalize_for_matching

if TYPE_CHECKING:
    from kb.search.resources import SearchResources

logger = logging.getLogger(__name__)

QUESTION_STYLES = ("query", "passage")


class _QueryStyle(EmbeddingBackend):
    """Embeds "passages" as queries, under a model id of their own (for the cache)."""

    def __init__(self, inner: EmbeddingBackend) -> None:
        self.inner = inner

    @property
    def model_id(self) -> str:
        return self.inner.model_id + "|as-query"

    @property
    def dim(self) -> int:
        return self.inner.dim

    def warm_up(self) -> None:
        self.inner.warm_up()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.empty((0, self.dim), dtype=np.float32)
        return np.stack([self.inner.embed_query(t) for t in texts]).astype(np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


def question_embedder(backend: EmbeddingBackend, style: str = "query") -> EmbeddingBackend:
    """The embedder FAQ questions go through (its ``model_id`` keys them in the cache)."""
    return _QueryStyle(backend) if style == "query" else backend


@dataclass
class QuestionIndex:
    """The FAQ questions of one index snapshot: rows, vectors and a BM25 index."""

    chunk_ids: list[str]  # the FAQ chunk of each question
    questions: list[str]  # the question as written
    vectors: np.ndarray  # (n, dim) unit vectors
    bm25: BM25Index | None
    basis: np.ndarray  # the questions' language direction(s) (``kb.search.crosslang``)
    along: np.ndarray  # each question vector's coordinates along ``basis``
    langs: np.ndarray  # each question's base language (its FAQ's)

    def __len__(self) -> int:
        return len(self.questions)


def _collect(snapshot: SearchView) -> tuple[list[str], list[str], list[str]]:
    """(chunk id, question, base language) for every question of every FAQ chunk."""
    chunk_ids, questions, langs = [], [], []
    for doc in snapshot.documents():
        if doc.meta.get("type") != "faq":
            continue
        for question in faq_questions(doc.meta, doc.content or ""):
            chunk_ids.append(doc.id)
            questions.append(question)
            langs.append(base_language(doc.meta.get("lang")))
    return chunk_ids, questions, langs


def _centroids(vectors: np.ndarray, langs: list[str]) -> dict[str, np.ndarray]:
    """The mean question vector of each language enough questions are in."""
    names = np.asarray(langs, dtype=object)
    means = {name: vectors[names == name].mean(axis=0) for name in set(langs)}
    return common_languages(means, langs)


def build_question_index(
    snapshot: SearchView,
    backend: EmbeddingBackend,
    cache: EmbeddingCache | None,
    style: str,
    tokenizer: ChineseTokenizer,
) -> QuestionIndex:
    """Embed (through the cache) and BM25-index every FAQ question of ``snapshot``."""
    chunk_ids, questions, langs = _collect(snapshot)
    texts = [normalize_for_matching(q) for q in questions]
    embedder = question_embedder(backend, style)
    if texts:
        vectors, computed = embed_with_cache(embedder, cache, texts)
        if computed:
            logger.info("embedded %d new FAQ questions for %s", computed, snapshot.version)
    else:
        vectors = np.zeros((0, backend.dim), dtype=np.float32)
    bm25 = None
    if texts:
        bm25 = _question_bm25(snapshot, texts, tokenizer)
    basis = language_basis(_centroids(vectors, langs) if texts else {}, backend.dim)
    along = language_along(vectors, basis)
    names = np.asarray(langs, dtype=object)
    return QuestionIndex(chunk_ids, questions, vectors, bm25, basis, along, names)


def _question_bm25(
    snapshot: SearchView, texts: list[str], tokenizer: ChineseTokenizer
) -> BM25Index:
    """The BM25 index of the questions ``texts`` (in matching form): the one the index
    version stores when it has one for them (``kb.search.faq_questions``), else built."""
    stored = getattr(snapshot, "stored_questions_bm25", None)
    index = stored(tokenizer) if callable(stored) else None
    if isinstance(index, BM25Index) and len(index) == len(texts):
        return index
    pairs = ((str(i), tokenizer.tokenize(t)) for i, t in enumerate(texts))
    return BM25Index.build(pairs, tokenizer)


class QuestionIndexCache:
    """Question indexes of the last few snapshots, each built once by one thread.

    The process's ``Runtime`` owns one (``runtime.resources.question_indexes``), shared by
    every ``FaqMatcher`` it builds. A build holds only its own key's lock: requests reading
    a cached index do not wait while another version's index is being prepared.
    """

    def __init__(self, size: int = 4) -> None:
        """An empty cache of at most ``size`` question indexes."""
        self.size = size
        self.built = 0  # question indexes built so far (tests check nothing is built twice)
        self._items: OrderedDict[tuple, QuestionIndex] = OrderedDict()
        self._building: dict[tuple, threading.Lock] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple, build: Any) -> QuestionIndex:
        """The index cached under ``key``, else ``build()``'s (kept for the next calls;
        callers asking for the same key meanwhile wait for that one build)."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            try:
                index = build()
            except BaseException:
                with self._lock:
                    self._building.pop(key, None)
                raise
            with self._lock:
                self.built += 1
                self._items[key] = index
                self._building.pop(key, None)
                while len(self._items) > self.size:
                    self._items.popitem(last=False)
            return index


@component
class FaqMatcher:
    """Scores FAQ chunks by their best-matching question, densely and lexically.

    Outputs two rankings of FAQ chunks (each at most ``top_k``, filters applied):
    ``dense`` (score: cosine with the best question) and ``lexical`` (score: BM25 of the
    best question). Each chunk's meta gets ``matched_question`` and ``faq_dense`` /
    ``faq_lexical`` (that score).
    """

    def __init__(
        self,
        spec: EmbedderSpec | dict[str, Any] | None = None,
        cache_path: str | None = None,
        top_k: int = 30,
        question_style: str = "query",
        jieba_user_dict: str = "",
        neutral: bool = True,
        resources: SearchResources | None = None,
    ) -> None:
        """Store the embedder ``spec``, the embedding cache file, the ranking depth, the
        jieba user dictionary of the index (``jieba_user_dict`` setting) and the share of
        whether question cosines are language-neutral (``kb.search.crosslang``). The
        backend, the tokenizer and the question indexes come from ``resources`` (the
        process's, ``Runtime.resources``; default: a set of this matcher's own)."""
        if resources is None:
            from kb.search.resources import SearchResources

            resources = SearchResources()
        self.resources = resources
        self.spec = EmbedderSpec.from_dict(spec)
        create_backend(self.spec)  # validates; loads nothing
        if question_style not in QUESTION_STYLES:
            raise ValueError(f"question_style must be one of {QUESTION_STYLES}")
        self.cache_path = cache_path
        self.top_k = top_k
        self.question_style = question_style
        self.jieba_user_dict = jieba_user_dict
        self.neutral = neutral
        self._cache: EmbeddingCache | None = None

    def warm_up(self) -> None:
        """Load the model and open the embedding cache (idempotent)."""
        self.resources.backends.get(self.spec).warm_up()
        if self._cache is None and self.cache_path:
            self._cache = EmbeddingCache(self.cache_path)

    def question_index(self, snapshot: SearchView) -> QuestionIndex:
        """The question index of ``snapshot`` (built on first use, then reused)."""
        self.warm_up()
        backend = self.resources.backends.get(self.spec)
        key = (snapshot.identity, snapshot.version, backend.model_id, self.question_style)
        tokenizer = self.resources.tokenizers.get(self.jieba_user_dict or None)
        return self.resources.question_indexes.get(
            key,
            lambda: build_question_index(
                snapshot, backend, self._cache, self.question_style, tokenizer
            ),
        )

    @component.output_types(dense=Ranked, lexical=Ranked)
    def run(
        self,
        text: str,
        embedding: np.ndarray,
        snapshot: SnapshotRef,
        filters: SearchFilters,
        lang: str = "",
    ) -> dict[str, Ranked]:
        """Rank the FAQ chunks that pass ``filters`` by their best question. With
        ``neutral`` and questions in several languages, those in another language than the
        question's ``lang`` (all when it is unknown) score their language-neutral cosine."""
        snap = snapshot.snapshot
        index = self.question_index(snap)
        if not len(index):
            return {"dense": Ranked(), "lexical": Ranked()}
        query = np.asarray(embedding, dtype=np.float32)
        raw = None
        if self.neutral and len(index.basis):
            unit, _ = neutral_query(query, index.basis)
            dense_scores, raw = neutral_scores(
                index.vectors @ unit, index.along, query, index.basis
            )
            if lang:
                dense_scores = np.where(index.langs == base_language(lang), raw, dense_scores)
        else:
            dense_scores = index.vectors @ query
        lexical_scores = index.bm25.scores(text) if index.bm25 is not None else None
        rankings = [_Ranking(index, dense_scores)]
        if lexical_scores is not None:
            rankings.append(_Ranking(index, lexical_scores))
        served = _Served(snap, filters, 2 * self.top_k)
        served.check(rankings)  # the heads of both rankings in one look-up
        dense = self._rank(snap, index, rankings[0], dense_scores, served, "faq_dense", raw)
        lexical: list[Document] = []
        if lexical_scores is not None:
            lexical = self._rank(snap, index, rankings[1], lexical_scores, served, "faq_lexical")
        return {"dense": Ranked(dense), "lexical": Ranked(lexical)}

    def _rank(
        self,
        snap: SearchView,
        index: QuestionIndex,
        ranking: _Ranking,
        scores: np.ndarray,
        served: _Served,
        key: str,
        raw: np.ndarray | None = None,
    ) -> list[Document]:
        """FAQ chunks in order of their best question's score, at most ``top_k``, each
        served now and passing the filters (``raw``: the raw cosines when ``scores`` are
        language-neutral, kept as ``cosine``)."""
        out: list[Document] = []
        for position, (qi, chunk_id) in enumerate(ranking):
            if not served.allows(chunk_id, ranking, position):
                continue
            score = float(scores[qi])
            extra: dict[str, Any] = {"matched_question": index.questions[qi]}
            if raw is not None:
                extra["cosine"] = round(float(raw[qi]), 6)
            out.append(lean_chunk(snap.chunk(chunk_id), score, **extra))
            if len(out) >= self.top_k:
                break
        return out

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(
            self,
            spec=self.spec.to_dict(),
            cache_path=self.cache_path,
            top_k=self.top_k,
            question_style=self.question_style,
            jieba_user_dict=self.jieba_user_dict,
            neutral=self.neutral,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaqMatcher:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


class _Ranking:
    """FAQ chunks by their best question, best first (each chunk once), taken lazily from
    the scores: ``items`` holds ``(question row, chunk id)`` as far as read."""

    def __init__(self, index: QuestionIndex, scores: np.ndarray) -> None:
        self._source = _best_first(scores)
        self._index = index
        self._seen: set[str] = set()
        self.items: list[tuple[int, str]] = []

    def read(self, n: int) -> int:
        """Read until ``items`` holds ``n`` (fewer at the end); how many it holds."""
        while len(self.items) < n:
            qi = next(self._source, None)
            if qi is None:
                break
            chunk_id = self._index.chunk_ids[qi]
            if chunk_id not in self._seen:
                self._seen.add(chunk_id)
                self.items.append((qi, chunk_id))
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[int, str]]:
        position = 0
        while self.read(position + 1) > position:
            yield self.items[position]
            position += 1


class _Served:
    """Which ranked FAQ chunks the view serves now under the filters
    (``SearchView.served``), looked up a batch of positions at a time."""

    def __init__(self, snap: SearchView, filters: SearchFilters, batch: int) -> None:
        self._snap = snap
        self._filters = filters
        self._batch = max(1, batch)
        self._known: dict[str, bool] = {}

    def check(self, rankings: list[_Ranking], start: int = 0) -> None:
        """Look up the chunks not known yet at positions ``start`` to ``start + batch``."""
        wanted: list[str] = []
        for ranking in rankings:
            ranking.read(start + self._batch)
            for _, chunk_id in ranking.items[start : start + self._batch]:
                if chunk_id not in self._known:
                    wanted.append(chunk_id)
        if wanted:
            allowed = self._snap.served(wanted, self._filters)
            for chunk_id in wanted:
                self._known[chunk_id] = chunk_id in allowed

    def allows(self, chunk_id: str, ranking: _Ranking, position: int) -> bool:
        """Whether ``chunk_id`` (at ``position`` of ``ranking``) is served and passes."""
        if chunk_id not in self._known:
            self.check([ranking], position)
        return self._known[chunk_id]


def _best_first(scores: np.ndarray) -> Iterator[int]:
    """Indexes of positive scores, best first (a partial sort first, a full one if needed)."""
    n = len(scores)
    head = min(n, 256)
    top = np.argpartition(-scores, head - 1)[:head] if head < n else np.arange(n)
    top = top[np.argsort(-scores[top], kind="stable")]
    for i in top.tolist():
        if scores[i] <= 0:
            return
        yield i
    if head < n:
        rest = np.argsort(-scores, kind="stable")[head:]
        for i in rest.tolist():
            if scores[i] <= 0:
                return
            yield i
