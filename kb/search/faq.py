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

From ``FAQ_SCAN_MIN_QUESTIONS`` questions on, the dense side does not compute every
question's cosine (issue 16: 60,000 questions cost more than the rest of the FAQ matching):
an 8-bit scan (``kb.search.dense.QuantizedRows``) picks the ``FAQ_SCAN_FETCH`` best
questions, which are scored exactly, and its error bound gives a ceiling for every
question it left out; the questions scoring above the ceiling are ranked exactly as the
full computation ranks them (same arithmetic, bit for bit), and the matcher computes
every cosine only when it needs to rank further than that.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
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
from kb.search.dense import ROUNDING_SLACK, QuantizedRows
from kb.search.faq_questions import faq_questions as faq_questions  # re-exported
from kb.search.filters import SearchFilters
from kb.search.snapshot import Ranked, SnapshotRef, lean_chunk
from kb.search.store import SearchView
from kb.text import normalize_for_matching

if TYPE_CHECKING:
    from kb.search.resources import SearchResources

logger = logging.getLogger(__name__)

QUESTION_STYLES = ("query", "passage")
#: From this many FAQ questions on, the dense side scans an 8-bit copy of their vectors
#: first (see the module docstring; docs/benchmarks.md, "faqspeed").
FAQ_SCAN_MIN_QUESTIONS = 20_000
#: Questions the 8-bit scan fetches and scores exactly (measured at 60,093 questions: the
#: best 231 or more of them always came out proven, ~10 FAQs are asked for).
FAQ_SCAN_FETCH = 256
#: Questions of one language and neutral factor are scanned in 8 bits from this many on
#: (fewer are scored exactly).
FAQ_PART_MIN_QUESTIONS = 1024
#: The neutral factors of the questions of one 8-bit scan are within this ratio (the
#: ceiling of the questions it leaves out is their cosine bound times the largest).
STRETCH_STEP = 1.05
#: Rows of each stack an exact product over fetched questions is computed in: OpenBLAS
#: then computes each row as in the product over every question (bit-identical scores).
_PAD_ROWS = 16


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
    parts: list[QuestionPart] = field(default_factory=list)  # by language (large indexes)
    _of_lang: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.questions)

    def in_language(self, lang: str) -> np.ndarray:
        """Which questions are in base language ``lang`` (a boolean mask, kept)."""
        mask = self._of_lang.get(lang)
        if mask is None:
            mask = self._of_lang[lang] = np.asarray(self.langs == lang, dtype=bool)
        return mask


@dataclass
class QuestionPart:
    """Questions of one base language whose ``neutral_scores`` factors (what their
    language-neutral cosines are multiplied by) lie within ``STRETCH_STEP`` of each other:
    their rows, an 8-bit copy of their vectors (from ``FAQ_PART_MIN_QUESTIONS`` questions
    on, else None: they are scored exactly) and the least and most of those factors."""

    lang: str
    rows: np.ndarray
    scan: QuantizedRows | None
    stretch: tuple[float, float]


def _parts(vectors: np.ndarray, along: np.ndarray, langs: np.ndarray) -> list[QuestionPart]:
    """The questions split by language and by neutral factor, for the 8-bit scans."""
    shares = np.einsum("ij,ij->i", along, along)  # as ``neutral_scores`` computes them
    factors = 1.0 / np.sqrt(np.clip(1.0 - shares, 1e-6, None))
    steps = np.floor(np.log(factors) / np.log(STRETCH_STEP)).astype(np.int64)
    parts = []
    for lang in sorted(set(langs.tolist())):
        of_lang = langs == lang
        for step in sorted(set(steps[of_lang].tolist())):
            rows = np.flatnonzero(of_lang & (steps == step))
            scan = None
            if len(rows) >= FAQ_PART_MIN_QUESTIONS:
                scan = QuantizedRows(partial(_blocks, vectors, rows), vectors.shape[1])
            stretch = (float(factors[rows].min()), float(factors[rows].max()))
            parts.append(QuestionPart(lang, rows, scan, stretch))
    return parts


def _blocks(vectors: np.ndarray, rows: np.ndarray, size: int = 2048) -> Iterator[np.ndarray]:
    """``vectors[rows]`` in blocks of ``size`` rows (copies of one block at a time)."""
    for start in range(0, len(rows), size):
        yield vectors[rows[start : start + size]]


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
    indexes: QuestionIndexCache | None = None,
) -> QuestionIndex:
    """Embed (through the cache) and BM25-index every FAQ question of ``snapshot``
    (segmenting only the questions ``indexes`` has no tokens of yet)."""
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
        bm25 = _question_bm25(snapshot, texts, tokenizer, indexes)
    basis = language_basis(_centroids(vectors, langs) if texts else {}, backend.dim)
    along = language_along(vectors, basis)
    names = np.asarray(langs, dtype=object)
    index = QuestionIndex(chunk_ids, questions, vectors, bm25, basis, along, names)
    if len(texts) >= FAQ_SCAN_MIN_QUESTIONS:
        index.parts = _parts(vectors, along, names)
    return index


def _question_bm25(
    snapshot: SearchView,
    texts: list[str],
    tokenizer: ChineseTokenizer,
    indexes: QuestionIndexCache | None = None,
) -> BM25Index:
    """The BM25 index of the questions ``texts`` (in matching form): the one the index
    version stores when it has one for them (``kb.search.faq_questions``), else built,
    reusing the tokens of the previous build's questions (``indexes``) where they are the
    same text (the postgres store: a new version rebuilds it; segmenting every question
    again was most of a replica's preparation, docs/benchmarks.md)."""
    stored = getattr(snapshot, "stored_questions_bm25", None)
    index = stored(tokenizer) if callable(stored) else None
    if isinstance(index, BM25Index) and len(index) == len(texts):
        return index
    known = indexes.known_tokens(tokenizer) if indexes is not None else {}
    tokens: dict[str, list[str]] = {}
    for text in texts:
        if text not in tokens:
            found = known.get(text)
            tokens[text] = found if found is not None else tokenizer.tokenize(text)
    if indexes is not None:
        indexes.remember_tokens(tokenizer, tokens)
    return BM25Index.build(((str(i), tokens[t]) for i, t in enumerate(texts)), tokenizer)


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
        # the question tokens of the last index built with each tokenizer (a tokenizer
        # replaced after its user dictionary changed is dropped with its tokens)
        self._tokens: weakref.WeakKeyDictionary[ChineseTokenizer, dict[str, list[str]]] = (
            weakref.WeakKeyDictionary()
        )

    def known_tokens(self, tokenizer: ChineseTokenizer) -> dict[str, list[str]]:
        """The tokens ``tokenizer`` gave the questions of the last index built with it
        (question in matching form -> tokens): a new version's index reuses them instead of
        segmenting every kept question again."""
        with self._lock:
            return self._tokens.get(tokenizer, {})

    def remember_tokens(self, tokenizer: ChineseTokenizer, tokens: dict[str, list[str]]) -> None:
        """Keep ``tokens`` (one version's questions) as ``known_tokens(tokenizer)``."""
        with self._lock:
            self._tokens[tokenizer] = tokens

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
                snapshot,
                backend,
                self._cache,
                self.question_style,
                tokenizer,
                self.resources.question_indexes,
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
        scorer = _DenseScorer(index, query, lang, self.neutral)
        rankings = [_Ranking(index, scorer.best_first())]
        if index.bm25 is not None:
            scores = index.bm25.scores(text)
            best = ((i, float(scores[i]), None) for i in _best_first(scores))
            rankings.append(_Ranking(index, best))
        served = _Served(snap, filters, 2 * self.top_k)
        served.check(rankings)  # the heads of both rankings in one look-up
        dense = self._rank(snap, index, rankings[0], served)
        lexical = self._rank(snap, index, rankings[1], served) if len(rankings) > 1 else []
        return {"dense": Ranked(dense), "lexical": Ranked(lexical)}

    def _rank(
        self, snap: SearchView, index: QuestionIndex, ranking: _Ranking, served: _Served
    ) -> list[Document]:
        """FAQ chunks in order of their best question's score, at most ``top_k``, each
        served now and passing the filters (a raw cosine kept as ``cosine`` when the score
        is language-neutral)."""
        out: list[Document] = []
        for position, (qi, chunk_id, score, raw) in enumerate(ranking):
            if not served.allows(chunk_id, ranking, position):
                continue
            extra: dict[str, Any] = {"matched_question": index.questions[qi]}
            if raw is not None:
                extra["cosine"] = round(raw, 6)
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
    ``best`` (``(question row, score, raw cosine or None)`` best first): ``items`` holds
    ``(question row, chunk id, score, raw)`` as far as read."""

    def __init__(
        self, index: QuestionIndex, best: Iterator[tuple[int, float, float | None]]
    ) -> None:
        self._source = best
        self._index = index
        self._seen: set[str] = set()
        self.items: list[tuple[int, str, float, float | None]] = []

    def read(self, n: int) -> int:
        """Read until ``items`` holds ``n`` (fewer at the end); how many it holds."""
        while len(self.items) < n:
            item = next(self._source, None)
            if item is None:
                break
            qi, score, raw = item
            chunk_id = self._index.chunk_ids[qi]
            if chunk_id not in self._seen:
                self._seen.add(chunk_id)
                self.items.append((qi, chunk_id, score, raw))
        return len(self.items)

    def __iter__(self) -> Iterator[tuple[int, str, float, float | None]]:
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
            for item in ranking.items[start : start + self._batch]:
                if item[1] not in self._known:
                    wanted.append(item[1])
        if wanted:
            allowed = self._snap.served(wanted, self._filters)
            for chunk_id in wanted:
                self._known[chunk_id] = chunk_id in allowed

    def allows(self, chunk_id: str, ranking: _Ranking, position: int) -> bool:
        """Whether ``chunk_id`` (at ``position`` of ``ranking``) is served and passes."""
        if chunk_id not in self._known:
            self.check([ranking], position)
        return self._known[chunk_id]


class _DenseScorer:
    """The dense scores of one question against the FAQ questions, best first.

    With ``neutral`` and a language basis, questions in another language than ``lang``
    (all when it is unknown) score their language-neutral cosine, the others their raw
    cosine (``kb.search.crosslang``); without, the raw cosine.
    """

    def __init__(self, index: QuestionIndex, query: np.ndarray, lang: str, neutral: bool) -> None:
        """Score ``query`` (a unit vector) against ``index``'s questions."""
        self.index, self.query = index, query
        self.neutral = neutral and bool(len(index.basis))
        self.unit = neutral_query(query, index.basis)[0] if self.neutral else query
        self.own = index.in_language(base_language(lang)) if lang and self.neutral else None

    def scores(self, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray | None]:
        """``(scores, raw cosines or None)`` of every question or of question ``rows``."""
        index = self.index
        if rows is None:
            cosines = index.vectors @ self.unit
        else:
            cosines = _rows_product(index.vectors, rows, self.unit)
        if not self.neutral:
            return cosines, None
        along = index.along if rows is None else index.along[rows]
        scores, raw = neutral_scores(cosines, along, self.query, index.basis)
        if self.own is not None:
            own = self.own if rows is None else self.own[rows]
            scores = np.where(own, raw, scores)
        return scores, raw

    def best_first(self) -> Iterator[tuple[int, float, float | None]]:
        """``(question, score, raw cosine or None)``, best first, positive scores only:
        first those the 8-bit scans prove to be the best, then (only if the caller reads
        on) the rest from every question's score."""
        done: set[int] = set()
        if self.index.parts:
            for item in self._proven():
                if item is None:
                    return
                done.add(item[0])
                yield item
        scores, raw = self.scores()
        for i in _best_first(scores):
            if i not in done:
                yield i, float(scores[i]), None if raw is None else float(raw[i])

    def _proven(self) -> Iterator[tuple[int, float, float | None] | None]:
        """The fetched questions that score above every question the scans left out, best
        first (ties by row); ``None`` at the end when no positive score is left at all."""
        fetched, ceiling = [], -np.inf
        for part in self.index.parts:
            if part.scan is None or len(part.rows) <= FAQ_SCAN_FETCH:
                fetched.append(part.rows)  # scored exactly, all of them
                continue
            raw_side = self.own is not None and bool(self.own[part.rows[0]])
            query = self.query if raw_side or not self.neutral else self.unit
            if abs(float(np.linalg.norm(query)) - 1.0) > 1e-3:
                return  # not a unit vector: the scan's bound would not hold
            found, approx = part.scan.search(query, FAQ_SCAN_FETCH)
            fetched.append(part.rows[found])
            cosine = float(approx[-1]) + part.scan.bound(query)  # of every row left out
            if self.neutral and not raw_side:  # a neutral score: the cosine times a factor
                cosine = max(cosine * part.stretch[0], cosine * part.stretch[1])
            ceiling = max(ceiling, cosine + ROUNDING_SLACK)
        rows = np.sort(np.concatenate(fetched))
        scores, raw = self.scores(rows)
        for j in np.lexsort((rows, -scores)).tolist():
            score = float(scores[j])
            if score <= ceiling:
                return  # a question left out may score as much: the caller computes all
            if score <= 0:
                yield None
                return
            yield int(rows[j]), score, None if raw is None else float(raw[j])
        if ceiling == -np.inf:
            yield None  # every question was scored


def _rows_product(matrix: np.ndarray, rows: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``(matrix @ vector)[rows]``, bit for bit, computing only those rows: in stacks of
    ``_PAD_ROWS`` rows (the last padded), so that OpenBLAS takes its main path for each row
    and no thread team (measured under load: 15 ms a request waiting for BLAS threads
    for one product over a few hundred rows)."""
    take = matrix[rows]
    pad = -len(rows) % _PAD_ROWS
    if pad:
        take = np.concatenate([take, np.zeros((pad, matrix.shape[1]), dtype=take.dtype)])
    stacks = take.reshape(-1, _PAD_ROWS, matrix.shape[1])
    return (stacks @ vector).reshape(-1)[: len(rows)]


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
