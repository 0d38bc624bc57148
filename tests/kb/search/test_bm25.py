"""BM25 with jieba segmentation: tokens, ranking, filters, persistence, incremental rebuilds."""

from __future__ import annotations

import gc
import os
import unicodedata
import weakref
from pathlib import Path

import numpy as np
import pytest

from kb.errors import ConfigError
from kb.search.bm25 import (
    TOKEN_MEMO_MAX_CHARS,
    BM25Index,
    ChineseTokenizer,
    TokenizerPool,
)

DOCS = {
    "cancel-fee": "取消费用怎么退？订单取消后，已支付的费用原路退回。",
    "spending": "消费记录在哪里查看？在账户页面可以查看每一笔消费明细。",
    "lost-parcel": "快递丢失以后怎么赔偿？核实后提供快速理赔通道。",
    "response": "客服响应时间标准：普通咨询5秒内响应，紧急工单4小时内处理。",
    "phone": "iPhone15 Pro 售后维修的手续费率为3.5%，VIP会员免收。",
}


@pytest.fixture(scope="module")
def pool() -> TokenizerPool:
    """This module's tokenizers (as a process's runtime holds them)."""
    return TokenizerPool()


@pytest.fixture(scope="module")
def tokenizer(pool: TokenizerPool) -> ChineseTokenizer:
    return pool.get()


@pytest.fixture(scope="module")
def user_dict(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dict") / "terms.txt"
    path.write_text("# products\n微粒贷\n极速退款通道 50\nVIP专享\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def index(tokenizer: ChineseTokenizer) -> BM25Index:
    return BM25Index.build((cid, tokenizer.tokenize(text)) for cid, text in DOCS.items())


def test_scores_many_equals_scores_one_by_one(index: BM25Index) -> None:
    texts = ["快递丢了怎么赔偿", "取消费用", "VIP 手续费 手续费", "没有任何匹配的词汇xyz"]
    many = index.scores_many(texts)
    assert many.shape == (len(texts), len(DOCS))
    for row, text in zip(many, texts, strict=True):
        assert np.allclose(row, index.scores(text), atol=1e-5)
    assert many[0].max() > 0 and not many[3].any()


class TestTokenizer:
    def test_words_not_characters_decide_a_match(self, index: BM25Index) -> None:
        results = dict(index.search("消费", top_k=5))
        assert max(results, key=results.get) == "spending"
        # 取消费用 shares the characters 消 and 费 but not the word 消费: a weaker match.
        assert results["cancel-fee"] < 0.7 * results["spending"]

    def test_a_question_about_spending_ranks_the_spending_doc_first(self, index: BM25Index) -> None:
        assert index.search("我的消费记录怎么查", top_k=1)[0][0] == "spending"

    def test_punctuation_and_whitespace_are_dropped(self, tokenizer: ChineseTokenizer) -> None:
        tokens = tokenizer.tokenize("退款 ， 怎么办？！  (急) ...\n")
        assert tokens
        for token in tokens:
            assert not any(ch.isspace() for ch in token)
            assert unicodedata.category(token[0])[0] not in "PSZ"
            assert unicodedata.category(token[-1])[0] not in "PSZ"

    def test_full_width_and_case_are_normalised(self, tokenizer: ChineseTokenizer) -> None:
        assert "vip" in tokenizer.tokenize("ＶＩＰ会员")
        assert "vip" in tokenizer.tokenize("VIP会员")

    def test_latin_words_and_numbers_are_tokens(self, tokenizer: ChineseTokenizer) -> None:
        tokens = tokenizer.tokenize("iPhone15 Pro 售后手续费率3.5%，5秒内响应")
        assert {"iphone15", "iphone", "15", "pro", "3.5", "5"} <= set(tokens)

    def test_latin_and_number_queries_find_the_document(self, index: BM25Index) -> None:
        assert index.search("iphone 15 维修", top_k=1)[0][0] == "phone"
        assert index.search("3.5%", top_k=1)[0][0] == "phone"

    def test_user_dictionary_term_is_kept_whole(self, user_dict: Path, pool: TokenizerPool) -> None:
        assert "微粒贷" not in pool.get().tokenize("微粒贷的极速退款通道")
        tokens = pool.get(user_dict).tokenize("微粒贷的极速退款通道，VIP专享")
        assert {"微粒贷", "极速退款通道", "vip专享"} <= set(tokens)

    def test_user_dictionary_is_loaded_once_per_pool(self, user_dict: Path) -> None:
        pool = TokenizerPool()
        assert pool.get(user_dict) is pool.get(str(user_dict))
        assert pool.get(None) is pool.get("") is pool.get(".")
        assert pool.created == 2
        assert TokenizerPool().get(user_dict) is not pool.get(user_dict)  # pools are separate

    def test_a_changed_user_dictionary_is_reloaded(self, tmp_path: Path) -> None:
        terms = tmp_path / "terms.txt"
        terms.write_text("微粒贷\n", encoding="utf-8")
        pool = TokenizerPool()
        before = pool.get(terms)
        assert pool.get(terms) is before
        terms.write_text("微粒贷\n新词汇表 10\n", encoding="utf-8")
        os.utime(terms, ns=(1, 1))  # a new modification time whatever the clock says
        after = pool.get(terms)
        assert after is not before and pool.created == 2
        assert "新词汇表" in after.tokenize("新词汇表的说明")
        assert "新词汇表" not in before.tokenize("新词汇表的说明")

    def test_missing_user_dictionary_is_a_config_error(
        self, tmp_path: Path, pool: TokenizerPool
    ) -> None:
        with pytest.raises(ConfigError, match="jieba_user_dict"):
            pool.get(tmp_path / "missing.txt")

    def test_user_dictionary_changes_the_signature(
        self, user_dict: Path, pool: TokenizerPool
    ) -> None:
        assert pool.get(user_dict).signature != pool.get().signature

    def test_jieba_s_own_dictionary_is_shared_and_user_terms_stay_private(
        self, user_dict: Path
    ) -> None:
        plain, other = ChineseTokenizer(), ChineseTokenizer()
        assert plain.plain_dictionary() is not None
        assert plain.plain_dictionary()[0] is other.plain_dictionary()[0]  # one copy
        custom = ChineseTokenizer(user_dict)
        assert custom.plain_dictionary() is None  # its own copy, with the user terms
        assert "微粒贷" in custom.tokenize("微粒贷的极速退款通道")
        assert "微粒贷" not in ChineseTokenizer().tokenize("微粒贷的极速退款通道")
        assert "微粒贷" not in plain.plain_dictionary()[0]  # nothing leaked into the shared one

    def test_jieba_start_up_is_silent(self, capfd: pytest.CaptureFixture[str]) -> None:
        ChineseTokenizer().tokenize("客服响应时间")
        assert capfd.readouterr().err == ""


class TestTokenMemo:
    """Tokens of short texts are remembered per tokenizer (issue 16c): same tokens, no
    shared state between callers, long texts not kept."""

    def test_remembered_tokens_are_the_computed_ones(self, tokenizer: ChineseTokenizer) -> None:
        text = "快递丢失后请在七天内申请理赔，VIP 保价 2.5 倍"
        first = tokenizer.tokenize(text)
        assert first == list(tokenizer._tokens(text))
        first.append("changed by a caller")
        assert tokenizer.tokenize(text) == list(tokenizer._tokens(text))

    def test_long_texts_are_not_kept(self, tokenizer: ChineseTokenizer) -> None:
        long_text = "理赔" * (TOKEN_MEMO_MAX_CHARS + 1)
        before = tokenizer._memo.cache_info().currsize
        assert tokenizer.tokenize(long_text) == list(tokenizer._tokens(long_text))
        assert tokenizer._memo.cache_info().currsize == before
        assert tokenizer.tokenize("") == [] and tokenizer.tokenize(None) == []  # type: ignore[arg-type]

    def test_a_replaced_tokenizer_is_freed_at_once(self) -> None:
        gc.disable()  # freed by reference counting, not left to the cycle collector
        try:
            gone = weakref.ref(ChineseTokenizer())
            assert gone() is None
        finally:
            gc.enable()


class TestSearch:
    def test_scores_are_positive_and_sorted(self, index: BM25Index) -> None:
        results = index.search("快递丢失怎么赔偿", top_k=5)
        scores = [s for _, s in results]
        assert results[0][0] == "lost-parcel"
        assert scores == sorted(scores, reverse=True)
        assert all(s > 0 for s in scores)

    def test_top_k_limits_the_results(self, index: BM25Index) -> None:
        assert len(index.search("怎么", top_k=2)) == 2

    def test_allowed_ids_filters(self, index: BM25Index) -> None:
        results = index.search("消费", top_k=5, allowed_ids={"cancel-fee", "lost-parcel"})
        assert [cid for cid, _ in results] == ["cancel-fee"]
        assert index.search("消费", top_k=5, allowed_ids=set()) == []

    def test_unknown_or_empty_query_finds_nothing(self, index: BM25Index) -> None:
        assert index.search("zzzz qqqq", top_k=5) == []
        assert index.search("", top_k=5) == []
        assert index.search("？！", top_k=5) == []

    def test_ranked_matches_search(self, index: BM25Index) -> None:
        ranked = [(index.ids[row], score) for row, score in index.ranked("客服响应")]
        assert ranked[:3] == index.search("客服响应", top_k=3)

    @pytest.mark.parametrize("first", [1, 2, 5, 64])
    def test_ranked_is_a_full_stable_sort_read_lazily(
        self, tokenizer: ChineseTokenizer, first: int
    ) -> None:
        # 300 chunks in 6 groups of identical text: many ties, a few zero scores; the lazy
        # partial sorts (blocks of first, 4 x first, ...) must give the full sort's order.
        texts = ["退款到账", "退款", "到账时间", "退款多久到账", "快递", "积分兑换"]
        docs = [(f"c{i:03d}", tokenizer.tokenize(texts[(i * 7) % 6])) for i in range(300)]
        index = BM25Index.build(docs, tokenizer)
        scores = index.scores("退款多久到账")
        rows = np.flatnonzero(scores > 0)
        order = rows[np.argsort(-scores[rows], kind="stable")]
        expected = [(int(r), float(scores[r])) for r in order]
        assert len(expected) == 200  # four of six groups match
        assert list(index.ranked("退款多久到账", first=first)) == expected
        taken = []  # a caller that stops early gets the same head
        for pair in index.ranked("退款多久到账", first=first):
            taken.append(pair)
            if len(taken) == 7:
                break
        assert taken == expected[:7]
        assert list(index.ranked("zzzz", first=first)) == []

    def test_empty_index(self) -> None:
        empty = BM25Index.build([])
        assert len(empty) == 0
        assert empty.search("消费", top_k=3) == []


class TestPersistence:
    def test_save_and_load_give_the_same_results(self, index: BM25Index, tmp_path: Path) -> None:
        index.save(tmp_path / "bm25")
        loaded = BM25Index.load(tmp_path / "bm25")
        for query in ("消费", "快递丢失", "iphone 手续费"):
            assert loaded.search(query, top_k=5) == index.search(query, top_k=5)
        assert dict(loaded.iter_tokens()) == dict(index.iter_tokens())

    def test_empty_index_round_trips(self, tmp_path: Path) -> None:
        BM25Index.build([]).save(tmp_path / "empty")
        assert BM25Index.load(tmp_path / "empty").search("消费", top_k=3) == []


class TestIncremental:
    def test_updated_equals_a_fresh_build(
        self, tokenizer: ChineseTokenizer, tmp_path: Path
    ) -> None:
        base = BM25Index.build((cid, tokenizer.tokenize(text)) for cid, text in DOCS.items())
        base.save(tmp_path / "base")
        loaded = BM25Index.load(tmp_path / "base")
        added = [("refund", tokenizer.tokenize("退款多久到账？消费退款三个工作日内到账。"))]
        updated = loaded.updated({"spending", "phone"}, added)

        kept = {c: t for c, t in DOCS.items() if c not in {"spending", "phone"}}
        fresh = BM25Index.build([*((c, tokenizer.tokenize(t)) for c, t in kept.items()), *added])
        assert updated.ids == fresh.ids
        for query in ("消费", "退款", "快递", "iphone"):
            got, want = updated.search(query, top_k=5), fresh.search(query, top_k=5)
            assert [c for c, _ in got] == [c for c, _ in want]
            assert [s for _, s in got] == pytest.approx([s for _, s in want])
        assert "spending" not in dict(updated.search("消费记录", top_k=5))

    def test_updated_does_not_tokenise_kept_chunks(
        self, tokenizer: ChineseTokenizer, tmp_path: Path
    ) -> None:
        class CountingTokenizer:
            """Stands in for the tokenizer to count calls (same signature and tokens)."""

            calls = 0
            signature = tokenizer.signature

            def tokenize(self, text: str) -> list[str]:
                CountingTokenizer.calls += 1
                return tokenizer.tokenize(text)

        base = BM25Index.build((c, tokenizer.tokenize(t)) for c, t in DOCS.items())
        base.save(tmp_path / "b")
        loaded = BM25Index.load(tmp_path / "b", CountingTokenizer())  # type: ignore[arg-type]
        updated = loaded.updated({"phone"}, [("x", ["消费"])])
        assert CountingTokenizer.calls == 0
        assert len(updated) == len(DOCS)


def test_bulk_score_matrix_equals_bm25s_own_indexing(tokenizer: ChineseTokenizer) -> None:
    """kb computes the matrix with numpy; bm25s's loop over documents gives the same bits."""
    import bm25s

    pairs = [(cid, tokenizer.tokenize(text)) for cid, text in DOCS.items()]
    pairs.append(("empty", []))  # a chunk with no words still counts in the average length
    ours = BM25Index.build(pairs, tokenizer)
    vocab: dict[str, int] = {}
    docs = [[vocab.setdefault(t, len(vocab)) for t in tokens] for _cid, tokens in pairs]
    theirs = bm25s.BM25(csc_backend="scipy")
    theirs.index((docs, vocab), create_empty_token=False, show_progress=False)
    assert ours._retriever is not None
    for key in ("indptr", "indices", "data"):
        assert np.array_equal(ours._retriever.scores[key], theirs.scores[key]), key
    query = theirs.get_tokens_ids(tokenizer.tokenize("快递丢失怎么赔偿"))
    assert np.array_equal(ours.scores("快递丢失怎么赔偿"), theirs.get_scores_from_ids(query))


def test_incremental_update_equals_a_fresh_build(tokenizer: ChineseTokenizer) -> None:
    pairs = {cid: tokenizer.tokenize(text) for cid, text in DOCS.items()}
    base = BM25Index.build(list(pairs.items()), tokenizer)
    added = ("new", tokenizer.tokenize("会员退货运费怎么算？VIP会员免运费。"))
    updated = base.updated({"phone", "spending"}, [added])
    fresh = BM25Index.build(
        [(c, t) for c, t in pairs.items() if c not in ("phone", "spending")] + [added], tokenizer
    )
    assert updated.ids == fresh.ids
    for text in ("会员运费", "快递丢失", "iPhone 手续费", "消费明细"):
        assert np.allclose(updated.scores(text), fresh.scores(text)), text
    assert updated.scores("VIP会员").max() > 0 and updated.scores("维修").max() == 0
