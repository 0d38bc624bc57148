"""Grounded replies: sentences picked from retrieved chunks, each with an exact citation.

- ``sentence_spans`` cuts a chunk into sentences (``。！？；!?;``, a ``.`` before a space,
  line ends), trimming whitespace and Markdown list or quote markers, and returns each
  sentence's span in the *article* text, so ``passage == body[char_start:char_end]``.
- ``TermWeights`` weighs query words by jieba's IDF table (rare words count more, ``的`` and
  ``the`` almost nothing); ``coverage`` is the weighted share of the question's words found
  in a sentence.
- ``select_sentences`` picks the sentences that best answer the question from the top
  chunks: scored by coverage and by their chunk's rank, without repeats (the same span from
  overlapping chunks, or near-identical text). The article of the best sentence leads; a
  sentence of another article is kept only if it is about the question by itself and adds
  question words the reply lacks. Order: the lead article first, then the others in rank
  order, sentences in text order within an article.
- ``render_reply`` cites each article once (one ``[n]`` per article, its sentences listed
  as ``spans``), numbered by first use, and writes every sentence followed by its ``[n]``.
  No sentence is written without one.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from haystack import Document

from kb.search.bm25 import ChineseTokenizer
from kb.text import date_text, normalize_for_matching

_END = re.compile(r"[。！？；!?;]+[”’\"')）」』】]*|\.(?=\s|$)|\n")
_LEAD = re.compile(r"(?:[-*+•>]\s+|\d{1,3}(?:[.)]\s+|、\s*)|#{1,6}\s+|\|\s*)+")  # used with .match
_NUMBER = re.compile(r"[\d.)、\s]+")  # a list number on its own ("1.") is no sentence
_EN_STOP = frozenset(  # English function words: they say nothing about the topic
    re.findall(
        r"\w+",
        "a an the is are was were be to of in on for and or do does did can i my me you your "
        "we our it how what when where which who why if with at by from this that",
    )
)
_CHAR_WEIGHT = 0.5  # a single-character token weighs half as much as its IDF says
_MARKER = re.compile(r"\[(\d+)\]")
#: A sentence of an article other than the lead one must cover this share of the question...
OTHER_MIN_COVER = 0.5
#: ...and add question words worth this share that the reply does not hold yet.
OTHER_MIN_GAIN = 0.2


@dataclass(frozen=True)
class Sentence:
    """One sentence of an article, with its span in the article text."""

    article_id: str
    chunk_id: str
    start: int
    end: int
    text: str
    article_rank: int
    chunk_rank: int
    meta: dict[str, Any]


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` of each sentence of ``text``, trimmed of spaces and list markers."""
    spans = []
    pos = 0
    for match in _END.finditer(text):
        spans.append((pos, match.end()))
        pos = match.end()
    spans.append((pos, len(text)))
    out = []
    for start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        lead = _LEAD.match(text, start, end)
        if lead:
            start = lead.end()
        piece = text[start:end]
        if end - start >= 2 and any(ch.isalnum() for ch in piece) and not _NUMBER.fullmatch(piece):
            out.append((start, end))
    return out


class TermWeights:
    """Query-word weights from jieba's IDF table (loaded once per process)."""

    _idf: dict[str, float] | None = None
    _median = 10.0
    _lock = threading.Lock()

    def __init__(self, tokenizer: ChineseTokenizer | None = None) -> None:
        """Use ``tokenizer`` (the process's BM25 tokenizer, ``Runtime.resources.tokenizers``;
        default: a new one without user dictionary)."""
        self.tokenizer = tokenizer or ChineseTokenizer()

    @classmethod
    def _table(cls) -> dict[str, float]:
        """jieba's IDF table."""
        with cls._lock:
            if cls._idf is None:
                import jieba.analyse

                tfidf = jieba.analyse.TFIDF()
                cls._idf, cls._median = tfidf.idf_freq, float(tfidf.median_idf)
            return cls._idf

    def weight(self, token: str) -> float:
        """How much one token tells: its IDF (median if unknown), less for characters."""
        if token in _EN_STOP:
            return 0.1
        idf = self._table().get(token, self._median)
        return idf * _CHAR_WEIGHT if len(token) == 1 else idf

    def tokens(self, text: str) -> set[str]:
        """The distinct matching tokens of ``text`` (normalised first)."""
        return set(self.tokenizer.tokenize(normalize_for_matching(text)))

    def coverage(self, query_tokens: set[str], text: str) -> float:
        """Weighted share of the query's tokens present in ``text`` (0..1)."""
        return self.share(query_tokens, query_tokens & self.tokens(text))

    def share(self, query_tokens: set[str], found: Iterable[str]) -> float:
        """The weight of ``found`` as a share of the query tokens' weight (0..1)."""
        total = sum(self.weight(t) for t in query_tokens)
        if not total:
            return 0.0
        return sum(self.weight(t) for t in set(found) & query_tokens) / total


def _bigrams(text: str) -> set[str]:
    """Character bigrams of the matching form (for near-duplicate detection)."""
    norm = "".join(normalize_for_matching(text).split())
    return {norm[i : i + 2] for i in range(len(norm) - 1)} or {norm}


def _near_duplicate(a: set[str], b: set[str]) -> bool:
    """Jaccard similarity of bigram sets of at least 0.7 (a repeat with a word changed)."""
    return len(a & b) >= 0.7 * len(a | b)


def candidate_sentences(
    chunks: list[Document], max_articles: int, max_chunks: int
) -> list[Sentence]:
    """The sentences of the top chunks of the top ``max_articles`` articles."""
    ranks: dict[str, int] = {}
    out: list[Sentence] = []
    taken = 0
    for chunk_rank, chunk in enumerate(chunks):
        article_id = str(chunk.meta.get("article_id"))
        if article_id not in ranks:
            if len(ranks) >= max_articles:
                continue
            ranks[article_id] = len(ranks)
        taken += 1
        if taken > max_chunks:
            break
        text = chunk.content or ""
        base = int(chunk.meta.get("char_start", 0))
        for start, end in sentence_spans(text):
            out.append(
                Sentence(
                    article_id,
                    chunk.id,
                    base + start,
                    base + end,
                    text[start:end],
                    ranks[article_id],
                    chunk_rank,
                    chunk.meta,
                )
            )
    return out


@dataclass(frozen=True)
class Scored:
    """A candidate sentence with its score and the question words it holds."""

    score: float
    cover: float
    found: frozenset[str]
    sentence: Sentence


def score_sentences(
    question: str,
    chunks: list[Document],
    weights: TermWeights,
    max_articles: int = 3,
    max_chunks: int = 6,
) -> tuple[set[str], list[Scored]]:
    """The question's tokens and every candidate sentence scored, best first.

    Score: ``0.7 * coverage + 0.3 / (1 + chunk rank)``.
    """
    query_tokens = weights.tokens(question)
    scored = []
    for sentence in candidate_sentences(chunks, max_articles, max_chunks):
        found = frozenset(query_tokens & weights.tokens(sentence.text))
        cover = weights.share(query_tokens, found)
        scored.append(Scored(0.7 * cover + 0.3 / (1 + sentence.chunk_rank), cover, found, sentence))
    scored.sort(key=lambda item: -item.score)
    return query_tokens, scored


class _Picker:
    """The sentences chosen so far, without repeats (same span or near-identical text)."""

    def __init__(self) -> None:
        self.chosen: list[Sentence] = []
        self.shapes: list[set[str]] = []
        self.spans: set[tuple[str, int, int]] = set()
        self.found: set[str] = set()

    def add(self, item: Scored) -> bool:
        """Take ``item`` unless it repeats a chosen sentence."""
        sentence = item.sentence
        key = (sentence.article_id, sentence.start, sentence.end)
        shape = _bigrams(sentence.text)
        if key in self.spans or any(_near_duplicate(shape, s) for s in self.shapes):
            return False
        self.spans.add(key)
        self.shapes.append(shape)
        self.chosen.append(sentence)
        self.found |= item.found
        return True


def select_sentences(
    question: str,
    chunks: list[Document],
    weights: TermWeights,
    max_sentences: int = 3,
    max_articles: int = 3,
    max_chunks: int = 6,
    min_relative: float = 0.6,
) -> list[Sentence]:
    """The sentences that best answer ``question``, deduplicated, in reading order.

    The article of the best-scoring sentence leads: its sentences that score at least
    ``min_relative`` of the best and share a word with the question come first, in text
    order. A sentence of another article is only added when it is about the question by
    itself (coverage of at least ``OTHER_MIN_COVER``) and covers question words the reply
    does not yet (at least ``OTHER_MIN_GAIN`` of the question's weight): a sentence that
    merely sits in a top passage (a lost-parcel rule in a damaged-parcel reply) is left out.
    """
    query_tokens, scored = score_sentences(question, chunks, weights, max_articles, max_chunks)
    return pick_sentences(query_tokens, scored, weights, max_sentences, min_relative)


def pick_sentences(
    query_tokens: set[str],
    scored: list[Scored],
    weights: TermWeights,
    max_sentences: int = 3,
    min_relative: float = 0.6,
) -> list[Sentence]:
    """``select_sentences`` on sentences already scored (``score_sentences``)."""
    if not scored:
        return []
    floor = min_relative * scored[0].score
    lead = scored[0].sentence.article_id
    picker = _Picker()
    for item in scored:
        if len(picker.chosen) >= max_sentences or item.score < floor:
            break
        if item.sentence.article_id == lead and (item.cover > 0 or not picker.chosen):
            picker.add(item)
    for item in scored:
        if len(picker.chosen) >= max_sentences or item.score < floor:
            break
        if item.sentence.article_id == lead or item.cover < OTHER_MIN_COVER:
            continue
        if weights.share(query_tokens, item.found - picker.found) >= OTHER_MIN_GAIN:
            picker.add(item)
    return reading_order(picker.chosen, lead)


def reading_order(sentences: list[Sentence], lead: str) -> list[Sentence]:
    """The lead article's sentences first, then the others by rank; text order in each."""
    return sorted(sentences, key=lambda s: (s.article_id != lead, s.article_rank, s.start))


@dataclass
class Span:
    """One cited stretch of an article: ``passage == body[char_start:char_end]``."""

    passage: str
    char_start: int
    char_end: int


@dataclass
class Citation:
    """What one ``[n]`` marker points at: one article version and the passages cited from it.

    Each article is cited once: ``spans`` lists every cited passage of it in text order;
    ``passage``, ``char_start`` and ``char_end`` repeat the first of them.
    """

    n: int
    article_id: str
    version: int | None
    title: str
    type: str
    section: str
    effective_from: str | None
    effective_to: str | None
    passage: str
    char_start: int
    char_end: int
    spans: list[Span] = field(default_factory=list)
    audience: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        data = asdict(self)
        if not self.spans:
            data["spans"] = [asdict(Span(self.passage, self.char_start, self.char_end))]
        return data

    def cited_text(self) -> str:
        """Every cited passage of the article, one per line."""
        return "\n".join(s.passage for s in self.spans) or self.passage

    def add_span(self, passage: str, start: int, end: int) -> None:
        """Cite one more passage of the same article (kept in text order)."""
        if any(s.char_start == start and s.char_end == end for s in self.spans):
            return
        self.spans.append(Span(passage, start, end))
        self.spans.sort(key=lambda s: s.char_start)
        first = self.spans[0]
        self.passage, self.char_start = first.passage, first.char_start
        self.char_end = first.char_end


def make_citation(n: int, meta: dict[str, Any], passage: str, start: int, end: int) -> Citation:
    """A citation of ``passage`` (``body[start:end]``) of the article in ``meta``."""
    audience = meta.get("audience")
    return Citation(
        n=n,
        article_id=str(meta.get("article_id")),
        version=meta.get("version"),
        title=str(meta.get("title") or ""),
        type=str(meta.get("type") or ""),
        section=str(meta.get("section") or ""),
        effective_from=date_text(meta.get("effective_from")),
        effective_to=date_text(meta.get("effective_to")),
        passage=passage,
        char_start=start,
        char_end=end,
        spans=[Span(passage, start, end)],
        audience=str(audience) if audience else None,
    )


def join_sentences(parts: list[str]) -> str:
    """Join cited sentences: a space after Latin text or before a Latin word, nothing
    between CJK sentences nor after a CJK full stop before a number (``清零。100 积分``, as
    written)."""
    out = ""
    for part in parts:
        before = out[-4:].rstrip("]0123456789[")
        number_after_stop = part[:1].isdigit() and before[-1:] in _CJK_STOPS
        if out and (before.isascii() or (part[:1].isascii() and not number_after_stop)):
            out += " "
        out += part
    return out


_CJK_STOPS = "。！？；：，、）」』】”’"


def render_reply(sentences: list[Sentence]) -> tuple[str, list[Citation]]:
    """The reply text (each sentence + ``[n]``) and its citations: one per article,
    numbered by first use, with every cited sentence of the article among its spans."""
    citations: dict[str, Citation] = {}
    parts = []
    for s in sentences:
        cite = citations.get(s.article_id)
        if cite is None:
            cite = make_citation(len(citations) + 1, s.meta, s.text, s.start, s.end)
            citations[s.article_id] = cite
        cite.add_span(s.text, s.start, s.end)
        parts.append(f"{s.text}[{cite.n}]")
    return join_sentences(parts), list(citations.values())


def render_passage(text: str, n: int) -> str:
    """A whole cited passage (an FAQ answer) with ``[n]`` after each of its sentences."""
    spans = sentence_spans(text)
    return join_sentences([f"{text[a:b]}[{n}]" for a, b in spans]) if spans else ""


_CLOSE = "”’\"')）」』】"
_CITED_SENTENCE = re.compile(
    rf"(?P<body>.+?)(?P<tail>(?:[。！？!?；;]+[{_CLOSE}]*|\.(?=[\s\[]|$))(?:\s*\[\d+\])*"
    rf"|(?:\s*\[\d+\])+(?:\s*[。！？!?；;.]+[{_CLOSE}]*)?|\n|$)",
    re.S,
)


def split_cited(reply: str) -> list[tuple[str, list[int]]]:
    """``(sentence, [n, ...])`` for each sentence of a reply; ``[]`` when it cites nothing.

    A sentence ends at ``。！？；!?;`` (or ``.`` before a space), at a line end, or at a
    run of ``[n]`` markers; markers right before or after its end belong to it, so both
    ``……到账。[1]`` and an LLM's ``……到账[1]。`` cite [1]. Used to check replies.
    """
    out: list[tuple[str, list[int]]] = []
    for match in _CITED_SENTENCE.finditer(reply):
        whole = match.group(0)
        numbers = [int(n) for n in _MARKER.findall(whole)]
        sentence = _MARKER.sub("", whole).strip()
        if sentence.strip("。！？；!?;.," + _CLOSE):
            out.append((sentence, numbers))
        elif numbers and out and not out[-1][1]:
            out[-1] = (out[-1][0], numbers)
    return out
