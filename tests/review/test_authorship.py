"""Four-eyes follows the authorship of the content under review, not the last save.

The content a reviewer judges is the change since the last published version. Whoever
wrote any part of it, including the authors of a rejected or otherwise unreviewed
version a new draft copies, may not approve or reject it (issue 13, item 7).
"""

from __future__ import annotations

import pytest

from kb.errors import Forbidden
from kb.store.db import Database
from review import editing, importing, workflow
from review.versions import versions_of
from tests.review.helpers import content, publish_article, run


def newest(db: Database, article_id: str = "refund"):
    """The newest version of the article."""
    with db.session() as session:
        return versions_of(session, article_id)[-1]


def resave_by_new_draft(db: Database, actor: str) -> None:
    """Start a new draft from the newest (rejected) version, unchanged."""
    run(db, editing.new_draft, actor, "refund")


def resave_by_saving(db: Database, actor: str) -> None:
    """Save the rejected version's text again as an edit (a new draft on top)."""
    run(db, editing.save_draft, actor, content(), expected_version=newest(db).version)


@pytest.mark.parametrize("resave", [resave_by_new_draft, resave_by_saving])
def test_a_resave_of_rejected_text_cannot_launder_four_eyes(people: Database, resave) -> None:
    """The issue's scenario: A (author and reviewer) submits, B rejects, C re-saves the
    unchanged rejected text and submits: A may not approve content A wrote."""
    run(people, editing.create_draft, "eve", content())  # A = eve
    run(people, workflow.submit, "eve", "refund")
    run(people, workflow.reject, "rex", "refund", "请补充")  # B = rex
    resave(people, "ann")  # C = ann
    run(people, workflow.submit, "ann", "refund")
    assert newest(people).content_hash == versions_of_first(people).content_hash
    with pytest.raises(Forbidden, match="four-eyes"):
        run(people, workflow.approve, "eve", "refund")
    with pytest.raises(Forbidden, match="four-eyes"):
        run(people, workflow.reject, "eve", "refund", "退回")
    assert sorted(newest(people).editors) == ["ann", "eve"]
    assert run(people, workflow.approve, "rex", "refund").state == "approved"


def versions_of_first(db: Database):
    """Version 1 of the article."""
    with db.session() as session:
        return versions_of(session, "refund")[0]


def test_authors_accumulate_over_a_chain_of_rejections(people: Database) -> None:
    run(people, editing.create_draft, "eve", content())
    run(people, workflow.submit, "eve", "refund")
    run(people, workflow.reject, "rex", "refund", "第一次退回")
    run(people, editing.new_draft, "ann", "refund", content(body="退货期限为7天，需凭证。\n"))
    run(people, workflow.submit, "ann", "refund")
    run(people, workflow.reject, "rex", "refund", "第二次退回")
    run(people, editing.new_draft, "aldo", "refund")
    run(people, workflow.submit, "aldo", "refund")
    assert newest(people).version == 3
    assert sorted(newest(people).editors) == ["aldo", "ann", "eve"]
    with pytest.raises(Forbidden, match="four-eyes"):
        run(people, workflow.approve, "eve", "refund")
    assert run(people, workflow.approve, "ada", "refund").state == "approved"


def test_an_unchanged_resave_of_a_draft_keeps_its_author(people: Database) -> None:
    run(people, editing.create_draft, "eve", content())
    run(people, editing.save_draft, "ann", content(), expected_revision=1)
    run(people, workflow.submit, "ann", "refund")
    with pytest.raises(Forbidden, match="four-eyes"):
        run(people, workflow.approve, "eve", "refund")
    assert run(people, workflow.approve, "rex", "refund").state == "approved"


def test_a_copy_of_a_version_still_in_review_keeps_its_author(people: Database) -> None:
    """A draft started from a version nobody reviewed yet carries its author on."""
    publish_article(people)
    run(people, editing.new_draft, "eve", "refund", content(body="退货期限为10天。\n"))
    run(people, workflow.submit, "eve", "refund")
    run(people, editing.new_draft, "ann", "refund")
    run(people, workflow.submit, "ann", "refund", version=3)
    with pytest.raises(Forbidden, match="four-eyes"):
        run(people, workflow.approve, "eve", "refund", version=3)


def test_an_editor_of_an_older_published_version_may_review_a_new_change(
    people: Database,
) -> None:
    publish_article(people, author="eve")
    run(people, editing.new_draft, "ann", "refund", content(body="退货期限为15天。\n"))
    run(people, workflow.submit, "ann", "refund")
    assert newest(people).editors == ["ann"]
    assert run(people, workflow.approve, "eve", "refund").state == "approved"


def test_an_import_over_a_rejected_version_keeps_its_authors(people: Database) -> None:
    run(people, editing.create_draft, "eve", content())
    run(people, workflow.submit, "eve", "refund")
    run(people, workflow.reject, "rex", "refund", "请补充")
    changed = content(body="退货期限为7天，需凭证。\n")
    run(people, importing.import_articles, "aldo", [(changed, "refund.md")])
    run(people, workflow.submit, "aldo", "refund")
    assert sorted(newest(people).editors) == ["aldo", "eve"]
    with pytest.raises(Forbidden, match="four-eyes"):
        run(people, workflow.approve, "eve", "refund")


def test_an_import_that_makes_a_draft_counts_as_authorship(people: Database) -> None:
    """eve's import makes the draft, ann edits it further and submits: eve's text is in
    it, so she may not approve. (An import over a draft someone *else* saved last is
    refused, ``test_importing``.)"""
    run(people, importing.import_articles, "eve", [(content(), "refund.md")])
    edited = content(body="退货期限为7天，需购物凭证。\n")
    run(people, editing.save_draft, "ann", edited, expected_revision=newest(people).revision)
    assert sorted(newest(people).editors) == ["ann", "eve"]
    run(people, workflow.submit, "ann", "refund")
    with pytest.raises(Forbidden, match="four-eyes"):
        run(people, workflow.approve, "eve", "refund")


def test_a_copy_of_an_approved_but_unpublished_version_keeps_its_author(
    people: Database,
) -> None:
    """Approved is not published: the change since the last publication still has eve's part."""
    publish_article(people)
    run(people, editing.new_draft, "eve", "refund", content(body="退货期限为10天。\n"))
    run(people, workflow.submit, "eve", "refund")
    run(people, workflow.approve, "rex", "refund")
    run(people, editing.new_draft, "ann", "refund", content(body="退货期限为12天。\n"))
    run(people, workflow.submit, "ann", "refund")
    assert sorted(newest(people).editors) == ["ann", "eve"]
    with pytest.raises(Forbidden, match="four-eyes"):
        run(people, workflow.approve, "eve", "refund", version=3)
