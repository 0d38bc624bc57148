"""Importing through the workflow: drafts for authors, bootstrap publication for admins,
honest audit records, and batched statements (no per-article queries)."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import event, select

from kb.errors import Conflict, Forbidden, InvalidInput
from kb.model import ArticleContent, ArticleType
from kb.store import outbox
from kb.store.articles import served_versions
from kb.store.db import Database
from kb.store.tables import AuditEvent
from review import audit, importing, workflow
from review.versions import versions_of
from tests.review.helpers import content, publish_article, run


def faqs(n: int, answer: str = "请在APP中提交申请。") -> list[tuple[ArticleContent, str]]:
    return [
        (
            ArticleContent(
                id=f"faq-{i:05d}",
                type=ArticleType.FAQ,
                title=f"问题{i}",
                question=f"我的订单{i}怎么处理？",
                similar_questions=[f"订单{i}怎么办"],
                body=f"{answer}（{i}）\n",
            ),
            "faq.jsonl",
        )
        for i in range(n)
    ]


def actions(db: Database) -> list[tuple[str, str | None, str | None]]:
    with db.session() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.from_state, AuditEvent.to_state)
            .where(AuditEvent.article_id.is_not(None))
            .order_by(AuditEvent.seq)
        ).all()
    return [tuple(r) for r in rows]


def test_authors_import_drafts(people: Database) -> None:
    result = run(people, importing.import_articles, "ann", faqs(3))
    assert (result.created, result.published) == (3, 0)
    assert actions(people) == [("import", None, "draft")] * 3
    with people.session() as session:
        assert served_versions(session, date.today()) == []


def test_admin_bootstrap_publication_is_recorded_as_such(people: Database) -> None:
    result = run(people, importing.import_articles, "root", faqs(3), publish=True)
    assert (result.created, result.published) == (3, 3)
    assert (
        actions(people)
        == [("import", None, "draft")] * 3 + [("bootstrap_publish", "draft", "published")] * 3
    )
    with people.session() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "bootstrap_publish")
        ).all()
        assert {e.actor for e in events} == {"root"}
        assert all("no review" in e.comment for e in events)
        assert len(served_versions(session, date.today())) == 3
        assert [(c.action, c.version) for c in outbox.pending_changes(session)] == [
            ("upsert", 1)
        ] * 3
        assert audit.verify(session).ok


REASON = "migrating the legacy FAQ again"


def test_bootstrap_republication_supersedes_and_skips_unchanged(people: Database) -> None:
    run(people, importing.import_articles, "root", faqs(2), publish=True)
    items = faqs(2)
    items[1][0].body = "新的答案\n"
    result = run(people, importing.import_articles, "root", items, bootstrap_reason=REASON)
    assert (result.unchanged, result.new_versions, result.published) == (1, 1, 1)
    with people.session() as session:
        assert [r.state for r in versions_of(session, "faq-00000")] == ["published"]
        assert [r.state for r in versions_of(session, "faq-00001")] == ["superseded", "published"]
        assert len(outbox.pending_changes(session)) == 3


def test_bootstrap_publishes_existing_drafts_and_copies_other_states(people: Database) -> None:
    run(people, importing.import_articles, "ann", faqs(1))  # a draft
    publish_article(people, "refund")
    run(people, workflow.archive, "pia", "refund")
    items = [*faqs(1), (content("refund"), "refund.md")]
    result = run(people, importing.import_articles, "root", items, bootstrap_reason=REASON)
    assert (result.unchanged, result.published) == (2, 2)
    with people.session() as session:
        assert [r.state for r in versions_of(session, "faq-00000")] == ["published"]
        refund = versions_of(session, "refund")
        assert [r.state for r in refund] == ["archived", "published"]
        assert refund[1].based_on == 1
        assert audit.verify(session).ok


def test_import_statements_do_not_grow_with_the_number_of_articles(people: Database) -> None:
    def count_statements(items: list, actor: str) -> int:
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(people.engine, "before_cursor_execute", listener)
        try:
            run(people, importing.import_articles, actor, items, bootstrap_reason=REASON)
        finally:
            event.remove(people.engine, "before_cursor_execute", listener)
        return len(statements)

    small = count_statements(faqs(50), "root")
    large = [(c, s) for c, s in faqs(450) if int(c.id[-5:]) >= 50]
    assert count_statements(large, "root") == small


def test_publishing_without_review_into_a_live_knowledge_base_is_refused(
    people: Database,
) -> None:
    publish_article(people, "refund", body="退货期限为7天。\n")
    items = [(content("refund", body="快递丢失一律不予赔偿。\n"), "refund.md"), *faqs(1)]
    with pytest.raises(Conflict, match=r"only loads an empty knowledge base.*--bootstrap"):
        run(people, importing.import_articles, "root", items, publish=True)
    with people.session() as session:  # nothing changed: no draft, no publication
        assert [(r.version, r.state) for r in versions_of(session, "refund")] == [(1, "published")]
        assert versions_of(session, "faq-00000") == []
        assert outbox.pending_changes(session)[-1].version == 1


def test_bootstrap_override_needs_an_admin_and_a_reason_and_is_audited(
    people: Database,
) -> None:
    publish_article(people, "refund", body="退货期限为7天。\n")
    items = [(content("refund", body="退货期限为15天。\n"), "refund.md")]
    with pytest.raises(InvalidInput, match="needs a reason"):
        run(people, importing.import_articles, "root", items, bootstrap_reason="  ")
    with pytest.raises(Forbidden, match="admin"):
        run(people, importing.import_articles, "pia", items, bootstrap_reason=REASON)
    result = run(people, importing.import_articles, "root", items, bootstrap_reason=REASON)
    assert result.published == 1
    with people.session() as session:
        assert [r.state for r in versions_of(session, "refund")] == ["superseded", "published"]
        published = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "bootstrap_publish", AuditEvent.to_state == "published"
            )
        ).one()
        assert (published.actor, published.version) == ("root", 2)
        assert f"reason: {REASON}" in published.comment
        assert audit.verify(session).ok


def test_a_batched_initial_load_checks_emptiness_once(people: Database) -> None:
    result = importing.import_in_batches(people, "root", faqs(5), publish=True, batch_size=2)
    assert (result.published, result.transactions) == (5, 3)
    with pytest.raises(Conflict):  # the same load again is a publication into a live KB
        importing.import_in_batches(people, "root", faqs(5), publish=True, batch_size=2)


@pytest.mark.slow
@pytest.mark.sqlite_only  # the FAQs' shape is what is tested, not the database
def test_ten_thousand_faq_entries_publish_in_one_import(people: Database) -> None:
    # its speed is measured by benchmarks/import_transactions.py, not asserted here
    items = faqs(10_000)
    result = run(people, importing.import_articles, "root", items, publish=True)
    assert result.published == 10_000
    with people.session() as session:
        assert audit.verify(session).ok


def test_import_updates_the_open_draft_even_when_a_newer_version_exists(
    people: Database,
) -> None:
    from review import editing

    publish_article(people, body="退货期限为7天。\n")  # v1 published
    run(people, editing.new_draft, "ann", "refund", content(body="退货期限为10天。\n"))
    run(people, workflow.submit, "ann", "refund")
    run(people, workflow.approve, "rex", "refund")
    run(people, workflow.publish, "pia", "refund")  # v2 published
    run(people, editing.new_draft, "ann", "refund", content(body="退货期限为12天。\n"))  # v3
    run(people, workflow.rollback, "pia", "refund", 1)  # v4: rollback copy, in review
    result = run(
        people, importing.import_articles, "ann", [(content(body="退货期限为15天。\n"), "")]
    )
    assert (result.updated_drafts, result.new_versions) == (1, 0)
    with people.session() as session:
        drafts = [r for r in versions_of(session, "refund") if r.state == "draft"]
        assert [(r.version, r.body) for r in drafts] == [(3, "退货期限为15天。\n")]


def test_an_import_never_overwrites_a_draft_someone_else_saved_last(people: Database) -> None:
    """aldo's draft is not replaced by ann's import (his edit would be lost without a
    trace): Conflict naming him and the revision, nothing written; ann's own draft and an
    import identical to aldo's draft still go through, and the audit names the file."""
    from review import editing

    run(people, importing.import_articles, "ann", [(content(body="退货期限为7天。\n"), "a.md")])
    with people.session() as session:
        revision = versions_of(session, "refund")[0].revision
    aldo = content(body="退货期限为30天。\n")
    run(people, editing.save_draft, "aldo", aldo, expected_revision=revision)
    with people.session() as session:
        seq_before = audit.verify(session).head_seq
    with pytest.raises(Conflict, match=r"b\.md: .* draft last saved by aldo .*revision"):
        run(people, importing.import_articles, "ann", [(content(body="15天。\n"), "b.md")])
    with people.session() as session:
        (draft,) = versions_of(session, "refund")
        assert (draft.body, draft.updated_by) == ("退货期限为30天。\n", "aldo")
        assert audit.verify(session).head_seq == seq_before
    unchanged = run(people, importing.import_articles, "ann", [(aldo, "c.md")])
    assert unchanged.unchanged == 1
    run(people, importing.import_articles, "aldo", [(content(body="20天。\n"), "d.md")])
    assert actions(people)[-1] == ("import", "draft", "draft")
    with people.session() as session:
        assert audit.article_events(session, "refund")[-1].comment == "draft updated from d.md"
