"""How sure kb is that its best result answers the question: the evidence and its probability.

**Meaning.** ``confidence`` is the estimated probability that the top-ranked article answers
the question (for passage-labelled sets: that the top passage contains the answer).

**Evidence** (``gather``, ``Evidence.features``): what retrieval says about the top result,
read from the fused chunks (``meta["retrieval"]`` holds every retriever's score and rank):

- ``dense``: its best cosine with the question, over the chunk itself and, for an FAQ, each
  of its questions (language-neutral when the top is in another language, ``kb.search.crosslang``);
  ``margin``: how far that is ahead of the best other article's;
- ``coverage``: the IDF-weighted share of the question's words found in the top chunk, its
  title, section and matched FAQ question (``kb.answer.citations.TermWeights``; 0 across languages);
- ``faq``: 1 when the top is an FAQ matched through one of its questions, ``faq_cosine``:
  that question's cosine (the FAQ match strength, 0 otherwise);
- ``fused`` and ``fused_margin``: the top's fused score (``kb.search.fusion``) and its lead over the
  best other article's (at least 0 for an article the question names, moved first by
  ``kb.search.named``: the question, not fusion, settled that order);
- ``rr_<source>``: the reciprocal rank of the top article in each ranking that fusion got
  (``bm25``, ``dense``, ``faq_dense``, ``faq_lexical``, and any ranking added later: the
  features come from what exists), ``lexical_rr`` / ``dense_rr`` the best of the lexical /
  dense ones, ``agreement``: the share of the rankings whose first chunk is of the top
  article;
- ``length``: log(1 + the question's distinct words); ``cross``: 1 when the top is in
  another language than the question (``same``: 1 - ``cross``); ``minority``: 1 when the
  question is not in the index's main language;
- ``translation``: 1 when these are the evidence of the top article's linked translation
  (``best_evidence``);
- ``body``: 1 when the top article's own text is among the dense candidates (the
  ``dense`` ranking over chunks), not only one of its FAQ questions. Two views of the
  article agreeing is what tells a right top in another language from a wrong one: a
  short question in one language and a short FAQ question in another give cosines that
  sit within 0.01 of each other for neighbouring topics: of the dev searches whose top was
  an FAQ in another language, 17 of 22 found through a question alone were wrong, 1 of 16
  found through a question and its text (docs/benchmarks.md, "xlang3"). For an article
  that is not an FAQ the text is the only view (``body`` is 1 whenever it ranks). The
  shipped model does not read it: a model of foreign tops on ``dense`` and ``body`` was
  the best by cross-validation on the dev rows but lost precision on the test halves
  (``benchmarks/train_confidence.py --with-body``).

**A top with a linked translation** (``translation_of``, ``kb.search.crosslang``): the
top article and its translation say the same thing, so the question is as well answered
as by the better of the two. ``best_evidence`` also gathers the evidence with each linked
translation found by fusion put first (the top article left out, as the translation is
left out of the results) and keeps the one the model is surest of. This is what lets an
English question answered by the English translation of a Chinese FAQ keep the
confidence the Chinese original earns (docs/benchmarks.md, "assist3").

**Probability** (``probability``): a logistic regression over some of these, learned from
labelled dev questions and shipped as JSON (``kb.answer.confidence_model``; regenerated and
cross-validated by ``benchmarks/train_confidence.py``; the file lists the features it uses,
how it was trained and its cross-validated figures). Suggest hands off below the
``confidence_threshold`` setting, and below ``cross_language_threshold`` when the evidence
is ``foreign`` (the higher of the two applies); docs/benchmarks.md, "Learned confidence".
The coefficients belong to the default embedding model; with another model, retrain them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from haystack import Document

from kb.answer.citations import TermWeights
from kb.answer.confidence_model import ConfidenceModel, bundled_model
from kb.language import base_language
from kb.search.crosslang import same_language, translations
from kb.search.named import NAMED

#: The four features of the first, hand-fitted model (``Evidence.vector``).
FEATURES = ("dense", "margin", "coverage", "faq")
#: The ranking of chunks by their own text's cosine (``body``: the top article is in it).
BODY_SOURCE = "dense"
#: Rankings whose reciprocal ranks make ``lexical_rr`` and ``dense_rr``.
LEXICAL_SOURCES = ("bm25", "faq_lexical")
DENSE_SOURCES = ("dense", "faq_dense")
#: Cosine assumed for an article that had no dense score (below anything e5 gives).
_FLOOR = 0.7
#: Chunks (fused order) whose cosines make ``dense`` and ``margin``.
_DEPTH = 20


@dataclass(frozen=True)
class Evidence:
    """The features of one question's top result (see the module docstring)."""

    dense: float
    margin: float
    coverage: float
    faq: float
    cross: float = 0.0
    #: 1 when the question is not in the index's main language (``kb.search.crosslang``).
    minority: float = 0.0
    fused: float = 0.0
    fused_margin: float = 0.0
    agreement: float = 0.0
    faq_cosine: float = 0.0
    length: float = 0.0
    #: 1 when these are the evidence of the top article's linked translation.
    translation: float = 0.0
    #: ranking name -> reciprocal rank of the top article in it (absent: not ranked).
    ranks: dict[str, float] = field(default_factory=dict, hash=False)

    @property
    def foreign(self) -> bool:
        """True when the top result or the question is in another language than the
        index's main one: the model saw few such pairs, so suggest asks more of it
        (``cross_language_threshold``)."""
        return bool(self.cross or self.minority)

    def features(self) -> dict[str, float]:
        """Every named feature (what a ``ConfidenceModel`` reads)."""
        values = {k: float(v) for k, v in asdict(self).items() if k != "ranks"}
        values.update({f"rr_{source}": rr for source, rr in self.ranks.items()})
        values["same"] = 1.0 - float(self.cross)
        values["body"] = 1.0 if self.ranks.get(BODY_SOURCE, 0.0) > 0 else 0.0
        values["lexical_rr"] = max((self.ranks.get(s, 0.0) for s in LEXICAL_SOURCES), default=0)
        values["dense_rr"] = max((self.ranks.get(s, 0.0) for s in DENSE_SOURCES), default=0)
        return values

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form (rounded)."""
        return {k: round(v, 4) for k, v in self.features().items()}

    def vector(self) -> list[float]:
        """The features in ``FEATURES`` order."""
        return [getattr(self, name) for name in FEATURES]


def dense_score(
    doc: Document, query: np.ndarray | None = None, stored: Any = None, neutral: bool = False
) -> float:
    """A chunk's dense evidence: best of its own and its FAQ questions' cosine (the raw
    cosine, or with ``neutral`` the language-neutral one; ``kb.search.crosslang``)."""
    retrieval = doc.meta.get("retrieval") or {}
    key = "score" if neutral else "cosine"
    scores = [
        retrieval[s].get(key, retrieval[s]["score"])
        for s in ("dense", "faq_dense")
        if s in retrieval
    ]
    if not scores and query is not None and stored is not None:
        scores = [float(np.dot(stored, query))]
    return max(scores, default=_FLOOR)


def gather(
    question: str,
    chunks: list[Document],
    weights: TermWeights,
    query: np.ndarray | None = None,
    vectors: dict[str, np.ndarray] | None = None,
    lang: str = "",
    main_lang: str = "",
) -> Evidence | None:
    """The evidence about the top chunk of ``chunks`` (fused order); None if there is none.

    ``query`` and ``vectors`` (stored chunk vectors by id) fill in a cosine for chunks that
    only BM25 found; ``lang``: the question's language (a top in another one is ``cross``);
    ``main_lang``: the index's main language (a question in another one is ``minority``).
    """
    if not chunks:
        return None
    vectors = vectors or {}
    top = chunks[0]
    top_article = top.meta.get("article_id")
    cross = not same_language(top.meta, lang)

    def cosine(doc: Document) -> float:
        return dense_score(doc, query, vectors.get(doc.id), neutral=cross)

    near = chunks[1:_DEPTH]
    others = [cosine(d) for d in near if d.meta.get("article_id") != top_article]
    same = [cosine(d) for d in near if d.meta.get("article_id") == top_article]
    dense = max([cosine(top), *same])
    retrieval = top.meta.get("retrieval") or {}
    faq_match = retrieval.get("faq_dense") or {}
    is_faq = 1.0 if top.meta.get("type") == "faq" and faq_match else 0.0
    minority = 1.0 if lang and main_lang and base_language(lang) != main_lang else 0.0
    tokens = weights.tokens(question)
    coverage = 0.0 if cross else weights.coverage(tokens, _context(top))
    ranks, agreement = rankings(chunks, str(top_article))
    return Evidence(
        dense=dense,
        margin=dense - max(others, default=_FLOOR),
        coverage=coverage,
        faq=is_faq,
        cross=1.0 if cross else 0.0,
        minority=minority,
        fused=float(top.score or 0.0),
        fused_margin=_named_margin(top, fused_margin(chunks, str(top_article))),
        agreement=agreement,
        faq_cosine=float(faq_match.get("cosine", faq_match.get("score", 0.0))) * is_faq,
        length=math.log1p(len(tokens)),
        ranks=ranks,
    )


def _named_margin(top: Document, margin: float) -> float:
    """The fused margin, no lower than 0 when the question names the top article."""
    return max(margin, 0.0) if top.meta.get(NAMED) else margin


def _context(top: Document) -> str:
    """The text a question's words are looked for in: title, section, matched question and
    the chunk itself."""
    parts = (top.meta.get("title"), top.meta.get("section"), top.meta.get("matched_question"))
    context = "\n".join(str(x) for x in parts if x)
    return f"{context}\n{top.content or ''}"


def fused_margin(chunks: Sequence[Document], top_article: str) -> float:
    """The top chunk's fused score minus the best one of another article (the whole score
    when no other article was found)."""
    best = float(chunks[0].score or 0.0)
    other = next(
        (float(d.score or 0.0) for d in chunks if str(d.meta.get("article_id")) != top_article),
        0.0,
    )
    return best - other


def rankings(chunks: Sequence[Document], top_article: str) -> tuple[dict[str, float], float]:
    """``({ranking: reciprocal rank of top_article's best chunk in it}, agreement)``, over
    every ranking named in the chunks' ``meta["retrieval"]``; agreement: the share of the
    rankings whose first chunk is of ``top_article``."""
    ranks: dict[str, float] = {}
    firsts: dict[str, str] = {}
    for doc in chunks:
        article = str(doc.meta.get("article_id"))
        for source, entry in (doc.meta.get("retrieval") or {}).items():
            rank = int(entry.get("rank") or 0) if isinstance(entry, dict) else 0
            if rank < 1:
                continue
            if rank == 1:
                firsts[source] = article
            if article == top_article:
                ranks[source] = max(ranks.get(source, 0.0), 1.0 / rank)
    agree = sum(a == top_article for a in firsts.values()) / len(firsts) if firsts else 0.0
    return ranks, agree


def probability(evidence: Evidence | None, model: ConfidenceModel | None = None) -> float:
    """The calibrated confidence for ``evidence`` under ``model`` (default: the bundled
    one); 0 when there is no result."""
    if evidence is None:
        return 0.0
    return (model or bundled_model()).probability(evidence.features())


def translation_rankings(
    chunks: Sequence[Document], fused: Sequence[Document]
) -> list[list[Document]]:
    """For each linked translation of the top article of ``chunks`` among ``fused`` (the
    fused chunks before the language preference left translations out), the ranking with
    that translation first: its chunks, then ``chunks`` without the top article's."""
    if not chunks:
        return []
    top = chunks[0].meta
    top_article = top.get("article_id")
    linked: dict[str, list[Document]] = {}
    for doc in fused:
        if translations(top, doc.meta):
            linked.setdefault(str(doc.meta.get("article_id")), []).append(doc)
    rest = [d for d in chunks if d.meta.get("article_id") != top_article]
    return [own + [d for d in rest if d.meta.get("article_id") != a] for a, own in linked.items()]


def best_evidence(
    candidates: Sequence[Evidence | None], model: ConfidenceModel | None = None
) -> Evidence | None:
    """The candidate the model gives the highest probability (the first on ties); the
    candidates after the first are marked ``translation`` (see the module docstring)."""
    best: Evidence | None = None
    best_p = -1.0
    for i, evidence in enumerate(candidates):
        if evidence is None:
            continue
        if i:
            evidence = replace(evidence, translation=1.0)
        p = probability(evidence, model)
        if p > best_p:
            best, best_p = evidence, p
    return best
