"""Fusing the rankings of the retrievers, and one result per article.

``RankFusion`` takes four named rankings of chunks and fuses them in two steps:

1. Two *signals*, each one ranking: ``lexical`` = BM25 over chunks (``bm25``) merged with
   BM25 over the FAQ questions (``faq_lexical``), each divided by its query's best score
   first (the two indexes score on different scales); ``dense`` = cosine with the chunk
   (``dense``) merged with cosine with the best FAQ question (``faq_dense``). Merging keeps
   a chunk's best score. An FAQ is thus represented by its best question instead of being
   counted twice: added as two more rankings, FAQ chunks collected four votes to a
   policy's two and pushed better policy passages down.
2. The signals are fused, in one of two modes:

   - ``weighted`` (default): each signal's scores are min-max scaled over its candidates
     (best 1, worst 0, missing 0), then ``sum_s w_s * scaled_s``;
   - ``rrf`` (reciprocal rank fusion): ``sum_s w_s / (k + rank_s)``; only ranks matter.

Chosen by measurement on the dev sets (``benchmarks/retrieval_compare.py --tune``; the grid
is in ``docs/benchmarks.md``): weighted min-max with 20 candidates per retriever and 10 per
FAQ ranking. No RRF setting met the seeds_dev targets (hit@5 >= 0.95, hit@1 >= 0.8): RRF
throws away how far ahead the best candidate is, and on the seed pages BM25 is often right
by a wide margin while dense is unsure; scaled scores keep that margin. The weights,
``lexical`` 1.0 and ``dense`` 1.0, were re-chosen with the sentence-pooled dense signal
(``kb.search.sentences``; ``--tune-sentences``): keeping seeds_dev, bq-faq dev and calibration_dev
within 0.005 of the earlier setting (lexical 1.5, no sentences), the best seeds_para dev
MRR@10: 0.462 against 0.387. With a stronger dense signal BM25 needs less extra weight.

Haystack's ``DocumentJoiner`` also does RRF and weighted merging, but over an unnamed,
variadic list of inputs whose weights are positional, and it keeps only the fused score;
here each chunk keeps every retriever's score and rank in ``meta["retrieval"]``, which the
confidence estimate reads.

**Across languages** (``kb.search.crosslang``): given the question's language, a chunk in
another language cannot share its words, so its lexical gain is at least its dense gain
(re-weighted, times ``cross_lexical``): BM25's silence is not held against it.

``LanguagePreference`` then puts an article in the question's language first when the top
one is in another language and it scores nearly as well (``kb.search.crosslang``).

``ArticleCollapser`` keeps the best chunk of each article (unless asked for every chunk)
and cuts the list to ``top_k``; it also passes the whole fused chunk list on, which the
answer builder mines for sentences.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from kb.language import base_language
from kb.search.crosslang import (
    CROSS_LEXICAL,
    PREFER_DEPTH,
    PREFER_UNLINKED,
    PREFER_WITHIN,
    same_language,
    translations,
)
from kb.search.snapshot import Ranked

SOURCES = ("bm25", "dense", "faq_dense", "faq_lexical")
#: signal -> (its sources, whether each source is divided by its best score before merging)
SIGNALS: dict[str, tuple[tuple[str, ...], bool]] = {
    "lexical": (("bm25", "faq_lexical"), True),
    "dense": (("dense", "faq_dense"), False),
}
MODES = ("weighted", "rrf")

DEFAULT_MODE = "weighted"
DEFAULT_WEIGHTS: dict[str, float] = {"lexical": 1.0, "dense": 1.0}
DEFAULT_RRF_K = 60


def _check(mode: str, weights: dict[str, float], rrf_k: int) -> None:
    """Validate the fusion settings."""
    if mode not in MODES:
        raise ValueError(f"fusion mode must be one of {MODES}, got {mode!r}")
    unknown = set(weights) - set(SIGNALS)
    if unknown:
        raise ValueError(f"unknown fusion signal(s): {sorted(unknown)} (known: {list(SIGNALS)})")
    if any(w < 0 for w in weights.values()) or not any(w > 0 for w in weights.values()):
        raise ValueError("fusion weights must be non-negative and not all zero")
    if rrf_k < 1:
        raise ValueError("rrf_k must be at least 1")


def merge_signal(lists: list[Sequence[Document]], by_max: bool) -> list[tuple[str, float]]:
    """One ranking from several: each chunk's best (optionally max-scaled) score, best first."""
    best: dict[str, float] = {}
    for ranked in lists:
        top = max((d.score or 0.0 for d in ranked), default=0.0) or 1.0
        for doc in ranked:
            score = float(doc.score or 0.0) / (top if by_max else 1.0)
            if score > best.get(doc.id, float("-inf")):
                best[doc.id] = score
    return sorted(best.items(), key=lambda item: (-item[1], item[0]))


def _min_max(ranking: list[tuple[str, float]]) -> dict[str, float]:
    """Scores scaled to [0, 1] over the candidates (all 1 when they are equal)."""
    if not ranking:
        return {}
    high, low = ranking[0][1], ranking[-1][1]
    span = high - low
    return {cid: (score - low) / span if span > 0 else 1.0 for cid, score in ranking}


@component
class RankFusion:
    """Merges the named chunk rankings into one (see the module docstring)."""

    def __init__(
        self,
        mode: str = DEFAULT_MODE,
        weights: dict[str, float] | None = None,
        rrf_k: int = DEFAULT_RRF_K,
        top_k: int = 50,
        cross_lexical: float = CROSS_LEXICAL,
    ) -> None:
        """Store the mode (``weighted`` or ``rrf``), signal weights, RRF's k, depth and the
        share of a cross-language chunk's dense gain that stands in for its lexical one."""
        weights = dict(DEFAULT_WEIGHTS if weights is None else weights)
        _check(mode, weights, rrf_k)
        if not 0.0 <= cross_lexical <= 2.0:
            raise ValueError(f"cross_lexical must be between 0 and 2, got {cross_lexical}")
        self.mode = mode
        self.weights = weights
        self.rrf_k = rrf_k
        self.top_k = top_k
        self.cross_lexical = cross_lexical

    @component.output_types(documents=Ranked)
    def run(
        self,
        bm25: Ranked | None = None,
        dense: Ranked | None = None,
        faq_dense: Ranked | None = None,
        faq_lexical: Ranked | None = None,
        lang: str = "",
    ) -> dict[str, Ranked]:
        """Fused chunks, best first; ``meta["retrieval"]`` holds each source's score and rank.

        ``lang``: the question's language; chunks in another one are not judged by BM25
        (``kb.search.crosslang``)."""
        lists = {"bm25": bm25, "dense": dense, "faq_dense": faq_dense, "faq_lexical": faq_lexical}
        return {"documents": Ranked(self.fuse({k: v or [] for k, v in lists.items()}, lang))}

    def fuse(self, lists: dict[str, Sequence[Document]], lang: str = "") -> list[Document]:
        """Fuse ``{source: ranked chunks}`` (see the module docstring)."""
        docs: dict[str, Document] = {}
        evidence: dict[str, dict[str, Any]] = {}
        for source, ranked in lists.items():
            for rank, doc in enumerate(ranked, start=1):
                score = round(float(doc.score or 0.0), 6)
                entry: dict[str, Any] = {"score": score, "rank": rank}
                if "cosine" in doc.meta:
                    entry["cosine"] = doc.meta["cosine"]
                evidence.setdefault(doc.id, {})[source] = entry
                if doc.id not in docs or "matched_question" in doc.meta:
                    docs[doc.id] = doc
        gains = {signal: self._gains(signal, lists) for signal in SIGNALS}
        foreign = {cid for cid, doc in docs.items() if not same_language(doc.meta, lang)}
        fused: dict[str, float] = {}
        for cid in docs:
            lexical = gains["lexical"].get(cid, 0.0)
            dense = gains["dense"].get(cid, 0.0)
            if cid in foreign:
                lexical = max(lexical, self.cross_lexical * self._dense_as_lexical(dense))
            fused[cid] = lexical + dense
        order = sorted(fused, key=lambda cid: (-fused[cid], cid))[: self.top_k]
        return [
            replace(docs[c], score=fused[c], meta={**docs[c].meta, "retrieval": evidence[c]})
            for c in order
        ]

    def _gains(self, signal: str, lists: dict[str, Sequence[Document]]) -> dict[str, float]:
        """Each chunk's weighted contribution from one signal (mode-dependent)."""
        sources, by_max = SIGNALS[signal]
        weight = self.weights.get(signal, 0.0)
        ranking = merge_signal([lists.get(s) or [] for s in sources], by_max)
        if not weight or not ranking:
            return {}
        if self.mode == "rrf":
            return {cid: weight / (self.rrf_k + r) for r, (cid, _) in enumerate(ranking, 1)}
        return {cid: weight * v for cid, v in _min_max(ranking).items()}

    def _dense_as_lexical(self, dense_gain: float) -> float:
        """A dense gain re-weighted as if it were a lexical one."""
        dense_weight = self.weights.get("dense", 0.0)
        if not dense_weight:
            return 0.0
        return dense_gain * self.weights.get("lexical", 0.0) / dense_weight

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(
            self,
            mode=self.mode,
            weights=dict(self.weights),
            rrf_k=self.rrf_k,
            top_k=self.top_k,
            cross_lexical=self.cross_lexical,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RankFusion:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


@component
class ArticleCollapser:
    """One result per article (its best chunk) unless ``one_per_article`` is False; top_k."""

    def __init__(self, top_k: int = 5, one_per_article: bool = True) -> None:
        """Store the defaults; both can be overridden per run."""
        if top_k < 1:
            raise ValueError("top_k must be at least 1")
        self.top_k = top_k
        self.one_per_article = one_per_article

    @component.output_types(documents=list[Document], chunks=list[Document])
    def run(
        self,
        documents: Ranked,
        top_k: int | None = None,
        one_per_article: bool | None = None,
    ) -> dict[str, list[Document]]:
        """``documents``: the results; ``chunks``: every fused chunk, for answer building."""
        top_k = self.top_k if top_k is None else top_k
        collapse = self.one_per_article if one_per_article is None else one_per_article
        results: list[Document] = []
        seen: set[str] = set()
        for doc in documents:
            article_id = str(doc.meta.get("article_id"))
            if collapse and article_id in seen:
                continue
            seen.add(article_id)
            results.append(doc)
            if len(results) >= top_k:
                break
        return {"documents": results, "chunks": list(documents)}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(self, top_k=self.top_k, one_per_article=self.one_per_article)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArticleCollapser:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


@component
class LanguagePreference:
    """Puts a result in the question's language first when the top one is in another
    language and it is the top's linked translation (``translation_of``; wherever it ranks
    among the fused candidates) or, with ``unlinked``, scores nearly as well
    (``prefer_within`` of the top's fused score, among the first ``depth`` articles).
    The first article's linked translations are then left out: they say the same thing,
    and as a runner-up they would make a clear answer look uncertain (its margin)."""

    def __init__(
        self,
        prefer_within: float = PREFER_WITHIN,
        depth: int = PREFER_DEPTH,
        unlinked: bool = PREFER_UNLINKED,
    ) -> None:
        """``prefer_within``: 0-1 (1: only exact ties; 0: always); ``depth``: articles;
        ``unlinked``: also prefer a near result that is not a linked translation."""
        if not 0.0 <= prefer_within <= 1.0:
            raise ValueError(f"prefer_within must be between 0 and 1, got {prefer_within}")
        self.prefer_within = prefer_within
        self.depth = depth
        self.unlinked = unlinked

    @component.output_types(documents=Ranked)
    def run(self, documents: Ranked, lang: str = "") -> dict[str, Ranked]:
        """The fused chunks, the preferred article's chunks moved in front when it applies."""
        docs = list(documents)
        if not docs:
            return {"documents": documents}
        article = None
        if lang and not same_language(docs[0].meta, lang):
            article = self._linked(docs, lang)
            if article is None and self.unlinked:
                article = self._near(docs, lang)
        if article is not None:
            first = [d for d in docs if d.meta.get("article_id") == article]
            docs = first + [d for d in docs if d.meta.get("article_id") != article]
        return {"documents": Ranked(_without_translations_of_first(docs))}

    @staticmethod
    def _linked(docs: list[Document], lang: str) -> str | None:
        """The first candidate in ``lang`` linked as a translation of the top article."""
        top = docs[0].meta
        for doc in docs[1:]:
            if _in_language(doc, lang) and translations(top, doc.meta):
                return str(doc.meta.get("article_id"))
        return None

    def _near(self, docs: list[Document], lang: str) -> str | None:
        """The first article in ``lang`` within ``prefer_within`` of the top's score."""
        floor = self.prefer_within * float(docs[0].score or 0.0)
        articles: list[str] = []
        for doc in docs:
            article = str(doc.meta.get("article_id"))
            if article not in articles:
                articles.append(article)
            if len(articles) > self.depth + 1 or float(doc.score or 0.0) < floor:
                return None
            if _in_language(doc, lang):
                return article
        return None

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(
            self, prefer_within=self.prefer_within, depth=self.depth, unlinked=self.unlinked
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LanguagePreference:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


def _in_language(doc: Document, lang: str) -> bool:
    """True when the chunk is in ``lang`` (a chunk without a language is not)."""
    return same_language(doc.meta, lang) and bool(base_language(doc.meta.get("lang")))


def _without_translations_of_first(docs: list[Document]) -> list[Document]:
    """``docs`` without the chunks of the first article's linked translations."""
    if not docs:
        return docs
    top = docs[0].meta
    return [d for d in docs if not translations(top, d.meta)]
