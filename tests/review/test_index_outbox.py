"""The index interface: outbox rows written with the publication, delivered at least once
to an IndexUpdater (here a real one that keeps an in-memory 'index' of served bodies)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from kb.config import Config
from kb.runtime import Runtime
from kb.store import outbox
from kb.store.articles import get_version
from kb.store.db import Database
from kb.store.tables import IndexEvent
from review import editing, workflow
from tests.review.helpers import content, publish_article, run


class MemoryIndex:
    """A tiny index: article id -> (version, body), kept in step by the outbox."""

    def __init__(self, fail: bool = False) -> None:
        self.docs: dict[str, tuple[int, str]] = {}
        self.batches: list[list[int]] = []
        self.fail = fail

    def apply(self, session: Session, changes: Sequence[outbox.IndexChange]) -> None:
        if self.fail:
            raise RuntimeError("index is down")
        self.batches.append([c.event_id for c in changes])
        for change in outbox.latest_per_article(changes):
            if change.action == outbox.REMOVE:
                self.docs.pop(change.article_id, None)
            else:
                row = get_version(session, change.article_id, change.version)
                self.docs[change.article_id] = (row.version, row.body)


def _config() -> Config:
    return Config()


def pending(db: Database) -> list[outbox.IndexChange]:
    with db.session() as session:
        return outbox.pending_changes(session)


def test_memory_index_satisfies_the_protocol() -> None:
    assert isinstance(MemoryIndex(), outbox.IndexUpdater)


def test_no_outbox_row_without_the_publication(people: Database) -> None:
    publish_article(people)
    run(people, editing.new_draft, "ann", "refund", content(body="新\n"))
    run(people, workflow.submit, "ann", "refund")
    run(people, workflow.approve, "rex", "refund")

    def publish_then_fail() -> None:
        with people.session() as session:
            workflow.publish(session, "pia", "refund")
            raise RuntimeError("the caller fails after publishing")

    with pytest.raises(RuntimeError, match="fails after publishing"):
        publish_then_fail()
    assert [(c.action, c.version) for c in pending(people)] == [("upsert", 1)]


def test_dispatch_delivers_in_order_and_marks_processed(people: Database) -> None:
    publish_article(people, "a", body="甲\n")
    publish_article(people, "b", body="乙\n")
    run(people, workflow.archive, "pia", "a")
    memory = MemoryIndex()
    assert outbox.dispatch(people, memory) == 3
    assert memory.docs == {"b": (1, "乙\n")}
    assert memory.batches == [sorted(memory.batches[0])]
    assert pending(people) == []
    assert outbox.dispatch(people, memory) == 0
    with people.session() as session:
        processed = session.scalars(select(IndexEvent.processed_at)).all()
    assert all(processed)


def test_failed_delivery_is_retried(people: Database) -> None:
    publish_article(people)
    with pytest.raises(RuntimeError):
        outbox.dispatch(people, MemoryIndex(fail=True))
    assert len(pending(people)) == 1
    memory = MemoryIndex()
    assert outbox.dispatch(people, memory) == 1
    assert memory.docs == {"refund": (1, "退货期限为7天。\n")}


def test_runtime_applies_changes_through_its_updater(people: Database) -> None:
    memory = MemoryIndex()
    runtime = Runtime(_config(), db=people, index_updater=memory)
    publish_article(people)
    assert runtime.apply_index_changes() == 1
    assert memory.docs["refund"][0] == 1
    run(people, editing.new_draft, "ann", "refund", content(body="新版\n"))
    run(people, workflow.submit, "ann", "refund")
    run(people, workflow.approve, "rex", "refund")
    run(people, workflow.publish, "pia", "refund")
    assert runtime.apply_index_changes() == 1
    assert memory.docs == {"refund": (2, "新版\n")}
    assert runtime.apply_index_changes() == 0


def test_a_runtime_without_updater_leaves_the_outbox(people: Database) -> None:
    publish_article(people)
    assert Runtime(_config(), db=people).apply_index_changes() == 0
    assert len(pending(people)) == 1


def test_a_failing_updater_raises_and_keeps_the_events(people: Database) -> None:
    publish_article(people)
    runtime = Runtime(_config(), db=people, index_updater=MemoryIndex(fail=True))
    with pytest.raises(RuntimeError, match="index is down"):
        runtime.apply_index_changes()
    assert len(pending(people)) == 1


def test_importing_the_cli_registers_nothing() -> None:
    import kb.cli.main  # noqa: F401  (the old design filled a registry on import)

    assert not hasattr(outbox, "_UPDATERS") and not hasattr(outbox, "register_updater")


def test_latest_per_article_keeps_the_last_change() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    changes = [
        outbox.IndexChange(1, "a", "upsert", 1, now),
        outbox.IndexChange(2, "b", "upsert", 1, now),
        outbox.IndexChange(3, "a", "remove", None, now),
    ]
    assert [c.event_id for c in outbox.latest_per_article(changes)] == [2, 3]
