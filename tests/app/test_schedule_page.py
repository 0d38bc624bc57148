"""Scheduled publication in the app (issue 14): the publisher schedules an approved
version on the review page, the article list says "scheduled", the schedule can be
cancelled, and ``review.schedule.publish_due`` (what ``kb publish-due`` runs) publishes
it when due. Real SQLite, real AppTest pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import update

from kb.store.db import Database
from kb.store.tables import ScheduledPublication
from review import schedule, workflow
from review.versions import versions_of
from tests.app.test_review_pages import submit_edit

KEY = "refund-policy-2"


def approved(home) -> Database:
    submit_edit(home)
    db = Database(f"sqlite:///{home / 'kb.sqlite3'}")
    with db.session() as session:
        workflow.approve(session, "bob", "refund-policy")
    return db


def test_a_publisher_schedules_sees_it_listed_and_it_is_published_when_due(page_test, app_kb):
    db = approved(app_kb)
    at = page_test("review_queue", "carol").run()
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    at.date_input(key=f"rv_sched_day_{KEY}").set_value(day)
    at.button(key=f"rv_schedule_{KEY}").click().run()
    assert not at.exception
    assert any("已定时" in i.value and day.isoformat() in i.value for i in at.info)  # inline
    listing = page_test("articles", "carol").run()
    frame = listing.dataframe[0].value
    state = frame.loc[frame["article_id"] == "refund-policy", "state"].iloc[0]
    assert "定时发布" in state and day.isoformat() in state
    with db.session() as session:  # the time comes
        session.execute(
            update(ScheduledPublication).values(publish_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    with db.session() as session:
        [done] = schedule.publish_due(session)
    assert (done.status, done.scheduled_by) == ("done", "carol")
    with db.session() as session:
        assert versions_of(session, "refund-policy")[-1].state == "published"
    db.dispose()


def test_a_past_time_is_refused_inline_and_a_schedule_can_be_cancelled(page_test, app_kb):
    db = approved(app_kb)
    at = page_test("review_queue", "carol").run()
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    at.date_input(key=f"rv_sched_day_{KEY}").set_value(yesterday)
    at.button(key=f"rv_schedule_{KEY}").click().run()
    assert not at.exception and at.error  # refused with a message; nothing scheduled
    with db.session() as session:
        assert schedule.pending(session) == {}
    at.date_input(key=f"rv_sched_day_{KEY}").set_value(yesterday + timedelta(days=3))
    at.button(key=f"rv_schedule_{KEY}").click().run()
    at.button(key=f"rv_unschedule_{KEY}").click().run()
    assert not at.exception
    with db.session() as session:
        assert schedule.pending(session) == {}
    db.dispose()


def test_opening_the_review_page_publishes_what_is_due(page_test, app_kb):
    db = approved(app_kb)
    with db.session() as session:
        schedule.schedule(
            session, "carol", "refund-policy", at=datetime.now(UTC) + timedelta(hours=1)
        )
    with db.session() as session:  # the time comes, cron has not run
        session.execute(
            update(ScheduledPublication).values(publish_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    at = page_test("review_queue", "bob").run()
    assert not at.exception
    assert any("定时发布已完成" in i.value and "carol" in i.value for i in at.info)
    with db.session() as session:
        assert versions_of(session, "refund-policy")[-1].state == "published"
        assert schedule.publish_due(session) == []  # done once
    db.dispose()
