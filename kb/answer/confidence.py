"""How sure kb is that its best result answers the question.

**Meaning.** ``confidence`` is the estimated probability that the top-ranked article answers
the question (for passage-labelled sets: that the top passage contains the answer). It is
a logistic model over four pieces of retrieval evidence about the top result:

- ``dense``: its best cosine with the question, over the chunk itself and, for an FAQ, each
  of its questions (``multilingual-e5-small``: unrelated text still scores ~0.75-0.8);
- ``margin``: how far that cosine is ahead of the best other article's;
- ``coverage``: the IDF-weighted share of the question's words found in the top chunk, its
  title, section and matched FAQ question (``kb.answer.citations.TermWeights``);
- ``faq``: 1 when the top result is an FAQ matched through one of its questions.

**Calibration.** The coefficients were fitted by ``benchmarks/retrieval_compare.py
--calibrate`` (scikit-learn ``LogisticRegression`` on standardised features, C=1, each set
weighted equally) on dev sets with clean labels: seeds_dev and
``tests/kb/data/calibration_dev.jsonl`` (40 answerable questions over the sample articles,
20 out-of-scope ones labelled 0). bq-faq dev is reported but not fitted on: its labels are
paraphrase clusters from pair annotations, true paraphrases sit in other clusters, and
within it the features of "right" and "wrong" top results hardly differ (mean top cosine
0.956 vs 0.951), so fitting on it drove the dense coefficient negative. ``faq`` comes out
negative because question-to-question cosines run higher than question-to-passage ones.
Reliability tables and Brier scores (also on the held-out sample test set) are in
``docs/benchmarks.md``. The coefficients belong to the default embedding model; with
another model, refit them.

**Across languages** (``kb.search.crosslang``). When the top result is in another language than
the question, its words cannot cover the question's, and the model above (fitted on
same-language pairs, where coverage weighs 4.2) can only say no. Such a top is scored by a
second logistic model, ``CROSS_INTERCEPT`` and ``CROSS_COEFFICIENTS`` over its
*language-neutral* cosine, margin and ``faq`` (``cross`` = 1 in the evidence), fitted by
``benchmarks/crosslang_quality.py --calibrate`` on the dev questions whose top result is in
another language (the dev split of ``tests/data/assist_crosslang.jsonl``: answerable and
off-topic). Same-language tops keep the model above, on the raw cosines it was fitted on.

Below the ``confidence_threshold`` setting (default 0.5) suggest hands off to a human; when
the top result is in another language than the question, or the question is not in the
index's main language (``Evidence.foreign``), below ``cross_language_threshold`` (default
0.65, the higher of the two applies): both models were fitted on few such pairs, and
on them a wrong top scored up to 0.61 on the sample questions and an off-topic message 0.57
on the dev half of ``tests/data/assist_offtopic.jsonl`` (docs/benchmarks.md, "Agent assist
— every language").
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from haystack import Document

from kb.answer.citations import TermWeights
from kb.language import base_language
from kb.search.crosslang import same_language

FEATURES = ("dense", "margin", "coverage", "faq")
#: Fitted on the dev sets (see the module docstring); intercept first.
INTERCEPT = -10.871
COEFFICIENTS = {"dense": 10.47, "margin": 17.197, "coverage": 4.167, "faq": -0.851}
#: The cross-language model (see the module docstring); intercept first.
CROSS_INTERCEPT = -38.595
CROSS_COEFFICIENTS = {"dense": 43.182, "margin": 19.913, "faq": 0.938}
#: Cosine assumed for an article that had no dense score (below anything e5 gives).
_FLOOR = 0.7


@dataclass(frozen=True)
class Evidence:
    """The features of one question's top result."""

    dense: float
    margin: float
    coverage: float
    faq: float
    cross: float = 0.0
    #: 1 when the question is not in the index's main language (``kb.search.crosslang``).
    minority: float = 0.0

    @property
    def foreign(self) -> bool:
        """True when the top result or the question is in another language than the
        index's main one: the calibration was fitted mostly on main-language pairs, so
        suggest asks more of it (``cross_language_threshold``)."""
        return bool(self.cross or self.minority)

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form (rounded)."""
        return {k: round(v, 4) for k, v in asdict(self).items()}

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

    others = [cosine(d) for d in chunks[1:] if d.meta.get("article_id") != top_article]
    same = [cosine(d) for d in chunks[1:] if d.meta.get("article_id") == top_article]
    dense = max([cosine(top), *same])
    second = max(others, default=_FLOOR)
    retrieval = top.meta.get("retrieval") or {}
    is_faq = 1.0 if top.meta.get("type") == "faq" and "faq_dense" in retrieval else 0.0
    minority = 1.0 if lang and main_lang and base_language(lang) != main_lang else 0.0
    if cross:
        return Evidence(dense, dense - second, 0.0, is_faq, 1.0, minority)
    context = "\n".join(
        str(x)
        for x in (top.meta.get("title"), top.meta.get("section"), top.meta.get("matched_question"))
        if x
    )
    coverage = weights.coverage(weights.tokens(question), f"{context}\n{top.content or ''}")
    return Evidence(dense, dense - second, coverage, is_faq, 0.0, minority)


def probability(evidence: Evidence | None) -> float:
    """The calibrated confidence for ``evidence`` (0 when there is no result)."""
    if evidence is None:
        return 0.0
    if evidence.cross:
        z = CROSS_INTERCEPT + sum(
            weight * getattr(evidence, name) for name, weight in CROSS_COEFFICIENTS.items()
        )
    else:
        z = INTERCEPT + sum(COEFFICIENTS[name] * getattr(evidence, name) for name in FEATURES)
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
