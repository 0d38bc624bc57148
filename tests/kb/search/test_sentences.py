"""Sentence-level dense vectors: splitting, storage per index version, pooled dense search.

Vectors here are synthetic unit vectors (no model): what is tested is where they are
stored and how a chunk's best sentence lifts it, which does not depend on their values.
"""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document

from kb.errors import InvalidInput
from kb.search.index import IndexStore
from kb.search.sentences import SENTENCE_META, SENTENCE_VECTORS_FILE, sentence_texts, split_windows

DIM = 16


def unit(*hot: int) -> list[float]:
    """A unit vector with weight on the given axes."""
    v = np.zeros(DIM, dtype=np.float32)
    v[list(hot)] = 1.0
    return (v / np.linalg.norm(v)).tolist()


def chunk(article_id: str, i: int, vector: list[float], sentences: list | None) -> Document:
    meta = {"article_id": article_id, "version": 1, "type": "policy", "chunk_index": i}
    if sentences is not None:
        meta[SENTENCE_META] = sentences
    text = f"第{i}段。{article_id} 的内容在这里写得足够长一些。"
    return Document(id=f"{article_id}-{i}", content=text, meta=meta, embedding=vector)


def ranking(store: IndexStore, query: list[float], weight: float) -> list[str]:
    snapshot = store.open_snapshot()
    return [d.id for d, _ in snapshot.dense_search(query, 10, sentence_weight=weight)]


class TestSplitting:
    def test_windows_merge_short_sentences_and_cut_at_sentence_ends(self) -> None:
        text = "好的。那么我们开始。新员工入职后的前三个月属于新鲜期，容易犯错！要多鼓励？"
        windows = split_windows(text, min_chars=10)
        assert windows == [
            "好的。那么我们开始。",
            "新员工入职后的前三个月属于新鲜期，容易犯错！",
            "要多鼓励？",
        ]
        assert "".join(windows) == text

    def test_faq_and_single_sentence_chunks_get_none(self) -> None:
        long = (
            "退货需要在收货后七天内申请，商品须保持完好无损。"
            + "退款会在三个工作日内原路退回到付款账户。"
        )
        assert len(sentence_texts(long, "policy")) == 2
        assert sentence_texts(long, "faq") == []
        assert sentence_texts("只有一句话而且很短。", "policy") == []

    def test_sentence_text_is_in_matching_form(self) -> None:
        texts = sentence_texts(
            "客服響應時間有什麼標準呢請詳細說明一下。" + "退貨的流程是怎樣的呢請告訴我具體步驟。",
            "policy",
        )
        assert texts[0].startswith("客服响应时间")


class TestPooledSearch:
    def test_a_chunk_whose_one_sentence_matches_outranks_a_closer_average(self, tmp_path) -> None:
        store = IndexStore(tmp_path / "index")
        # a: chunk vector close to the query, no sentence matches it exactly;
        # b: chunk vector farther, but one of its sentences is the query's direction
        docs = [
            chunk("a", 0, unit(0, 1), [unit(1), unit(0, 2)]),
            chunk("b", 0, unit(0, 3, 4), [unit(3), unit(0)]),
        ]
        store.write_version(docs, model_id="m")
        query = unit(0)
        assert ranking(store, query, 0.0)[0] == "a-0"
        assert ranking(store, query, 0.5)[0] == "b-0"
        hits = store.open_snapshot().dense_search(query, 2, sentence_weight=0.5)
        b_score = {d.id: s for d, s in hits}["b-0"]
        expected = 0.5 * float(np.dot(unit(0, 3, 4), query)) + 0.5 * 1.0
        assert b_score == pytest.approx(expected, abs=1e-5)

    def test_chunks_without_sentences_keep_their_cosine(self, tmp_path) -> None:
        store = IndexStore(tmp_path / "index")
        store.write_version(
            [chunk("f", 0, unit(0, 1), None), chunk("g", 0, unit(2), [unit(2), unit(3)])],
            model_id="m",
        )
        hits = store.open_snapshot().dense_search(unit(0), 2, sentence_weight=0.7)
        scores = {d.id: s for d, s in hits}
        assert scores["f-0"] == pytest.approx(float(np.dot(unit(0, 1), unit(0))), abs=1e-5)
        assert scores["g-0"] == pytest.approx(0.0, abs=1e-5)

    def test_filters_still_apply(self, tmp_path) -> None:
        store = IndexStore(tmp_path / "index")
        store.write_version(
            [
                chunk("a", 0, unit(1), [unit(0), unit(1)]),
                chunk("b", 0, unit(2), [unit(2), unit(3)]),
            ],
            model_id="m",
        )
        snapshot = store.open_snapshot()
        only_b = snapshot.dense_search(
            unit(0), 1, where=lambda m: m["article_id"] == "b", sentence_weight=0.5
        )
        assert [d.id for d, _ in only_b] == ["b-0"]

    def test_a_bad_sentence_vector_is_refused_naming_the_chunk(self, tmp_path) -> None:
        store = IndexStore(tmp_path / "index")
        with pytest.raises(InvalidInput, match="chunk a-0: sentence_embeddings"):
            store.write_version([chunk("a", 0, unit(1), [[0.0] * DIM])], model_id="m")
        assert store.current_version() is None


class TestIncremental:
    def test_kept_articles_keep_their_sentences_and_replaced_ones_drop_theirs(self, tmp_path):
        store = IndexStore(tmp_path / "index")
        store.write_version(
            [
                chunk("a", 0, unit(1), [unit(1), unit(5)]),
                chunk("b", 0, unit(2), [unit(2), unit(6)]),
                chunk("b", 1, unit(3), [unit(3), unit(7)]),
            ],
            model_id="m",
        )
        # a changes: its sentence that pointed along axis 5 now points along axis 8
        store.write_version([chunk("a", 0, unit(1), [unit(1), unit(8)])], model_id="m")
        snapshot = store.open_snapshot()
        assert snapshot.manifest["sentence_count"] == 6
        assert ranking(store, unit(7), 1.0)[0] == "b-1"  # b's rows moved; still right
        assert ranking(store, unit(6), 1.0)[0] == "b-0"
        assert ranking(store, unit(8), 1.0)[0] == "a-0"
        scores = {d.id: s for d, s in snapshot.dense_search(unit(5), 3, sentence_weight=1.0)}
        assert scores["a-0"] == pytest.approx(0.0, abs=1e-5)  # the old sentence is gone

        store.write_version([], model_id="m", remove_article_ids=["b"])
        snapshot = store.open_snapshot()
        assert snapshot.manifest["sentence_count"] == 2
        assert [d.id for d, _ in snapshot.dense_search(unit(7), 5, sentence_weight=1.0)] == ["a-0"]

    def test_a_version_written_before_sentence_vectors_loads_without_them(self, tmp_path):
        store = IndexStore(tmp_path / "index")
        store.write_version([chunk("a", 0, unit(1), [unit(0), unit(2)])], model_id="m")
        version = store.versions_dir / store.current_version()
        (version / SENTENCE_VECTORS_FILE).unlink()
        snapshot = store.open_snapshot()
        hits = snapshot.dense_search(unit(0), 1, sentence_weight=0.5)
        assert hits[0][1] == pytest.approx(0.0, abs=1e-5)  # the chunk's own cosine


def test_pooled_search_over_every_chunk_is_the_exact_blend() -> None:
    """With k = every chunk (what a selective filter ends up asking for) the candidate
    search scores every chunk exactly: compare with the blend computed by brute force."""
    from kb.search.dense import VectorIndex
    from kb.search.sentences import SentenceVectors, pooled_search

    rng = np.random.default_rng(3)

    def units(n: int) -> np.ndarray:
        m = rng.normal(size=(n, DIM)).astype(np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    chunk_vectors = units(40)
    per_chunk = [units(int(rng.integers(2, 6))) if i % 3 else None for i in range(40)]
    sentences = SentenceVectors.from_chunks(per_chunk, DIM)
    query = units(1)[0]
    hits = pooled_search(VectorIndex.build(chunk_vectors, DIM), sentences, query, 40, 0.5)
    expected = {
        row: float(chunk_vectors[row] @ query)
        if m is None
        else 0.5 * float(chunk_vectors[row] @ query) + 0.5 * float((m @ query).max())
        for row, m in enumerate(per_chunk)
    }
    assert [row for row, _ in hits] == sorted(expected, key=lambda r: -expected[r])
    for row, score in hits:
        assert score == pytest.approx(expected[row], abs=1e-5)


class TestQuantizedScan:
    """From ``QUANTIZED_SCAN_MIN_ROWS`` rows on, candidate rows (twice as many) are the
    exact best of a 4-bit scan's rows, and are then scored exactly (the threshold is
    lowered here so a small index crosses it)."""

    @staticmethod
    def units(rng: np.random.Generator, n: int, dim: int = 384) -> np.ndarray:
        m = rng.normal(size=(n, dim)).astype(np.float32)
        return m / np.linalg.norm(m, axis=1, keepdims=True)

    def test_small_index_scans_float32_only(self) -> None:
        from kb.search.dense import VectorIndex

        rng = np.random.default_rng(5)
        index = VectorIndex.build(self.units(rng, 300), 384)
        query = self.units(rng, 1)[0]
        assert index.candidates(query, 10) == [row for row, _ in index.search(query, 10)]
        assert index._coarse is None and index._fast is None

    def test_quantized_scan_finds_every_exact_row(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import kb.search.dense
        from kb.search.dense import VectorIndex

        monkeypatch.setattr(kb.search.dense, "QUANTIZED_SCAN_MIN_ROWS", 1000)
        monkeypatch.setattr(kb.search.dense, "_SCAN_BLOCK", 700)  # several blocks
        rng = np.random.default_rng(6)
        vectors = self.units(rng, 3000)
        vectors[:, 3] *= 4  # dimensions of different ranges (as the model's are)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        index = VectorIndex.build(vectors, 384)
        for query in self.units(rng, 30):
            rows = index.candidates(query, 20)
            assert len(rows) == 40 and len(set(rows)) == 40
            best = set(np.argsort(-(vectors @ query))[:20].tolist())
            assert best <= set(rows)
        fast = index._fast
        assert fast is not None and len(fast) == 3000 and index._coarse is None
        assert fast.index.code_size == 192  # half a byte per dimension
        index.candidates(vectors[0], 5)
        assert index._fast is fast  # built once
        assert index.candidates(vectors[7], 1)[0] == 7

    def test_rescored_scan_holds_the_exact_best_rows(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """On clustered vectors, the ``2k`` candidates (the exact best of the 4-bit scan's
        ``FAST_FETCH`` x ``2k`` rows, more if a row left out could be among the best) hold
        the exact best ``k`` and are mostly the exact best ``2k``, best first; without the
        over-fetch some of the best ``k`` are missed."""
        import kb.search.dense
        from kb.search.dense import VectorIndex

        monkeypatch.setattr(kb.search.dense, "QUANTIZED_SCAN_MIN_ROWS", 1000)
        rng = np.random.default_rng(9)
        centres = self.units(rng, 10)  # near ties: paraphrases of a few topics
        vectors = centres[rng.integers(0, 10, 4000)] + self.units(rng, 4000)
        vectors[:, 5] *= 3
        vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        index = VectorIndex.build(vectors, 384)
        index.prepare_scans()
        queries = np.concatenate([vectors[:20] + 0.3 * self.units(rng, 20), self.units(rng, 10)])

        def exact(query: np.ndarray, k: int) -> list[int]:
            scores = vectors @ (query / np.linalg.norm(query))
            return np.lexsort((np.arange(4000), -scores))[:k].tolist()

        asked = [(query, k) for query in queries for k in (1, 10, 40)]
        assert all(set(exact(q, k)) <= set(index.candidates(q, k)) for q, k in asked)
        assert sum(index.candidates(q, k) == exact(q, 2 * k) for q, k in asked) >= 85
        monkeypatch.setattr(kb.search.dense, "FAST_FETCH", 1)
        assert not all(set(exact(q, k)) <= set(index.candidates(q, k)) for q, k in asked)

    def test_proven_scan_returns_exactly_the_nearest_rows(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """From ``CERTIFIED_SCAN_MIN_ROWS`` rows on (below ``QUANTIZED_SCAN_MIN_ROWS``),
        ``candidates`` are the exact ``k`` nearest rows, found through the 8-bit copy."""
        import kb.search.dense
        from kb.search.dense import VectorIndex

        monkeypatch.setattr(kb.search.dense, "CERTIFIED_SCAN_MIN_ROWS", 1000)
        rng = np.random.default_rng(8)
        centres = self.units(rng, 10)  # near ties: paraphrases of a few topics
        vectors = centres[rng.integers(0, 10, 4000)] + 0.4 * self.units(rng, 4000)
        vectors[:, 5] *= 3
        vectors = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)
        index = VectorIndex.build(vectors, 384)
        index.prepare_scans()
        assert index._coarse is not None and index._coarse.error is not None
        fetched = []
        original = index._coarse.search

        def counted(query: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
            fetched.append(k)
            return original(query, k)

        monkeypatch.setattr(index._coarse, "search", counted)
        queries = np.concatenate([vectors[:20] + 0.3 * self.units(rng, 20), self.units(rng, 10)])
        for query in queries:
            for k in (1, 10, 40):
                exact = vectors @ (query / np.linalg.norm(query))
                expected = np.lexsort((np.arange(4000), -exact))[:k].tolist()
                assert index.candidates(query, k) == expected
        assert len(fetched) >= 3 * len(queries)  # every search went through the 8-bit copy

    def test_pooled_search_unchanged(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """The pooled ranking with 8-bit candidates (twice as many) is at least as close to
        the brute-force pooled ranking as the float32 candidates' one, with the same scores."""
        import kb.search.dense
        from kb.search.dense import VectorIndex
        from kb.search.sentences import SentenceVectors, pooled_scores, pooled_search

        rng = np.random.default_rng(7)
        chunk_vectors = self.units(rng, 1500)
        per_chunk = [
            self.units(rng, int(rng.integers(2, 5))) if i % 4 else None for i in range(1500)
        ]
        queries = self.units(rng, 25)
        chunks = VectorIndex.build(chunk_vectors, 384)
        sentences = SentenceVectors.from_chunks(per_chunk, 384)
        every = np.arange(1500)
        truth = []
        for q in queries:
            scores = pooled_scores(chunks, sentences, q[None, :], every, 0.5)[0]
            truth.append(set(np.lexsort((every, -scores))[:10].tolist()))

        def rankings() -> list[list[tuple[int, float]]]:
            fresh = VectorIndex.build(chunk_vectors, 384)
            sentences = SentenceVectors.from_chunks(per_chunk, 384)
            return [pooled_search(fresh, sentences, q, 10, 0.5) for q in queries]

        def found(ranked: list[list[tuple[int, float]]]) -> list[int]:
            return [len({r for r, _ in a} & t) for a, t in zip(ranked, truth, strict=True)]

        exact = rankings()
        monkeypatch.setattr(kb.search.dense, "QUANTIZED_SCAN_MIN_ROWS", 100)
        quantized = rankings()
        assert all(q >= e for q, e in zip(found(quantized), found(exact), strict=True))
        assert sum(found(quantized)) > sum(found(exact))  # random vectors: many near ties
        for a, b in zip(exact, quantized, strict=True):  # its candidates hold the others'
            assert all(y >= x - 1e-6 for (_, x), (_, y) in zip(a, b, strict=True))
        for a, b in zip(exact, quantized, strict=True):
            shared = dict(a).keys() & dict(b).keys()
            for row in shared:  # scores are exact either way
                assert dict(a)[row] == pytest.approx(dict(b)[row], abs=1e-6)


class TestLoading:
    """Sentence vectors are read into FAISS a block at a time (no second full copy)."""

    def test_blocks_load_bit_identical(self, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
        import kb.search.sentences
        from kb.search.sentences import SentenceVectors

        monkeypatch.setattr(kb.search.sentences, "LOAD_BLOCK", 7)  # 50 rows: 8 blocks
        rng = np.random.default_rng(3)
        vectors = rng.normal(size=(50, 16)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        rows = np.sort(rng.integers(0, 20, size=50))
        SentenceVectors(vectors, rows).save(tmp_path / SENTENCE_VECTORS_FILE)
        loaded = SentenceVectors.load(tmp_path / SENTENCE_VECTORS_FILE, 16)
        assert np.array_equal(loaded.index.vectors(), vectors)
        assert np.array_equal(loaded.rows, rows)
        query = vectors[5]
        chunk_rows = np.arange(25)
        expected = SentenceVectors(vectors, rows).best(chunk_rows, query)
        assert np.array_equal(loaded.best(chunk_rows, query), expected, equal_nan=True)

    def test_empty_and_missing_files(self, tmp_path) -> None:
        from kb.search.sentences import SentenceVectors

        SentenceVectors.empty(16).save(tmp_path / SENTENCE_VECTORS_FILE)
        empty = SentenceVectors.load(tmp_path / SENTENCE_VECTORS_FILE, 16)
        assert len(empty) == 0 and empty.index.dim == 16
        assert len(SentenceVectors.load(tmp_path / "absent.npz", 16)) == 0
