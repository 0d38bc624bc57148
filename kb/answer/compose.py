"""Composing one reply from retrieved passages: which sentences, in which order, and what
the agent must be told about the sources.

``compose_extractive`` picks the sentences (``kb.answer.citations.pick_sentences``: the best
article first, sentences in text order, no sentence of another article unless it is about
the question), then removes disagreeing figures (``kb.answer.disagreements.resolve``: the newer or
more specific source stays, the other becomes a note). ``compose_faq`` does the check for
an FAQ's direct answer: the answer is kept whole unless a newer or more specific source
contradicts one of its sentences, which that source's sentence then replaces in place.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from haystack import Document

from kb.answer.citations import (
    Scored,
    Sentence,
    TermWeights,
    candidate_sentences,
    pick_sentences,
    reading_order,
    score_sentences,
)
from kb.answer.disagreements import Disagreement, resolve

#: A sentence of another article is compared with the reply when it covers this share of
#: the question (one that is not about the question is no "other source" for it).
POOL_MIN_COVER = 0.2


@dataclass
class Composition:
    """The reply's sentences in reading order and the disagreements left out of it."""

    sentences: list[Sentence]
    disagreements: list[Disagreement] = field(default_factory=list)
    changed: bool = False


def _pool(scored: list[Scored]) -> list[Sentence]:
    """The candidate sentences about the question (coverage of at least POOL_MIN_COVER)."""
    return [item.sentence for item in scored if item.cover >= POOL_MIN_COVER]


def compose_extractive(
    question: str, chunks: list[Document], weights: TermWeights, max_sentences: int = 3
) -> Composition:
    """The extractive reply's sentences, no two of them disagreeing on a figure."""
    query_tokens, scored = score_sentences(question, chunks, weights)
    chosen = pick_sentences(query_tokens, scored, weights, max_sentences)
    if not chosen:
        return Composition([])
    kept, disagreements = resolve(chosen, _pool(scored))
    return Composition(reading_order(kept, kept[0].article_id), disagreements)


def compose_faq(question: str, chunks: list[Document], weights: TermWeights) -> Composition:
    """The top FAQ's answer, sentence by sentence, checked against the other sources about
    the question: a sentence that a newer or more specific source contradicts is replaced
    by that source's sentence, in place (``changed``); otherwise the answer stays whole and
    only the disagreements are noted."""
    own = candidate_sentences(chunks[:1], max_articles=1, max_chunks=1)
    if not own:
        return Composition([])
    _, scored = score_sentences(question, chunks, weights)
    others = [s for s in _pool(scored) if s.article_id != own[0].article_id]
    kept, disagreements = resolve(own, others)
    return Composition(kept, disagreements, changed=kept != own)
