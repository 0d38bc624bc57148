"""Every publication path updates the ``postgres`` search store in its own transaction
(issue 15): the app's review queue and history page, ``kb import --publish``, ``kb
publish-due`` and the API's due publisher, all through ``review.publishing``.

Real parts throughout: one PostgreSQL with pgvector (pgserver), the real review workflow,
ingest's ``IndexSync`` with the bundled model, the real Streamlit pages (AppTest), the real
CLI in a subprocess. After each path returns, the article is in the search tables, no
outbox event is pending, and its search rows carry the same PostgreSQL transaction id
(``xmin``) as its published version's row: they were written by the publishing transaction,
not by a later one (such as the next page run's, or ``kb worker``'s). The failure cases are
real too: a PostgreSQL trigger on ``search_chunks`` refuses rows of articles whose id starts
with ``poison-`` (as a full disk or a constraint would), and the publication must be rolled
back with the index update. Nothing is mocked.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text, update
from streamlit.testing.v1 import AppTest

from kb.api.due_publisher import DuePublisher
from kb.api.publishing import OnDemandIndexSync
from kb.config import Config
from kb.model import ArticleContent, State
from kb.runtime import Runtime
from kb.search.postgres import PostgresSearchIndex
from kb.store import outbox
from kb.store.db import Database
from kb.store.tables import ScheduledPublication
from review import editing, schedule, users, workflow
from review.publishing import IndexNotUpdated
from review.versions import versions_of
from tests.kb.api.helpers import ADMIN, PROJECT, build_kb, faq, server_env
from tests.kb.search.conftest import fresh_database

ARTICLES = [
    faq("faq-return", "如何申请退货？", "签收后7天内可无理由退货。", ["怎么退货"], "public"),
    faq("faq-delay", "快递延误怎么办？", "延误可在App查询物流或催件。", ["快递慢"], "public"),
]
REFUSE = """
CREATE FUNCTION kb_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.article_id LIKE 'poison-%' THEN
    RAISE EXCEPTION 'search_chunks refused %', NEW.article_id;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER kb_test_refuse BEFORE INSERT ON search_chunks
  FOR EACH ROW EXECUTE FUNCTION kb_test_refuse();
"""


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory, pg_server_url: str) -> Config:
    """A knowledge base whose search index is in PostgreSQL, with an author, a reviewer and a
    publisher, and the trigger that refuses the index rows of ``poison-*`` articles."""
    url = fresh_database(pg_server_url, "kb_publication_paths")
    config = build_kb(
        tmp_path_factory.mktemp("paths"), ARTICLES, database_url=url, search_store="postgres"
    )
    db = Database(url)
    try:
        with db.session() as session:
            for name, role in (("alice", "author"), ("bob", "reviewer"), ("carol", "publisher")):
                users.add_user(session, ADMIN, name, [role])
            session.execute(text(REFUSE))
    finally:
        db.dispose()
    return config


@pytest.fixture
def db(kb: Config) -> Iterator[Database]:
    """A connection pool to the knowledge base's database."""
    database = Database(kb.database_url)
    yield database
    database.dispose()


def _new_faq(article_id: str) -> ArticleContent:
    return faq(article_id, f"{article_id} 怎么办？", f"{article_id} 的答复。", [], "public")


def _approved(db: Database, article_id: str) -> None:
    """alice writes and submits a new FAQ, bob approves it (version 1)."""
    with db.session() as session:
        editing.create_draft(session, "alice", _new_faq(article_id))
    with db.session() as session:
        workflow.submit(session, "alice", article_id)
    with db.session() as session:
        workflow.approve(session, "bob", article_id)


def _served(db: Database) -> set[str]:
    return set(PostgresSearchIndex(db, check_interval_ms=0).snapshot().articles())


def _states(db: Database, article_id: str) -> list[str]:
    with db.session() as session:
        return [str(r.state) for r in versions_of(session, article_id)]


PUBLISHED_ROW = (
    "SELECT xmin::text FROM article_versions WHERE article_id = :a AND state = 'published'"
)
# a schedule publishes in a savepoint (its own subtransaction id); the schedule row is
# marked done in the top-level transaction, as the index rows are
SCHEDULE_ROW = "SELECT xmin::text FROM scheduled_publications WHERE article_id = :a"


def _indexed_with_publication(db: Database, article_id: str, witness: str = PUBLISHED_ROW) -> bool:
    """Were the article's search rows written by the transaction that published it? (The
    same PostgreSQL transaction id, ``xmin``, on its chunks and on the ``witness`` row.)"""
    with db.session() as session:
        chunks = set(
            session.scalars(
                text("SELECT xmin::text FROM search_chunks WHERE article_id = :a"),
                {"a": article_id},
            )
        )
        rows = set(session.scalars(text(witness), {"a": article_id}))
    return len(rows) == 1 and chunks == rows


def _pending(db: Database) -> int:
    with db.session() as session:
        return len(outbox.pending_changes(session))


def _kb(kb: Config, *args: str) -> subprocess.CompletedProcess[str]:
    env = server_env(Path(kb.home), database_url=kb.database_url, search_store="postgres")
    command = [sys.executable, "-m", "kb.cli.main", *args]
    return subprocess.run(command, env=env, cwd=PROJECT, capture_output=True, text=True)


def _app(kb: Config, monkeypatch: pytest.MonkeyPatch, page: str, user: str) -> AppTest:
    """An AppTest of one page, signed in as ``user``, on this knowledge base (English)."""
    monkeypatch.setenv("KB_HOME", str(kb.home))
    monkeypatch.setenv("KB_DATABASE_URL", kb.database_url)
    monkeypatch.setenv("KB_SEARCH_STORE", "postgres")
    at = AppTest.from_string(f"from kb.ui import {page}\n{page}.page()\n", default_timeout=60)
    at.session_state["kb_user"] = user
    at.session_state["ui_lang"] = "en"
    return at


def _schedule_due(db: Database, article_id: str) -> None:
    """carol schedules the approved version; then its time comes."""
    with db.session() as session:
        schedule.schedule(session, "carol", article_id, at=datetime.now(UTC) + timedelta(hours=1))
    with db.session() as session:
        session.execute(
            update(ScheduledPublication)
            .where(ScheduledPublication.article_id == article_id)
            .values(publish_at=datetime.now(UTC) - timedelta(minutes=1))
        )


def test_the_review_queue_publishes_into_the_index_in_its_transaction(
    kb: Config, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _approved(db, "faq-points")
    at = _app(kb, monkeypatch, "review_queue", "carol").run()
    at.button(key="rv_publish_faq-points-1").click().run()
    assert not at.exception
    assert "faq-points" in at.success[0].value and "The index was updated" in at.success[0].value
    assert _states(db, "faq-points") == [State.PUBLISHED]
    assert "faq-points" in _served(db) and _pending(db) == 0
    assert _indexed_with_publication(db, "faq-points")


def test_a_failed_index_update_refuses_the_app_publication(
    kb: Config, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _approved(db, "poison-app")
    at = _app(kb, monkeypatch, "review_queue", "carol").run()
    at.button(key="rv_publish_poison-app-1").click().run()
    assert not at.exception
    assert not any("Published" in s.value for s in at.success)
    assert "could not be updated" in at.error[0].value  # said, not a traceback
    assert "nothing was published" in at.error[0].value
    assert _states(db, "poison-app") == [State.APPROVED]  # rolled back with the index update
    assert "poison-app" not in _served(db) and _pending(db) == 0


def test_archiving_on_the_history_page_leaves_the_index_at_commit(
    kb: Config, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "faq-delay" in _served(db)
    at = _app(kb, monkeypatch, "history", "carol")
    at.query_params["article"] = "faq-delay"
    at.run().button(key="hi_archive_faq-delay").click().run()
    assert not at.exception and "Archived faq-delay" in at.success[0].value
    assert "faq-delay" not in _served(db) and _pending(db) == 0


def test_import_publish_is_searchable_when_the_command_returns(
    kb: Config, db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "coupon.jsonl"
    source.write_text(
        '{"id": "faq-coupon", "question": "优惠券怎么用？", "answer": "下单时选择优惠券。"}\n',
        encoding="utf-8",
    )
    done = _kb(kb, "import", str(source), "--bootstrap", "--reason", "test", "--as", ADMIN)
    assert done.returncode == 0, done.stderr
    assert "faq-coupon" in _served(db) and _pending(db) == 0
    assert _indexed_with_publication(db, "faq-coupon")


def test_import_no_index_leaves_the_publication_queued(
    kb: Config, db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "invoice.jsonl"
    source.write_text(
        '{"id": "faq-invoice", "question": "怎么开发票？", "answer": "在订单页申请电子发票。"}\n',
        encoding="utf-8",
    )
    args = ("import", str(source), "--bootstrap", "--reason", "test", "--no-index")
    done = _kb(kb, *args, "--as", ADMIN)
    assert done.returncode == 0, done.stderr
    assert "queued for the index" in done.stderr
    assert "faq-invoice" not in _served(db) and _pending(db) == 1
    done = _kb(kb, "index", "update")
    assert done.returncode == 0, done.stderr
    assert "faq-invoice" in _served(db) and _pending(db) == 0


def test_a_failed_index_update_rolls_the_import_back(
    kb: Config, db: Database, tmp_path: Path
) -> None:
    source = tmp_path / "poison.jsonl"
    source.write_text(
        '{"id": "poison-import", "question": "毒药？", "answer": "不会被发布。"}\n',
        encoding="utf-8",
    )
    done = _kb(kb, "import", str(source), "--bootstrap", "--reason", "test", "--as", ADMIN)
    assert done.returncode == 1
    assert "error: the search index could not be updated" in done.stderr
    assert "Traceback" not in done.stderr
    assert _states(db, "poison-import") == []  # the whole batch rolled back
    assert "poison-import" not in _served(db) and _pending(db) == 0


def test_publish_due_on_the_command_line_is_searchable_when_it_returns(
    kb: Config, db: Database
) -> None:
    _approved(db, "faq-address")
    _schedule_due(db, "faq-address")
    done = _kb(kb, "publish-due")
    assert done.returncode == 0, done.stderr
    assert "done: faq-address version 1" in done.stdout
    assert "faq-address" in _served(db) and _pending(db) == 0
    assert _indexed_with_publication(db, "faq-address", SCHEDULE_ROW)


def test_kb_worker_publishes_due_schedules_into_the_index_in_their_transaction(
    kb: Config, db: Database
) -> None:
    _approved(db, "faq-pickup")
    _schedule_due(db, "faq-pickup")
    done = _kb(kb, "worker", "--once")
    assert done.returncode == 0, done.stderr
    assert "schedule done: faq-pickup version 1" in done.stderr
    assert "faq-pickup" in _served(db) and _pending(db) == 0
    assert _indexed_with_publication(db, "faq-pickup", SCHEDULE_ROW)


def test_the_api_due_publisher_publishes_into_the_index_in_its_transaction(
    kb: Config, db: Database
) -> None:
    _approved(db, "faq-insurance")
    _schedule_due(db, "faq-insurance")
    runtime = Runtime(kb, db=db, index_updater=OnDemandIndexSync(kb))
    assert DuePublisher(runtime, interval=0).run_once() == 1
    assert _states(db, "faq-insurance") == [State.PUBLISHED]
    assert "faq-insurance" in _served(db) and _pending(db) == 0
    assert _indexed_with_publication(db, "faq-insurance", SCHEDULE_ROW)


def test_a_failed_index_update_leaves_the_due_schedule_pending(kb: Config, db: Database) -> None:
    _approved(db, "poison-due")
    _schedule_due(db, "poison-due")
    runtime = Runtime(kb, db=db, index_updater=OnDemandIndexSync(kb))
    try:
        with pytest.raises(IndexNotUpdated, match="search_chunks refused poison-due"):
            DuePublisher(runtime, interval=0).run_once()  # its loop logs it, retries later
        assert _states(db, "poison-due") == [State.APPROVED]
        with db.session() as session:
            assert schedule.pending(session)["poison-due"].status == schedule.PENDING
        assert "poison-due" not in _served(db) and _pending(db) == 0
    finally:
        with db.session() as session:  # the later tests publish what is due: not this one
            schedule.unschedule(session, "carol", "poison-due")
