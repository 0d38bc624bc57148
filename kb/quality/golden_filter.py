"""Which golden questions a change to one article could affect, found in bulk.

A question's answer is fused from four candidate lists (``kb.search.retrieval``): the ``dense``
and ``bm25`` chunks and the FAQ chunks ranked by their best question, densely and
lexically (``kb.search.faq``). Each list holds the top ``k`` chunks that pass the filters. The
live index and the shadow one (the live index with one article's new version) differ only
in that article's chunks, so a question's lists can differ only when:

1. the article's published chunks are in one of its lists on the live index (they leave);
2. one of the article's new chunks scores at least the last entry of a full live list, or
   the list is not full (it enters); the live lists of the *other* chunks are unchanged;
3. BM25 only: the change moves the weight (IDF) of one of the question's words by more
   than ``IDF_SHIFT`` (a rare word the article gains or loses), which rescales it in every
   chunk: then the question's lexical lists are recomputed on the shadow and compared
   with the live ones, chunk by chunk.

``LiveLists`` holds, per question and list, the articles in the list and its bar (the
last entry's score); it depends only on the live index, the filters and the questions, so
the checker keeps it between checks. ``affected`` then scores only the changed article's
new chunks and questions. What remains unchecked, all near ties: a change also moves the corpus
size, the average chunk length and common words' weights by a hair, which rescales BM25
scores slightly (a newcomer is compared with the bar lowered by ``BM25_SLACK``; two other
chunks within that hair of each other could swap); and the dense retriever's candidate
search (``kb.search.sentences.pooled_search``) can miss a chunk in a near tie that the exact
bulk score here counts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kb.search.bm25 import BM25Index, ChineseTokenizer
from kb.search.faq import QuestionIndex
from kb.search.filters import SearchFilters
from kb.search.index import IndexSnapshot

BLOCK_CELLS = 4_000_000  # questions x items per matrix product (bounds memory: 16 MB floats)
#: How far below the bar a new chunk's BM25 score still counts as entering (statistics
#: shift with the change: corpus size, average length).
BM25_SLACK = 0.02
#: A word whose weight (IDF) moves more than this share with the change can reorder the
#: other chunks of a question's BM25 list: such questions' lexical lists are recomputed.
IDF_SHIFT = 0.01
#: Tolerance of the dense bar (bulk products and FAISS round differently).
EPSILON = 1e-5
LISTS = ("dense", "bm25", "faq_dense", "faq_lexical")
LEXICAL = ("bm25", "faq_lexical")
POSITIVE = ("bm25", "faq_dense", "faq_lexical")  # lists that hold only positive scores


@dataclass(frozen=True)
class Depths:
    """How deep each candidate list is, and the dense sentence weight (the pipeline's)."""

    dense: int
    bm25: int
    faq: int
    sentence_weight: float = 0.0

    def of(self, name: str) -> int:
        """The depth of list ``name``."""
        return self.dense if name == "dense" else self.bm25 if name == "bm25" else self.faq


@dataclass
class Tops:
    """One candidate list of each question: its entries and its bar."""

    items: np.ndarray  # (questions, k) item columns in score order, -1: empty slot
    bar: np.ndarray  # (questions,) last entry's score if the list is full, else -inf


def top_lists(scores: np.ndarray, passing: np.ndarray, k: int, positive: bool) -> Tops:
    """Each row's top ``k`` passing columns of ``scores`` (positive ones only if
    ``positive``), best first, and the score a newcomer must reach to enter."""
    masked = np.array(scores, dtype=np.float32)  # a copy: the caller's scores stay
    if not passing.all():
        masked[:, ~passing] = -np.inf
    if positive:
        masked[masked <= 0] = -np.inf
    n = masked.shape[1]
    take = min(k, n)
    if take == 0:
        empty = np.full((len(scores), k), -1, dtype=np.int64)
        return Tops(empty, np.full(len(scores), -np.inf, dtype=np.float32))
    np.negative(masked, out=masked)
    cols = np.argpartition(masked, take - 1, axis=1)[:, :take]
    np.negative(masked, out=masked)
    vals = np.take_along_axis(masked, cols, axis=1)
    order = np.lexsort((cols, -vals), axis=1)
    cols, vals = np.take_along_axis(cols, order, 1), np.take_along_axis(vals, order, 1)
    valid = np.isfinite(vals)
    items = np.full((len(scores), k), -1, dtype=np.int64)
    items[:, :take] = np.where(valid, cols, -1)
    full = valid[:, -1] if take == k else np.zeros(len(scores), dtype=bool)
    bar = np.where(full, vals[:, -1], -np.inf).astype(np.float32)
    return Tops(items, bar)


class Scorer:
    """Bulk scores of one snapshot for each candidate list, items as the lists rank them.

    Items: chunk rows for ``dense``/``bm25``; FAQ chunks (question groups) for the FAQ lists.
    """

    def __init__(
        self,
        snapshot: IndexSnapshot,
        filters: SearchFilters,
        depths: Depths,
        questions: QuestionIndex | None,
    ) -> None:
        """Precompute the filters' verdict and each item's article and chunk id."""
        docs = list(snapshot.documents())
        self.snapshot = snapshot
        self.depths = depths
        self.ids = np.array([d.id for d in docs], dtype=object)
        self.article = np.array([d.meta.get("article_id") for d in docs], dtype=object)
        self.passing = np.array([filters.matches(d.meta) for d in docs], dtype=bool)
        self.questions = questions if questions is not None and len(questions) else None
        self.starts = np.zeros(0, dtype=np.int64)
        self.group_rows = np.zeros(0, dtype=np.int64)
        if self.questions is not None:
            row = {d.id: i for i, d in enumerate(docs)}
            ids = self.questions.chunk_ids
            starts = [i for i in range(len(ids)) if i == 0 or ids[i] != ids[i - 1]]
            self.starts = np.array(starts, dtype=np.int64)
            self.group_rows = np.array([row[ids[i]] for i in starts], dtype=np.int64)

    def lists(self) -> tuple[str, ...]:
        """The candidate lists this snapshot has (no FAQ lists without FAQ questions)."""
        if self.questions is None:
            return ("dense", "bm25")
        return LISTS if self.questions.bm25 is not None else ("dense", "bm25", "faq_dense")

    def item_rows(self, name: str) -> np.ndarray:
        """The chunk row of each item of list ``name``."""
        return self.group_rows if name.startswith("faq") else np.arange(len(self.ids))

    def item_passing(self, name: str) -> np.ndarray:
        """Whether each item of list ``name`` passes the filters."""
        return self.passing[self.item_rows(name)]

    def scores(
        self,
        name: str,
        texts: Sequence[str],
        vectors: np.ndarray,
        tokens: Tokens | None,
        items: np.ndarray | None = None,
    ) -> np.ndarray:
        """Scores (questions x items) in list ``name``, of every item or of ``items``."""
        if name == "dense":
            return self.snapshot.dense_scores(vectors, items, self.depths.sentence_weight)
        if name == "bm25":
            words = _for(tokens, self.snapshot.bm25_tokenizer)
            return self.snapshot.bm25_scores(texts, words, items)
        index = self.questions
        assert index is not None
        starts, wanted = self.starts, None
        if items is not None:  # only the questions of these FAQ chunks
            ends = np.r_[self.starts[1:], len(index)]
            wanted = np.concatenate(
                [np.arange(self.starts[g], ends[g]) for g in items] or [np.zeros(0, np.int64)]
            ).astype(np.int64)
            sizes = ends[items] - self.starts[items]
            starts = np.r_[0, np.cumsum(sizes)[:-1]].astype(np.int64)
            if not len(wanted):
                return np.zeros((len(texts), 0), dtype=np.float32)
        if name == "faq_dense":
            matrix = index.vectors if wanted is None else index.vectors[wanted]
            raw = vectors @ matrix.T
        else:
            assert index.bm25 is not None
            words = _for(tokens, index.bm25.tokenizer)
            raw = index.bm25.scores_many(texts, words, wanted)
        return np.maximum.reduceat(raw, starts, axis=1)

    def items_of(self, name: str, article_id: str) -> np.ndarray:
        """The passing items of list ``name`` that belong to ``article_id``."""
        rows = self.item_rows(name)
        mine = (self.article[rows] == article_id) & self.passing[rows]
        return np.flatnonzero(mine)

    def tops(
        self, name: str, texts: Sequence[str], vectors: np.ndarray, tokens: Tokens | None
    ) -> Tops:
        """List ``name`` of every question, computed in blocks."""
        passing = self.item_passing(name)
        block = max(1, BLOCK_CELLS // max(1, len(passing)))
        parts = []
        for start in range(0, len(texts), block):
            cut = slice(start, start + block)
            scores = self.scores(name, texts[cut], vectors[cut], _slice(tokens, cut))
            parts.append(top_lists(scores, passing, self.depths.of(name), name in POSITIVE))
        if not parts:
            k = self.depths.of(name)
            return Tops(np.zeros((0, k), np.int64), np.zeros(0, np.float32))
        items = np.concatenate([p.items for p in parts])
        return Tops(items, np.concatenate([p.bar for p in parts]))

    def chunk_ids(self, name: str, tops: Tops) -> np.ndarray:
        """The chunk ids in ``tops`` ('' for empty slots)."""
        rows = self.item_rows(name)
        safe = np.where(tops.items >= 0, tops.items, 0)
        ids = self.ids[rows[safe]] if len(rows) else np.full(tops.items.shape, "", object)
        return np.where(tops.items >= 0, ids, "")


class LiveLists:
    """Every question's candidate lists on the live snapshot (articles in them, bars)."""

    def __init__(
        self,
        scorer: Scorer,
        texts: Sequence[str],
        vectors: np.ndarray,
        tokens: Tokens | None,
        tops: dict[str, Tops] | None = None,
    ) -> None:
        """Score every question against every item of the live snapshot once (or take
        ``tops``, the lists computed before for the same questions: ``kb.quality.golden_store``)."""
        self.scorer = scorer
        if tops is None:
            tops = {name: scorer.tops(name, texts, vectors, tokens) for name in scorer.lists()}
        self.tops = tops
        self.articles = {name: _articles(scorer, name, t) for name, t in self.tops.items()}

    def holds(self, name: str, article_id: str) -> np.ndarray:
        """Per question: is a chunk of ``article_id`` in its live list ``name``?"""
        if name not in self.articles:
            return np.zeros(len(next(iter(self.tops.values())).bar), dtype=bool)
        return (self.articles[name] == article_id).any(axis=1)


def _articles(scorer: Scorer, name: str, tops: Tops) -> np.ndarray:
    """The article of each entry of ``tops`` (None for empty slots)."""
    rows = scorer.item_rows(name)
    out = np.full(tops.items.shape, None, dtype=object)
    if len(rows):
        found = tops.items >= 0
        out[found] = scorer.article[rows[tops.items[found]]]
    return out


def enters(best: np.ndarray, bar: np.ndarray, name: str) -> np.ndarray:
    """Per question: does a newcomer with score ``best`` enter a list with this ``bar``?"""
    if name in LEXICAL:
        reach = best >= np.where(bar > 0, bar * (1 - BM25_SLACK), bar)
    else:
        reach = best >= bar - EPSILON
    return reach & (best > 0) if name in POSITIVE else reach


def affected(
    live: LiveLists,
    shadow: Scorer,
    article_id: str,
    texts: Sequence[str],
    vectors: np.ndarray,
    tokens: Tokens | None,
) -> np.ndarray:
    """Per question: could publishing the shadow's version of ``article_id`` change any of
    its candidate lists (the module docstring's three cases)?"""
    hit = np.zeros(len(texts), dtype=bool)
    for name in sorted(set(live.tops) | set(shadow.lists())):
        hit |= live.holds(name, article_id)
        if name not in shadow.lists():
            continue
        mine = shadow.items_of(name, article_id)
        if len(mine):
            scores = shadow.scores(name, texts, vectors, tokens, mine)
            bar = live.tops[name].bar if name in live.tops else np.full(len(texts), -np.inf)
            hit |= enters(scores.max(axis=1), bar, name)
    return hit | reweighted(live, shadow, article_id, texts, vectors, tokens, ~hit)


def reweighted(
    live: LiveLists,
    shadow: Scorer,
    article_id: str,
    texts: Sequence[str],
    vectors: np.ndarray,
    tokens: Tokens | None,
    open_: np.ndarray,
) -> np.ndarray:
    """Per question (among ``open_``): does a lexical list change on the shadow because the
    change alters the document frequency of one of the question's words?"""
    out = np.zeros(len(texts), dtype=bool)
    for name in LEXICAL:
        if name not in live.tops or name not in shadow.lists():
            continue
        changed = _changed_words(live.scorer, shadow, name, article_id)
        words = _for(tokens, _tokenizer(shadow, name))
        if not changed or words is None:
            continue
        which = [i for i in np.flatnonzero(open_ & ~out) if changed & set(words[i])]
        if not which:
            continue
        picked = np.array(which, dtype=np.int64)
        sub = _slice(tokens, picked)
        after = shadow.tops(name, [texts[i] for i in which], vectors[picked], sub)
        before = live.scorer.chunk_ids(name, _rows(live.tops[name], picked))
        out[picked] = (shadow.chunk_ids(name, after) != before).any(axis=1)
    return out


def _rows(tops: Tops, picked: np.ndarray) -> Tops:
    return Tops(tops.items[picked], tops.bar[picked])


def _tokenizer(scorer: Scorer, name: str) -> ChineseTokenizer:
    if name == "bm25" or scorer.questions is None or scorer.questions.bm25 is None:
        return scorer.snapshot.bm25_tokenizer
    return scorer.questions.bm25.tokenizer


def _changed_words(before: Scorer, after: Scorer, name: str, article_id: str) -> set[str]:
    """Words whose weight (IDF) in the ``name`` index moves by more than ``IDF_SHIFT``
    between the two snapshots, among those in documents of both (a word only in the
    article's old or new documents scores only them: the bars cover it)."""
    old, new = _word_counts(before, name, article_id), _word_counts(after, name, article_id)
    words = {w for w in old.keys() | new.keys() if old.get(w, 0) != new.get(w, 0)}
    then, now = _index(before, name).weights(words), _index(after, name).weights(words)
    return {w for w in then.keys() & now.keys() if abs(now[w] - then[w]) > IDF_SHIFT * then[w]}


def _index(scorer: Scorer, name: str) -> BM25Index:
    if name == "bm25" or scorer.questions is None or scorer.questions.bm25 is None:
        return scorer.snapshot.bm25_index
    return scorer.questions.bm25


def _word_counts(scorer: Scorer, name: str, article_id: str) -> dict[str, int]:
    """How many of ``article_id``'s documents in index ``name`` hold each word."""
    counts: dict[str, int] = {}
    if name == "bm25":
        ids = [str(i) for i in scorer.ids[scorer.article == article_id]]
        sets = scorer.snapshot.bm25_token_sets(ids)
    else:
        index = scorer.questions
        if index is None or index.bm25 is None:
            return counts
        mine = set(scorer.ids[scorer.article == article_id].tolist())
        rows = [str(i) for i, cid in enumerate(index.chunk_ids) if cid in mine]
        sets = index.bm25.token_sets(rows)
    for words in sets:
        for word in words:
            counts[word] = counts.get(word, 0) + 1
    return counts


Tokens = dict[str, list[list[str]]]  # tokenizer signature (JSON) -> tokens of each text


def tokenize_once(texts: Sequence[str], tokenizers: Sequence[ChineseTokenizer]) -> Tokens:
    """The texts' tokens under each distinct tokenizer (jieba is the costly part)."""
    out: Tokens = {}
    for tokenizer in tokenizers:
        key = tokenizer_key(tokenizer)
        if key not in out:
            out[key] = [tokenizer.tokenize(text) for text in texts]
    return out


def tokenizer_key(tokenizer: ChineseTokenizer) -> str:
    """A tokenizer's identity as a string (its signature)."""
    return json.dumps(tokenizer.signature, sort_keys=True, default=str)


def _for(tokens: Tokens | None, tokenizer: ChineseTokenizer) -> list[list[str]] | None:
    return None if tokens is None else tokens.get(tokenizer_key(tokenizer))


def _slice(tokens: Tokens | None, cut: slice | np.ndarray) -> Tokens | None:
    if tokens is None:
        return None
    if isinstance(cut, slice):
        return {k: v[cut] for k, v in tokens.items()}
    return {k: [v[i] for i in cut.tolist()] for k, v in tokens.items()}
