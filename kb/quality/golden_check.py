"""The golden check: which golden answers a version would fix, break or move.

For each golden question (``kb.quality.golden``) the top article is compared between the live
index and a shadow index with the version applied (``ShadowBuilder``: ingest builds it in
memory, ``kb.search.overlay``), both searched as of the day the version takes effect, as an
agent would (audience ``internal``). Outcomes:

* ``broken``: an expected article answered before, another (or none) would after;
* ``fixed``: the reverse;
* ``moved``: the answer changes, both wrong or both right (another expected article);
* unchanged answers are not reported.

Bounding the work: a question's answer is fused from four candidate lists (dense and
BM25 chunks, FAQ questions densely and lexically; ``kb.search.retrieval``). If the changed
article is in none of them, before or after, the inputs to fusion are the same chunks and
the answer cannot change (up to near ties; ``kb.quality.golden_filter`` states them). So every
question's live lists are computed once per live index version, in bulk, and kept; a
check scores only the changed article's new chunks against them, and only the questions
they can affect are searched in full (on the shadow; on the live index unless that
answer is kept). Golden questions are embedded when added (``prepare``).
``benchmarks/golden_check.py`` times it.

review asks for the check without importing ingest: front ends give their runtime
(``kb.runtime.Runtime``) a factory of the checker (their searcher and ingest's shadow
builder), and pass ``runtime.golden_checker`` to the review calls that check or publish.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kb.embedders import (
    EmbedderSpec,
    EmbeddingCache,
    default_cache_path,
    embed_with_cache,
)
from kb.model import ArticleContent
from kb.quality import golden_store
from kb.quality.golden import Golden
from kb.quality.golden_filter import (
    Depths,
    LiveLists,
    Scorer,
    Tokens,
    affected,
    tokenize_once,
    tokenizer_key,
)
from kb.search.bm25 import ChineseTokenizer
from kb.search.faq import FaqMatcher, question_embedder
from kb.search.filters import SearchFilters
from kb.search.index import IndexSnapshot
from kb.search.retrieval import Searcher
from kb.text import normalize_for_matching


class Outcome(StrEnum):
    """How a golden answer changes."""

    FIXED = "fixed"
    BROKEN = "broken"
    MOVED = "moved"
    UNCHANGED = "unchanged"


def classify(expected: Sequence[str], before: str | None, after: str | None) -> Outcome:
    """The outcome for a question whose top article goes from ``before`` to ``after``."""
    if before == after:
        return Outcome.UNCHANGED
    right_before, right_after = before in expected, after in expected
    if right_before and not right_after:
        return Outcome.BROKEN
    if right_after and not right_before:
        return Outcome.FIXED
    return Outcome.MOVED


@dataclass(frozen=True)
class GoldenResult:
    """One golden question whose answer would change."""

    golden: Golden
    before: str | None
    after: str | None
    outcome: Outcome

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            **self.golden.to_dict(),
            "before": self.before,
            "after": self.after,
            "outcome": str(self.outcome),
        }


@dataclass
class CheckReport:
    """The golden check of one version."""

    article_id: str
    version: int
    as_of: date
    index_version: str
    checked: int  # golden questions considered
    searched: int  # of which the changed article could affect (full search run twice)
    seconds: float
    changes: list[GoldenResult] = field(default_factory=list)
    steps: dict[str, float] = field(default_factory=dict)  # seconds: shadow, filter, search
    lists_from: str = ""  # where the live lists came from: memory, disk or computed

    def of(self, outcome: Outcome) -> list[GoldenResult]:
        """The changed answers with this outcome."""
        return [c for c in self.changes if c.outcome == outcome]

    @property
    def broken(self) -> list[GoldenResult]:
        """The golden answers this version would break."""
        return self.of(Outcome.BROKEN)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, the changes grouped by outcome."""
        return {
            "article_id": self.article_id,
            "version": self.version,
            "as_of": self.as_of.isoformat(),
            "index_version": self.index_version,
            "checked": self.checked,
            "searched": self.searched,
            "seconds": round(self.seconds, 3),
            "steps": self.steps,
            "lists_from": self.lists_from,
            **{str(o): [c.to_dict() for c in self.of(o)] for o in _REPORTED},
        }


_REPORTED = (Outcome.BROKEN, Outcome.FIXED, Outcome.MOVED)


def broken_summary(report: CheckReport, limit: int = 5) -> str:
    """One line naming the broken golden questions (the first ``limit``)."""
    items = [
        f"'{r.golden.question}' (expects {'/'.join(r.golden.expected)}, "
        f"would get {r.after or 'no answer'})"
        for r in report.broken[:limit]
    ]
    more = len(report.broken) - limit
    return "; ".join(items) + (f"; and {more} more" if more > 0 else "")


@runtime_checkable
class ShadowBuilder(Protocol):
    """Builds the live snapshot with one version applied, in memory (ingest implements it)."""

    def shadow(self, live: IndexSnapshot, content: ArticleContent, version: int) -> IndexSnapshot:
        """``live`` with ``content`` as ``version`` in place of its article's chunks."""
        ...


class GoldenChecker:
    """Runs golden questions against the live index and a version's shadow index.

    Keeps, between checks, what depends only on the live index and the golden questions:
    the questions' vectors and BM25 tokens, their live candidate lists
    (``kb.quality.golden_filter.LiveLists``) and their live answers. A check then scores only the
    changed article's new chunks and searches in full only the questions they can affect.
    """

    KEEP = 2  # live index versions whose lists and answers are kept

    def __init__(self, searcher: Searcher, builder: ShadowBuilder) -> None:
        """Search with ``searcher`` (its live reader and pipeline); shadows from ``builder``."""
        self.searcher = searcher
        self.builder = builder
        self._cache: EmbeddingCache | None = None
        self._vectors: dict[str, np.ndarray] = {}
        self._tokens: dict[tuple[str, str], list[str]] = {}
        self._lists: OrderedDict[tuple[Any, ...], LiveLists] = OrderedDict()
        self._lock = threading.RLock()
        self._shadows: OrderedDict[tuple[Any, ...], IndexSnapshot] = OrderedDict()
        self._answers: OrderedDict[tuple[str, SearchFilters], dict[str, str | None]] = OrderedDict()
        self._lists_from = ""  # where the last live_lists call found them

    def check(
        self,
        questions: Sequence[Golden],
        content: ArticleContent,
        version: int,
        as_of: date | None = None,
    ) -> CheckReport:
        """The golden answers that publishing ``content`` as ``version`` would change
        (one check at a time per checker: the app shares one between sessions)."""
        with self._lock:
            return self._check(questions, content, version, as_of)

    def _check(
        self,
        questions: Sequence[Golden],
        content: ArticleContent,
        version: int,
        as_of: date | None,
    ) -> CheckReport:
        started = time.perf_counter()
        day = as_of or effective_day(content)
        live = self.searcher.snapshot().materialize()  # bulk scoring needs it in memory
        if not questions:
            return CheckReport(content.id, version, day, live.version, 0, 0, 0.0)
        filters = SearchFilters.build(audience="internal", as_of=day)
        texts = [normalize_for_matching(g.question) for g in questions]
        vectors = self.vectors(texts)
        lists = self.live_lists(live, filters, texts, vectors)
        lists_from = self._lists_from
        live_done = time.perf_counter()
        shadow = self._shadow(live, content, version)
        shadow_done = time.perf_counter()
        hit = self._affected(lists, shadow, content.id, filters, texts, vectors)
        kept = [g for g, h in zip(questions, hit.tolist(), strict=True) if h]
        filter_done = time.perf_counter()
        changes = []
        for golden in kept:
            before = self._live_top(golden.question, filters, live)
            after = self._top(golden.question, filters, shadow)
            outcome = classify(golden.expected, before, after)
            if outcome != Outcome.UNCHANGED:
                changes.append(GoldenResult(golden, before, after, outcome))
        done = time.perf_counter()
        steps = {
            "live": live_done - started,
            "shadow": shadow_done - live_done,
            "filter": filter_done - shadow_done,
            "search": done - filter_done,
        }
        return CheckReport(
            content.id,
            version,
            day,
            live.version,
            len(questions),
            len(kept),
            done - started,
            changes,
            {k: round(v, 3) for k, v in steps.items()},
            lists_from,
        )

    def _shadow(self, live: IndexSnapshot, content: ArticleContent, version: int) -> IndexSnapshot:
        """The shadow index of the version (kept: submit, approval and publication check
        the same version over the same live index)."""
        key = (live.version, str(live.path), content.id, version, content.content_hash())
        if key not in self._shadows:
            self._shadows[key] = self.builder.shadow(live, content, version)
            while len(self._shadows) > self.KEEP:
                self._shadows.popitem(last=False)
        return self._shadows[key]

    def prepare(self, questions: Sequence[str]) -> None:
        """Embed golden questions now (into the embedding cache), so no check has to: call
        it when questions are added."""
        with self._lock:
            self.vectors([normalize_for_matching(q) for q in questions])

    def affected(
        self,
        questions: Sequence[Golden],
        article_id: str,
        live: IndexSnapshot,
        shadow: IndexSnapshot,
        filters: SearchFilters,
    ) -> list[Golden]:
        """The questions whose candidate lists a change of ``article_id`` (``live`` ->
        ``shadow``) can change: only they need a full search."""
        texts = [normalize_for_matching(g.question) for g in questions]
        with self._lock:
            vectors = self.vectors(texts)
            lists = self.live_lists(live, filters, texts, vectors)
            hit = self._affected(lists, shadow, article_id, filters, texts, vectors)
        return [g for g, h in zip(questions, hit.tolist(), strict=True) if h]

    def _affected(
        self,
        lists: LiveLists,
        shadow: IndexSnapshot,
        article_id: str,
        filters: SearchFilters,
        texts: list[str],
        vectors: np.ndarray,
    ) -> np.ndarray:
        scorer = self._scorer(shadow, filters)
        tokens = self.tokens(texts, _tokenizers(lists.scorer) + _tokenizers(scorer))
        return affected(lists, scorer, article_id, texts, vectors, tokens)

    def live_lists(
        self, live: IndexSnapshot, filters: SearchFilters, texts: list[str], vectors: np.ndarray
    ) -> LiveLists:
        """The questions' candidate lists on ``live`` (computed once per live version,
        filters and question set; kept in memory and stored next to the index version,
        ``kb.quality.golden_store``, for the next process)."""
        depths = self._depths()
        key = (live.version, str(live.path), filters, depths, tuple(texts))
        lists = self._lists.get(key)
        self._lists_from = "memory"
        if lists is None:
            lists = self._stored_or_computed(live, filters, texts, vectors)
            self.searcher.remember_embeddings(texts, vectors)
            self._lists[key] = lists
            while len(self._lists) > self.KEEP:
                self._lists.popitem(last=False)
        return lists

    def _stored_or_computed(
        self, live: IndexSnapshot, filters: SearchFilters, texts: list[str], vectors: np.ndarray
    ) -> LiveLists:
        """The live lists from the index version's file if it is exactly theirs, else
        computed in bulk and stored."""
        scorer = self._scorer(live, filters)
        tokenizers = _tokenizers(scorer)
        keys = [tokenizer_key(t) for t in tokenizers]
        key = golden_store.lists_key(scorer, filters, keys, texts, vectors)
        path = golden_store.path_for(live.path, key)
        tops = None if path is None else golden_store.load(path, key, scorer, len(texts))
        if tops is not None:
            self._lists_from = "disk"
            return LiveLists(scorer, texts, vectors, None, tops)
        lists = LiveLists(scorer, texts, vectors, self.tokens(texts, tokenizers))
        if path is not None:
            golden_store.save(path, key, lists.tops)
        self._lists_from = "computed"
        return lists

    def _scorer(self, snapshot: IndexSnapshot, filters: SearchFilters) -> Scorer:
        faq = self.searcher.pipeline.get_component("faq")
        questions = faq.question_index(snapshot) if isinstance(faq, FaqMatcher) else None
        return Scorer(snapshot, filters, self._depths(), questions)

    def _depths(self) -> Depths:
        """The candidate-list depths and sentence weight of the searcher's pipeline."""
        pipeline = self.searcher.pipeline
        dense = pipeline.get_component("dense")
        return Depths(
            dense=int(getattr(dense, "top_k", 20)),
            bm25=int(getattr(pipeline.get_component("bm25"), "top_k", 20)),
            faq=int(getattr(pipeline.get_component("faq"), "top_k", 10)),
            sentence_weight=float(getattr(dense, "sentence_weight", 0.0)),
        )

    def _top(self, question: str, filters: SearchFilters, snapshot: IndexSnapshot) -> str | None:
        response = self.searcher.search(question, filters, top_k=1, snapshot=snapshot)
        return response.results[0].article_id if response.results else None

    def _live_top(self, question: str, filters: SearchFilters, live: IndexSnapshot) -> str | None:
        """The live answer (kept per live version and filters: it does not depend on the
        change)."""
        key = (live.version, filters)
        answers = self._answers.get(key)
        if answers is None:
            answers = self._answers[key] = {}
            while len(self._answers) > self.KEEP:
                self._answers.popitem(last=False)
        if question not in answers:
            answers[question] = self._top(question, filters, live)
        return answers[question]

    def vectors(self, texts: list[str]) -> np.ndarray:
        """Query vectors of normalised ``texts``: kept ones, else from the embedding cache
        (FAQ questions are there since ingest, golden ones since they were added), else
        embedded now."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._vectors))
        if missing:
            for text, vector in zip(missing, self._embed(missing), strict=True):
                self._vectors[text] = vector
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._vectors[t] for t in texts]).astype(np.float32, copy=False)

    def tokens(self, texts: list[str], tokenizers: Sequence[ChineseTokenizer]) -> Tokens:
        """The texts' BM25 tokens under each tokenizer (kept between checks)."""
        out: Tokens = {}
        for tokenizer in tokenizers:
            key = tokenizer_key(tokenizer)
            if key in out:
                continue
            missing = [t for t in dict.fromkeys(texts) if (key, t) not in self._tokens]
            for text, words in zip(missing, tokenize_once(missing, [tokenizer])[key], strict=True):
                self._tokens[(key, text)] = words
            out[key] = [self._tokens[(key, t)] for t in texts]
        return out

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Query vectors of ``texts`` through the embedding cache (FAQ questions are there)."""
        config = self.searcher.config
        backend = self.searcher.resources.backends.get(EmbedderSpec.from_config(config))
        if self._cache is None:
            self._cache = EmbeddingCache(default_cache_path(config))
        vectors, _computed = embed_with_cache(
            question_embedder(backend, "query"), self._cache, texts
        )
        return vectors


def _tokenizers(scorer: Scorer) -> list[ChineseTokenizer]:
    """The BM25 tokenizers a snapshot's lists use (chunks, FAQ questions)."""
    out = [scorer.snapshot.bm25_tokenizer]
    if scorer.questions is not None and scorer.questions.bm25 is not None:
        out.append(scorer.questions.bm25.tokenizer)
    return out


def effective_day(content: ArticleContent, today: date | None = None) -> date:
    """The day a version is checked on: today, or its first effective day if later."""
    today = today or date.today()
    return max(today, content.effective_from) if content.effective_from else today


CheckerFactory = Callable[[], GoldenChecker]
"""Builds (or returns a cached) golden checker; building it may raise ``NotReady``."""
