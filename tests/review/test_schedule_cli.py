"""``kb schedule / scheduled / unschedule / publish-due`` through the real CLI on a real
SQLite file (fixtures of tests/review/test_cli.py). Time passing is simulated by moving
the schedule's time into the past in the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import update

from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import ScheduledPublication
from tests.review.test_cli import (  # noqa: F401  (fixtures)
    article,
    fails,
    no_index_updates,
    ok,
    ok_json,
    team,
)


def come_due(home: Path) -> None:
    database = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with database.session() as session:
        session.execute(
            update(ScheduledPublication).values(publish_at=utcnow() - timedelta(minutes=1))
        )
    database.dispose()


def test_schedule_then_publish_due_once(article: Path, kb_home: Path) -> None:  # noqa: F811
    ok("submit", "refund", "--as", "ann")
    ok("approve", "refund", "--as", "rex")
    at = (utcnow() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert "is not an ISO 8601 time" in fails(
        "schedule", "refund", "--at", "tomorrow", "--as", "pia"
    )
    assert "has passed" in fails("schedule", "refund", "--at", "2020-01-01T00:00", "--as", "pia")
    fails("schedule", "refund", "--at", at, "--as", "rex")  # a reviewer may not publish
    item = ok_json("schedule", "refund", "--at", at, "--as", "pia")
    assert (item["version"], item["status"], item["publish_at"][:16]) == (1, "pending", at)
    assert [r["article_id"] for r in ok_json("scheduled", "--as", "rex")] == ["refund"]
    assert "unknown user" in fails("scheduled", "--as", "ghost")
    assert ok("publish-due").strip() == "nothing due"
    come_due(kb_home)
    [done] = ok_json("publish-due")
    assert (done["article_id"], done["status"], done["scheduled_by"]) == ("refund", "done", "pia")
    history = ok_json("history", "refund", "--as", "rex")
    assert history["versions"][-1]["state"] == "published"
    assert ok_json("publish-due") == []  # idempotent
    assert ok_json("scheduled", "--as", "rex") == []
