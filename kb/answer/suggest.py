"""Suggested answers: grounded in the retrieved passages, cited, or handed off to a human.

``Suggester.suggest(question)`` runs the query pipeline (``kb.search.retrieval``), estimates the
confidence (``kb.answer.confidence``) and builds the answer object the CLI, the HTTP API and the
Streamlit app return (``Answer.to_dict()``; schema in ``docs/api.md`` terms)::

    {
      "request_id": "3f2a...",            # also the QueryLog / feedback key
      "answer": "……[1]……[2]" | null,      # every sentence ends with its [n] marker
      "text": "……" | null,                # the answer without markers, to send
      "internal": true | false,           # cites an internal-only article: not for customers
      "mode": "faq" | "extractive" | "generated" | null,
      "citations": [{"n", "article_id", "version", "title", "type", "section", "audience",
                     "effective_from", "effective_to", "passage", "char_start", "char_end",
                     "spans": [{"passage", "char_start", "char_end"}]}],  # one per article
      "notes": [{"kind": "disagreement", "article_id", "figure", "other_figure", "about",
                 "other": {...the other source's citation}}],
      "confidence": 0.0..1.0,             # P(top article answers), see kb.answer.confidence
      "handoff": true | false,
      "reason": null | "no_results" | "low_confidence" | "no_grounded_sentence"
                | "no_answer_text",
      "detail": "human-readable explanation of the reason",
      "results": [SearchResult...],       # the ranked articles behind the answer
      "filters": {...}, "index_version": "...", "latency_ms": 12.3,
      "llm": {"used": bool, "dropped_sentences": int, ...} | null,
      "threshold": 0.65                   # the confidence threshold in force
    }

The answer:

- FAQ direct answer: when the top result is an FAQ matched through one of its questions
  with a cosine of at least ``FAQ_DIRECT_MIN`` and the confidence clears the threshold, the
  answer is that FAQ's answer, one citation ``[1]`` whose passage is the whole answer
  (unless a newer or more specific source contradicts one of its sentences: that sentence
  is replaced by the source's, cited, and ``mode`` is ``extractive``). An
  FAQ published without answer text (its question is indexed) hands off instead, with
  reason ``no_answer_text``.
- Otherwise an extractive reply (``kb.answer.compose``): the best sentences of the top chunks,
  the best article first, no sentence of another article that is not about the question,
  no two sources disagreeing on a figure (the newer or more specific one stays; the other
  becomes a ``notes`` entry); each sentence followed by the ``[n]`` of its article's
  citation, whose ``spans`` are exactly the cited sentences.
- Below ``confidence_threshold``: ``answer`` null, ``handoff`` true and a reason; the
  question goes to the editors' unanswered queue (``QueryLog`` with ``handoff`` set).
- With ``llm_base_url`` set, ``kb.answer.llm.AnswerRewriter`` may rewrite the reply; only
  sentences citing passages of this answer survive (``mode: generated``).

When a database is given, every suggestion is logged in ``QueryLog`` with the question's
personal data masked (``kb.privacy.mask_personal_data``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict

from kb.answer.citations import Citation, TermWeights, make_citation, render_passage, render_reply
from kb.answer.compose import compose_extractive, compose_faq
from kb.answer.confidence import (
    Evidence,
    best_evidence,
    gather,
    probability,
    translation_rankings,
)
from kb.answer.confidence_model import load_model
from kb.answer.llm import AnswerRewriter
from kb.answer.replytext import reply_text
from kb.config import Config
from kb.language import detect_language
from kb.model import Audience
from kb.search.bm25 import TokenizerPool
from kb.search.filters import SearchFilters
from kb.search.resources import SearchResources
from kb.search.retrieval import Searcher, SearchResponse, SearchResult
from kb.search.store import SearchIndex, SearchView
from kb.store.db import Database
from kb.store.logwriter import UsageWriter
from kb.store.querylog import query_log_record, write_row

logger = logging.getLogger(__name__)

#: Cosine between the question and an FAQ question from which the FAQ answers directly: the
#: lowest at which every confident FAQ top of calibration_dev was right (27 of 27; at 0.90,
#: 28 of 30). See docs/benchmarks.md.
FAQ_DIRECT_MIN = 0.92
MODES = ("faq", "extractive", "generated")
REASONS = {
    "no_results": "nothing in the knowledge base matches this question for this audience",
    "low_confidence": "the best match is not confident enough",
    "no_grounded_sentence": "no passage sentence could be cited as an answer",
    "no_answer_text": "the matching FAQ has no answer text yet",
}


@dataclass
class Answer:
    """A suggested answer with citations, or a hand-off (see the module docstring)."""

    request_id: str
    answer: str | None
    mode: str | None
    citations: list[Citation]
    confidence: float
    handoff: bool
    reason: str | None
    detail: str
    results: list[SearchResult]
    filters: dict[str, Any]
    index_version: str
    latency_ms: float
    evidence: dict[str, float] = field(default_factory=dict)
    llm: dict[str, Any] | None = None
    threshold: float | None = None
    notes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def internal(self) -> bool:
        """True when the reply cites an internal-only article: internal guidance, not for
        the customer."""
        return bool(self.answer) and any(c.audience == "internal" for c in self.citations)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form: the public answer object."""
        return {
            "request_id": self.request_id,
            "answer": self.answer,
            "text": reply_text(self.answer, [c.n for c in self.citations]),
            "internal": self.internal,
            "mode": self.mode,
            "citations": [c.to_dict() for c in self.citations],
            "notes": self.notes,
            "confidence": round(self.confidence, 4),
            "handoff": self.handoff,
            "reason": self.reason,
            "detail": self.detail,
            "results": [r.to_dict() for r in self.results],
            "filters": self.filters,
            "index_version": self.index_version,
            "latency_ms": round(self.latency_ms, 1),
            "evidence": self.evidence,
            "llm": self.llm,
            "threshold": self.threshold,
        }


@component
class AnswerBuilder:
    """Builds the grounded reply: the FAQ's answer, or cited extracted sentences."""

    def __init__(
        self,
        threshold: float = 0.65,
        faq_direct_min: float = FAQ_DIRECT_MIN,
        max_sentences: int = 3,
        cross_threshold: float = 0.5,
        model_path: str = "",
        tokenizers: TokenizerPool | None = None,
    ) -> None:
        """``threshold``: hand off below this confidence; ``cross_threshold``: instead
        when the evidence is ``foreign`` (``kb.answer.confidence``);
        ``faq_direct_min``: see the module; ``model_path``: the confidence model's file
        (empty: the bundled one; ``kb.answer.confidence_model``, ``ConfigError`` if bad);
        ``tokenizers``: the process's pool the term weights tokenise with (default: a new
        one)."""
        if not 0.0 <= threshold <= 1.0 or not 0.0 <= cross_threshold <= 1.0:
            raise ValueError("threshold must be within 0..1")
        self.model_path = model_path
        self.model = load_model(model_path)
        self.threshold = threshold
        self.cross_threshold = cross_threshold
        self.faq_direct_min = faq_direct_min
        self.max_sentences = max_sentences
        self.tokenizers = tokenizers if tokenizers is not None else TokenizerPool()
        self._weights: TermWeights | None = None

    @property
    def weights(self) -> TermWeights:
        """The term weights (jieba IDF), loaded on first use."""
        if self._weights is None:
            self._weights = TermWeights(self.tokenizers.get())
        return self._weights

    def warm_up(self) -> None:
        """Load the IDF table and the tokenizer."""
        self.weights.coverage({"预热"}, "预热")

    def threshold_for(self, evidence: Evidence | None) -> float:
        """The hand-off threshold in force for ``evidence``: ``cross_threshold`` when it is
        ``foreign``, else ``threshold`` (each chosen on the dev sets for its kind of
        evidence by ``benchmarks/train_confidence.py``)."""
        if evidence is not None and evidence.foreign:
            return self.cross_threshold
        return self.threshold

    @component.output_types(
        answer=str, mode=str, citations=list[Citation], reason=str, confidence=float, notes=list
    )
    def run(
        self, question: str, chunks: list[Document], evidence: Evidence | None
    ) -> dict[str, Any]:
        """``answer`` ("" on hand-off), ``mode``, ``citations``, ``reason`` ("" if answered),
        ``notes`` (other sources that disagree on a figure, see ``kb.answer.compose``)."""
        confidence = probability(evidence, self.model)
        out: dict[str, Any] = {"answer": "", "mode": "", "citations": [], "reason": ""}
        out["notes"] = []
        out["confidence"] = confidence
        if not chunks or evidence is None:
            out["reason"] = "no_results"
            return out
        if confidence < self.threshold_for(evidence):
            out["reason"] = "low_confidence"
            return out
        top = chunks[0]
        faq_match = (top.meta.get("retrieval") or {}).get("faq_dense") or {}
        faq_score = faq_match.get("cosine", faq_match.get("score", 0.0))
        if top.meta.get("type") == "faq" and faq_score >= self.faq_direct_min:
            return self._faq_answer(question, chunks, out)
        if evidence.cross and not evidence.translation:
            # Across languages word overlap cannot pick sentences: cite the top article only
            # (its sentences in their order), not a same-language passage that shares words.
            chunks = [c for c in chunks if c.meta.get("article_id") == top.meta.get("article_id")]
        composed = compose_extractive(question, chunks, self.weights, self.max_sentences)
        if not composed.sentences:
            out["reason"] = "no_grounded_sentence"
            return out
        out["answer"], out["citations"] = render_reply(composed.sentences)
        out["notes"] = [d.to_note() for d in composed.disagreements]
        out["mode"] = "extractive"
        return out

    def _faq_answer(
        self, question: str, chunks: list[Document], out: dict[str, Any]
    ) -> dict[str, Any]:
        """The top FAQ's answer (whole, or with a sentence a newer source replaced)."""
        top = chunks[0]
        text = top.content or ""
        if not text.strip():
            out["reason"] = "no_answer_text"
            return out
        composed = compose_faq(question, chunks, self.weights)
        out["notes"] = [d.to_note() for d in composed.disagreements]
        if composed.changed:  # a newer source replaced one of the FAQ's sentences
            out["answer"], out["citations"] = render_reply(composed.sentences)
            out["mode"] = "extractive"
            return out
        start = int(top.meta.get("char_start", 0))
        out["citations"] = [make_citation(1, top.meta, text, start, start + len(text))]
        out["answer"], out["mode"] = render_passage(text, 1), "faq"
        return out

    def to_dict(self) -> dict[str, Any]:
        """Serialise the init parameters."""
        return default_to_dict(
            self,
            threshold=self.threshold,
            faq_direct_min=self.faq_direct_min,
            max_sentences=self.max_sentences,
            cross_threshold=self.cross_threshold,
            model_path=self.model_path,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AnswerBuilder:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


class Suggester:
    """Answers questions from the live index; build one per process and share it."""

    def __init__(
        self,
        config: Config,
        reader: SearchIndex | None = None,
        searcher: Searcher | None = None,
        db: Database | None = None,
        rewriter: AnswerRewriter | None = None,
        log_writer: UsageWriter | None = None,
        resources: SearchResources | None = None,
    ) -> None:
        """Search with ``searcher`` (default: a new ``Searcher`` over ``reader``, default the
        configured store, on ``resources``: the process's models and caches,
        ``Runtime.resources``), log through ``log_writer`` (off the caller's path) or else to
        ``db`` when given, and rewrite with ``rewriter`` (default: one for ``llm_base_url``
        when that is set)."""
        self.config = config
        self.searcher = searcher or Searcher(config, reader=reader, resources=resources)
        self.db = db
        self.log_writer = log_writer
        self.builder = AnswerBuilder(
            threshold=config.confidence_threshold,
            cross_threshold=config.cross_language_threshold,
            model_path=str(config.confidence_model or ""),
            tokenizers=self.searcher.resources.tokenizers,
        )
        if rewriter is None and config.llm_base_url:
            rewriter = AnswerRewriter(
                config.llm_base_url, config.llm_model, config.llm_api_key, timeout=10.0
            )
        self.rewriter = rewriter

    def warm_up(self) -> None:
        """Load models, the index and the term weights."""
        self.searcher.warm_up()
        self.builder.warm_up()

    def suggest(
        self,
        question: str,
        filters: SearchFilters | None = None,
        top_k: int | None = None,
        request_id: str | None = None,
        log: bool = True,
        channel: str = "",
        requester: str = "",
        snapshot: SearchView | None = None,
    ) -> Answer:
        """The answer object for ``question`` (see the module docstring).

        ``filters`` default to a public caller and today; ``log=False`` skips the
        ``QueryLog`` row (for callers that write their own, such as the HTTP API).
        """
        started = time.perf_counter()
        filters = filters or SearchFilters()
        response = self.searcher.search(question, filters, top_k=top_k, snapshot=snapshot)
        if request_id:
            response.request_id = request_id
        evidence = self.evidence(question, response)
        built = self.builder.run(question, response.chunks, evidence)
        answer_text, citations, mode = built["answer"], built["citations"], built["mode"]
        llm = None
        if answer_text and self.rewriter is not None:
            rewritten = self.rewriter.run(question, answer_text, citations)
            llm = rewritten["report"]
            if llm["used"]:
                answer_text, citations = rewritten["answer"], rewritten["citations"]
                mode = "generated"
        reason = built["reason"] or None
        answer = Answer(
            request_id=response.request_id,
            answer=answer_text or None,
            mode=mode or None,
            citations=citations,
            confidence=built["confidence"],
            handoff=not answer_text,
            reason=reason,
            detail=_detail(reason, built["confidence"], self.builder.threshold_for(evidence)),
            results=response.results,
            filters=filters.to_dict(),
            index_version=response.index_version,
            latency_ms=(time.perf_counter() - started) * 1000,
            evidence=evidence.to_dict() if evidence else {},
            llm=llm,
            threshold=self.builder.threshold_for(evidence),
            notes=built["notes"],
        )
        if log and self.log_writer is not None:
            self.log_writer.log_query(log_columns(question, answer, channel, requester))
        elif log and self.db is not None:
            write_row(self.db, log_columns(question, answer, channel, requester))
        return answer

    def evidence(self, question: str, response: SearchResponse) -> Evidence | None:
        """Confidence features of the top result (stored vectors fill in missing cosines):
        the better of its own and, when fusion found a linked translation of it, those of
        the translation put first (``kb.answer.confidence.best_evidence``)."""
        rankings = [response.chunks, *translation_rankings(response.chunks, response.fused)]
        missing = [
            d.id
            for ranking in rankings
            for d in ranking[:20]
            if not {"dense", "faq_dense"} & set(d.meta.get("retrieval") or {})
        ]
        vectors = {}
        if missing and response.query_embedding is not None and response.snapshot is not None:
            vectors = response.snapshot.embeddings(list(dict.fromkeys(missing)))
        lang = detect_language(question)
        main_lang = response.snapshot.main_language() if response.snapshot is not None else ""
        candidates = [
            gather(
                question,
                ranking,
                self.builder.weights,
                response.query_embedding,
                vectors,
                lang=lang,
                main_lang=main_lang,
            )
            for ranking in rankings
        ]
        return best_evidence(candidates, self.builder.model)


def _detail(reason: str | None, confidence: float, threshold: float) -> str:
    """The human-readable explanation of a hand-off ("" when answered)."""
    if reason is None:
        return ""
    if reason == "low_confidence":
        return f"{REASONS[reason]}: confidence {confidence:.2f} is below {threshold:.2f}"
    return REASONS[reason]


def log_columns(question: str, answer: Answer, channel: str, requester: str) -> dict[str, Any]:
    """The ``QueryLog`` columns of one suggestion (the question masked)."""
    return query_log_record(
        answer.to_dict(),
        question,
        audience=Audience(answer.filters.get("audience", "public")),
        requester=requester,
        channel=channel,
        latency_ms=float(answer.latency_ms),
    )
