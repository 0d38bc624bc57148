"""``kb queue list/resolve/dismiss`` and ``kb stale --owner/--digest`` through the real CLI
on a real SQLite file (helpers and fixtures of tests/review/test_cli.py); the queue groups
with the configured (bundled) embedding model, as the app does."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import QueryLog
from tests.review.test_cli import (  # noqa: F401  (fixtures)
    article,
    fails,
    no_index_updates,
    ok,
    ok_json,
    publish,
    team,
)


def handoffs(home: Path, *questions: str) -> None:
    database = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with database.session() as session:
        for n, question in enumerate(questions):
            session.add(
                QueryLog(
                    request_id=f"r{n}-{question}",
                    ts=utcnow() - timedelta(minutes=len(questions) - n),
                    requester="key:bot",
                    audience="public",
                    question=question,
                    answered=False,
                    handoff=True,
                    confidence=0.1,
                )
            )
    database.dispose()


def test_queue_list_resolve_dismiss(article: Path, kb_home: Path) -> None:  # noqa: F811
    publish()
    handoffs(kb_home, "能开发票吗", "能开发票吗", "周末送货吗")
    groups = ok_json("queue", "list", "--as", "rex")
    assert [(g["example"], g["count"]) for g in groups] == [("能开发票吗", 2), ("周末送货吗", 1)]
    invoice, weekend = groups[0]["id"], groups[1]["id"]
    assert "能开发票吗" in ok("queue", "list", "--as", "rex")  # the table
    assert "unknown user" in fails("queue", "dismiss", weekend, "--as", "nobody")
    assert "not a published article" in fails(
        "queue", "resolve", invoice, "--article", "nope", "--as", "ann"
    )
    done = ok_json("queue", "resolve", invoice, "--article", "refund", "--as", "ann")
    assert (done["status"], done["article_id"], done["count"]) == ("resolved", "refund", 2)
    assert ok_json("queue", "dismiss", weekend, "--as", "rex")["status"] == "dismissed"
    assert ok_json("queue", "list", "--as", "rex") == []
    assert "no unanswered group" in fails("queue", "dismiss", weekend, "--as", "rex")


def test_queue_assign_mine_and_unassign(article: Path, kb_home: Path) -> None:  # noqa: F811
    handoffs(kb_home, "能开发票吗", "周末送货吗")
    invoice = ok_json("queue", "list", "--as", "rex")[0]["id"]
    assert "may not assign_queue" in fails("queue", "assign", invoice, "--to", "pia", "--as", "ann")
    assert "cannot be assigned" in fails(
        "queue", "assign", invoice, "--to", "nobody", "--as", "rex"
    )
    done = ok_json("queue", "assign", invoice, "--to", "ann", "--as", "rex")
    assert (done["id"], done["assignee"]) == (invoice, "ann")
    assert [g["id"] for g in ok_json("queue", "list", "--mine", "--as", "ann")] == [invoice]
    assert ok_json("queue", "list", "--mine", "--as", "rex") == []
    assert "ann" in ok("queue", "list", "--as", "rex")  # the table's assignee column
    assert ok_json("queue", "unassign", invoice, "--as", "ann")["assignee"] is None
    assert ok_json("queue", "list", "--mine", "--as", "ann") == []
    assert "not assigned" in fails("queue", "unassign", invoice, "--as", "rex")


def test_stale_by_owner_and_as_a_digest(article: Path) -> None:  # noqa: F811
    publish()  # owner 客服部, review due 2025-06-30: overdue
    assert [s["article_id"] for s in ok_json("stale", "--owner", "客服部", "--as", "rex")] == [
        "refund"
    ]
    assert ok_json("stale", "--owner", "someone-else", "--as", "rex") == []
    digest = ok("stale", "--digest", "--as", "rex")
    assert "客服部: 1 article(s)" in digest
    assert "refund v1 退款政策: review due 2025-06-30" in digest
    assert "Nothing is due." in ok("stale", "--digest", "--owner", "nobody", "--as", "rex")
    assert "--days must be 0 or more" in fails("stale", "--days", "-1", "--as", "rex")
