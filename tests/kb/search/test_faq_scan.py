"""The FAQ matcher's 8-bit question scan ranks exactly as every question's cosine does
(issue 16), and the error bound it relies on holds."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import kb.search.faq as faq
from kb.search.crosslang import language_along, language_basis, neutral_query, neutral_scores
from kb.search.dense import QuantizedRows
from kb.search.faq import QuestionIndex, _DenseScorer, _parts, _rows_product


def units(rng: np.random.Generator, n: int, dim: int = 64) -> np.ndarray:
    m = rng.normal(size=(n, dim)).astype(np.float32)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


def clustered(rng: np.random.Generator, n: int, dim: int = 64) -> np.ndarray:
    """Unit vectors around a few centres (many near ties, as paraphrased questions are),
    dimensions of different ranges (as the model's are)."""
    centres = units(rng, 12, dim)
    m = centres[rng.integers(0, 12, n)] + 0.35 * units(rng, n, dim)
    m[:, 0] *= 3
    return (m / np.linalg.norm(m, axis=1, keepdims=True)).astype(np.float32)


def test_the_bound_holds_for_every_row() -> None:
    rng = np.random.default_rng(1)
    vectors = clustered(rng, 3000)
    scan = QuantizedRows(lambda: iter([vectors[:1000], vectors[1000:]]), 64)
    assert scan.index.sa_code_size() == 64  # one byte per dimension
    for query in units(rng, 20):
        rows, approx = scan.search(query, len(vectors))
        exact = vectors[rows] @ query
        gap = np.abs(approx - exact).max()
        assert gap <= scan.bound(query)
        assert gap > 0  # 8 bits are not exact: the bound is not vacuous
    unbounded = QuantizedRows(lambda: iter([vectors]), 64, bounded=False)
    with pytest.raises(ValueError, match="without their error bound"):
        unbounded.bound(vectors[0])


def test_a_product_over_some_rows_is_bit_identical() -> None:
    rng = np.random.default_rng(2)
    matrix = units(rng, 5000, 384)
    query = units(rng, 1, 384)[0]
    full = matrix @ query
    for n in (1, 7, 100, 257, 300, 999):
        rows = np.sort(rng.choice(5000, n, replace=False))
        assert np.array_equal(_rows_product(matrix, rows, query), full[rows])


def question_index(rng: np.random.Generator) -> QuestionIndex:
    """3,000 Chinese and 1,200 English "questions" (a language direction between them)."""
    zh, en = clustered(rng, 3000), clustered(rng, 1200)
    en = en + 0.8 * units(rng, 1, 64)  # the English ones lean one way
    vectors = np.concatenate([zh, en / np.linalg.norm(en, axis=1, keepdims=True)])
    vectors = vectors.astype(np.float32)
    langs = np.asarray(["zh"] * 3000 + ["en"] * 1200, dtype=object)
    basis = language_basis({"zh": zh.mean(0), "en": vectors[3000:].mean(0)}, 64)
    along = language_along(vectors, basis)
    n = len(vectors)
    ids = [f"c{i // 3}" for i in range(n)]  # three questions per FAQ
    index = QuestionIndex(ids, [f"q{i}" for i in range(n)], vectors, None, basis, along, langs)
    index.parts = _parts(vectors, along, langs)
    return index


def full_ranking(index: QuestionIndex, query: np.ndarray, lang: str, neutral: bool) -> list:
    """Every question scored (the matcher's computation before the scan), best first."""
    raw = None
    if neutral:
        unit, _ = neutral_query(query, index.basis)
        scores, raw = neutral_scores(index.vectors @ unit, index.along, query, index.basis)
        if lang:
            scores = np.where(index.langs == lang, raw, scores)
    else:
        scores = index.vectors @ query
    order = [i for i in np.lexsort((np.arange(len(scores)), -scores)) if scores[i] > 0]
    return [(int(i), float(scores[i]), None if raw is None else float(raw[i])) for i in order]


@pytest.mark.parametrize(("lang", "neutral"), [("zh", True), ("en", True), ("", True), ("", False)])
def test_the_scan_ranks_as_every_cosine(
    monkeypatch: pytest.MonkeyPatch, lang: str, neutral: bool
) -> None:
    monkeypatch.setattr(faq, "FAQ_PART_MIN_QUESTIONS", 200)
    monkeypatch.setattr(faq, "FAQ_SCAN_FETCH", 64)
    rng = np.random.default_rng(3)
    index = question_index(rng)
    scanned = {p.lang for p in index.parts if p.scan is not None}
    assert scanned == {"zh", "en"}  # both languages have 8-bit scans
    assert any(p.scan is None for p in index.parts)  # and small parts scored exactly
    computed_all = 0
    original = _DenseScorer.scores

    def counted(self: _DenseScorer, rows: np.ndarray | None = None) -> tuple:
        nonlocal computed_all
        computed_all += rows is None
        return original(self, rows)

    monkeypatch.setattr(_DenseScorer, "scores", counted)
    paraphrases = index.vectors[rng.integers(0, 4200, 10)] + 0.2 * units(rng, 10)
    proven = 0
    for i, query in enumerate(np.concatenate([paraphrases, units(rng, 10)])):
        query = (query / np.linalg.norm(query)).astype(np.float32)
        expected = full_ranking(index, query, lang, neutral)
        got = _DenseScorer(index, query, lang, neutral).best_first()
        assert list(itertools.islice(got, 60)) == expected[:60]
        if i < len(paraphrases):  # a question near some FAQ questions: the scan proves them
            before = computed_all
            best = _DenseScorer(index, query, lang, neutral).best_first()
            assert list(itertools.islice(best, 5)) == expected[:5]
            proven += computed_all == before  # without computing every cosine
    if lang == "zh" or not neutral:  # raw cosines: the scans alone ranked most best fives
        assert proven >= 5
    assert computed_all > 0  # some rankings read past what the scans proved: still exact


def test_reading_past_the_proven_questions_falls_back_to_every_cosine(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(faq, "FAQ_PART_MIN_QUESTIONS", 500)
    monkeypatch.setattr(faq, "FAQ_SCAN_FETCH", 8)
    rng = np.random.default_rng(4)
    index = question_index(rng)
    query = index.vectors[17]
    expected = full_ranking(index, query, "zh", True)
    assert list(_DenseScorer(index, query, "zh", True).best_first()) == expected
