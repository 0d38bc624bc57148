"""``kb worker``: publications left in the outbox reach the real index (real SQLite, FAISS, the
bundled model), in one round or continuously until SIGTERM; a failing round keeps the events."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kb.cli.main import app
from kb.config import Config
from kb.store.db import Database
from tests.review.helpers import add_people, publish_article

pytestmark = [pytest.mark.slow, pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
BODY = "鲸驿速运的夜间揽收服务每晚八点开始，请提前一小时预约。\n"


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.fixture
def published_in_outbox(kb_home: Path) -> Database:
    """An article published through the workflow, its index event still in the outbox."""
    db = Database(Config(home=kb_home).effective_database_url)
    db.migrate()
    add_people(db)
    publish_article(db, "night-pickup", BODY, title="夜间揽收")
    return db


def status() -> dict:
    code, out = invoke("index", "status", "--json")
    assert code == 0, out
    return json.loads(out)


def test_one_round_applies_the_outbox_to_the_index(published_in_outbox: Database) -> None:
    assert status()["pending_events"] == 1
    code, out = invoke("worker", "--once")
    assert code == 0, out
    after = status()
    assert after["pending_events"] == 0 and after["articles"] == 1
    code, out = invoke("search", "晚上几点可以上门取件", "--json")
    assert code == 0, out
    assert json.loads(out)["results"][0]["article_id"] == "night-pickup"


def test_a_failing_round_is_reported_and_keeps_the_events(
    published_in_outbox: Database, kb_home: Path
) -> None:
    # the index directory cannot be created: a file stands where it should be
    (kb_home / "index").parent.mkdir(parents=True, exist_ok=True)
    (kb_home / "index").write_text("not a directory")
    code, out = invoke("worker", "--once")
    assert code == 0, out
    assert "the index was not updated yet" in out and "Traceback" not in out
    with published_in_outbox.session() as session:
        from kb.store.outbox import pending_changes

        assert len(pending_changes(session)) == 1


def test_bad_interval_is_refused(kb_home: Path) -> None:
    code, out = invoke("worker", "--interval", "0")
    assert code != 0 and "--interval" in out


def test_runs_until_sigterm_and_applies_new_publications(kb_home: Path) -> None:
    db = Database(Config(home=kb_home).effective_database_url)
    db.migrate()
    add_people(db)
    env = {**os.environ, "KB_HOME": str(kb_home), "PYTHONPATH": str(REPO)}
    worker = subprocess.Popen(
        [sys.executable, "-m", "kb.cli.main", "worker", "--interval", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        publish_article(db, "night-pickup", BODY, title="夜间揽收")
        deadline = time.monotonic() + 120
        while status()["pending_events"] and time.monotonic() < deadline:
            time.sleep(0.3)
        done = status()
    finally:
        worker.send_signal(signal.SIGTERM)
        output, _ = worker.communicate(timeout=60)
    assert done["pending_events"] == 0 and done["articles"] == 1, output
    assert worker.returncode == 0, output
    assert "Traceback" not in output
