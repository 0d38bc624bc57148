"""``kb backup`` / ``kb restore`` on real SQLite and real PostgreSQL: a populated knowledge
base (users, published and draft versions, comments, the audit chain, a key, a query log
row with its trace, feedback) is written out and restored into the other backend, row
for row; bad input is refused and changes nothing."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, inspect, select
from typer.testing import CliRunner

from kb.cli.main import app
from kb.config import sqlite_url
from kb.errors import InvalidInput
from kb.model import Audience
from kb.store.backup import read_header, restore_backup, write_backup
from kb.store.db import Database
from kb.store.feedback import record_feedback
from kb.store.querylog import query_log_record, write_row
from review import audit, editing, workflow
from review.keys import create_key
from tests.review.helpers import add_people, content, publish_article, run

# SQLite's reflection cannot read the expression index uq_articles_id_lower (lower(id))
pytestmark = pytest.mark.filterwarnings("ignore:Skipped unsupported reflection")


def _populate(db: Database) -> None:
    db.migrate()
    add_people(db)
    publish_article(db)
    run(db, editing.new_draft, "ann", "refund", content(body="退货期限为15天。\n"))
    run(db, workflow.comment, "rex", "refund", "看起来不错")
    with db.session() as session:
        create_key(session, "root", "bot", "suggest,feedback", "public")
    data = {"request_id": "r1", "answer": "7天", "confidence": 0.9, "citations": []}
    record = query_log_record(
        data,
        "怎么退货",
        audience=Audience.PUBLIC,
        requester="key:bot",
        channel="api",
        latency_ms=3.5,
    )
    write_row(db, record)
    with db.session() as session:
        record_feedback(
            session, "key:bot", "r1", helpful=True, audience=Audience.PUBLIC, comment="好"
        )


def _dump(db: Database) -> dict[str, list[dict[str, Any]]]:
    """Every row of every table, comparable across backends."""
    from kb.store.backup import _encode

    metadata = MetaData()
    metadata.reflect(db.engine)
    with db.engine.connect() as connection:
        return {
            t.name: [
                _encode(r._asdict()) for r in connection.execute(select(t).order_by(*t.primary_key))
            ]
            for t in metadata.sorted_tables
            if not t.name.startswith("search_")  # the search store's: derived, not backed up
        }


@pytest.fixture
def source(database_url: str):
    db = Database(database_url)
    _populate(db)
    yield db
    db.dispose()


@pytest.fixture
def other(backend: str, tmp_path: Path, request: pytest.FixtureRequest):
    """An empty database on the other backend."""
    if backend == "sqlite":
        url = request.getfixturevalue("postgres_url")
    else:
        url = sqlite_url(tmp_path / "restored.sqlite3")
    db = Database(url)
    yield db
    db.dispose()


def test_a_backup_restores_row_for_row_into_the_other_backend(
    source: Database, other: Database, tmp_path: Path
) -> None:
    path = tmp_path / "kb.backup.gz"
    summary = write_backup(source, path)
    assert summary.rows["audit_events"] >= 10
    assert read_header(path) == summary
    restored = restore_backup(other, path)
    assert restored.rows == summary.rows
    assert _dump(other) == _dump(source)
    with other.session() as session:
        assert audit.verify(session).ok
    # the id sequences moved past the restored ids: new rows get new ids
    run(other, workflow.comment, "pia", "refund", "恢复后的意见")
    publish_article(other, "shipping", "运费说明。\n")
    with other.session() as session:
        assert audit.verify(session).ok


def test_restore_refuses_a_database_that_holds_a_knowledge_base(
    source: Database, tmp_path: Path
) -> None:
    path = tmp_path / "kb.backup.gz"
    write_backup(source, path)
    before = _dump(source)
    with pytest.raises(InvalidInput, match="empty database"):
        restore_backup(source, path)
    assert _dump(source) == before


def test_a_bad_file_is_refused_and_leaves_the_database_empty(
    source: Database, other: Database, tmp_path: Path
) -> None:
    good = tmp_path / "kb.backup.gz"
    write_backup(source, good)
    lines = gzip.decompress(good.read_bytes()).decode().splitlines(keepends=True)
    unknown = [*lines[:5], '{"t":"nope","r":{}}\n', *lines[6:]]
    newer = lines[0].replace(f'"revision":"{read_header(good).revision}"', '"revision":"9999"')
    refused_row = [*lines, lines[-1]]  # the last row twice: a duplicate primary key
    damaged = {
        "not gzip": b"hello",
        "no header": gzip.compress("".join(lines[1:]).encode()),
        "cut short": gzip.compress("".join(lines[:-3]).encode()),
        "unknown table": gzip.compress("".join(unknown).encode()),
        "unknown revision": gzip.compress("".join([newer, *lines[1:]]).encode()),
        "refused row": gzip.compress("".join(refused_row).encode()),
    }
    for damage, data in damaged.items():
        path = tmp_path / f"{damage}.gz"
        path.write_bytes(data)
        with pytest.raises(InvalidInput):
            restore_backup(other, path)
        assert inspect(other.engine).get_table_names() == [], damage
    restore_backup(other, good)  # the good one still restores


@pytest.mark.sqlite_only
def test_the_commands_need_an_admin_and_restore_into_a_new_database(
    kb_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()

    def kb(*args: str) -> Any:
        return runner.invoke(app, list(args))

    db = Database(sqlite_url(kb_home / "kb.sqlite3"))
    _populate(db)
    db.dispose()
    path = tmp_path / "out.gz"
    refused = kb("backup", str(path), "--as", "ann")
    assert refused.exit_code == 1
    assert "may not manage_users" in refused.output
    assert not path.exists()
    done = kb("backup", str(path), "--as", "root")
    assert done.exit_code == 0, done.output
    assert "backed up" in done.output
    monkeypatch.setenv("KB_DATABASE_URL", sqlite_url(tmp_path / "new" / "kb.sqlite3"))
    restored = kb("restore", str(path))
    assert restored.exit_code == 0, restored.output
    assert "kb reindex --full" in restored.output
    again = kb("restore", str(path))
    assert again.exit_code == 1
    assert "error: restore needs an empty database" in again.output
    missing = kb("restore", str(tmp_path / "nothing.gz"))
    assert missing.exit_code == 1
    assert "no backup file" in missing.output
