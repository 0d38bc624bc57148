"""The permission matrix: every role against every action, allowed and refused, and the
four-eyes rule (admin included). Refusals must be audited and must change nothing."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kb.errors import Forbidden
from kb.store.db import BUSY_TIMEOUT_S, Database
from kb.store.tables import Article, ArticleVersion, AuditEvent, User
from review import audit, diff, editing, importing, queries, users, workflow
from tests.review.helpers import add_people, content, publish_article, run

ROLES = ["agent", "author", "reviewer", "publisher", "admin"]


def setup_draft(db: Database) -> None:
    run(db, editing.create_draft, "ann", content())


def setup_in_review(db: Database) -> None:
    setup_draft(db)
    run(db, workflow.submit, "ann", "refund")


def setup_approved(db: Database) -> None:
    setup_in_review(db)
    run(db, workflow.approve, "rex", "refund")


def setup_published(db: Database) -> None:
    publish_article(db)


def setup_two_published(db: Database) -> None:
    publish_article(db)
    run(db, editing.new_draft, "ann", "refund", content(body="退货期限为15天。\n"))
    run(db, workflow.submit, "ann", "refund")
    run(db, workflow.approve, "rex", "refund")
    run(db, workflow.publish, "pia", "refund")


def nothing(db: Database) -> None:
    """No set-up needed."""


@dataclass
class Case:
    """One action: how to set it up, how to do it, and which roles may."""

    setup: Callable[[Database], None]
    act: Callable[[Session, str], object]
    allowed: set[str]
    audit_action: str


EDITORS = {"author", "admin"}
VIEWERS = {"author", "reviewer", "publisher", "admin"}
CASES: dict[str, Case] = {
    "create": Case(
        nothing, lambda s, who: editing.create_draft(s, who, content("new")), EDITORS, "create"
    ),
    "save_draft": Case(
        setup_draft,
        lambda s, who: editing.save_draft(s, who, content(body="改了。\n"), expected_revision=1),
        EDITORS,
        "edit",
    ),
    "new_draft": Case(
        setup_published, lambda s, who: editing.new_draft(s, who, "refund"), EDITORS, "edit"
    ),
    "submit": Case(
        setup_draft, lambda s, who: workflow.submit(s, who, "refund"), EDITORS, "submit"
    ),
    "approve": Case(
        setup_in_review,
        lambda s, who: workflow.approve(s, who, "refund"),
        {"reviewer", "admin"},
        "approve",
    ),
    "reject": Case(
        setup_in_review,
        lambda s, who: workflow.reject(s, who, "refund", "写错了"),
        {"reviewer", "admin"},
        "reject",
    ),
    "publish": Case(
        setup_approved,
        lambda s, who: workflow.publish(s, who, "refund"),
        {"publisher", "admin"},
        "publish",
    ),
    "archive": Case(
        setup_published,
        lambda s, who: workflow.archive(s, who, "refund"),
        {"publisher", "admin"},
        "archive",
    ),
    "rollback": Case(
        setup_two_published,
        lambda s, who: workflow.rollback(s, who, "refund", 1),
        {"publisher", "admin"},
        "rollback",
    ),
    "comment": Case(
        setup_draft, lambda s, who: workflow.comment(s, who, "refund", "请补充"), VIEWERS, "comment"
    ),
    "review_queue": Case(
        setup_in_review, lambda s, who: queries.review_queue(s, who), VIEWERS, "view_drafts"
    ),
    "history": Case(
        setup_draft,
        lambda s, who: queries.article_history(s, who, "refund"),
        VIEWERS,
        "view_drafts",
    ),
    "diff": Case(
        setup_two_published,
        lambda s, who: diff.diff_versions(s, who, "refund", 1, 2),
        VIEWERS,
        "view_drafts",
    ),
    "stale": Case(nothing, lambda s, who: queries.stale_articles(s, who), VIEWERS, "view_drafts"),
    "import_drafts": Case(
        nothing,
        lambda s, who: importing.import_articles(s, who, [(content("imp"), "imp.md")]),
        EDITORS,
        "import",
    ),
    "import_publish": Case(
        nothing,
        lambda s, who: importing.import_articles(
            s, who, [(content("imp"), "imp.md")], publish=True
        ),
        {"admin"},
        "bootstrap_publish",
    ),
    "add_user": Case(
        nothing,
        lambda s, who: users.add_user(s, who, "newbie", ["agent"]),
        {"admin"},
        "manage_users",
    ),
    "change_roles": Case(
        nothing,
        lambda s, who: users.change_roles(s, who, "agt", add=["author"]),
        {"admin"},
        "manage_users",
    ),
    "set_other_password": Case(
        nothing,
        lambda s, who: users.set_password(s, who, "agt", "s3cret-pass"),
        {"admin"},
        "manage_users",
    ),
    "list_users": Case(nothing, lambda s, who: users.list_users(s, who), set(ROLES), "read"),
}


def snapshot(db: Database) -> tuple:
    """Everything a refused action must leave alone."""
    with db.session() as session:
        versions = session.execute(
            select(
                ArticleVersion.article_id,
                ArticleVersion.version,
                ArticleVersion.state,
                ArticleVersion.revision,
                ArticleVersion.content_hash,
            ).order_by(ArticleVersion.id)
        ).all()
        articles = session.execute(select(Article.id, Article.published_version)).all()
        people = session.execute(select(User.name, User.roles, User.password_hash)).all()
    return versions, articles, people


def refusals(db: Database, actor: str) -> list[AuditEvent]:
    with db.session() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.actor == actor, AuditEvent.outcome == "refused")
            )
        )


@pytest.mark.sqlite_only  # the roles' logic; the database-bound refusals run on both below
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("action", list(CASES))
def test_permission_matrix(people: Database, role: str, action: str) -> None:
    db = people
    who = f"t-{role}"
    with db.session() as session:
        users.add_user(session, "root", who, [role])
    case = CASES[action]
    case.setup(db)
    before = snapshot(db)
    if role in case.allowed:
        with db.session() as session:
            case.act(session, who)
        assert refusals(db, who) == []
    else:
        with pytest.raises(Forbidden, match=who), db.session() as session:
            case.act(session, who)
        assert snapshot(db) == before
        [event] = refusals(db, who)
        assert event.action == case.audit_action
        assert role in event.comment
    with db.session() as session:
        assert audit.verify(session).ok


class TestFourEyes:
    """Nobody approves or rejects a version they authored or edited, admin included."""

    def test_admin_cannot_approve_own_draft(self, people: Database) -> None:
        run(people, editing.create_draft, "root", content())
        run(people, workflow.submit, "root", "refund")
        with pytest.raises(Forbidden, match="four-eyes"):
            run(people, workflow.approve, "root", "refund")
        assert run(people, workflow.approve, "ada", "refund").state == "approved"

    def test_admin_who_edited_someone_elses_draft_cannot_approve(self, people: Database) -> None:
        run(people, editing.create_draft, "ann", content())
        run(people, editing.save_draft, "ada", content(body="改过。\n"), expected_revision=1)
        run(people, workflow.submit, "ann", "refund")
        with pytest.raises(Forbidden, match="four-eyes"):
            run(people, workflow.approve, "ada", "refund")
        assert run(people, workflow.approve, "root", "refund").state == "approved"

    def test_author_reviewer_cannot_review_own_work_either_way(self, people: Database) -> None:
        run(people, editing.create_draft, "eve", content())
        run(people, workflow.submit, "eve", "refund")
        with pytest.raises(Forbidden, match="four-eyes"):
            run(people, workflow.approve, "eve", "refund")
        with pytest.raises(Forbidden, match="four-eyes"):
            run(people, workflow.reject, "eve", "refund", "自己退回")
        assert run(people, workflow.reject, "rex", "refund", "请改").state == "rejected"

    def test_refusal_after_lock_is_audited_although_the_transaction_rolls_back(
        self, people: Database
    ) -> None:
        run(people, editing.create_draft, "root", content())
        run(people, workflow.submit, "root", "refund")
        with pytest.raises(Forbidden), people.session() as session:
            workflow.approve(session, "root", "refund")
        [event] = refusals(people, "root")
        assert (event.action, event.version, event.from_state) == ("approve", 1, "in_review")

    def test_rollback_copy_needs_a_reviewer_who_edited_neither(self, people: Database) -> None:
        setup_two_published(people)
        with people.session() as session:
            users.add_user(session, "root", "pubrev", ["publisher", "reviewer"])
        row = run(people, workflow.rollback, "pubrev", "refund", 1)
        assert (row.state, row.based_on, row.version) == ("in_review", 1, 3)
        assert row.editors == ["pubrev", "ann"]
        run(people, users.change_roles, "root", "ann", add=["reviewer"])
        for who in ("pubrev", "ann"):  # who rolled back; who wrote version 1
            with pytest.raises(Forbidden, match="four-eyes"):
                run(people, workflow.approve, who, "refund")
        assert run(people, workflow.approve, "rex", "refund").state == "approved"


class TestIdentity:
    def test_unknown_user_is_refused_and_audited(self, people: Database) -> None:
        setup_draft(people)
        with pytest.raises(Forbidden, match="unknown user 'mallory'"):
            run(people, workflow.submit, "mallory", "refund")
        [event] = refusals(people, "mallory")
        assert (event.action, event.article_id) == ("submit", "refund")

    def test_disabled_user_is_refused(self, people: Database) -> None:
        run(people, users.set_disabled, "root", "ann", True)
        with pytest.raises(Forbidden, match="disabled"):
            run(people, editing.create_draft, "ann", content())

    def test_refusal_inside_a_writing_transaction_is_kept_after_rollback(
        self, people: Database
    ) -> None:
        """The caller wrote first (holding SQLite's write lock), then an action is refused:
        the refusal is written after the caller's rollback, without waiting on its lock."""
        start = time.monotonic()
        with people.session() as session:
            editing.create_draft(session, "ann", content("first"))
            with pytest.raises(Forbidden):
                workflow.publish(session, "ann", "first")
            session.rollback()
        # a hang guard, not a speed bound: waiting on its own lock would last the whole
        # busy timeout (kb.store.db.BUSY_TIMEOUT_S, 15 s) and then fail
        assert time.monotonic() - start < BUSY_TIMEOUT_S - 3
        with people.session() as session:
            assert session.scalar(select(func.count(Article.id))) == 0
            assert audit.verify(session).ok
        [event] = refusals(people, "ann")
        assert event.action == "publish"


def test_bootstrap_needs_an_admin_first(db: Database) -> None:
    from kb.errors import InvalidInput

    with pytest.raises(InvalidInput, match="first user must be an admin"), db.session() as s:
        users.add_user(s, None, "ann", ["author"])
    add_people(db, {"root": ["admin"], "ann": ["author"]})
    with pytest.raises(Forbidden), db.session() as s:
        users.add_user(s, None, "sneaky", ["admin"])
