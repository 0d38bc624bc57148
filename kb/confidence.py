"""How sure kb is that its best result answers the question.

**Meaning.** ``confidence`` is the estimated probability that the top-ranked article answers
the question (for passage-labelled sets: that the top passage contains the answer). It is
a logistic model over four pieces of retrieval evidence about the top result:

- ``dense``: its best cosine with the question, over the chunk itself and, for an FAQ, each
  of its questions (``multilingual-e5-small``: unrelated text still scores ~0.75-0.8);
- ``margin``: how far that cosine is ahead of the best other article's;
- ``coverage``: the IDF-weighted share of the question's words found in the top chunk, its
  title, section and matched FAQ question (``kb.citations.TermWeights``);
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

Below the ``confidence_threshold`` setting (default 0.5) suggest hands off to a human.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from haystack import Document

from kb.citations import TermWeights

FEATURES = ("dense", "margin", "coverage", "faq")
#: Fitted on the dev sets (see the module docstring); intercept first.
INTERCEPT = -10.871
COEFFICIENTS = {"dense": 10.47, "margin": 17.197, "coverage": 4.167, "faq": -0.851}
#: Cosine assumed for an article that had no dense score (below anything e5 gives).
_FLOOR = 0.7


@dataclass(frozen=True)
class Evidence:
    """The features of one question's top result."""

    dense: float
    margin: float
    coverage: float
    faq: float

    def to_dict(self) -> dict[str, float]:
        """JSON-ready form (rounded)."""
        return {k: round(v, 4) for k, v in asdict(self).items()}

    def vector(self) -> list[float]:
        """The features in ``FEATURES`` order."""
        return [getattr(self, name) for name in FEATURES]


def dense_score(doc: Document, query: np.ndarray | None = None, stored: Any = None) -> float:
    """A chunk's dense evidence: best of its own and its FAQ questions' cosine."""
    retrieval = doc.meta.get("retrieval") or {}
    scores = [retrieval[s]["score"] for s in ("dense", "faq_dense") if s in retrieval]
    if not scores and query is not None and stored is not None:
        scores = [float(np.dot(stored, query))]
    return max(scores, default=_FLOOR)


def gather(
    question: str,
    chunks: list[Document],
    weights: TermWeights,
    query: np.ndarray | None = None,
    vectors: dict[str, np.ndarray] | None = None,
) -> Evidence | None:
    """The evidence about the top chunk of ``chunks`` (fused order); None if there is none.

    ``query`` and ``vectors`` (stored chunk vectors by id) fill in a cosine for chunks that
    only BM25 found.
    """
    if not chunks:
        return None
    vectors = vectors or {}
    top = chunks[0]
    top_article = top.meta.get("article_id")
    best_top = dense_score(top, query, vectors.get(top.id))
    others = [
        dense_score(d, query, vectors.get(d.id))
        for d in chunks[1:]
        if d.meta.get("article_id") != top_article
    ]
    same = [
        dense_score(d, query, vectors.get(d.id))
        for d in chunks[1:]
        if d.meta.get("article_id") == top_article
    ]
    dense = max([best_top, *same])
    second = max(others, default=_FLOOR)
    context = "\n".join(
        str(x)
        for x in (top.meta.get("title"), top.meta.get("section"), top.meta.get("matched_question"))
        if x
    )
    coverage = weights.coverage(weights.tokens(question), f"{context}\n{top.content or ''}")
    retrieval = top.meta.get("retrieval") or {}
    is_faq = top.meta.get("type") == "faq" and "faq_dense" in retrieval
    return Evidence(dense, dense - second, coverage, 1.0 if is_faq else 0.0)


def probability(evidence: Evidence | None) -> float:
    """The calibrated confidence for ``evidence`` (0 when there is no result)."""
    if evidence is None:
        return 0.0
    z = INTERCEPT + sum(COEFFICIENTS[name] * getattr(evidence, name) for name in FEATURES)
    return 1.0 / (1.0 + math.exp(-max(-60.0, min(60.0, z))))
