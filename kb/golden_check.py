"""The golden check: which golden answers a version would fix, break or move.

For each golden question (``kb.golden``) the top article is compared between the live
index and a shadow index with the version applied (``ShadowBuilder``: ingest builds it in
memory, ``kb.overlay``), both searched as of the day the version takes effect, as an
agent would (audience ``internal``). Outcomes:

* ``broken``: an expected article answered before, another (or none) would after;
* ``fixed``: the reverse;
* ``moved``: the answer changes, both wrong or both right (another expected article);
* unchanged answers are not reported.

Bounding the work: a question's answer is fused from four candidate lists (dense and
BM25 chunks, FAQ questions densely and lexically; ``kb.retrieval``). If the changed
article is in none of them, before or after, the inputs to fusion are the same chunks and
the answer cannot change (up to the small shift in BM25 term statistics that one
article's text makes). So all questions first go through that test in bulk
(``kb.golden_filter``: matrix products over both snapshots), and only those whose lists
hold the changed article run the full search twice. ``benchmarks/golden_check.py``
times it.

review asks for the check without importing ingest: front ends register a factory of the
checker (their searcher and ingest's shadow builder) with ``register_checker``, like
``kb.outbox``'s updaters; ``registered_checker`` is None when none was registered.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Protocol, runtime_checkable

import numpy as np

from kb.embedders import EmbeddingCache, default_cache_path, embed_with_cache, shared_backend
from kb.faq import FaqMatcher, question_embedder
from kb.filters import SearchFilters
from kb.golden import Golden
from kb.golden_filter import CandidateFilter, Depths, tokenize_once
from kb.index import IndexSnapshot
from kb.model import ArticleContent
from kb.retrieval import Searcher
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
    """Runs golden questions against the live index and a version's shadow index."""

    def __init__(self, searcher: Searcher, builder: ShadowBuilder) -> None:
        """Search with ``searcher`` (its live reader and pipeline); shadows from ``builder``."""
        self.searcher = searcher
        self.builder = builder
        self._cache: EmbeddingCache | None = None

    def check(
        self,
        questions: Sequence[Golden],
        content: ArticleContent,
        version: int,
        as_of: date | None = None,
    ) -> CheckReport:
        """The golden answers that publishing ``content`` as ``version`` would change."""
        started = time.perf_counter()
        day = as_of or effective_day(content)
        live = self.searcher.snapshot()
        if not questions:
            return CheckReport(content.id, version, day, live.version, 0, 0, 0.0)
        shadow = self.builder.shadow(live, content, version)
        shadow_done = time.perf_counter()
        filters = SearchFilters.build(audience="internal", as_of=day)
        affected = self.affected(questions, content.id, (live, shadow), filters)
        filter_done = time.perf_counter()
        changes = []
        for golden in affected:
            before = self._top(golden.question, filters, live)
            after = self._top(golden.question, filters, shadow)
            outcome = classify(golden.expected, before, after)
            if outcome != Outcome.UNCHANGED:
                changes.append(GoldenResult(golden, before, after, outcome))
        done = time.perf_counter()
        steps = {
            "shadow": shadow_done - started,
            "filter": filter_done - shadow_done,
            "search": done - filter_done,
        }
        return CheckReport(
            content.id,
            version,
            day,
            live.version,
            len(questions),
            len(affected),
            done - started,
            changes,
            {k: round(v, 3) for k, v in steps.items()},
        )

    def _top(self, question: str, filters: SearchFilters, snapshot: IndexSnapshot) -> str | None:
        response = self.searcher.search(question, filters, top_k=1, snapshot=snapshot)
        return response.results[0].article_id if response.results else None

    def affected(
        self,
        questions: Sequence[Golden],
        article_id: str,
        snapshots: Sequence[IndexSnapshot],
        filters: SearchFilters,
    ) -> list[Golden]:
        """The questions whose candidate lists hold ``article_id`` in any of ``snapshots``."""
        if not questions:
            return []
        texts = [normalize_for_matching(g.question) for g in questions]
        vectors = self._embed(texts)
        self.searcher.remember_embeddings(texts, vectors)
        hit = np.zeros(len(questions), dtype=bool)
        tests = [self._filter(snapshot, filters, article_id) for snapshot in snapshots]
        tokenizers = [t.snapshot.bm25_tokenizer for t in tests]
        tokenizers += [
            t.questions.bm25.tokenizer for t in tests if t.questions and t.questions.bm25
        ]
        tokens = tokenize_once(texts, tokenizers)
        for test in tests:
            hit |= test.hits(texts, vectors, tokens)
        return [g for g, h in zip(questions, hit.tolist(), strict=True) if h]

    def _filter(
        self, snapshot: IndexSnapshot, filters: SearchFilters, article_id: str
    ) -> CandidateFilter:
        """The bulk candidate-list test of ``snapshot`` with the pipeline's list depths."""
        pipeline = self.searcher.pipeline
        faq = pipeline.get_component("faq")
        depths = Depths(
            dense=int(getattr(pipeline.get_component("dense"), "top_k", 20)),
            bm25=int(getattr(pipeline.get_component("bm25"), "top_k", 20)),
            faq=int(getattr(faq, "top_k", 10)),
        )
        questions = faq.question_index(snapshot) if isinstance(faq, FaqMatcher) else None
        return CandidateFilter(snapshot, filters, article_id, depths, questions)

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Query vectors of ``texts`` through the embedding cache (FAQ questions are there)."""
        config = self.searcher.config
        backend = shared_backend(config.embedder, config.embedding_model, config.embed_threads)
        if self._cache is None:
            self._cache = EmbeddingCache(default_cache_path(config))
        vectors, _computed = embed_with_cache(
            question_embedder(backend, "query"), self._cache, texts
        )
        return vectors


def effective_day(content: ArticleContent, today: date | None = None) -> date:
    """The day a version is checked on: today, or its first effective day if later."""
    today = today or date.today()
    return max(today, content.effective_from) if content.effective_from else today


CheckerFactory = Callable[[], GoldenChecker]
_FACTORY: list[CheckerFactory] = []


def register_checker(factory: CheckerFactory) -> None:
    """Let review run golden checks with the checker ``factory`` returns (front ends call
    this with their searcher and ingest's shadow builder; the factory may cache it)."""
    _FACTORY[:] = [factory]


def unregister_checker() -> None:
    """Forget the registered checker (a process that serves another knowledge base next;
    tests)."""
    _FACTORY.clear()


def registered_checker() -> GoldenChecker | None:
    """The golden checker, or None when no front end registered one."""
    return _FACTORY[0]() if _FACTORY else None
