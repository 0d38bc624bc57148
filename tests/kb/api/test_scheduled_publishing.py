"""Scheduled publications carried out by running servers (issue 14): two ``kb serve``
processes on one knowledge base (two replicas, real SQLite, index and model, loopback)
publish a due schedule exactly once, without cron, and serve the new version."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from kb.config import Config
from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import AuditEvent, ScheduledPublication
from review import editing, schedule, users, workflow
from tests.kb.api.helpers import ADMIN, ServerProcess, build_kb, create_key, faq

pytestmark = [pytest.mark.integration, pytest.mark.slow]

OLD = "退货请在签收后7天内申请。"
NEW = "退货请在签收后15天内申请，运费由我们承担。"


@pytest.fixture
def kb_home(tmp_path: Path) -> Iterator[tuple[Config, Database]]:
    """A KB serving one FAQ, with an author, a reviewer and a publisher."""
    config = build_kb(tmp_path, [faq("faq-return", "怎么退货？", OLD, ["如何退货"], "public")])
    db = Database(config.effective_database_url)
    with db.session() as session:
        for name, role in [("ann", "author"), ("rex", "reviewer"), ("pia", "publisher")]:
            users.add_user(session, ADMIN, name, [role])
    yield config, db
    db.dispose()


def _approve_new_version(db: Database) -> None:
    with db.session() as session:
        new = faq("faq-return", "怎么退货？", NEW, ["如何退货"], "public")
        editing.new_draft(session, "ann", "faq-return", new)
    with db.session() as session:
        workflow.submit(session, "ann", "faq-return")
    with db.session() as session:
        workflow.approve(session, "rex", "faq-return")


def _wait_for(db: Database, status: str, timeout: float = 90.0) -> ScheduledPublication:
    deadline = time.monotonic() + timeout
    while True:
        with db.session() as session:
            row = session.scalars(select(ScheduledPublication)).one()
        if row.status == status or time.monotonic() > deadline:
            return row
        time.sleep(0.2)


def test_running_replicas_publish_a_due_schedule_once(kb_home: tuple[Config, Database]) -> None:
    config, db = kb_home
    key = create_key(config, "bot", "suggest,articles", "public")
    _approve_new_version(db)
    servers = [
        ServerProcess(config.home, publish_due_interval_seconds=0.3),
        ServerProcess(config.home, publish_due_interval_seconds=0.3),
    ]
    try:
        for server in servers:
            server.start()
        at = utcnow() + timedelta(seconds=3)
        with db.session() as session:
            schedule.schedule(session, "pia", "faq-return", at=at)
        with db.session() as session:
            pending = {a: row.version for a, row in schedule.pending(session).items()}
        if utcnow() < at:  # read before it was due (on a slow machine it may be due by now)
            assert pending == {"faq-return": 2}  # not yet published
        row = _wait_for(db, "done")
        assert (row.status, row.outcome) == ("done", "")
        assert row.done_at is not None and row.done_at.replace(tzinfo=at.tzinfo) >= at
        with db.session() as session:
            publishes = session.scalars(
                select(AuditEvent).where(
                    AuditEvent.action == "publish", AuditEvent.article_id == "faq-return"
                )
            ).all()
        assert [(e.version, e.actor) for e in publishes][-1] == (2, "pia")
        assert sum(e.version == 2 for e in publishes) == 1  # exactly once, two replicas
        auth = {"Authorization": f"Bearer {key}"}
        for server in servers:
            article = httpx.get(  # a hang guard: the publishing server may be busy indexing
                f"{server.base_url}/v1/articles/faq-return", headers=auth, timeout=60
            )
            assert article.json()["version"] == 2 and article.json()["body"] == NEW
        _wait_for_answer(servers[0].base_url, auth)
    finally:
        for server in servers:
            server.stop()
    logs = "".join(s.log.read_text(errors="replace") for s in servers)
    assert logs.count("faq-return version 2 published") == 1


def _wait_for_answer(base_url: str, auth: dict[str, str], timeout: float = 60.0) -> None:
    """The new version is answered from the index (updated by the server that published)."""
    deadline = time.monotonic() + timeout
    while True:
        body = httpx.post(
            f"{base_url}/v1/suggest", json={"question": "怎么退货？"}, headers=auth, timeout=60
        ).json()
        if "15天" in (body.get("answer") or ""):
            return
        assert time.monotonic() < deadline, body
        time.sleep(0.5)


def test_an_interval_of_zero_publishes_nothing(kb_home: tuple[Config, Database]) -> None:
    from kb.api.due_publisher import DuePublisher
    from kb.api.publishing import OnDemandIndexSync
    from kb.runtime import Runtime

    config, db = kb_home
    _approve_new_version(db)
    with db.session() as session:
        schedule.schedule(session, "pia", "faq-return", at=utcnow() + timedelta(seconds=1))
    runtime = Runtime(config, db=db, index_updater=OnDemandIndexSync(config))
    idle = DuePublisher(runtime, interval=0)
    idle.start()
    time.sleep(1.5)
    idle.stop()
    assert _wait_for(db, "done", timeout=0).status == "pending"
    assert DuePublisher(runtime).run_once() == 1  # the same round a replica runs
    assert _wait_for(db, "done", timeout=0).status == "done"
