"""Composing one reply from retrieved passages: which sentences, in which order, and what
the agent must be told about the sources.

``compose_extractive`` picks the sentences (``kb.citations.select_sentences``: the best
article first, sentences in text order, no sentence of another article unless it is about
the question), then removes disagreeing figures (``kb.disagreements.resolve``: the newer or
more specific source stays, the other becomes a note). ``faq_disagreements`` does the
check for an FAQ's direct answer, which is kept whole: it only notes what other sources
about the question say otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from haystack import Document

from kb.citations import (
    Sentence,
    TermWeights,
    candidate_sentences,
    reading_order,
    score_sentences,
    select_sentences,
)
from kb.disagreements import Disagreement, resolve

#: A sentence of another article is compared with the reply when it covers this share of
#: the question (one that is not about the question is no "other source" for it).
POOL_MIN_COVER = 0.3


@dataclass
class Composition:
    """The reply's sentences in reading order and the disagreements left out of it."""

    sentences: list[Sentence]
    disagreements: list[Disagreement] = field(default_factory=list)


def _pool(question: str, chunks: list[Document], weights: TermWeights) -> list[Sentence]:
    """The candidate sentences about the question (coverage of at least POOL_MIN_COVER)."""
    _, scored = score_sentences(question, chunks, weights)
    return [item.sentence for item in scored if item.cover >= POOL_MIN_COVER]


def compose_extractive(
    question: str, chunks: list[Document], weights: TermWeights, max_sentences: int = 3
) -> Composition:
    """The extractive reply's sentences, no two of them disagreeing on a figure."""
    chosen = select_sentences(question, chunks, weights, max_sentences)
    if not chosen:
        return Composition([])
    kept, disagreements = resolve(chosen, _pool(question, chunks, weights))
    return Composition(reading_order(kept, kept[0].article_id), disagreements)


def faq_disagreements(
    question: str, chunks: list[Document], weights: TermWeights
) -> list[Disagreement]:
    """What other sources about the question say otherwise than the top FAQ's answer."""
    top = chunks[0]
    own = candidate_sentences([top], max_articles=1, max_chunks=1)
    if not own:
        return []
    others = [s for s in _pool(question, chunks, weights) if s.article_id != own[0].article_id]
    if not others:
        return []
    _, disagreements = resolve(own, others, replace=False)
    return disagreements
