"""Index updates in the publication's transaction (``search_store: postgres``).

Real PostgreSQL (pgserver), real review workflow, real ingest with the bundled model:
archiving an article updates the search tables inside the archiving transaction. Before
the commit another connection still serves the article; after it, it does not; and when
the index update fails, the archive is rolled back with it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from ingest.sync import IndexSync
from kb.config import Config
from kb.search.postgres import PostgresSearchIndex
from kb.store import outbox
from kb.store.articles import published_versions
from kb.store.db import Database
from review import workflow
from tests.kb.api.helpers import ADMIN, PROJECT, build_kb, faq, server_env
from tests.kb.search.conftest import fresh_database

ARTICLES = [
    faq("faq-return", "如何申请退货？", "签收后7天内可无理由退货。", ["怎么退货"], "public"),
    faq("faq-delay", "快递延误怎么办？", "延误可在App查询物流或催件。", ["快递慢"], "public"),
]


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, pg_server_url: str) -> Config:
    """A knowledge base whose search index is in its PostgreSQL database."""
    url = fresh_database(pg_server_url, "kb_transaction")
    home = tmp_path_factory.mktemp("tx")
    return build_kb(home, ARTICLES, database_url=url, search_store="postgres")


class Failing:
    """An index updater that fails (as an embedding server that is down would)."""

    def apply(self, session: Session, changes: Sequence[outbox.IndexChange]) -> None:
        raise RuntimeError("the embedder is down")


def test_a_failed_index_update_rolls_the_archive_back(kb: Config) -> None:
    db = Database(kb.database_url)
    try:
        failing = pytest.raises(RuntimeError, match="embedder is down")
        with failing, db.session() as session:
            workflow.archive(session, ADMIN, "faq-delay", "test")
            outbox.apply_in_transaction(session, Failing())
        with db.session() as session:
            assert "faq-delay" in {r.article_id for r in published_versions(session)}
            assert not outbox.pending_changes(session)
        assert "faq-delay" in PostgresSearchIndex(db).snapshot().articles()
    finally:
        db.dispose()


def test_archive_reaches_the_search_tables_at_commit(kb: Config) -> None:
    db = Database(kb.database_url)
    reader = PostgresSearchIndex(Database(kb.database_url), check_interval_ms=0)
    try:
        before = reader.snapshot()
        assert "faq-return" in before.articles()
        with db.session() as session:
            workflow.archive(session, ADMIN, "faq-return", "test")
            assert outbox.apply_in_transaction(session, IndexSync(kb)) == 1
            # not committed yet: other connections still serve the article
            assert reader.current_version() == before.version
            assert "faq-return" in reader.snapshot().articles()
        # takes the committed version up, or waits for the background refresh that the
        # snapshot() above started to do so (snapshot() alone would, in the background)
        reader.refresh()
        after = reader.held()
        assert after is not None
        assert after.version != before.version
        assert "faq-return" not in after.articles()
        assert all(d.meta["article_id"] != "faq-return" for d, _ in after.lexical_search("退货", 5))
        with db.session() as session:
            assert not outbox.pending_changes(session)  # processed in the same transaction
    finally:
        db.dispose()
        reader.engine.dispose()


def test_index_status_reads_the_postgres_store(kb: Config) -> None:
    env = server_env(Path(kb.home), database_url=kb.database_url, search_store="postgres")
    command = [sys.executable, "-m", "kb.cli.main", "index", "status", "--json"]
    done = subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    db = Database(kb.database_url)
    try:
        live = PostgresSearchIndex(db).snapshot()
    finally:
        db.dispose()
    assert data["store"] == "postgres" and data["current"] == live.version
    assert data["chunks"] == len(live) and data["pending_events"] == 0
    assert data["articles"] == len(live.articles()) and data["out_of_date_articles"] == 0
