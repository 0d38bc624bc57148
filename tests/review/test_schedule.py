"""Scheduled publication (issue 14) on a real SQLite file: approve now, publish at the
chosen time through the same rules as a manual publish, idempotently."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kb.errors import Forbidden, InvalidInput
from kb.store.articles import utcnow
from kb.store.db import Database
from kb.store.tables import AuditEvent, ScheduledPublication
from review import audit, schedule, users, workflow
from review.versions import versions_of
from tests.review.helpers import content, publish_article, run
from tests.review.test_workflow import edit_published, index_events, states_of


def test_a_scheduled_version_is_published_once_when_due_as_its_publisher(
    people: Database,
) -> None:
    publish_article(people)
    edit_published(people, "退货期限为15天。\n")
    at = utcnow() + timedelta(hours=2)
    run(people, schedule.schedule, "pia", "refund", at=at)
    with people.session() as session:
        assert schedule.publish_due(session) == []  # not yet
        assert set(schedule.pending(session)) == {"refund"}
    assert states_of(people) == {1: "published", 2: "approved"}
    later = at + timedelta(minutes=1)
    with people.session() as session:
        [done] = schedule.publish_due(session, later)
    assert (done.status, done.scheduled_by) == ("done", "pia")
    assert states_of(people) == {1: "superseded", 2: "published"}
    assert index_events(people)[-1] == ("refund", "upsert", 2)
    with people.session() as session:
        assert schedule.publish_due(session, later) == []  # idempotent
        assert schedule.pending(session) == {}
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.article_id == "refund").order_by(AuditEvent.seq)
        ).all()
        assert audit.verify(session).ok  # the schedule events keep the chain whole
    actions = [(e.action, e.actor) for e in events][-3:]
    assert actions == [("schedule_publish", "pia"), ("publish", "pia"), ("publish", "pia")]


def test_the_default_time_is_effective_from_and_the_past_is_refused(people: Database) -> None:
    publish_article(people)
    start = (utcnow() + timedelta(days=3)).date()
    from review import editing

    run(people, editing.new_draft, "ann", "refund", content(body="新规。\n", effective_from=start))
    run(people, workflow.submit, "ann", "refund")
    run(people, workflow.approve, "rex", "refund")
    item = run(people, schedule.schedule, "pia", "refund")
    assert item.publish_at.date() == start
    with pytest.raises(InvalidInput, match="has passed"):
        run(people, schedule.schedule, "pia", "refund", at=utcnow() - timedelta(minutes=5))
    with people.session() as session:
        assert schedule.pending(session)["refund"].publish_at.date() == start  # unchanged


def test_only_publishers_schedule_and_only_approved_versions(people: Database) -> None:
    publish_article(people)
    edit_published(people, "退货期限为15天。\n")
    at = utcnow() + timedelta(hours=1)
    with pytest.raises(Forbidden):
        run(people, schedule.schedule, "rex", "refund", at=at)
    with pytest.raises(InvalidInput, match="effective_from"):
        run(people, schedule.schedule, "pia", "refund")
    with people.session() as session:
        assert session.scalars(select(ScheduledPublication)).all() == []


def test_a_refused_publication_fails_with_its_reason_and_the_rest_go_on(
    people: Database,
) -> None:
    publish_article(people)
    publish_article(people, "ship", body="三天内发货。\n")
    edit_published(people, "退货期限为15天。\n")
    from review import editing

    run(people, editing.new_draft, "ann", "ship", content("ship", body="两天内发货。\n"))
    run(people, workflow.submit, "ann", "ship")
    run(people, workflow.approve, "rex", "ship")
    at = utcnow() + timedelta(hours=1)
    run(people, schedule.schedule, "pia", "refund", at=at)
    run(people, schedule.schedule, "ada", "ship", at=at)
    with people.session() as session:  # pia loses the publisher role meanwhile
        users.change_roles(session, "root", "pia", ["agent"], ["publisher"])
    with people.session() as session:
        outcomes = {o.article_id: o for o in schedule.publish_due(session, at + timedelta(hours=1))}
    assert outcomes["refund"].status == "failed" and "publish" in outcomes["refund"].message
    assert outcomes["ship"].status == "done"
    with people.session() as session:
        assert [r.state for r in versions_of(session, "refund")] == ["published", "approved"]
        assert [r.state for r in versions_of(session, "ship")] == ["superseded", "published"]
        assert schedule.publish_due(session, at + timedelta(minutes=2)) == []


def test_unschedule(people: Database) -> None:
    publish_article(people)
    edit_published(people, "退货期限为15天。\n")
    run(people, schedule.schedule, "pia", "refund", at=utcnow() + timedelta(hours=1))
    run(people, schedule.unschedule, "pia", "refund")
    with people.session() as session:
        assert schedule.pending(session) == {}
    with pytest.raises(InvalidInput, match="no scheduled"):
        run(people, schedule.unschedule, "pia", "refund")


def test_the_list_shows_the_schedule_on_that_version_only(people: Database) -> None:
    from review.catalog import ArticleFilter, list_articles

    publish_article(people)
    edit_published(people, "退货期限为15天。\n")
    at = utcnow() + timedelta(hours=3)
    run(people, schedule.schedule, "pia", "refund", at=at)
    with people.session() as session:
        [row] = list_articles(session, "rex", ArticleFilter()).rows
    assert (row["state"], row["scheduled_at"]) == ("approved", at)
    run(people, workflow.publish, "pia", "refund")  # published by hand meanwhile
    with people.session() as session:
        [row] = list_articles(session, "rex", ArticleFilter()).rows
        assert (row["state"], row["scheduled_at"]) == ("published", None)
        [late] = schedule.publish_due(session, at + timedelta(minutes=1))
    assert late.status == "failed"  # nothing to publish any more: said, not retried


def test_two_processes_publishing_due_at_once_publish_each_schedule_once(
    people: Database,
) -> None:
    """Two engines on one SQLite file (as two ``kb serve`` replicas, or cron and a
    replica) run ``publish_due`` at the same moment: one claims the schedule, the other
    finds it taken and reports nothing (without the claim the second one failed it)."""
    import threading

    publish_article(people)
    edit_published(people, "退货期限为15天。\n")
    at = utcnow() + timedelta(hours=1)
    run(people, schedule.schedule, "pia", "refund", at=at)
    url = people.engine.url.render_as_string(hide_password=False)
    replicas = [Database(url), Database(url)]
    start = threading.Barrier(2)
    results: list[list[schedule.Outcome]] = []
    errors: list[BaseException] = []

    def replica(db: Database) -> None:
        try:
            start.wait()
            with db.session() as session:
                results.append(schedule.publish_due(session, at + timedelta(minutes=1)))
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=replica, args=(db,)) for db in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for db in replicas:
        db.dispose()
    assert errors == []
    outcomes = [o for result in results for o in result]
    assert [(o.article_id, o.status) for o in outcomes] == [("refund", "done")]
    assert states_of(people) == {1: "superseded", 2: "published"}
    with people.session() as session:
        [row] = session.scalars(select(ScheduledPublication)).all()
        assert (row.status, row.outcome) == ("done", "")
        publishes = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "publish", AuditEvent.version == 2)
        ).all()
    assert len(publishes) == 1
