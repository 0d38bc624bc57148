"""The lifecycle through the service layer on a real SQLite file: transitions, versions,
publication with its index outbox row, archive, rollback, comments, effective dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from kb.errors import Conflict, InvalidInput
from kb.store.articles import get_article, served_versions
from kb.store.db import Database
from kb.store.tables import AuditEvent, IndexEvent
from review import audit, editing, queries, states, workflow
from review.versions import versions_of
from tests.review.helpers import content, publish_article, run

TODAY = date.today()


def states_of(db: Database, article_id: str = "refund") -> dict[int, str]:
    with db.session() as session:
        return {r.version: r.state for r in versions_of(session, article_id)}


def index_events(db: Database) -> list[tuple[str, str, int | None]]:
    with db.session() as session:
        rows = session.scalars(select(IndexEvent).order_by(IndexEvent.id))
        return [(e.article_id, e.action, e.version) for e in rows]


def served(db: Database, on: date = TODAY) -> set[tuple[str, int]]:
    with db.session() as session:
        return {(r.article_id, r.version) for r in served_versions(session, on)}


def edit_published(db: Database, body: str, author: str = "ann") -> int:
    row = run(db, editing.new_draft, author, "refund", content(body=body))
    run(db, workflow.submit, author, "refund")
    run(db, workflow.approve, "rex", "refund")
    return row.version


class TestLifecycle:
    def test_draft_to_published_is_audited_step_by_step(self, people: Database) -> None:
        publish_article(people)
        assert states_of(people) == {1: "published"}
        with people.session() as session:
            events = [
                (e["action"], e["from_state"], e["to_state"], e["actor"])
                for e in queries.article_history(session, "rex", "refund").events
            ]
            assert audit.verify(session).ok
        assert events == [
            ("create", None, "draft", "ann"),
            ("submit", "draft", "in_review", "ann"),
            ("approve", "in_review", "approved", "rex"),
            ("publish", "approved", "published", "pia"),
        ]

    def test_publishing_supersedes_and_tells_the_index_in_one_step(self, people: Database) -> None:
        publish_article(people)
        edit_published(people, "退货期限为15天。\n")
        assert served(people) == {("refund", 1)}  # approved is not served yet
        run(people, workflow.publish, "pia", "refund")
        assert states_of(people) == {1: "superseded", 2: "published"}
        assert served(people) == {("refund", 2)}
        assert index_events(people) == [("refund", "upsert", 1), ("refund", "upsert", 2)]
        with people.session() as session:
            assert get_article(session, "refund").published_version == 2

    def test_an_article_has_a_published_version_and_a_draft_at_once(self, people: Database) -> None:
        publish_article(people)
        run(people, editing.new_draft, "ann", "refund")
        assert states_of(people) == {1: "published", 2: "draft"}
        assert served(people) == {("refund", 1)}
        with pytest.raises(Conflict, match="already a draft"):
            run(people, editing.new_draft, "aldo", "refund")

    def test_submitted_versions_are_immutable(self, people: Database) -> None:
        run(people, editing.create_draft, "ann", content())
        run(people, workflow.submit, "ann", "refund")
        with pytest.raises(Conflict, match="no longer a draft"):
            run(people, editing.save_draft, "ann", content(body="偷改\n"), expected_revision=1)
        with pytest.raises(Conflict, match="in_review"):
            run(people, workflow.submit, "ann", "refund", version=1)

    def test_reject_then_a_new_draft_based_on_the_rejected_version(self, people: Database) -> None:
        run(people, editing.create_draft, "ann", content())
        run(people, workflow.submit, "ann", "refund")
        run(people, workflow.reject, "rex", "refund", "期限写错了")
        row = run(people, editing.save_draft, "ann", content(body="退货期限为15天。\n"))
        assert (row.version, row.state, row.based_on) == (2, "draft", 1)
        assert states_of(people) == {1: "rejected", 2: "draft"}
        with people.session() as session:
            story = queries.article_history(session, "ann", "refund")
        assert story.versions[0]["comments"][0]["body"] == "期限写错了"
        assert story.versions[0]["comments"][0]["kind"] == "reject"

    def test_reject_needs_a_reason(self, people: Database) -> None:
        run(people, editing.create_draft, "ann", content())
        run(people, workflow.submit, "ann", "refund")
        with pytest.raises(InvalidInput, match="why"):
            run(people, workflow.reject, "rex", "refund", "  ")

    def test_archive_stops_serving_and_tells_the_index(self, people: Database) -> None:
        publish_article(people)
        run(people, workflow.archive, "pia", "refund", "停用")
        assert states_of(people) == {1: "archived"}
        assert served(people) == set()
        assert index_events(people)[-1] == ("refund", "remove", None)
        with pytest.raises(Conflict, match="no version that is published"):
            run(people, workflow.archive, "pia", "refund")

    def test_cannot_publish_an_older_version_over_a_newer_one(self, people: Database) -> None:
        publish_article(people)
        run(people, editing.new_draft, "ann", "refund", content(body="v2\n"))
        run(people, workflow.submit, "ann", "refund")
        run(people, workflow.approve, "rex", "refund")  # v2 approved, not published
        edit_published(people, "v3\n")  # v3 approved
        run(people, workflow.publish, "pia", "refund", version=3)
        with pytest.raises(Conflict, match="older than version 3"):
            run(people, workflow.publish, "pia", "refund", version=2)


class TestRollback:
    def test_rollback_is_a_new_version_that_goes_through_review(self, people: Database) -> None:
        publish_article(people, body="退货期限为7天。\n")
        edit_published(people, "退货期限为1天。\n")
        run(people, workflow.publish, "pia", "refund")
        row = run(people, workflow.rollback, "pia", "refund", 1, "新版本有误")
        assert (row.version, row.state, row.based_on) == (3, "in_review", 1)
        assert row.body == "退货期限为7天。\n"
        assert served(people) == {("refund", 2)}  # nothing changes before review
        with pytest.raises(Conflict, match="approved"):
            run(people, workflow.publish, "pia", "refund", version=3)
        run(people, workflow.approve, "rex", "refund")
        run(people, workflow.publish, "pia", "refund")
        assert states_of(people) == {1: "superseded", 2: "superseded", 3: "published"}
        assert served(people) == {("refund", 3)}
        assert index_events(people)[-1] == ("refund", "upsert", 3)

    def test_only_to_a_version_that_was_published(self, people: Database) -> None:
        publish_article(people)
        run(people, editing.new_draft, "ann", "refund")
        with pytest.raises(Conflict, match="only a version that was published"):
            run(people, workflow.rollback, "pia", "refund", 2)
        with pytest.raises(Conflict, match="published version already"):
            run(people, workflow.rollback, "pia", "refund", 1)


class TestEffectiveDates:
    def test_future_version_is_published_now_and_served_later(self, people: Database) -> None:
        start = TODAY + timedelta(days=10)
        publish_article(people, effective_from=start)
        assert states_of(people) == {1: "published"}
        assert served(people) == set()
        assert served(people, start) == {("refund", 1)}
        assert index_events(people) == [("refund", "upsert", 1)]  # indexed now, filtered by date

    def test_expired_version_is_not_served(self, people: Database) -> None:
        publish_article(people, effective_to=TODAY - timedelta(days=1))
        assert served(people) == set()
        assert served(people, TODAY - timedelta(days=1)) == {("refund", 1)}

    def test_stale_lists_overdue_and_expiring(self, people: Database) -> None:
        publish_article(people, "due", review_due=TODAY - timedelta(days=1))
        publish_article(people, "soon", effective_to=TODAY + timedelta(days=5))
        publish_article(people, "later", effective_to=TODAY + timedelta(days=90))
        publish_article(people, "gone", effective_to=TODAY - timedelta(days=3))
        with people.session() as session:
            stale = {s["article_id"]: s["reasons"] for s in queries.stale_articles(session, "ann")}
        assert set(stale) == {"due", "soon", "gone"}
        assert "in 5 days" in stale["soon"][0]
        assert stale["gone"][0].startswith("expired")
        with people.session() as session:
            wide = queries.stale_articles(session, "ann", days=100)
        assert "later" in {s["article_id"] for s in wide}


class TestDrafts:
    def test_save_against_an_old_revision_names_who_saved(self, people: Database) -> None:
        run(people, editing.create_draft, "ann", content())
        run(people, editing.save_draft, "aldo", content(body="aldo 的版本\n"), expected_revision=1)
        with pytest.raises(Conflict, match="changed by aldo"):
            run(
                people, editing.save_draft, "ann", content(body="ann 的版本\n"), expected_revision=1
            )
        with people.session() as session:
            [row] = versions_of(session, "refund")
        assert (row.body, row.revision, row.editors) == ("aldo 的版本\n", 2, ["ann", "aldo"])

    def test_a_draft_needs_the_revision_that_was_edited(self, people: Database) -> None:
        run(people, editing.create_draft, "ann", content())
        with pytest.raises(Conflict, match="say which revision"):
            run(people, editing.save_draft, "ann", content(body="x\n"))

    def test_editing_a_version_that_moved_on_is_a_conflict(self, people: Database) -> None:
        publish_article(people)
        run(people, editing.new_draft, "aldo", "refund")
        with pytest.raises(Conflict, match="moved on to version 2"):
            run(people, editing.save_draft, "ann", content(body="x\n"), expected_version=1)

    def test_revisions_never_repeat_across_versions(self, people: Database) -> None:
        run(people, editing.create_draft, "ann", content())
        run(people, editing.save_draft, "ann", content(body="a\n"), expected_revision=1)
        run(people, workflow.submit, "ann", "refund")
        run(people, workflow.reject, "rex", "refund", "no")
        row = run(people, editing.new_draft, "ann", "refund")
        assert row.revision == 3  # a save made against revision 1 or 2 cannot match it

    def test_comments_stay_with_their_version(self, people: Database) -> None:
        publish_article(people)
        run(people, workflow.comment, "rex", "refund", "第一版的意见", version=1)
        run(people, editing.new_draft, "ann", "refund")
        run(people, workflow.comment, "rex", "refund", "第二版的意见")
        with people.session() as session:
            story = queries.article_history(session, "rex", "refund")
        assert [c["body"] for c in story.versions[0]["comments"]] == ["第一版的意见"]
        assert [c["body"] for c in story.versions[1]["comments"]] == ["第二版的意见"]


def test_every_audited_move_is_legal(people: Database) -> None:
    publish_article(people)
    edit_published(people, "v2\n")
    run(people, workflow.publish, "pia", "refund")
    run(people, workflow.rollback, "pia", "refund", 1)
    run(people, workflow.reject, "rex", "refund", "no")
    run(people, workflow.archive, "pia", "refund")
    with people.session() as session:
        moves = session.execute(
            select(AuditEvent.from_state, AuditEvent.to_state, AuditEvent.action).where(
                AuditEvent.to_state.is_not(None), AuditEvent.outcome == "ok"
            )
        ).all()
    assert len(moves) > 10
    assert all(states.is_legal(*move) for move in moves)
    assert not states.is_legal("draft", "published", "publish")
    assert not states.is_legal("rejected", "in_review", "submit")


def test_an_unchanged_copy_of_the_published_version_cannot_be_submitted(people: Database) -> None:
    """Opening a published article and submitting it unchanged made an identical version 2;
    now there is nothing to review, and the draft stays a draft."""
    publish_article(people)
    run(people, editing.new_draft, "ann", "refund")  # a copy of the published version
    with pytest.raises(InvalidInput, match=r"version 2 is identical to the published version 1"):
        run(people, workflow.submit, "ann", "refund")
    with people.session() as session:
        assert [(r.version, r.state) for r in versions_of(session, "refund")] == [
            (1, "published"),
            (2, "draft"),
        ]
    with people.session() as session:
        draft = versions_of(session, "refund")[-1]
    changed = content(body="退货期限为15天。\n")  # a real change goes through
    run(
        people,
        editing.save_draft,
        "ann",
        changed,
        expected_version=2,
        expected_revision=draft.revision,
    )
    assert run(people, workflow.submit, "ann", "refund").state == "in_review"
