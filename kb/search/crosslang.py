"""Questions in another language than the articles: one rule for dense scores and fusion.

The bundled multilingual model (``multilingual-e5-small``) can match an English question
with a Chinese article, but it places every text a little closer to questions in its own
language: an English question's cosine with an unrelated English FAQ beats its cosine with
the right Chinese one. BM25, in turn, only matches words of the question's language. So on
a knowledge base that is mostly Chinese an English question was drowned by whichever
English article was nearest, and the reverse (measured in ``docs/benchmarks.md``, "Agent
assist — every language").

kb corrects both by a general rule, with the question's language from
``kb.language.detect_language`` (``LanguageDetector``, a pipeline stage):

- **Language-neutral cosines for texts in another language.** Each article language has
  a centroid, the mean vector of its chunks (for FAQ questions, of the questions). The
  differences between the centroids span a *language direction* (one vector for Chinese
  and English). A chunk or FAQ question in another language than the question scores the
  cosine of what is left once that direction is removed from both sides:
  ``cos(q - P q, v - P v)``, ``P`` the projection on it (``language_basis``). The question
  is projected once and searched as it is (FAISS scores the numerator); each chunk's
  coordinates along the basis are kept per snapshot, so the exact cosine is one division
  (``neutral_scores``). Texts in the question's language keep their raw cosine, and every
  text keeps it in ``meta["cosine"]`` (the same-language confidence model was fitted on
  it). When the question has no language, every text scores the neutral cosine. On the
  dev questions the right article came first for 0.64 of the cross-language and English
  ones, against 0.28; 0.68 with ``CROSS_LEXICAL`` 1.5 once translations were linked
  (docs/benchmarks.md, "Agent assist — every language" and "translation links").
- **No lexical verdict across languages.** In fusion a chunk in another language than the
  question cannot share its words, so a missing BM25 score is no evidence against it: its
  lexical part is at least its (re-weighted) dense part times ``CROSS_LEXICAL``.
- **The question's language first.** When the top result is in another language and a
  result in the question's language scores within ``PREFER_WITHIN`` of it (among the next
  ``PREFER_DEPTH`` articles), that one goes first (``kb.search.fusion.LanguagePreference``):
  usually the translation, which the agent can send as it is. An article can name the
  article it translates (``translation_of``, checked by ``kb.store.translations``); a
  linked translation in the question's language goes first wherever it ranks among the
  candidates (``translations``), and only linked ones do (``PREFER_UNLINKED``). The
  first article's linked translations are left out of the results below it (the same
  text in another language is no second answer, nor a rival that lowers its margin).
- **Confidence.** A top result in another language than the question has no measurable
  word coverage; ``kb.answer.confidence`` scores it with its own calibration, and the reply
  quotes that article only (``kb.answer.suggest``).

With one language in the index, or fewer than ``MIN_LANGUAGE_TEXTS`` texts in the others,
the cosines are the raw ones; a question without letters has no language, and fusion then
treats every chunk alike.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
from haystack import component, default_from_dict, default_to_dict

from kb.language import base_language, detect_language

#: Share of a cross-language chunk's re-weighted dense gain that stands in for its lexical
#: gain (chosen on the dev questions, docs/benchmarks.md: 1.0 until translations were
#: linked: without links 1.5 put the translation first less often, 0.75 against 1.0).
CROSS_LEXICAL = 1.5
#: Texts a language needs for its centroid to stand for the language rather than for what
#: its few texts say (with one English FAQ among Chinese ones, the "direction" would be
#: that FAQ's topic); rarer languages keep raw cosines.
MIN_LANGUAGE_TEXTS = 20
#: Below this norm a difference of centroids adds no direction (same-language centroids).
_MIN_NORM = 1e-6


def common_languages(means: dict[str, np.ndarray], langs: Sequence[str]) -> dict[str, np.ndarray]:
    """The centroids (``means``) of the languages that at least ``MIN_LANGUAGE_TEXTS`` of
    the texts (their languages: ``langs``) are in."""
    counts = Counter(langs)
    return {name: mu for name, mu in means.items() if counts[name] >= MIN_LANGUAGE_TEXTS}


def language_basis(centroids: dict[str, np.ndarray], dim: int) -> np.ndarray:
    """Orthonormal rows spanning the differences between the language centroids
    (``(0, dim)`` with fewer than two languages)."""
    names = sorted(centroids)
    if len(names) < 2:
        return np.zeros((0, dim), dtype=np.float32)
    base = centroids[names[0]].astype(np.float64)
    rows: list[np.ndarray] = []
    for name in names[1:]:
        v = centroids[name].astype(np.float64) - base
        for r in rows:
            v = v - np.dot(v, r) * r
        norm = float(np.linalg.norm(v))
        if norm > _MIN_NORM:
            rows.append(v / norm)
    return np.asarray(rows, dtype=np.float32).reshape(len(rows), dim)


def language_along(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """Each row's coordinates along the language basis (``(n, k)``; ``P v`` in the basis)."""
    return (np.asarray(vectors, dtype=np.float32) @ basis.T).astype(np.float32)


def neutral_query(query: np.ndarray, basis: np.ndarray) -> tuple[np.ndarray, float]:
    """The query without its language part, as a unit vector, and the norm that part left
    (``1.0`` and the query itself when there is no basis)."""
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    if not len(basis):
        return q, 1.0
    rest = q - basis.T @ (basis @ q)
    norm = float(np.linalg.norm(rest))
    if norm <= _MIN_NORM:
        return q, 1.0
    return (rest / norm).astype(np.float32), norm


def neutral_scores(
    scores: np.ndarray, along: np.ndarray, query: np.ndarray, basis: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(neutral cosines, raw cosines)`` from ``v . q_neutral`` (``scores``, ``q_neutral``
    from ``neutral_query(query, basis)``) and each ``v``'s ``along`` coordinates."""
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    _, norm = neutral_query(q, basis)
    scores = np.asarray(scores, dtype=np.float32)
    shares = np.einsum("ij,ij->i", along, along)
    neutral = scores / np.sqrt(np.clip(1.0 - shares, 1e-6, None))
    raw = norm * scores + along @ (basis @ q)
    return neutral.astype(np.float32), raw.astype(np.float32)


def translations(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """True when two chunks (their meta) belong to two articles linked as translations:
    one names the other in ``translation_of``, or both name the same original."""
    first, second = str(a.get("article_id") or ""), str(b.get("article_id") or "")
    if not first or not second or first.lower() == second.lower():
        return False
    link_a = str(a.get("translation_of") or "").lower()
    link_b = str(b.get("translation_of") or "").lower()
    return link_a == second.lower() or link_b == first.lower() or bool(link_a and link_a == link_b)


def same_language(meta: dict[str, Any], lang: str) -> bool:
    """True when a chunk (its meta) is in ``lang``, or either language is unknown."""
    have = base_language(meta.get("lang"))
    return not lang or not have or have == base_language(lang)


@component
class LanguageDetector:
    """The question's language (``kb.language.detect_language``): ``zh``, ``en`` or ``""``."""

    @component.output_types(lang=str)
    def run(self, query: str) -> dict[str, str]:
        """``{"lang": language of query}``."""
        return {"lang": detect_language(query if isinstance(query, str) else "")}

    def to_dict(self) -> dict[str, Any]:
        """Serialise (no parameters)."""
        return default_to_dict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LanguageDetector:
        """Rebuild from ``to_dict`` output."""
        return default_from_dict(cls, data)


#: A result in the question's language within this share of a foreign top result's fused
#: score goes first: the translation an agent can send as it is (chosen on the dev
#: questions, docs/benchmarks.md).
PREFER_WITHIN = 0.95
#: How many articles behind the top one are looked at for that.
PREFER_DEPTH = 3
#: Whether a result that is not a linked translation of the top one may go first that way.
PREFER_UNLINKED = False
