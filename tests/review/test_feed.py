"""The change feed through the service layer on a real SQLite file (review.feed)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from kb.errors import Forbidden, InvalidInput, NotFound
from kb.model import Audience
from kb.quality.changes import describe
from kb.store.db import Database
from kb.store.tables import FeedEntry
from review import editing, feed, users, workflow
from tests.review.helpers import content, publish_article, run

TODAY = date.today()


@pytest.fixture
def team(people: Database) -> Database:
    """The people plus a second agent, a supervisor and a disabled agent."""
    with people.session() as session:
        users.add_user(session, "root", "agt2", ["agent"])
        users.add_user(session, "root", "sue", ["supervisor"])
        users.add_user(session, "root", "gone", ["agent"])
    with people.session() as session:
        users.set_disabled(session, "root", "gone", True)
    return people


def republish(db: Database, body: str, importance: str = "normal", **fields) -> None:
    """ann edits 'refund', rex approves, pia publishes with ``importance``."""
    with db.session() as session:
        editing.new_draft(session, "ann", "refund", content("refund", body, **fields))
    run(db, workflow.submit, "ann", "refund")
    run(db, workflow.approve, "rex", "refund")
    run(db, workflow.publish, "pia", "refund", importance=importance)


def feed_of(db: Database, who: str, **kwargs) -> list[feed.FeedItem]:
    with db.session() as session:
        return feed.entries(session, who, **kwargs)


def test_publications_are_entries_with_the_changed_figures(team: Database):
    publish_article(team, body="退货期限为7天。运费由客户承担。\n")
    republish(team, "退货期限为15天。运费由客户承担。\n", "must_read")
    items = feed_of(team, "agt")
    assert [(i.kind, i.version, i.importance) for i in items] == [
        ("updated", 2, "must_read"),
        ("new", 1, "normal"),
    ]
    assert [describe(c) for c in items[0].changes] == ["退货期限：7天 → 15天"]
    assert items[0].old_version == 1 and items[0].created_by == "pia"


def test_must_read_stays_on_top_until_acknowledged(team: Database):
    publish_article(team, body="退货期限为7天。\n")
    republish(team, "退货期限为15天。\n", "must_read")
    republish(team, "退货期限为15天。会员免运费。\n")  # newer, normal
    first = feed_of(team, "agt")
    assert [i.version for i in first] == [2, 3, 1]  # the must-read entry first
    with team.session() as session:
        feed.ack(session, "agt", first[0].id)
    after = feed_of(team, "agt")
    assert [i.version for i in after] == [3, 2, 1]
    assert [i.version for i in feed_of(team, "agt", unread_only=True)] == [3, 1]
    assert [i.version for i in feed_of(team, "agt2")] == [2, 3, 1]  # per reader


def test_ack_is_idempotent_and_unknown_entries_are_refused(team: Database):
    publish_article(team)
    entry = feed_of(team, "agt")[0]
    with team.session() as session:
        first = feed.ack(session, "agt", entry.id).acked_at
    with team.session() as session:
        assert feed.ack(session, "agt", entry.id).acked_at == first
    with team.session() as session, pytest.raises(NotFound):
        feed.ack(session, "agt", 999)


def test_supervisor_sees_who_has_and_has_not_acknowledged(team: Database):
    publish_article(team, body="退货期限为7天。\n")
    republish(team, "退货期限为15天。\n", "must_read")
    entry = feed_of(team, "agt")[0]
    with team.session() as session:
        feed.ack(session, "agt2", entry.id)
    with team.session() as session:
        report = feed.acks(session, "sue", entry.id)
        assert [u for u, _ in report.acknowledged] == ["agt2"]
        assert report.pending == ["agt"]  # 'gone' is disabled, authors are not agents
        assert feed.reminders(session, "sue") == {"agt": [entry.id]}
        assert feed.acks(session, "root", entry.id).pending == ["agt"]  # admin too


@pytest.mark.parametrize("who", ["agt", "ann", "pia"])
def test_only_supervisors_and_admins_see_acknowledgements(team: Database, who: str):
    publish_article(team)
    entry = feed_of(team, "agt")[0]
    with team.session() as session, pytest.raises(Forbidden):
        feed.acks(session, who, entry.id)
    with team.session() as session, pytest.raises(Forbidden):
        feed.reminders(session, who)


def test_archive_is_an_entry_and_bad_importance_changes_nothing(team: Database):
    publish_article(team)
    with team.session() as session, pytest.raises(InvalidInput):
        workflow.archive(session, "pia", "refund", importance="urgent")
    assert [i.kind for i in feed_of(team, "agt")] == ["new"]
    run(team, workflow.archive, "pia", "refund", importance="must-read")
    items = feed_of(team, "agt")
    assert (items[0].kind, items[0].importance) == ("archived", "must_read")


def test_internal_changes_reach_agents_never_a_public_feed(team: Database):
    publish_article(team, "secret", audience=Audience.INTERNAL)
    publish_article(team, "open")
    assert {i.article_id for i in feed_of(team, "agt")} == {"secret", "open"}
    assert [i.article_id for i in feed_of(team, "agt", audience="public")] == ["open"]


def test_effective_and_expired_entries_are_written_once_when_due(team: Database):
    start = TODAY + timedelta(days=3)
    end = TODAY + timedelta(days=10)
    publish_article(team, body="退货期限为15天。\n", effective_from=start, effective_to=end)
    assert [i.kind for i in feed_of(team, "agt")] == ["new"]
    assert [i.kind for i in feed_of(team, "agt", today=start - timedelta(days=1))] == ["new"]
    later = feed_of(team, "agt", today=start)
    assert [i.kind for i in later] == ["effective", "new"]
    assert later[0].changes == later[1].changes  # what became effective
    feed_of(team, "agt", today=start)  # reading again writes nothing new
    with team.session() as session:
        assert feed.refresh(session, start) == []
    expired = feed_of(team, "agt", today=end + timedelta(days=1))
    assert [i.kind for i in expired] == ["expired", "effective", "new"]
    assert expired[0].changes == []  # the page says it no longer answers
    with team.session() as session:
        assert session.query(FeedEntry).count() == 3


def test_a_refused_publication_writes_no_entry(team: Database):
    with team.session() as session:
        editing.create_draft(session, "ann", content())
    run(team, workflow.submit, "ann", "refund")
    run(team, workflow.approve, "rex", "refund")
    with team.session() as session, pytest.raises(Forbidden):
        workflow.publish(session, "agt", "refund")
    assert feed_of(team, "agt") == []


def test_the_diff_behind_an_entry_is_open_to_agents(team: Database):
    publish_article(team, body="退货期限为7天。\n")
    republish(team, "退货期限为15天。\n")
    entry = feed_of(team, "agt")[0]
    with team.session() as session:
        diff = feed.entry_diff(session, "agt", entry.id)
    assert (diff.old_version, diff.new_version) == (1, 2)
    changed = [b for b in diff.blocks if b.kind != "equal"]
    assert changed and "15" in "".join(s.text for s in changed[0].inline or [])


def test_a_new_faq_without_figures_shows_its_question_and_first_sentences(team: Database):
    from kb.model import ArticleContent, ArticleType
    from kb.quality.changes import summarize

    faq = ArticleContent(
        id="f", type=ArticleType.FAQ, title="t", question="能改地址吗？",
        body="可以在小程序修改。派送中的不能改。其他情况请联系客服。",
    )  # fmt: skip
    lines = [describe(c) for c in summarize(None, faq)]
    assert lines == ["question: — → 能改地址吗？", "+ 可以在小程序修改", "+ 派送中的不能改"]


def test_an_article_already_in_effect_when_published_gets_no_effective_entry(team: Database):
    past = TODAY - timedelta(days=5)
    publish_article(team, body="退货期限为15天。\n", effective_from=past)
    assert [i.kind for i in feed_of(team, "agt")] == ["new"]
    with team.session() as session:
        assert feed.refresh(session, TODAY + timedelta(days=30)) == []
