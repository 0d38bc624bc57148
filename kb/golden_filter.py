"""Which golden questions a change to one article could affect, found in bulk.

A question's answer is fused from four candidate lists (``kb.retrieval``): the ``dense``
and ``bm25`` chunks and the FAQ chunks ranked by their best question, densely and
lexically (``kb.faq``). Each list holds the top ``k`` chunks that pass the filters. The
changed article can move the answer only if one of its chunks is in one of these lists,
on the live snapshot or on the shadow one. ``CandidateFilter`` decides that for many
questions at once, with matrix products instead of one search per question: a chunk of
the article is in a list of depth ``k`` when fewer than ``k`` other passing chunks score
higher than the article's best passing chunk.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.bm25 import ChineseTokenizer
from kb.faq import QuestionIndex
from kb.filters import SearchFilters
from kb.index import IndexSnapshot

BLOCK = 256  # questions per matrix product (bounds memory: BLOCK x chunks floats)


@dataclass(frozen=True)
class Depths:
    """How deep each candidate list is (the query pipeline's settings)."""

    dense: int
    bm25: int
    faq: int


def in_list(
    scores: np.ndarray, passing: np.ndarray, mine: np.ndarray, k: int, positive: bool
) -> np.ndarray:
    """Per row of ``scores`` (questions x items): is one of ``mine`` in the top ``k`` passing?

    ``passing`` and ``mine`` are boolean masks over the items; ``positive``: lists that
    hold only positive scores (BM25, the FAQ matcher).
    """
    own = passing & mine
    if not own.any():
        return np.zeros(len(scores), dtype=bool)
    best = scores[:, own].max(axis=1)
    others = scores[:, passing & ~mine]
    ahead = (others > best[:, None]).sum(axis=1)
    hit = ahead < k
    return hit & (best > 0) if positive else hit


class CandidateFilter:
    """The candidate-list test for one snapshot, one article and one set of filters."""

    def __init__(
        self,
        snapshot: IndexSnapshot,
        filters: SearchFilters,
        article_id: str,
        depths: Depths,
        questions: QuestionIndex | None = None,
    ) -> None:
        """Precompute the masks and matrices of ``snapshot`` (and its FAQ ``questions``)."""
        docs = list(snapshot.documents())
        self.snapshot = snapshot
        self.depths = depths
        self.passing = np.array([filters.matches(d.meta) for d in docs], dtype=bool)
        self.mine = np.array([d.meta.get("article_id") == article_id for d in docs], dtype=bool)
        self.vectors = snapshot.vector_matrix()
        self.questions = questions if questions is not None and len(questions) else None
        if self.questions is not None:
            row = {d.id: i for i, d in enumerate(docs)}
            ids = self.questions.chunk_ids
            starts = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
            self.starts = np.array(starts, dtype=np.int64)
            group_rows = np.array([row[ids[i]] for i in starts], dtype=np.int64)
            self.faq_passing = self.passing[group_rows]
            self.faq_mine = self.mine[group_rows]

    def hits(
        self, texts: Sequence[str], vectors: np.ndarray, tokens: Tokens | None = None
    ) -> np.ndarray:
        """For each question (normalised text, query vector): does a list hold the article?

        ``tokens``: the texts' BM25 tokens by tokenizer signature (``tokenize_once``).
        """
        out = np.zeros(len(texts), dtype=bool)
        for start in range(0, len(texts), BLOCK):
            block = slice(start, start + BLOCK)
            out[block] = self._block(texts[block], vectors[block], _slice(tokens, block))
        return out

    def _block(
        self, texts: Sequence[str], vectors: np.ndarray, tokens: Tokens | None
    ) -> np.ndarray:
        d = self.depths
        hit = in_list(vectors @ self.vectors.T, self.passing, self.mine, d.dense, False)
        words = _for(tokens, self.snapshot.bm25_tokenizer)
        bm25 = self.snapshot.bm25_scores(texts, words)
        hit |= in_list(bm25, self.passing, self.mine, d.bm25, True)
        if self.questions is None:
            return hit
        index = self.questions
        dense = np.maximum.reduceat(vectors @ index.vectors.T, self.starts, axis=1)
        hit |= in_list(dense, self.faq_passing, self.faq_mine, d.faq, True)
        if index.bm25 is not None:
            lexical = index.bm25.scores_many(texts, _for(tokens, index.bm25.tokenizer))
            lexical = np.maximum.reduceat(lexical, self.starts, axis=1)
            hit |= in_list(lexical, self.faq_passing, self.faq_mine, d.faq, True)
        return hit


Tokens = dict[str, list[list[str]]]  # tokenizer signature (JSON) -> tokens of each text


def tokenize_once(texts: Sequence[str], tokenizers: Sequence[ChineseTokenizer]) -> Tokens:
    """The texts' tokens under each distinct tokenizer (jieba is the costly part)."""
    out: Tokens = {}
    for tokenizer in tokenizers:
        key = _key(tokenizer)
        if key not in out:
            out[key] = [tokenizer.tokenize(text) for text in texts]
    return out


def _key(tokenizer: ChineseTokenizer) -> str:
    return json.dumps(tokenizer.signature, sort_keys=True, default=str)


def _for(tokens: Tokens | None, tokenizer: ChineseTokenizer) -> list[list[str]] | None:
    return None if tokens is None else tokens.get(_key(tokenizer))


def _slice(tokens: Tokens | None, block: slice) -> Tokens | None:
    return None if tokens is None else {k: v[block] for k, v in tokens.items()}
